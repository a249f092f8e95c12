import { ask } from "./messages.js";
import { ago, explainError, originPattern, parseReason } from "./logic.js";

const $ = (id) => document.getElementById(id);
let siteOrigin = "";

/** The tab the popup is about: ?tab=ID when opened for a given tab, else the active tab. */
async function targetTab() {
  const id = Number(new URLSearchParams(location.search).get("tab"));
  if (id) return chrome.tabs.get(id);
  const [tab] = await chrome.tabs.query({ active: true, lastFocusedWindow: true });
  return tab;
}

function item(hit) {
  const reason = hit.reasons.length ? parseReason(hit.reasons[0]) : { rule: "", text: "no rule matched" };
  const li = document.createElement("li");
  const path = Object.assign(document.createElement("span"), { className: "path", textContent: hit.path, title: hit.path });
  const why = Object.assign(document.createElement("span"), {
    className: "why", textContent: `${ago(hit.ts)} · ${hit.treatment} · ${reason.rule ? `${reason.rule}: ` : ""}${reason.text}`,
    title: hit.reasons.join("\n"),
  });
  li.append(path, why);
  return li;
}

async function render() {
  const tab = await targetTab();
  let state;
  try {
    state = await ask("popupState", { tabUrl: tab?.url ?? "" });
  } catch (e) {
    $("loading").hidden = true;
    $("problem").hidden = false;
    $("problem-text").textContent = explainError(e);
    return;
  }
  siteOrigin = state.siteOrigin;
  $("loading").hidden = true;
  if (!state.onSite) {
    $("elsewhere").hidden = false;
    $("site-name").textContent = state.siteOrigin || "your site";
    $("elsewhere-today").textContent = `Today so far: ${state.counts.scraper} scraper and ${state.counts.suspect} suspect requests.`;
    return;
  }
  $("onsite").hidden = false;
  for (const mode of ["observe", "enforce"]) $(`mode-${mode}`).setAttribute("aria-checked", String(state.mode === mode));
  for (const v of ["human", "suspect", "scraper"]) $(`count-${v}`).textContent = String(state.counts[v]);
  $("hits").replaceChildren(...state.hits.map(item));
  $("no-hits").hidden = state.hits.length > 0;
}

for (const button of document.querySelectorAll("[data-mode]")) {
  button.addEventListener("click", async () => {
    try {
      await ask("setMode", { mode: button.dataset.mode });
      await render();
    } catch (e) {
      $("trust-result").hidden = false;
      $("trust-result").className = "message error";
      $("trust-result").textContent = explainError(e);
    }
  });
}

$("trust").addEventListener("click", () => {
  const box = $("trust-result");
  // The cookie is set on the site: asked from the click, as the permission prompt needs a gesture.
  chrome.permissions.request({ origins: [originPattern(siteOrigin)] }).then(async (granted) => {
    box.hidden = false;
    if (!granted) {
      box.className = "message error";
      box.textContent = `Permission for ${siteOrigin} is needed to set the cookie there.`;
      return;
    }
    try {
      await ask("trustBrowser");
      box.className = "message ok";
      box.textContent = "This browser now always gets your originals (for about a year).";
    } catch (e) {
      box.className = "message error";
      box.textContent = explainError(e);
    }
  });
});

$("open-options").addEventListener("click", () => chrome.runtime.openOptionsPage());
render();
