// Build the extension for each browser from the one source in src/:
//   node build.mjs                 dist/chrome and dist/firefox
//   node build.mjs chrome --out DIR --host-permission http://127.0.0.1:8081
// --host-permission adds an origin to host_permissions (granted at install, no prompt):
// for automated tests, where no one can click "Allow" on the permission prompt.
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

import { originPattern } from "./src/logic.js";

const HERE = dirname(fileURLToPath(import.meta.url));
const BROWSERS = ["chrome", "firefox"];

export function manifestFor(browser, hostPermissions = []) {
  const manifest = JSON.parse(readFileSync(join(HERE, `manifest.${browser}.json`), "utf8"));
  if (hostPermissions.length) {
    manifest.host_permissions = hostPermissions.map(originPattern);
  }
  return manifest;
}

export function build(browser, out = join(HERE, "dist", browser), hostPermissions = []) {
  if (!BROWSERS.includes(browser)) throw new Error(`unknown browser ${browser}; use ${BROWSERS.join(" or ")}`);
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  cpSync(join(HERE, "src"), out, { recursive: true });
  writeFileSync(join(out, "manifest.json"), JSON.stringify(manifestFor(browser, hostPermissions), null, 2) + "\n");
  return out;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const targets = [];
  const hosts = [];
  let out;
  for (let i = 0; i < args.length; i++) {
    if (args[i] === "--out") out = args[++i];
    else if (args[i] === "--host-permission") hosts.push(args[++i]);
    else targets.push(args[i]);
  }
  const browsers = targets.length ? targets : BROWSERS;
  if (out && browsers.length !== 1) throw new Error("--out needs exactly one browser");
  for (const browser of browsers) console.log(`built ${build(browser, out, hosts)}`);
}
