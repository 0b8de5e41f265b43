// Runs /api/* requests through the Route table: match the path, then session, CSRF, must-change and role checks,
// then the query and JSON body through the route's zod schemas, then the handler. Errors become JSON
// `{error, where?, problems?}`; anything unexpected is a 500 with a generic message and a log line.
import { timingSafeEqual } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { z } from "zod";
import type { Log } from "../ops/log.ts";
import type { AuditLog } from "./audit.ts";
import { clearedSessionCookie, type Session, type Sessions, sessionTokenOf } from "./auth/sessions.ts";
import type { Users } from "./auth/users.ts";
import { csrfHeader } from "./openapi.ts";
import { HttpError, type Route, type RouteContext, SENT, type SessionUser } from "./route.ts";

export const maxBodyBytes = 1024 * 1024;
/** What a user who must replace their password may still do. */
export const passwordChangePaths = new Set(["/api/session", "/api/password", "/api/logout"]);

export interface ApiDeps {
  routes: Route[];
  users: Users;
  sessions: Sessions;
  audit: AuditLog;
  log: Log;
}

interface CompiledRoute {
  route: Route;
  segments: string[];
  /** Literal segments: the more, the more specific ("/api/users/me" before "/api/users/:name"). */
  literals: number;
}

class MethodNotAllowed extends HttpError {
  constructor(
    method: string,
    readonly allow: string[],
  ) {
    super(405, `${method} is not allowed here (allowed: ${allow.join(", ")})`, "method");
  }
}

export type ApiHandler = (req: IncomingMessage, res: ServerResponse, url: URL, remoteAddress: string) => Promise<void>;

export function apiHandler(deps: ApiDeps): ApiHandler {
  const table: CompiledRoute[] = deps.routes
    .map((route) => {
      const segments = route.path.split("/").slice(1);
      return { route, segments, literals: segments.filter((s) => !s.startsWith(":")).length };
    })
    .sort((a, b) => b.literals - a.literals);

  return async (req, res, url, remoteAddress) => {
    res.setHeader("cache-control", "no-store");
    let route: Route | undefined;
    try {
      const found = match(table, req.method ?? "GET", url.pathname);
      route = found.route;
      const ctx = await prepare(deps, req, res, url, remoteAddress, found.route, found.params);
      const result = await found.route.handle(ctx);
      if (result === SENT || res.writableEnded) return;
      if (result === undefined) {
        if (res.statusCode === 200) res.statusCode = 204;
        res.end();
      } else sendJson(res, res.statusCode, result);
    } catch (e) {
      if (res.headersSent) {
        deps.log.error({ err: (e as Error).message, path: route?.path }, "web request failed after answering");
        res.destroy();
      } else if (e instanceof HttpError) {
        if (e instanceof MethodNotAllowed) res.setHeader("allow", e.allow.join(", "));
        sendJson(res, e.status, {
          error: e.message,
          ...(e.where !== undefined && { where: e.where }),
          ...(e.problems !== undefined && { problems: e.problems }),
        });
      } else {
        const err = e as Error;
        deps.log.error({ err: err.message, stack: err.stack, method: req.method, path: route?.path }, "web handler");
        sendJson(res, 500, { error: "internal error (see the log)" });
      }
    }
  };
}

function match(
  table: CompiledRoute[],
  method: string,
  pathname: string,
): { route: Route; params: Record<string, string> } {
  const parts = pathname.split("/").slice(1);
  const allowed = new Set<string>();
  for (const c of table) {
    if (c.segments.length !== parts.length) continue;
    const params: Record<string, string> = {};
    const hit = c.segments.every((s, i) => {
      if (!s.startsWith(":")) return s === parts[i];
      if (!parts[i]) return false;
      params[s.slice(1)] = decode(parts[i], s.slice(1));
      return true;
    });
    if (!hit) continue;
    if (c.route.method === method) return { route: c.route, params };
    allowed.add(c.route.method);
  }
  if (allowed.size === 0) throw new HttpError(404, `no API at ${pathname}`, "path");
  throw new MethodNotAllowed(method, [...allowed]);
}

function decode(segment: string, name: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new HttpError(400, "malformed percent-encoding", `path.${name}`);
  }
}

async function prepare(
  deps: ApiDeps,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  remoteAddress: string,
  route: Route,
  params: Record<string, string>,
): Promise<RouteContext> {
  const token = sessionTokenOf(req);
  const session = token ? deps.sessions.lookup(token) : undefined;
  const found = session && deps.users.get(session.userName);
  const user: SessionUser | undefined = found
    ? { name: found.name, role: found.role, mustChange: found.mustChange }
    : undefined;
  const unsafe = route.method !== "GET";
  if (unsafe) checkSameOrigin(req);
  if (route.access !== "public") {
    if (!user) {
      if (token) res.setHeader("set-cookie", clearedSessionCookie());
      throw new HttpError(401, "not logged in (or the session expired)", "session");
    }
    if (unsafe) checkCsrf(req, session as Session);
    if (user.mustChange && !passwordChangePaths.has(route.path))
      throw new HttpError(403, "password must be replaced", "password");
    if (route.access === "admin" && user.role !== "admin") throw new HttpError(403, "admins only", "role");
  } else if (unsafe && !isJson(req)) {
    // Public unsafe requests (login) have no CSRF token yet. A cross-site form cannot send application/json without
    // a CORS preflight, which this server never grants.
    throw new HttpError(415, "content-type must be application/json", "content-type");
  }
  const query = route.query ? validate(route.query, queryObject(url), "query") : {};
  let body: unknown;
  if (route.body) {
    if (!isJson(req)) throw new HttpError(415, "content-type must be application/json", "content-type");
    body = validate(route.body, parseJson(await readBody(req, res)), "body");
  }
  return {
    req,
    res,
    url,
    params,
    query,
    body,
    ...(user && { user }),
    remoteAddress,
    audit: (entry) => deps.audit.append({ ...entry, user: user?.name, address: remoteAddress }),
  };
}

/** Browsers name the page that sent an unsafe request; one from another origin is refused. */
function checkSameOrigin(req: IncomingMessage): void {
  const origin = req.headers.origin;
  if (origin !== undefined && origin !== `https://${req.headers.host}`)
    throw new HttpError(403, "cross-origin request refused", "origin");
  const site = req.headers["sec-fetch-site"];
  if (site !== undefined && site !== "same-origin") throw new HttpError(403, "cross-site request refused", "origin");
}

function checkCsrf(req: IncomingMessage, session: Session): void {
  const sent = req.headers[csrfHeader];
  const a = Buffer.from(typeof sent === "string" ? sent : "");
  const b = Buffer.from(session.csrf);
  if (a.length !== b.length || !timingSafeEqual(a, b))
    throw new HttpError(403, "missing or wrong CSRF token", csrfHeader);
}

function isJson(req: IncomingMessage): boolean {
  return /^application\/json\s*(;|$)/i.test(req.headers["content-type"] ?? "");
}

/** Repeated keys become arrays, so a schema expecting one value names the parameter instead of guessing. */
function queryObject(url: URL): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of url.searchParams) {
    const prev = out[k];
    out[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
  }
  return out;
}

/** "windows", 0, "days" -> "windows[0].days" */
export function issuePath(path: readonly PropertyKey[]): string {
  return path.reduce<string>(
    (s, p) => (typeof p === "number" ? `${s}[${p}]` : s ? `${s}.${String(p)}` : String(p)),
    "",
  );
}

function validate<T>(schema: z.ZodType<T>, value: unknown, where: "query" | "body"): T {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const problems = r.error.issues.map((i) => ({
    path: [where, issuePath(i.path)].filter(Boolean).join("."),
    message: i.message,
  }));
  throw new HttpError(400, `${problems[0].path}: ${problems[0].message}`, problems[0].path, problems);
}

function parseJson(buf: Buffer): unknown {
  if (buf.length === 0) throw new HttpError(400, "a JSON body is required", "body");
  try {
    return JSON.parse(buf.toString("utf8"));
  } catch (e) {
    throw new HttpError(400, `invalid JSON: ${(e as Error).message}`, "body");
  }
}

function readBody(req: IncomingMessage, res: ServerResponse): Promise<Buffer> {
  const tooLarge = () => {
    // Discard the rest of the upload and close the connection after the answer: nothing more gets buffered, and the
    // client still reads the 413 instead of a reset.
    req.resume();
    res.setHeader("connection", "close");
    return new HttpError(413, `body larger than ${maxBodyBytes} bytes`, "body");
  };
  if (Number(req.headers["content-length"] ?? 0) > maxBodyBytes) return Promise.reject(tooLarge());
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= maxBodyBytes) return void chunks.push(chunk);
      req.off("data", onData);
      reject(tooLarge());
    };
    req.on("data", onData);
    req.once("end", () => resolve(Buffer.concat(chunks)));
    req.once("error", reject);
    // A client gone mid-upload: settle (a no-op after "end"), so the handler never waits forever.
    req.once("close", () => reject(new HttpError(400, "the request body was cut off", "body")));
  });
}

export function sendJson(res: ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value);
  res.writeHead(status, {
    "content-type": "application/json; charset=utf-8",
    "content-length": Buffer.byteLength(body),
  });
  res.end(body);
}
