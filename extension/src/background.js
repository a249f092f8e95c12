// Service worker: every listener is registered at the top level, on every start, so a worker that
// Chrome stopped wakes up for any event. State lives in chrome.storage.local, never only here.
// One dispatcher answers the popup, options and preview pages; only api.js talks to the backend.

import { ApiError, createClient } from "./api.js";
import { badgeText, normalizeOrigin, originPattern, sitePath, startOfDay, summarize } from "./logic.js";

const MENU_ID = "fixative-what-do-scrapers-get";
const BADGE_ALARM = "fixative-badge";
const SETTINGS = ["backendUrl", "token", "siteOrigin"];

async function settings() {
  return chrome.storage.local.get(SETTINGS);
}

async function client() {
  const { backendUrl, token } = await settings();
  if (!backendUrl || !token) throw new ApiError("not-configured", "not configured");
  if (!(await chrome.permissions.contains({ origins: [originPattern(backendUrl)] }))) {
    throw new ApiError("permission", `no permission for ${backendUrl}`);
  }
  return createClient({ baseUrl: backendUrl, token });
}

async function refreshBadge() {
  try {
    const api = await client();
    const stats = await api.stats(startOfDay(), Date.now() / 1000);
    const { scraper } = summarize(stats);
    await chrome.action.setBadgeBackgroundColor({ color: "#d14b4b" });
    await chrome.action.setBadgeText({ text: badgeText(scraper) });
    await chrome.action.setTitle({ title: `Fixative: ${scraper} scraper requests today` });
    return { scraper };
  } catch (e) {
    await chrome.action.setBadgeText({ text: e.kind === "not-configured" ? "" : "!" });
    await chrome.action.setTitle({ title: `Fixative: ${e.message}` });
    throw e;
  }
}

function setUp() {
  chrome.contextMenus.create({ id: MENU_ID, title: "What do scrapers get?", contexts: ["image"] }, () => void chrome.runtime.lastError);
  chrome.alarms.create(BADGE_ALARM, { periodInMinutes: 1 });
  refreshBadge().catch(() => {});
}

const handlers = {
  /** Check the address and token against the backend, and save them only if they work. */
  async configure({ backendUrl, token, siteOrigin }) {
    const base = normalizeOrigin(backendUrl, "backend address");
    const site = siteOrigin ? normalizeOrigin(siteOrigin, "site address") : "";
    if (!(await chrome.permissions.contains({ origins: [originPattern(base)] }))) {
      throw new ApiError("permission", `no permission for ${base}`);
    }
    const key = String(token ?? "").trim() || (await settings()).token; // empty: keep the saved token
    const status = await createClient({ baseUrl: base, token: key }).status();
    const chosenSite = site || status.sites?.[0] || "";
    await chrome.storage.local.set({ backendUrl: base, token: key, siteOrigin: chosenSite });
    refreshBadge().catch(() => {});
    return { status, siteOrigin: chosenSite };
  },

  async getSettings() {
    const { backendUrl = "", siteOrigin = "", token } = await settings();
    return { backendUrl, siteOrigin, hasToken: Boolean(token) };
  },

  /** Everything the popup shows for the tab it was opened on. */
  async popupState({ tabUrl }) {
    const { siteOrigin } = await settings();
    const api = await client();
    const [status, stats, hits] = await Promise.all([
      api.status(), api.stats(startOfDay(), Date.now() / 1000), api.events({ limit: 5, verdict: "scraper" }),
    ]);
    const counts = summarize(stats);
    refreshBadge().catch(() => {});
    return { siteOrigin, onSite: Boolean(sitePath(tabUrl, siteOrigin)), mode: status.mode, upstreamOk: status.upstream.ok,
             counts, hits: hits.events };
  },

  async setMode({ mode }) {
    return (await client()).setMode(mode);
  },

  /** A signed trust cookie from the backend, set on the protected site for this browser. */
  async trustBrowser() {
    const { siteOrigin } = await settings();
    if (!siteOrigin) throw new ApiError("not-configured", "no site address");
    const secure = siteOrigin.startsWith("https:");
    const cookie = await (await client()).trustBrowser(secure);
    await chrome.cookies.set({
      url: `${siteOrigin}/`, name: cookie.name, value: cookie.value, path: "/", httpOnly: true, secure,
      sameSite: "lax", expirationDate: Math.floor(Date.now() / 1000) + cookie.max_age,
    });
    return { trusted: true, until: Date.now() + cookie.max_age * 1000 };
  },

  async preview({ imageUrl, profile }) {
    const { siteOrigin } = await settings();
    const path = sitePath(imageUrl, siteOrigin);
    if (path === null) throw new ApiError("bad-request", `this image is not on your protected site (${siteOrigin || "not set"})`);
    return (await client()).preview(path, profile);
  },

  refreshBadge,
};

chrome.runtime.onMessage.addListener((message, sender, sendResponse) => {
  const handler = sender.id === chrome.runtime.id ? handlers[message?.type] : undefined;
  if (!handler) return false;
  handler(message)
    .then((result) => sendResponse({ ok: true, result }))
    .catch((e) => sendResponse({ ok: false, error: { kind: e.kind ?? "error", message: e.message } }));
  return true; // answered asynchronously
});

chrome.runtime.onInstalled.addListener(setUp);
chrome.runtime.onStartup.addListener(setUp);

chrome.alarms.onAlarm.addListener((alarm) => {
  if (alarm.name === BADGE_ALARM) refreshBadge().catch(() => {});
});

chrome.contextMenus.onClicked.addListener((info) => {
  if (info.menuItemId !== MENU_ID || !info.srcUrl) return;
  chrome.tabs.create({ url: `preview.html?src=${encodeURIComponent(info.srcUrl)}` });
});
