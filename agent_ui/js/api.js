// The REST API, as the logged-in browser uses it: the HttpOnly session cookie goes by itself
// (the page never sees the token) and the browser adds our Origin to every change, which the
// server checks against cross-site requests.

export class ApiError extends Error {
  constructor(status, body) {
    super(body?.message || `HTTP ${status}`);
    this.status = status;
    this.error = body?.error || (status === 422 ? "invalid-request" : `http-${status}`);
    this.detail = body?.detail || {};
  }
}

/** No answer at all: the server (or the network to it) is down, or it did not answer within
 * the time a request may take. ``kind`` is "unreachable" or "timeout"; errors.js words it. */
export class NetworkError extends Error {
  constructor(kind, seconds, cause) {
    super(kind === "timeout" ? `no answer within ${seconds} s` : "server unreachable", { cause });
    this.kind = kind;
    this.seconds = seconds;
  }
}

// A request that has had no answer by then is given up, and the page says so: a hung server
// or a dead link must not leave a button busy for ever. Every route answers well within it
// (the supervisor's monitoring rings the phone asynchronously).
export const REQUEST_TIMEOUT_SECONDS = 30;

const listeners = { unauthenticated: new Set() };

/** Called when any request answers 401: the session ended, the page shows the login. */
export function onUnauthenticated(listener) {
  listeners.unauthenticated.add(listener);
}

export async function request(method, path, body = undefined) {
  const init = { method, credentials: "same-origin", headers: { Accept: "application/json" } };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  init.signal = AbortSignal.timeout(REQUEST_TIMEOUT_SECONDS * 1000);
  let response;
  try {
    response = await fetch(`/api${path}`, init);
  } catch (error) {
    // fetch rejects only when no answer came: refused, unreachable, or given up.
    const kind = error?.name === "TimeoutError" ? "timeout" : "unreachable";
    throw new NetworkError(kind, REQUEST_TIMEOUT_SECONDS, error);
  }
  serverClock.observe(response.headers.get("Date"));
  if (response.status === 204) return null;
  const data = await response.json().catch(() => null);
  if (!response.ok) {
    const error = new ApiError(response.status, data);
    if (response.status === 401 && !path.startsWith("/auth/login")) {
      for (const listener of listeners.unauthenticated) listener(error);
    }
    throw error;
  }
  return data;
}

export const get = (path) => request("GET", path);
export const post = (path, body) => request("POST", path, body);
export const patch = (path, body) => request("PATCH", path, body);
export const put = (path, body) => request("PUT", path, body);
export const del = (path) => request("DELETE", path);

/** The query string of ``params``, leaving out empty values. */
export function query(params) {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== null && value !== undefined && value !== "") search.set(key, String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : "";
}

/** The server's clock as this page sees it: phases written from the page (the end of the
 * wrap-up) carry a time that must not be earlier than the server's own phase times, whatever
 * the desk computer's clock says. Websocket envelopes (`at`, microseconds) refine it. */
export const serverClock = {
  offsetMs: 0,
  known: false,
  observe(httpDate) {
    if (this.known || !httpDate) return; // a Date header has 1 s resolution: first guess only
    const at = Date.parse(httpDate);
    if (!Number.isNaN(at)) this.offsetMs = at - Date.now();
  },
  observeEnvelope(iso) {
    const at = Date.parse(iso);
    if (Number.isNaN(at)) return;
    // The envelope was stamped before it travelled: the server is at least that far along.
    const offset = at - Date.now();
    this.offsetMs = this.known ? Math.max(this.offsetMs, offset) : offset;
    this.known = true;
  },
  now() {
    return new Date(Date.now() + this.offsetMs);
  },
};
