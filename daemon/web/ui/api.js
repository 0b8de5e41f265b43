// The one way the page talks to the daemon: JSON in and out, the session's CSRF token on every non-GET request, and
// the server's {error, where, problems} turned into an ApiError whose `problems` the forms show at their fields.
import { t } from "./i18n.js";

let csrf = "";
const authLost = new Set();

export function setCsrf(token) {
  csrf = token ?? "";
}

/** fn(reason): "login" when the session is gone (401), "password" when the password must be replaced first. */
export function onAuthLost(fn) {
  authLost.add(fn);
  return () => authLost.delete(fn);
}

export class ApiError extends Error {
  constructor(status, body, retryAfter) {
    super(body?.error || (status ? `HTTP ${status}` : t("error.network")));
    this.status = status;
    this.where = body?.where;
    this.problems = Array.isArray(body?.problems) ? body.problems : [];
    this.retryAfter = retryAfter ? Number(retryAfter) : undefined;
  }
}

/** Field problems of a failed request: the server's list, or its single error at `where`. */
export function problemsOf(err) {
  if (!(err instanceof ApiError)) return [{ path: "", message: String(err?.message ?? err) }];
  if (err.problems.length) return err.problems;
  return [{ path: err.where ?? "", message: err.message }];
}

/** Adds the non-empty values of `query` to `path`. */
export function withQuery(path, query) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined && v !== null && v !== "") q.set(k, String(v));
  const s = q.toString();
  return s ? `${path}?${s}` : path;
}

export async function request(method, path, body) {
  const headers = { accept: "application/json" };
  if (body !== undefined) headers["content-type"] = "application/json";
  if (method !== "GET" && csrf) headers["x-csrf-token"] = csrf;
  let res;
  try {
    res = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "same-origin",
      cache: "no-store",
    });
  } catch {
    throw new ApiError(0, null);
  }
  if (res.status === 204) return undefined;
  const type = res.headers.get("content-type") ?? "";
  const data = type.includes("json") ? await res.json().catch(() => null) : await res.text().catch(() => "");
  if (res.ok) return data;
  const err = new ApiError(
    res.status,
    data && typeof data === "object" ? data : { error: data || res.statusText },
    res.headers.get("retry-after"),
  );
  const publicPath = path.startsWith("/api/login") || path.startsWith("/api/session");
  if (res.status === 401 && !publicPath) for (const fn of authLost) fn("login");
  if (res.status === 403 && err.where === "password" && !path.startsWith("/api/password"))
    for (const fn of authLost) fn("password");
  throw err;
}

export const api = {
  get: (path, query) => request("GET", withQuery(path, query)),
  post: (path, body) => request("POST", path, body ?? {}),
  put: (path, body) => request("PUT", path, body),
  patch: (path, body) => request("PATCH", path, body),
  del: (path) => request("DELETE", path),
};

/** A config section as {version, value}; the value is a deep copy the page may edit. */
export async function loadSection(name) {
  return api.get(`/api/config/${encodeURIComponent(name)}`);
}

/** Writes a section back with the version it was read at; resolves {version, restartNeeded} or throws ApiError. */
export function saveSection(name, version, value) {
  return api.put(`/api/config/${encodeURIComponent(name)}`, { version, value });
}
