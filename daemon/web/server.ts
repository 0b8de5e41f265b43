// The admin web page's server: HTTPS only (TLS 1.2+, certificate from tls-cert.ts), a plain-HTTP listener that only
// redirects, a Host allow-list against DNS rebinding (anything else gets 421 and no content), security headers on
// every answer, /api/* through the Route table (dispatch.ts) and everything else from daemon/web/ui (static-files.ts).
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { hostname } from "node:os";
import { fileURLToPath } from "node:url";
import type { WebConfig } from "../config/schema.ts";
import type { Log } from "../ops/log.ts";
import type { Db } from "../store/db.ts";
import { AuditLog } from "./audit.ts";
import { FirstBoot, firstBootUser } from "./auth/first-boot.ts";
import type { ScryptCost } from "./auth/passwords.ts";
import { Sessions } from "./auth/sessions.ts";
import { Users } from "./auth/users.ts";
import { apiHandler } from "./dispatch.ts";
import type { Route } from "./route.ts";
import { staticFiles } from "./static-files.ts";
import { boxAddresses, loadTls } from "./tls-cert.ts";

export const defaultUiDir = fileURLToPath(new URL("./ui", import.meta.url));

export interface WebServerOptions {
  /** Bound at start: a change needs a restart. */
  web: WebConfig;
  dataDir: string;
  db: Db;
  routes: Route[];
  log: Log;
  uiDir?: string;
  /** The clock of sessions, lockouts and audit entries (tests move it). */
  now?: () => number;
  /** Where the first-boot secret and a new certificate's fingerprint are shown: the console (stderr), not the log. */
  console?: (text: string) => void;
  /** scrypt cost of the first-boot secret's hash (tests make it cheap). */
  scryptCost?: ScryptCost;
}

export interface RunningWebServer {
  url: string;
  /** The redirect listener, when there is one. */
  httpUrl?: string;
  fingerprint: string;
  close(): Promise<void>;
}

export const securityHeaders: Readonly<Record<string, string>> = {
  "content-security-policy": [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data: blob:",
    "media-src 'self' blob:",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join("; "),
  "strict-transport-security": "max-age=31536000",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "x-frame-options": "DENY",
  "cross-origin-opener-policy": "same-origin",
  "cross-origin-resource-policy": "same-origin",
  // The softphone needs the microphone; nothing else.
  "permissions-policy": "microphone=(self), camera=(), geolocation=(), payment=(), usb=()",
};

export async function startWebServer(opts: WebServerOptions): Promise<RunningWebServer> {
  const { web, log } = opts;
  const now = opts.now ?? Date.now;
  const tls = await loadTls({ dataDir: opts.dataDir, certFile: web.certFile, keyFile: web.keyFile });
  const users = new Users(opts.db, now);
  const api = apiHandler({
    routes: opts.routes,
    users,
    sessions: new Sessions(opts.db, () => web.session, now),
    audit: new AuditLog(opts.db, now),
    log,
  });
  const files = staticFiles(opts.uiDir ?? defaultUiDir);
  const allowed = hostAllowList(web.hosts);

  const https = createHttpsServer({ cert: tls.cert, key: tls.key, minVersion: "TLSv1.2" }, (req, res) => {
    const port = (https.address() as AddressInfo).port;
    void answer(req, res, { port, defaultPort: 443 }, log, allowed, async (url) =>
      url.pathname === "/api" || url.pathname.startsWith("/api/")
        ? api(req, res, url, remoteAddressOf(req))
        : files(req, res, url),
    );
  });
  // Handshakes that fail (old TLS, port scanners) are the client's business, not the log's.
  https.on("tlsClientError", () => undefined);
  await listen(https, web.port, web.address);
  const port = (https.address() as AddressInfo).port;
  const shownHost = displayHost(web.address);
  const url = `https://${shownHost}:${port}`;

  let http: Server | undefined;
  if (web.httpPort !== null) {
    const server = createHttpServer((req, res) => {
      const httpPort = (server.address() as AddressInfo).port;
      void answer(req, res, { port: httpPort, defaultPort: 80 }, log, allowed, async (u) => {
        const target = `https://${u.host.replace(/:\d+$/, "")}${port === 443 ? "" : `:${port}`}${u.pathname}${u.search}`;
        res.writeHead(301, { location: target, "content-type": "text/plain; charset=utf-8" }).end(`${target}\n`);
      });
    });
    http = server;
    try {
      await listen(server, web.httpPort, web.address);
    } catch (e) {
      await closeServer(https);
      throw e;
    }
  }
  const httpUrl = http && `http://${shownHost}:${(http.address() as AddressInfo).port}`;
  // Only once listening: a secret generated for a server that then failed to start would never be shown.
  const firstBoot = await new FirstBoot(opts.dataDir, users, now, opts.scryptCost).prepare().catch(async (e) => {
    await Promise.all([closeServer(https), http && closeServer(http)]);
    throw e;
  });

  const show = opts.console ?? ((text: string) => process.stderr.write(text));
  if (firstBoot.generated) {
    show(
      [
        "",
        "==================== Switchboard: first start ====================",
        `  Web page:    ${url}`,
        `  Certificate: SHA-256 ${tls.fingerprint}`,
        `  Log in as "${firstBootUser}" with this one-time secret, then choose a new password:`,
        "",
        `      ${firstBoot.generated}`,
        "",
        "  It is shown only this once and stops working once replaced.",
        "===================================================================",
        "",
      ].join("\n"),
    );
  } else if (tls.generated) {
    show(`switchboard: web page ${url}, new certificate SHA-256 ${tls.fingerprint}\n`);
  }
  if (firstBoot.pending) log.warn({ source: firstBoot.source }, `first boot: log in as "${firstBootUser}"`);
  log.info({ url, httpUrl, fingerprint: tls.fingerprint, certFile: tls.certFile }, "web page");

  return {
    url,
    ...(httpUrl && { httpUrl }),
    fingerprint: tls.fingerprint,
    close: async () => {
      await Promise.all([closeServer(https), http && closeServer(http)]);
    },
  };
}

/** Host check and security headers for every request of both listeners, then `serve`; never throws. */
async function answer(
  req: IncomingMessage,
  res: ServerResponse,
  listener: { port: number; defaultPort: number },
  log: Log,
  allowed: HostCheck,
  serve: (url: URL) => Promise<void>,
): Promise<void> {
  for (const [k, v] of Object.entries(securityHeaders)) res.setHeader(k, v);
  try {
    const raw = req.url ?? "";
    if (!raw.startsWith("/")) {
      res.writeHead(400, { "content-type": "text/plain; charset=utf-8" }).end("bad request target\n");
      return;
    }
    const host = req.headers.host;
    if (!host || !allowed(host, listener.port, listener.defaultPort)) {
      // DNS rebinding: a name the box does not answer to gets nothing, not even a redirect.
      res.writeHead(421, { "content-type": "text/plain; charset=utf-8", connection: "close" }).end("misdirected\n");
      return;
    }
    // The host is checked, so the URL can be built from it; the raw target is appended, never parsed as a URL.
    await serve(new URL(`https://${host}${raw}`));
  } catch (e) {
    log.error({ err: (e as Error).message, stack: (e as Error).stack }, "web request failed");
    if (!res.headersSent) res.writeHead(500, { "content-type": "text/plain; charset=utf-8" }).end("internal error\n");
    else res.destroy();
  }
}

/**
 * Names the page answers to: `web.hosts`, the box's hostname (and hostname.local), its addresses, localhost,
 * 127.0.0.1 and ::1, each with the listener's port (a Host without port means 443 for https, 80 for http). An entry
 * of `web.hosts` with a port ("box.example.com:443") allows exactly that, for setups behind a port forward.
 */
export type HostCheck = (hostHeader: string, listenerPort: number, defaultPort: number) => boolean;

export function hostAllowList(extra: string[]): HostCheck {
  const exact = new Set(extra.filter((h) => /:\d+$/.test(h)).map((h) => h.toLowerCase()));
  const fixed = [...extra.filter((h) => !/:\d+$/.test(h)), "localhost", "127.0.0.1", "::1"].map(bare);
  let names = new Set<string>();
  let builtAt = -Infinity;
  return (hostHeader, listenerPort, defaultPort) => {
    const parsed = parseHost(hostHeader);
    if (!parsed) return false;
    const port = parsed.port ?? defaultPort;
    if (exact.has(`${parsed.name.includes(":") ? `[${parsed.name}]` : parsed.name}:${port}`)) return true;
    if (port !== listenerPort) return false;
    // Addresses change (DHCP, a new interface): refreshed at most every 10 s.
    if (performance.now() - builtAt > 10_000) {
      const h = hostname().toLowerCase();
      names = new Set([...fixed, h, ...(h.includes(".") ? [] : [`${h}.local`]), ...boxAddresses().map(bare)]);
      builtAt = performance.now();
    }
    return names.has(parsed.name);
  };
}

function bare(name: string): string {
  return name.toLowerCase().replace(/^\[(.*)\]$/, "$1");
}

/** "Box:8443" -> {name: "box", port: 8443}; "[::1]:8443" -> {name: "::1", port: 8443}; undefined when malformed. */
export function parseHost(header: string): { name: string; port?: number } | undefined {
  const m = /^(\[[0-9a-fA-F:.]+\]|[^:[\]\s/]+)(?::(\d{1,5}))?$/.exec(header.trim());
  if (!m) return undefined;
  const port = m[2] === undefined ? undefined : Number(m[2]);
  if (port !== undefined && port > 65535) return undefined;
  return { name: bare(m[1]), ...(port !== undefined && { port }) };
}

function remoteAddressOf(req: IncomingMessage): string {
  const a = req.socket.remoteAddress ?? "";
  return a.startsWith("::ffff:") ? a.slice(7) : a;
}

/** What to print as the page's address: the bound one, or for a wildcard the box's first LAN address. */
function displayHost(address: string): string {
  const a =
    address === "0.0.0.0" || address === "::" ? (boxAddresses().find((x) => !x.includes(":")) ?? "127.0.0.1") : address;
  return a.includes(":") ? `[${a}]` : a;
}

function listen(server: Server, port: number, address: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (e: Error) => reject(new Error(`cannot listen on ${address}:${port}: ${e.message}`));
    server.once("error", onError);
    server.listen(port, address, () => {
      server.off("error", onError);
      resolve();
    });
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) return resolve();
    server.close(() => resolve());
    // Keep-alive and event-stream connections would hold close() open forever.
    server.closeAllConnections();
  });
}
