// Fixative dashboard: one page over the admin API. The token lives in sessionStorage (this tab only)
// and goes out as an Authorization header, never in a URL. Everything shown is set with textContent.

const KEY = "fixative.token";
const VERDICTS = ["human", "suspect", "scraper"];
const PROFILES = [["person", "A person"], ["gptbot", "GPTBot"], ["img2dataset", "img2dataset"],
                  ["forged-chrome", "Script posing as Chrome"]];
const $ = (id) => document.getElementById(id);
const state = { range: 86400, site: "", sites: [], instance: "", stats: null, lastId: null, seen: [], streamAbort: null, previewUrls: [] };
// The chosen site's name as a query parameter ("-": requests for Hosts no site has), or nothing for all sites.
// With `shared:`, the instance whose event log is read (nothing: this one's).
const siteQuery = () => (state.site ? `&site=${encodeURIComponent(state.site)}` : "") +
  (state.instance ? `&instance=${encodeURIComponent(state.instance)}` : "");
// A real site chosen: the mode switch and the preview are that site's; otherwise the whole proxy's.
const hostedSite = () => state.sites.find((h) => h.name === state.site) || null;

class Unauthorized extends Error {}

async function api(path, options = {}) {
  const token = sessionStorage.getItem(KEY);
  const headers = { Authorization: `Bearer ${token}`, ...(options.body ? { "Content-Type": "application/json" } : {}) };
  const res = await fetch(path, { ...options, headers: { ...headers, ...(options.headers || {}) } });
  if (res.status === 401) throw new Unauthorized("wrong token");
  return res;
}

async function json(path, options) {
  const res = await api(path, options);
  const body = await res.json().catch(() => ({ error: `HTTP ${res.status}` }));
  if (!res.ok) {
    const err = new Error(body.problems ? `${body.error}:\n${body.problems.join("\n")}` : body.error);
    err.status = res.status;
    throw err;
  }
  return body;
}

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else node.setAttribute(k, v);
  }
  for (const child of children) node.append(child);
  return node;
}

const fmt = new Intl.NumberFormat();
const shortUa = (ua) => (ua == null ? "(no User-Agent)" : ua.length > 90 ? `${ua.slice(0, 88)}…` : ua);
const reasonText = (r) => r.replace(/ \[[^\]]*\]$/, "");

// ---- sign in -----------------------------------------------------------------------------------

function showLogin(message = "") {
  stopStream();
  $("app").hidden = true;
  $("topbar-right").hidden = true;
  $("login").hidden = false;
  $("login-error").textContent = message;
  $("token").focus();
}

async function signIn(token) {
  sessionStorage.setItem(KEY, token);
  try {
    await json("/api/status");
  } catch (e) {
    sessionStorage.removeItem(KEY);
    showLogin(e instanceof Unauthorized ? "That token is not right. Check admin-token in the state directory."
                                        : `Could not reach Fixative: ${e.message}`);
    return;
  }
  $("login").hidden = true;
  $("app").hidden = false;
  $("topbar-right").hidden = false;
  await refreshAll();
  startStream();
}

// ---- status, mode, tiles, chart, tables ---------------------------------------------------------

async function refreshStatus() {
  const s = await json("/api/status");
  state.sites = s.hosted_sites || [];
  const shown = hostedSite() || s;
  for (const mode of ["observe", "enforce"]) {
    $(`mode-${mode}`).setAttribute("aria-checked", String(shown.mode === mode));
  }
  $("mode-switch").setAttribute("aria-label", hostedSite() ? `Mode of ${state.site}` : "Mode");
  $("observe-banner").hidden = shown.mode !== "observe";
  const pill = $("upstream-pill");
  const checks = s.hosted_sites && s.hosted_sites.length ? s.hosted_sites.map((h) => ({ name: h.name, ...h.health }))
    : [s.upstream];
  const down = checks.filter((c) => !c.ok);
  pill.className = `pill ${down.length ? "bad" : "ok"}`;
  pill.textContent = !down.length ? (checks.length > 1 ? "sites up" : "site up")
    : checks.length > 1 ? `${down.map((c) => c.name).join(", ")} unreachable` : "site unreachable";
  pill.title = checks.map((c) => `${c.name ? `${c.name}: ` : ""}${c.url}${c.error ? ` — ${c.error}` : ""}`).join("\n");
  const picker = $("site");  // with `sites:` in the config: the figures of one site, or of all
  picker.hidden = !s.hosted_sites || s.hosted_sites.length === 0;
  const names = [...(s.hosted_sites || []).map((h) => h.name), "-"];
  if (!picker.hidden && picker.options.length !== names.length + 1) {
    picker.replaceChildren(el("option", { value: "", text: "All sites" }),
      ...names.map((n) => el("option", { value: n, text: n === "-" ? "Unknown hosts" : n })));
    picker.value = state.site;
  }
  showShared(s.shared);
  $("foot").textContent = `Fixative ${s.versions.fixative} · mitmproxy ${s.versions.mitmproxy} · ${s.rules} rules · ` +
    `${s.preset} preset · up ${Math.round(s.uptime / 60)} min · ${fmt.format(s.clients_tracked)} clients tracked`;
}

// With `shared:` (several instances through Redis): whether Redis answers, and a picker for reading
// another instance's event log (those this machine can read).
function showShared(shared) {
  const pill = $("shared-pill");
  pill.hidden = !shared;
  const picker = $("instance");
  const others = shared ? shared.instances.filter((i) => i.events_readable && i.name !== shared.instance) : [];
  picker.hidden = !others.length;
  if (!shared) return;
  const live = shared.instances.filter((i) => i.live).length;
  pill.className = `pill ${shared.up ? "ok" : "bad"}`;
  pill.textContent = shared.up ? `shared · ${live} instance${live === 1 ? "" : "s"}` : "Redis down: judging locally";
  pill.title = shared.up ? `${shared.redis} (this instance: ${shared.instance})`
    : `${shared.redis}: ${shared.last_error || "no answer"}; ${shared.pending_clients} clients' changes waiting`;
  if (!picker.hidden && picker.options.length !== others.length + 1) {
    picker.replaceChildren(el("option", { value: "", text: `This instance (${shared.instance})` }),
      ...others.map((i) => el("option", { value: i.name, text: `Instance ${i.name}${i.live ? "" : " (stopped)"}` })));
    picker.value = state.instance;
  }
}

async function refreshStats() {
  const until = Date.now() / 1000;
  const buckets = state.range === 3600 ? 60 : state.range === 86400 ? 48 : 56;
  const s = await json(`/api/stats?since=${until - state.range}&until=${until}&buckets=${buckets}${siteQuery()}`);
  state.stats = s;
  for (const v of VERDICTS) $(`count-${v}`).textContent = fmt.format(s.verdicts[v]);
  state.seen.forEach(countEvent);  // what the feed showed after these were counted
  const altered = s.treatments.filter((t) => t.applied && t.treatment !== "original").reduce((a, t) => a + t.count, 0);
  $("count-altered").textContent = fmt.format(altered);
  drawChart(s);
  fillTable("agents", s.top_agents, (a) => [shortUa(a.user_agent), `${a.scraper} scraper · ${a.suspect} suspect`], (a) => a.count);
  fillTable("networks", s.top_networks, (n) => [n.network, n.as || `${n.addresses} address${n.addresses === 1 ? "" : "es"}`], (n) => n.count);
  fillTable("works", s.top_works, (w) => [w.path, w.treatments.join(", ")], (w) => w.count);
}

function fillTable(id, rows, label, count) {
  const body = $(id).tBodies[0];
  body.replaceChildren();
  if (!rows.length) {
    body.append(el("tr", {}, el("td", { class: "name", text: "Nothing yet in this range." })));
    return;
  }
  const max = Math.max(...rows.map(count), 1);
  for (const row of rows) {
    const [title, detail] = label(row);
    const bar = el("div", { class: "bar" });
    bar.style.width = `${Math.max(4, (100 * count(row)) / max)}%`;
    body.append(el("tr", {}, el("td", { class: "name", title }, title, el("small", { text: detail }), bar),
                   el("td", { class: "num", text: fmt.format(count(row)) })));
  }
}

const SVG = "http://www.w3.org/2000/svg";
function svg(tag, attrs) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  return node;
}

function drawChart(s) {
  const box = $("chart");
  const W = Math.max(box.clientWidth, 300), H = box.clientHeight || 220, left = 40, bottom = 22, top = 8;
  const root = svg("svg", { viewBox: `0 0 ${W} ${H}`, preserveAspectRatio: "none" });
  const max = Math.max(1, ...s.series.map((b) => b.human + b.suspect + b.scraper));
  const nice = niceMax(max);
  const plotH = H - bottom - top, slot = (W - left) / s.series.length;
  const steps = nice % 4 === 0 ? 4 : nice % 5 === 0 ? 5 : 2;
  for (let i = 0; i <= steps; i++) {
    const y = top + plotH - (plotH * i) / steps;
    root.append(svg("line", { x1: left, x2: W, y1: y, y2: y, class: "grid-line" }));
    const label = svg("text", { x: left - 6, y: y + 4, "text-anchor": "end", class: "axis" });
    label.textContent = fmt.format((nice * i) / steps);
    root.append(label);
  }
  const colours = { human: "#2f9e6e", suspect: "#d99a1e", scraper: "#d14b4b" };
  s.series.forEach((b, i) => {
    let y = top + plotH;
    for (const v of VERDICTS) {
      const h = (plotH * b[v]) / nice;
      if (h > 0) {
        const rect = svg("rect", { x: left + i * slot + slot * 0.12, y: y - h, width: Math.max(1, slot * 0.76), height: h,
                                   fill: colours[v], rx: Math.min(3, slot * 0.2) });
        const tip = svg("title", {});
        tip.textContent = `${b[v]} ${v} · ${new Date(b.start * 1000).toLocaleString()}`;
        rect.append(tip);
        root.append(rect);
        y -= h;
      }
    }
  });
  const ticks = 6;
  for (let i = 0; i < ticks; i++) {
    const idx = Math.round((i * (s.series.length - 1)) / (ticks - 1));
    const t = new Date(s.series[idx].start * 1000);
    const label = svg("text", { x: left + idx * slot + slot / 2, y: H - 6, "text-anchor": "middle", class: "axis" });
    label.textContent = state.range > 86400 ? t.toLocaleDateString([], { weekday: "short", day: "numeric" })
                                            : t.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
    root.append(label);
  }
  box.replaceChildren(root);
}

function niceMax(n) {
  const p = 10 ** Math.floor(Math.log10(n));
  return Math.max(4, [1, 2, 4, 5, 8, 10].map((m) => m * p).find((m) => m >= n));
}

// ---- live feed (Server-Sent Events read through fetch, so the token stays in a header) ----------

// The tiles are /api/stats's counts plus the events after its last_id, each counted once, whichever comes
// first: the stats, the recent events the feed opens with, or the live stream.
function countEvent(e) {
  if (!state.stats || e.id <= state.stats.last_id || !(e.verdict in state.stats.verdicts)) return;
  state.stats.last_id = e.id;
  state.stats.verdicts[e.verdict] += 1;
  $(`count-${e.verdict}`).textContent = fmt.format(state.stats.verdicts[e.verdict]);
}

function addToFeed(e) {
  const feed = $("feed");
  $("feed-empty").hidden = true;
  const time = new Date(e.ts * 1000).toLocaleTimeString();
  const treatment = e.applied ? e.treatment : e.treatment === "original" ? "original" : `${e.treatment} (observe)`;
  const item = el("li", {}, el("span", { class: `chip ${e.verdict}`, text: e.verdict }),
    el("span", { class: "path", title: e.path, text: e.path }), el("span", { class: "time", text: time }),
    el("span", { class: "who", text: `${e.site ? `${e.site} · ` : ""}${e.ip} · ${shortUa(e.user_agent)} → ${treatment}` }),
    el("span", { class: "why", title: e.reasons.join("\n"), text: e.reasons.length ? reasonText(e.reasons[0]) : "no rule matched" }));
  feed.prepend(item);
  while (feed.children.length > 80) feed.lastChild.remove();
  state.seen.push(e);
  if (state.seen.length > 200) state.seen.shift();
  countEvent(e);
}

function stopStream() {
  if (state.streamAbort) state.streamAbort.abort();
  state.streamAbort = null;
}

async function startStream() {
  stopStream();
  const abort = new AbortController();
  state.streamAbort = abort;
  const pill = $("live-pill");
  if (state.lastId === null) {  // the stream and this page are of the chosen site only (server-side)
    $("feed").replaceChildren();
    $("feed-empty").hidden = false;
    state.seen = [];  // before the await: stats of the newly chosen site may arrive meanwhile
    const recent = await json(`/api/events?limit=25${siteQuery()}`);
    recent.events.reverse().forEach(addToFeed);
    state.lastId = recent.events.length ? recent.events[recent.events.length - 1].id : 0;
  }
  while (!abort.signal.aborted) {
    try {
      const res = await api(`/api/events/stream?after=${state.lastId}${siteQuery()}`, { signal: abort.signal });
      pill.textContent = "live";
      pill.className = "pill live ok";
      const reader = res.body.getReader();
      const decoder = new TextDecoder();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true });
        let cut;
        while ((cut = buffer.indexOf("\n\n")) >= 0) {
          if (!abort.signal.aborted) handleBlock(buffer.slice(0, cut));  // not after the site changed
          buffer = buffer.slice(cut + 2);
        }
      }
    } catch (e) {
      if (e instanceof Unauthorized) return showLogin("The token was refused.");
      if (abort.signal.aborted) return;
    }
    pill.textContent = "reconnecting";
    pill.className = "pill live bad";
    await new Promise((r) => setTimeout(r, 2000));
  }
}

function handleBlock(block) {
  let event = "message", data = "";
  for (const line of block.split("\n")) {
    if (line.startsWith("event: ")) event = line.slice(7);
    else if (line.startsWith("data: ")) data += line.slice(6);
  }
  if (event !== "decision" || !data) return;
  const e = JSON.parse(data);
  state.lastId = Math.max(state.lastId, e.id);
  addToFeed(e);
}

// ---- packs and overrides ------------------------------------------------------------------------

async function refreshPacks() {
  const { packs } = await json("/api/packs");
  const list = $("packs");
  list.replaceChildren();
  for (const p of packs) {
    const box = el("input", { type: "checkbox", "aria-label": `${p.name} on` });
    box.checked = p.enabled;
    box.disabled = p.origin === "local";
    box.addEventListener("change", () => changePacks({ action: box.checked ? "enable" : "disable", name: p.name }));
    const info = el("div", {}, el("span", { class: "pack-name", text: p.name }), " ",
      el("span", { class: "chip plain", text: `${p.rules ?? 0} rules` }), el("small", { text: p.description || "", title: p.description || "" }));
    list.append(el("li", {}, info, el("label", { class: "switch" }, box, el("span"))));
  }
}

async function changePacks(body) {
  $("packs-error").textContent = "";
  try {
    await json("/api/packs", { method: "POST", body: JSON.stringify(body) });
  } catch (e) {
    $("packs-error").textContent = e.message;
  }
  await Promise.all([refreshPacks(), refreshStatus()]);
}

async function refreshOverrides() {
  const { overrides } = await json("/api/overrides");
  const list = $("overrides");
  list.replaceChildren();
  if (!overrides.length) list.append(el("li", { class: "empty-row" }, el("small", { text: "No overrides: the rule packs decide." })));
  for (const o of overrides) {
    const remove = el("button", { type: "button", class: "ghost", text: "Remove" });
    remove.addEventListener("click", async () => {
      await json(`/api/overrides?id=${encodeURIComponent(o.id)}`, { method: "DELETE" });
      await refreshOverrides();
    });
    const what = o.kind === "ip" ? o.value : `UA contains “${o.value}”`;
    list.append(el("li", {}, el("div", { class: "ov-text" }, el("span", { class: `chip ${o.action === "allow" ? "human" : "scraper"}`, text: o.action }),
      ` ${what} `, el("small", { text: o.note })), remove));
  }
}

// ---- preview -------------------------------------------------------------------------------------

async function runPreview(path) {
  $("preview-error").textContent = "";
  state.previewUrls.forEach((u) => URL.revokeObjectURL(u));
  state.previewUrls = [];
  const box = $("previews");
  box.replaceChildren();
  for (const [profile, label] of PROFILES) {
    const site = hostedSite() ? `&site=${encodeURIComponent(state.site)}` : "";
    const res = await api(`/api/preview?path=${encodeURIComponent(path)}&profile=${profile}&raw=1${site}`);
    if (res.status === 400 || res.status === 404) {
      $("preview-error").textContent = (await res.json()).error;
      return;
    }
    const url = URL.createObjectURL(await res.blob());
    state.previewUrls.push(url);
    const verdict = res.headers.get("X-Fixative-Verdict");
    const treatment = res.headers.get("X-Fixative-Treatment");
    const gets = res.headers.get("X-Fixative-Applied") === "1" || treatment === "original"
      ? treatment : `original (observe mode; enforce gives ${treatment})`;
    box.append(el("figure", {}, el("img", { src: url, alt: `What ${label} gets` }),
      el("figcaption", {}, el("strong", { text: label }), el("span", { class: `chip ${verdict}`, text: verdict }),
        ` ${gets}`)));
  }
}

// ---- wiring --------------------------------------------------------------------------------------

async function refreshAll() {
  await Promise.all([refreshStatus(), refreshStats(), refreshPacks(), refreshOverrides()]);
}

function guard(fn) {
  return (...args) => fn(...args).catch((e) => (e instanceof Unauthorized ? showLogin("The token was refused.") : console.error(e)));
}

$("login-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  signIn($("token").value.trim());
});
$("logout").addEventListener("click", () => {
  sessionStorage.removeItem(KEY);
  showLogin();
});
for (const button of document.querySelectorAll("[data-mode]")) {
  button.addEventListener("click", guard(async () => {
    const site = hostedSite() ? { site: state.site } : {};
    await json("/api/mode", { method: "POST", body: JSON.stringify({ mode: button.dataset.mode, ...site }) });
    await refreshStatus();
  }));
}
for (const button of document.querySelectorAll("[data-range]")) {
  button.addEventListener("click", guard(async () => {
    document.querySelectorAll("[data-range]").forEach((b) => b.classList.toggle("on", b === button));
    state.range = Number(button.dataset.range);
    await refreshStats();
  }));
}
$("instance").addEventListener("change", guard(async () => {
  state.instance = $("instance").value;
  state.lastId = null;  // the feed starts again with that instance's recent requests
  startStream();
  await Promise.all([refreshStats(), refreshStatus()]);
}));
$("site").addEventListener("change", guard(async () => {
  state.site = $("site").value;
  state.lastId = null;  // the feed starts again with the chosen site's recent requests
  startStream();
  await Promise.all([refreshStats(), refreshStatus()]);
}));
$("reload-packs").addEventListener("click", guard(() => changePacks({ action: "reload" })));
$("override-form").addEventListener("submit", guard(async (ev) => {
  ev.preventDefault();
  $("ov-error").textContent = "";
  try {
    await json("/api/overrides", { method: "POST", body: JSON.stringify({
      kind: $("ov-kind").value, action: $("ov-action").value, value: $("ov-value").value.trim(), note: $("ov-note").value.trim() }) });
    $("ov-value").value = "";
    $("ov-note").value = "";
  } catch (e) {
    $("ov-error").textContent = e.message;
  }
  await refreshOverrides();
}));
$("ov-kind").addEventListener("change", () => {
  $("ov-value").placeholder = $("ov-kind").value === "ip" ? "203.0.113.0/24" : "SomeBot";
});
$("preview-form").addEventListener("submit", guard(async (ev) => {
  ev.preventDefault();
  await runPreview($("preview-path").value.trim());
}));
window.addEventListener("resize", () => state.stats && drawChart(state.stats));
setInterval(guard(async () => {
  if (!$("app").hidden) await Promise.all([refreshStats(), refreshStatus()]);
}), 30000);

if (sessionStorage.getItem(KEY)) guard(signIn)(sessionStorage.getItem(KEY));
else showLogin();
