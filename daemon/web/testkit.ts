// For tests of any API module: a real web server on 127.0.0.1 (free ports, temp data dir, its own database) with an
// admin and a staff user, and a small HTTPS client that keeps the session cookie and sends the CSRF token. The
// client trusts exactly the server's self-signed certificate (node:https with `ca`), so TLS is verified for real.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import type { IncomingHttpHeaders } from "node:http";
import { Agent, request } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Config, configSchema } from "../config/schema.ts";
import { type Log, silentLog } from "../ops/log.ts";
import { closeDb, type Db, openDb } from "../store/db.ts";
import { authRoutes } from "./api/auth.ts";
import { hashPassword, type ScryptCost } from "./auth/passwords.ts";
import { sessionCookieName } from "./auth/sessions.ts";
import { Users } from "./auth/users.ts";
import { csrfHeader } from "./openapi.ts";
import type { Route } from "./route.ts";
import type { WebDeps } from "./routes.ts";
import { startWebServer } from "./server.ts";

/** Cheap scrypt for tests: the format and the code path are the same, only the cost is lower. */
export const testScryptCost: ScryptCost = { N: 2 ** 10, r: 8, p: 1 };

export const testUsers = {
  admin: { name: "admin", password: "admin-password-1" },
  staff: { name: "staff", password: "staff-password-1" },
} as const;

export interface TestWebOptions {
  /** Routes besides the auth routes: a list, or a factory given the same deps the daemon would give. */
  routes?: Route[] | ((deps: WebDeps) => Route[]);
  /** A database to use (it is not closed by close()); default a fresh one in the temp data dir. */
  db?: Db;
  /** Config input (as in YAML) merged over the test defaults; `web` is merged key by key. */
  config?: Record<string, unknown>;
  /** Create the admin and staff users (default true). False leaves the users table empty: first boot. */
  users?: boolean;
  now?: () => number;
  uiDir?: string;
  log?: Log;
  /** Files to put into the data dir before the server starts (e.g. "first-boot-secret"). */
  files?: Record<string, string>;
}

export interface TestResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  text: string;
  json<T = Record<string, unknown>>(): T;
}

export interface RequestOptions {
  /** Sent as JSON (with content-type application/json). */
  body?: unknown;
  /** Sent as is (no content-type unless given in headers). */
  raw?: string | Buffer;
  headers?: Record<string, string>;
  /** Send the session's CSRF token on non-GET requests (default true). */
  csrf?: boolean;
}

export interface TestClient {
  /** The session's CSRF token, after login. */
  csrf?: string;
  /** The session cookie's value, after login. */
  token?: string;
  request(method: string, path: string, opts?: RequestOptions): Promise<TestResponse>;
  get(path: string, opts?: RequestOptions): Promise<TestResponse>;
  post(path: string, body?: unknown, opts?: RequestOptions): Promise<TestResponse>;
  put(path: string, body?: unknown, opts?: RequestOptions): Promise<TestResponse>;
  patch(path: string, body?: unknown, opts?: RequestOptions): Promise<TestResponse>;
  delete(path: string, opts?: RequestOptions): Promise<TestResponse>;
}

export interface TestWeb {
  /** "https://127.0.0.1:PORT" */
  base: string;
  httpUrl?: string;
  fingerprint: string;
  /** The server's certificate (PEM), for raw TLS clients. */
  cert: string;
  db: Db;
  dataDir: string;
  config: Config;
  deps: WebDeps;
  /** What the server printed on the console (first-boot secret, new certificate). */
  console: string[];
  /** A client without a session. */
  anonymous(): TestClient;
  /** Logs in ("admin", "staff" or any user with its password) and returns a client holding the session. */
  login(user: string, password?: string): Promise<TestClient>;
  close(): Promise<void>;
}

export async function startTestWeb(opts: TestWebOptions = {}): Promise<TestWeb> {
  const dataDir = mkdtempSync(join(tmpdir(), "sb-web-"));
  for (const [name, text] of Object.entries(opts.files ?? {})) writeFileSync(join(dataDir, name), text);
  const db = opts.db ?? openDb(join(dataDir, "switchboard.db"));
  const input = opts.config ?? {};
  const config = configSchema.parse({
    ...input,
    dataDir,
    web: { address: "127.0.0.1", port: 0, httpPort: 0, ...(input.web as Record<string, unknown> | undefined) },
  });
  const now = opts.now ?? Date.now;
  const log = opts.log ?? silentLog;
  const deps: WebDeps = { db, log, config: () => config, dataDir, now, scryptCost: testScryptCost };
  if (opts.users !== false) {
    const users = new Users(db, now);
    for (const [role, u] of Object.entries(testUsers) as ["admin" | "staff", { name: string; password: string }][])
      users.create({
        name: u.name,
        role,
        passwordHash: await hashPassword(u.password, testScryptCost),
        mustChange: false,
      });
  }
  const all: Route[] = [];
  const extra = typeof opts.routes === "function" ? opts.routes(deps) : (opts.routes ?? []);
  all.push(...authRoutes(deps, () => all), ...extra);
  const printed: string[] = [];
  const server = await startWebServer({
    web: config.web,
    dataDir,
    db,
    routes: all,
    log,
    now,
    console: (t) => void printed.push(t),
    scryptCost: testScryptCost,
    ...(opts.uiDir && { uiDir: opts.uiDir }),
  });
  const cert = readFileSync(join(dataDir, "web", "cert.pem"), "utf8");
  const agent = new Agent({ ca: cert, keepAlive: false });
  const base = server.url;

  const client = (): TestClient => {
    const c: TestClient = {
      async request(method, path, o = {}) {
        const headers: Record<string, string> = { ...o.headers };
        let payload: string | Buffer | undefined = o.raw;
        if (o.body !== undefined) {
          payload = JSON.stringify(o.body);
          headers["content-type"] ??= "application/json";
        }
        if (c.token) headers.cookie = `${sessionCookieName}=${c.token}`;
        if (c.csrf && method !== "GET" && o.csrf !== false) headers[csrfHeader] ??= c.csrf;
        const r = await send(agent, `${base}${path}`, method, headers, payload);
        const cookie = [r.headers["set-cookie"] ?? []].flat().find((x) => x.startsWith(`${sessionCookieName}=`));
        if (cookie !== undefined) {
          const value = cookie.slice(sessionCookieName.length + 1).split(";")[0];
          c.token = value || undefined;
          if (!value) c.csrf = undefined;
        }
        return r;
      },
      get: (p, o) => c.request("GET", p, o),
      post: (p, body, o) => c.request("POST", p, { ...o, body }),
      put: (p, body, o) => c.request("PUT", p, { ...o, body }),
      patch: (p, body, o) => c.request("PATCH", p, { ...o, body }),
      delete: (p, o) => c.request("DELETE", p, o),
    };
    return c;
  };

  return {
    base,
    ...(server.httpUrl && { httpUrl: server.httpUrl }),
    fingerprint: server.fingerprint,
    cert,
    db,
    dataDir,
    config,
    deps,
    console: printed,
    anonymous: client,
    async login(user, password) {
      const known = (testUsers as Record<string, { password: string }>)[user];
      const c = client();
      const r = await c.post("/api/login", { user, password: password ?? known?.password ?? "" });
      if (r.status !== 200) throw new Error(`login ${user}: ${r.status} ${r.text}`);
      c.csrf = r.json<{ csrf: string }>().csrf;
      return c;
    },
    async close() {
      await server.close();
      agent.destroy();
      if (!opts.db) closeDb(db);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** One HTTPS request; the answer fully read. */
export function send(
  agent: Agent,
  url: string,
  method: string,
  headers: Record<string, string>,
  payload?: string | Buffer,
): Promise<TestResponse> {
  return new Promise((resolve, reject) => {
    let answered = false;
    let failure: Error | undefined;
    const req = request(url, { method, headers, agent }, (res) => {
      answered = true;
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("error", reject);
      res.on("end", () => {
        const body = Buffer.concat(chunks);
        const text = body.toString("utf8");
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body,
          text,
          json: <T>() => JSON.parse(text) as T,
        });
      });
    });
    // The server may answer (413) and close before the whole upload is written: the answer is what counts.
    req.on("error", (e: NodeJS.ErrnoException) => {
      failure = e;
      if (e.code !== "EPIPE" && e.code !== "ECONNRESET") reject(e);
    });
    req.on("close", () => {
      if (!answered) reject(failure ?? new Error(`${method} ${url}: connection closed without an answer`));
    });
    req.end(payload);
  });
}
