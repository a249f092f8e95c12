// Pure helpers for the extension: no chrome.* and no network, so `node --test` covers them.

export const VERDICTS = ["human", "suspect", "scraper"];
export const PREVIEW_PROFILES = [
  ["gptbot", "GPTBot (OpenAI)"],
  ["img2dataset", "img2dataset (LAION's downloader)"],
  ["forged-chrome", "A script posing as Chrome"],
];

/** The origin of an http(s) URL the user typed ("127.0.0.1:8081" is read as http://); throws a readable Error. */
export function normalizeOrigin(text, what = "address") {
  let value = String(text ?? "").trim();
  if (!value) throw new Error(`Enter the ${what}, e.g. http://127.0.0.1:8081`);
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) value = `http://${value}`;
  let url;
  try {
    url = new URL(value);
  } catch {
    throw new Error(`“${text}” is not a web address`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") throw new Error(`The ${what} must start with http:// or https://`);
  if (url.username || url.password) throw new Error(`The ${what} must not contain a user name or password`);
  return url.origin;
}

/** The match pattern that grants access to one origin, for chrome.permissions. */
export function originPattern(origin) {
  const url = new URL(origin);
  return `${url.protocol}//${url.hostname}/*`;
}

/** Unix seconds at the start of the local day of `now` (a Date). */
export function startOfDay(now = new Date()) {
  const d = new Date(now);
  d.setHours(0, 0, 0, 0);
  return d.getTime() / 1000;
}

/** True when the tab's URL is on the protected site (same origin). */
export function isOnSite(tabUrl, siteOrigin) {
  if (!tabUrl || !siteOrigin) return false;
  try {
    return new URL(tabUrl).origin === new URL(siteOrigin).origin;
  } catch {
    return false;
  }
}

/** The path (with query) of an image URL on the protected site, or null if it is elsewhere. */
export function sitePath(imageUrl, siteOrigin) {
  if (!isOnSite(imageUrl, siteOrigin)) return null;
  const url = new URL(imageUrl);
  return url.pathname + url.search;
}

/** Badge text for a count: "" for none, "1k+" style beyond three digits. */
export function badgeText(count) {
  if (!Number.isFinite(count) || count <= 0) return "";
  if (count < 1000) return String(count);
  if (count < 1_000_000) return `${Math.floor(count / 1000)}k+`;
  return "1M+";
}

/** { human, suspect, scraper, total } from a /api/stats answer. */
export function summarize(stats) {
  const counts = Object.fromEntries(VERDICTS.map((v) => [v, Number(stats?.verdicts?.[v] ?? 0)]));
  return { ...counts, total: VERDICTS.reduce((sum, v) => sum + counts[v], 0) };
}

/** "pack/rule: text [+80]" → { rule, text, effect } for display. */
export function parseReason(reason) {
  const match = /^([^:]+): (.*?)(?: \[([^\]]+)\])?$/.exec(String(reason));
  if (!match) return { rule: "", text: String(reason), effect: "" };
  return { rule: match[1], text: match[2], effect: match[3] ?? "" };
}

/** What to tell the user for an error from api.js, by its kind. */
export function explainError(error) {
  switch (error?.kind) {
    case "unauthorized": return "The backend refused the token. Copy it again from admin-token in Fixative's state directory.";
    case "unreachable": return "Cannot reach the backend. Is Fixative running, and is the address right (default http://127.0.0.1:8081)?";
    case "permission": return "The extension may not talk to that address yet. Open the options and allow it.";
    case "not-configured": return "Set the backend address and token in the extension's options first.";
    case "bad-request": return `The backend refused the request: ${error.message}`;
    default: return `Something went wrong: ${error?.message ?? error}`;
  }
}

/** Seconds → "3 min ago"-style text relative to nowSeconds. */
export function ago(ts, nowSeconds = Date.now() / 1000) {
  const s = Math.max(0, Math.round(nowSeconds - ts));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86400)} d ago`;
}
