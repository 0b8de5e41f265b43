// The reference master server's HTTPS API (node:https, its own self-signed certificate):
//   POST /v1/enroll                      {token, publicKey} signed with that key -> 201 {deviceId}   (token: once)
//   GET  /v1/devices/:id/config[?wait=S] If-None-Match -> 200 document + ETag + signature | 304 | 204 (none yet);
//                                        with wait, holds the request until a new version is published or S passes
//   POST /v1/devices/:id/status          a StatusReport (strict schema) -> 204
// Device requests carry the device id, a time and an Ed25519 signature (see requestSigningText in ../master-sync.ts).
// Every request is appended to requests.jsonl before it is handled, so a test can see all the master ever received.
import { createPublicKey, type KeyObject, verify } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import {
  enrollRequestSchema,
  HEADER_CONFIG_SIGNATURE,
  HEADER_CONFIG_VERSION,
  HEADER_DEVICE,
  HEADER_SIGNATURE,
  HEADER_TIME,
  REQUEST_CLOCK_SKEW_S,
  requestSigningText,
  statusReportSchema,
} from "../master-sync.ts";
import { type MasterStore, TokenRejected } from "./store.ts";

const MAX_BODY_BYTES = 64 * 1024;
const MAX_WAIT_S = 300;

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly where?: string,
  ) {
    super(message);
  }
}

export interface MasterServerOptions {
  store: MasterStore;
  host?: string;
  /** 0: any free port. */
  port?: number;
  now?: () => number;
}

export interface RunningMaster {
  url: string;
  port: number;
  store: MasterStore;
  /** Stops listening and cuts open connections (held long-polls included): the master "goes down". */
  close(): Promise<void>;
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY_BYTES) {
        reject(new HttpError(413, `body larger than ${MAX_BODY_BYTES} bytes`, "body"));
        req.destroy();
      } else chunks.push(c);
    });
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

function parseJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString("utf8"));
  } catch {
    throw new HttpError(400, "body is not JSON", "body");
  }
}

function send(res: ServerResponse, status: number, body?: unknown, headers: Record<string, string> = {}): void {
  if (res.headersSent || res.destroyed) return;
  const text = body === undefined ? "" : JSON.stringify(body);
  res.writeHead(status, {
    ...headers,
    ...(text ? { "content-type": "application/json" } : {}),
    "content-length": String(Buffer.byteLength(text)),
  });
  res.end(text);
}

function checkSignature(key: KeyObject, req: IncomingMessage, body: Buffer, now: number): void {
  const time = Number(req.headers[HEADER_TIME]);
  const sig = req.headers[HEADER_SIGNATURE];
  if (!Number.isSafeInteger(time)) throw new HttpError(401, "missing or bad request time", HEADER_TIME);
  if (Math.abs(now / 1000 - time) > REQUEST_CLOCK_SKEW_S)
    throw new HttpError(401, "request time too far from the server's clock", HEADER_TIME);
  if (typeof sig !== "string") throw new HttpError(401, "request is not signed", HEADER_SIGNATURE);
  const raw = Buffer.from(sig, "base64");
  if (raw.length !== 64 || !verify(null, requestSigningText(req.method ?? "", req.url ?? "", time, body), key, raw))
    throw new HttpError(401, "request signature does not verify", HEADER_SIGNATURE);
}

/** The exact bytes, except that an enrollment token is never written to the log. */
function loggable(url: string, body: Buffer): Buffer {
  if (!url.startsWith("/v1/enroll")) return body;
  try {
    const j = JSON.parse(body.toString("utf8")) as Record<string, unknown>;
    if (typeof j === "object" && j !== null && "token" in j)
      return Buffer.from(JSON.stringify({ ...j, token: "********" }));
  } catch {
    // not JSON: logged as is (it is not a usable token either)
  }
  return body;
}

export async function startMasterServer(opts: MasterServerOptions): Promise<RunningMaster> {
  const store = opts.store;
  const now = opts.now ?? Date.now;
  const waiters = new Map<string, Set<() => void>>();
  const notify = (deviceId: string) => {
    for (const wake of waiters.get(deviceId) ?? []) wake();
  };
  // A publish through the CLI changes registry.json behind our back: look while anyone is waiting.
  const watch = setInterval(() => {
    if (waiters.size > 0 && store.reload()) for (const id of waiters.keys()) notify(id);
  }, 500);
  watch.unref();
  store.on("published", notify);

  const waitForChange = (deviceId: string, etag: string | undefined, waitS: number, req: IncomingMessage) =>
    new Promise<void>((resolve) => {
      const set = waiters.get(deviceId) ?? new Set();
      waiters.set(deviceId, set);
      const done = () => {
        clearTimeout(t);
        set.delete(check);
        if (set.size === 0) waiters.delete(deviceId);
        req.off("close", done);
        resolve();
      };
      const check = () => {
        if (store.published(deviceId)?.etag !== etag) done();
      };
      const t = setTimeout(done, waitS * 1000);
      set.add(check);
      req.once("close", done);
    });

  const authDevice = (req: IncomingMessage, id: string, body: Buffer): void => {
    const header = req.headers[HEADER_DEVICE];
    if (header !== id) throw new HttpError(401, "device header does not match the URL", HEADER_DEVICE);
    const device = store.device(id);
    if (!device) throw new HttpError(401, "unknown device", HEADER_DEVICE);
    checkSignature(createPublicKey(device.publicKey), req, body, now());
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const body = await readBody(req);
    const url = req.url ?? "/";
    store.logRequest({
      at: new Date(now()).toISOString(),
      method: req.method ?? "",
      url,
      headers: req.headers,
      bodyBase64: loggable(url, body).toString("base64"),
    });
    const u = new URL(url, "https://master.invalid");
    if (u.pathname === "/v1/enroll" && req.method === "POST") {
      const parsed = enrollRequestSchema.safeParse(parseJson(body));
      if (!parsed.success) {
        const i = parsed.error.issues[0];
        throw new HttpError(400, i.message, `body.${i.path.join(".") || "(root)"}`);
      }
      let key: KeyObject;
      try {
        key = createPublicKey(parsed.data.publicKey);
      } catch {
        throw new HttpError(400, "not a PEM public key", "body.publicKey");
      }
      if (key.asymmetricKeyType !== "ed25519") throw new HttpError(400, "must be an Ed25519 key", "body.publicKey");
      checkSignature(key, req, body, now()); // proves the device holds the private key
      try {
        const deviceId = store.enroll(parsed.data.token, parsed.data.publicKey, now());
        return send(res, 201, { deviceId });
      } catch (e) {
        if (e instanceof TokenRejected) throw new HttpError(401, e.message, "body.token");
        throw e;
      }
    }
    const m = /^\/v1\/devices\/([^/]+)\/(config|status)$/.exec(u.pathname);
    if (!m) throw new HttpError(404, "no such endpoint", "url");
    const id = decodeURIComponent(m[1]);
    if (m[2] === "config") {
      if (req.method !== "GET") throw new HttpError(405, "use GET", "method");
      authDevice(req, id, body);
      const waitParam = u.searchParams.get("wait");
      const waitS = waitParam === null ? 0 : Number(waitParam);
      if (!Number.isFinite(waitS) || waitS < 0 || waitS > MAX_WAIT_S)
        throw new HttpError(400, `must be 0..${MAX_WAIT_S} seconds`, "query.wait");
      const known = req.headers["if-none-match"];
      let current = store.published(id);
      if (waitS > 0 && current?.etag === known) {
        await waitForChange(id, current?.etag, waitS, req);
        current = store.published(id);
      }
      if (!current) return send(res, 204);
      if (current.etag === known) return send(res, 304, undefined, { etag: current.etag });
      const doc = store.document(id);
      if (!doc) return send(res, 204);
      if (res.destroyed) return;
      const headers: Record<string, string> = {
        etag: current.etag,
        "content-type": "application/json",
        "content-length": String(doc.bytes.length),
        [HEADER_CONFIG_VERSION]: String(current.version),
      };
      if (doc.signature) headers[HEADER_CONFIG_SIGNATURE] = doc.signature;
      res.writeHead(200, headers);
      res.end(doc.bytes);
      return;
    }
    if (req.method !== "POST") throw new HttpError(405, "use POST", "method");
    authDevice(req, id, body);
    const parsed = statusReportSchema.safeParse(parseJson(body));
    if (!parsed.success) {
      const i = parsed.error.issues[0];
      throw new HttpError(400, i.message, `body.${i.path.join(".") || "(root)"}`);
    }
    if (parsed.data.deviceId !== id) throw new HttpError(400, "does not match the URL", "body.deviceId");
    store.saveStatus(id, parsed.data, now());
    send(res, 204);
  };

  const server: Server = createServer({ cert: store.tls.cert, key: store.tls.key }, (req, res) => {
    handle(req, res).catch((e: unknown) => {
      if (e instanceof HttpError) send(res, e.status, { error: e.message, where: e.where });
      else send(res, 500, { error: "internal error" });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 0, opts.host ?? "127.0.0.1", () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const host = opts.host ?? "127.0.0.1";
  return {
    url: `https://${host.includes(":") ? `[${host}]` : host}:${port}`,
    port,
    store,
    close: () =>
      new Promise<void>((resolve) => {
        clearInterval(watch);
        store.off("published", notify);
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
