import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";

import { build, manifestFor } from "../build.mjs";

test("chrome gets a module service worker; firefox background scripts and a gecko id with data consent", () => {
  const chrome = manifestFor("chrome");
  assert.equal(chrome.background.service_worker, "background.js");
  assert.equal(chrome.background.type, "module");
  assert.equal(chrome.browser_specific_settings, undefined);
  const firefox = manifestFor("firefox");
  assert.deepEqual(firefox.background.scripts, ["background.js"]);
  assert.match(firefox.browser_specific_settings.gecko.id, /@/);
  assert.deepEqual(firefox.browser_specific_settings.gecko.data_collection_permissions, { required: ["none"] });
});

test("both ask for no host at install: the backend origin is optional, requested in the options page", () => {
  for (const browser of ["chrome", "firefox"]) {
    const manifest = manifestFor(browser);
    assert.equal(manifest.host_permissions, undefined);
    assert.deepEqual(manifest.optional_host_permissions, ["http://*/*", "https://*/*"]);
    assert.deepEqual(manifestFor("chrome").version, manifest.version);
  }
});

test("a build copies the one source and writes the browser's manifest", () => {
  const out = build("chrome", join(mkdtempSync(join(tmpdir(), "fixative-ext-")), "chrome"), ["http://127.0.0.1:8081"]);
  for (const file of ["background.js", "api.js", "logic.js", "popup.html", "options.html", "preview.html", "icons/icon-128.png"]) {
    assert.ok(existsSync(join(out, file)), file);
  }
  const manifest = JSON.parse(readFileSync(join(out, "manifest.json"), "utf8"));
  assert.deepEqual(manifest.host_permissions, ["http://127.0.0.1/*"]);
});

test("only api.js calls fetch: one module talks to the backend", () => {
  for (const file of ["background.js", "popup.js", "options.js", "preview.js", "logic.js", "messages.js"]) {
    const source = readFileSync(new URL(`../src/${file}`, import.meta.url), "utf8");
    assert.doesNotMatch(source, /\bfetch\(/, file);
  }
});
