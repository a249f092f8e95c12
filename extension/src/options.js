import { ask } from "./messages.js";
import { explainError, normalizeOrigin, originPattern } from "./logic.js";

const $ = (id) => document.getElementById(id);

function show(kind, text) {
  const box = $("result");
  box.hidden = false;
  box.className = `message ${kind}`;
  box.textContent = text;
}

async function load() {
  const current = await ask("getSettings");
  $("backend").value = current.backendUrl || "http://127.0.0.1:8081";
  $("site").value = current.siteOrigin;
  if (current.hasToken) $("token-hint").textContent = "A token is saved. Leave empty to keep it, or paste a new one.";
}

$("form").addEventListener("submit", (event) => {
  event.preventDefault();
  let backendUrl, siteOrigin;
  try {
    backendUrl = normalizeOrigin($("backend").value, "backend address");
    siteOrigin = $("site").value.trim() ? normalizeOrigin($("site").value, "site address") : "";
  } catch (e) {
    show("error", e.message);
    return;
  }
  const origins = [originPattern(backendUrl), ...(siteOrigin ? [originPattern(siteOrigin)] : [])];
  // Asked straight from the click: the browser only shows the prompt during a user gesture.
  chrome.permissions.request({ origins }).then(async (granted) => {
    if (!granted) {
      show("error", `Permission to reach ${backendUrl} was not given. The extension cannot talk to the backend without it.`);
      return;
    }
    $("save").disabled = true;
    show("ok", "Checking…");
    try {
      const result = await ask("configure", { backendUrl, siteOrigin, token: $("token").value.trim() });
      const s = result.status;
      $("site").value = result.siteOrigin;
      show("ok", `Connected: Fixative ${s.versions.fixative}, ${s.mode} mode, ${s.rules} rules, protecting ${s.upstream.url}` +
                 (result.siteOrigin ? ` (your site: ${result.siteOrigin})` : "") + ".");
    } catch (e) {
      show("error", e.kind === "unauthorized" ? "Wrong token: the backend refused it. Copy it again from admin-token."
                                              : explainError(e));
    } finally {
      $("save").disabled = false;
    }
  });
});

load().catch((e) => show("error", explainError(e)));
