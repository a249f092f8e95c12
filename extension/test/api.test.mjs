// api.js against a real HTTP server on loopback that answers like the admin backend's error paths.
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { after, before, test } from "node:test";

import { ApiError, createClient } from "../src/api.js";

const TOKEN = "secret-token";
let server;
let base;
const seen = [];

before(async () => {
  server = createServer((req, res) => {
    let body = "";
    req.on("data", (chunk) => (body += chunk));
    req.on("end", () => {
      seen.push({ method: req.method, url: req.url, auth: req.headers.authorization, body });
      res.setHeader("Content-Type", "application/json");
      if (req.headers.authorization !== `Bearer ${TOKEN}`) {
        res.statusCode = 401;
        return res.end(JSON.stringify({ error: "unauthorized: send the admin token" }));
      }
      if (req.url.startsWith("/api/status")) return res.end(JSON.stringify({ mode: "enforce" }));
      if (req.url.startsWith("/api/mode")) {
        const { mode } = JSON.parse(body);
        if (mode !== "observe" && mode !== "enforce") {
          res.statusCode = 400;
          return res.end(JSON.stringify({ error: "mode: expected one of observe, enforce", field: "mode" }));
        }
        return res.end(JSON.stringify({ mode }));
      }
      res.statusCode = 500;
      res.end("not json");
    });
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${server.address().port}`;
});

after(() => server.close());

test("sends the token as a bearer header and reads JSON", async () => {
  const api = createClient({ baseUrl: `${base}/`, token: TOKEN });
  assert.deepEqual(await api.status(), { mode: "enforce" });
  assert.deepEqual(await api.setMode("observe"), { mode: "observe" });
  const last = seen.at(-1);
  assert.equal(last.method, "POST");
  assert.equal(last.auth, `Bearer ${TOKEN}`);
  assert.deepEqual(JSON.parse(last.body), { mode: "observe" });
});

test("builds query strings without undefined values", async () => {
  const api = createClient({ baseUrl: base, token: TOKEN });
  await api.events({ limit: 3 }).catch(() => {});
  assert.equal(seen.at(-1).url, "/api/events?limit=3");
  await api.preview("/images/a b.jpg", "gptbot").catch(() => {});
  assert.equal(seen.at(-1).url, "/api/preview?path=%2Fimages%2Fa+b.jpg&profile=gptbot");
});

test("a wrong token is an 'unauthorized' error", async () => {
  const api = createClient({ baseUrl: base, token: "wrong" });
  await assert.rejects(api.status(), (e) => e instanceof ApiError && e.kind === "unauthorized" && e.status === 401);
});

test("a refused request keeps the backend's message", async () => {
  const api = createClient({ baseUrl: base, token: TOKEN });
  await assert.rejects(api.setMode("panic"), (e) => e.kind === "bad-request" && /mode: expected/.test(e.message));
});

test("a server error and an unreachable backend are told apart", async () => {
  const api = createClient({ baseUrl: base, token: TOKEN });
  await assert.rejects(api.stats(0, 1), (e) => e.kind === "server" && e.status === 500);
  const gone = createClient({ baseUrl: "http://127.0.0.1:9", token: TOKEN, timeoutMs: 2000 });
  await assert.rejects(gone.status(), (e) => e.kind === "unreachable");
});

test("no address or token is 'not-configured'", () => {
  assert.throws(() => createClient({ baseUrl: "", token: TOKEN }), (e) => e.kind === "not-configured");
  assert.throws(() => createClient({ baseUrl: base, token: "" }), (e) => e.kind === "not-configured");
});
