import assert from "node:assert/strict";
import { test } from "node:test";

import { ago, badgeText, explainError, isOnSite, normalizeOrigin, originPattern, parseReason, sitePath, startOfDay,
         summarize } from "../src/logic.js";

test("normalizeOrigin accepts what people type and refuses the rest", () => {
  const table = [
    ["127.0.0.1:8081", "http://127.0.0.1:8081"],
    [" http://127.0.0.1:8081/ ", "http://127.0.0.1:8081"],
    ["https://admin.example/path?x", "https://admin.example"],
    ["http://[::1]:8081", "http://[::1]:8081"],
    ["HTTP://LOCALHOST:8081", "http://localhost:8081"],
  ];
  for (const [input, expected] of table) assert.equal(normalizeOrigin(input), expected, input);
  for (const bad of ["", "   ", "ftp://x", "http://user:pw@host", "javascript:alert(1)", "http://"]) {
    assert.throws(() => normalizeOrigin(bad), Error, bad);
  }
});

test("originPattern covers every port of the host, as match patterns require", () => {
  assert.equal(originPattern("http://127.0.0.1:8081"), "http://127.0.0.1/*");
  assert.equal(originPattern("https://site.example"), "https://site.example/*");
});

test("startOfDay is local midnight", () => {
  const now = new Date(2026, 10, 25, 15, 30, 12);
  assert.equal(startOfDay(now), new Date(2026, 10, 25).getTime() / 1000);
});

test("isOnSite and sitePath only accept the protected origin", () => {
  const site = "http://127.0.0.1:8080";
  assert.equal(isOnSite("http://127.0.0.1:8080/gallery/1.html", site), true);
  assert.equal(isOnSite("http://127.0.0.1:9999/", site), false);
  assert.equal(isOnSite("chrome://newtab", site), false);
  assert.equal(isOnSite("not a url", site), false);
  assert.equal(isOnSite("http://127.0.0.1:8080/", ""), false);
  assert.equal(sitePath("http://127.0.0.1:8080/images/a.jpg?v=2", site), "/images/a.jpg?v=2");
  assert.equal(sitePath("https://cdn.example/images/a.jpg", site), null);
});

test("badgeText stays within four characters", () => {
  const table = [[0, ""], [-1, ""], [NaN, ""], [7, "7"], [999, "999"], [1000, "1k+"], [45_678, "45k+"], [2e6, "1M+"]];
  for (const [n, text] of table) assert.equal(badgeText(n), text, String(n));
});

test("summarize counts verdicts and tolerates missing ones", () => {
  assert.deepEqual(summarize({ verdicts: { human: 3, scraper: 5 } }), { human: 3, suspect: 0, scraper: 5, total: 8 });
  assert.deepEqual(summarize(undefined), { human: 0, suspect: 0, scraper: 0, total: 0 });
});

test("parseReason splits the event log's reason strings", () => {
  assert.deepEqual(parseReason("http-libraries/curl-wget: a command-line download tool (curl, wget) [+80]"),
    { rule: "http-libraries/curl-wget", text: "a command-line download tool (curl, wget)", effect: "+80" });
  assert.deepEqual(parseReason("ai-agents/gptbot: declares itself GPTBot: scrapes [deny]"),
    { rule: "ai-agents/gptbot", text: "declares itself GPTBot: scrapes", effect: "deny" });
  assert.equal(parseReason("odd").text, "odd");
});

test("explainError names what to do for each kind", () => {
  assert.match(explainError({ kind: "unauthorized" }), /token/);
  assert.match(explainError({ kind: "unreachable" }), /reach/);
  assert.match(explainError({ kind: "permission" }), /allow/);
  assert.match(explainError({ kind: "not-configured" }), /options/);
  assert.match(explainError({ kind: "bad-request", message: "path: bad" }), /path: bad/);
  assert.match(explainError(new Error("boom")), /boom/);
});

test("ago reads naturally", () => {
  assert.equal(ago(100, 130), "30 s ago");
  assert.equal(ago(0, 600), "10 min ago");
  assert.equal(ago(0, 7200), "2 h ago");
  assert.equal(ago(0, 3 * 86400), "3 d ago");
  assert.equal(ago(200, 100), "0 s ago");
});
