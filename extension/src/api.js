// The one module that talks to the Fixative admin backend. Errors carry a `kind` the UI can explain:
// unauthorized, unreachable, permission, not-configured, bad-request, server.

export class ApiError extends Error {
  constructor(kind, message, status = 0) {
    super(message);
    this.name = "ApiError";
    this.kind = kind;
    this.status = status;
  }
}

export function createClient({ baseUrl, token, fetchImpl = globalThis.fetch, timeoutMs = 8000 }) {
  if (!baseUrl || !token) throw new ApiError("not-configured", "backend address or token missing");
  const base = baseUrl.replace(/\/+$/, "");

  async function request(path, { method = "GET", body } = {}) {
    const headers = { Authorization: `Bearer ${token}` };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    let response;
    try {
      response = await fetchImpl(base + path, {
        method, headers, body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(timeoutMs), credentials: "omit", cache: "no-store",
      });
    } catch (e) {
      throw new ApiError("unreachable", `cannot reach ${base} (${e?.name ?? "error"})`);
    }
    const data = await response.json().catch(() => ({}));
    if (response.status === 401) throw new ApiError("unauthorized", data.error ?? "unauthorized", 401);
    if (response.status >= 400 && response.status < 500) {
      throw new ApiError("bad-request", data.error ?? `HTTP ${response.status}`, response.status);
    }
    if (!response.ok) throw new ApiError("server", data.error ?? `HTTP ${response.status}`, response.status);
    return data;
  }

  const query = (params) => new URLSearchParams(Object.entries(params).filter(([, v]) => v !== undefined)).toString();
  return {
    status: () => request("/api/status"),
    stats: (since, until, buckets = 1) => request(`/api/stats?${query({ since, until, buckets })}`),
    events: ({ limit = 5, verdict } = {}) => request(`/api/events?${query({ limit, verdict })}`),
    setMode: (mode) => request("/api/mode", { method: "POST", body: { mode } }),
    trustBrowser: (secure) => request("/api/trust-browser", { method: "POST", body: { secure } }),
    preview: (path, profile) => request(`/api/preview?${query({ path, profile })}`),
  };
}
