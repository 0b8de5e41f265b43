// The box's side of the master server: enrollment, then a pull loop for signed configuration documents, plus a small
// status report. Configuration flows down; upward goes only {deviceId, version, configVersion, applyStatus, health}:
// the report is built from a strict schema, so no call data (numbers, CDRs, transcripts, recordings) can ride along.
//
// Trust: the server's TLS certificate is pinned by fingerprint (from the bundle), every document is verified with the
// master's Ed25519 key BEFORE it is parsed, and every request the box sends is signed with its own Ed25519 key, made
// on the box at enrollment (<dataDir>/master/device.key, 0600) and never sent anywhere.
//
// This module also defines the wire format; the reference server (provisioning/master-server/) imports it.
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  sign,
  verify,
} from "node:crypto";
import { EventEmitter } from "node:events";
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { request as httpRequest, type IncomingHttpHeaders, type RequestOptions } from "node:http";
import { request as httpsRequest } from "node:https";
import { join } from "node:path";
import { connect as tlsConnect, type TLSSocket } from "node:tls";
import { z } from "zod";
import { ConfigError, parseConfig } from "../daemon/config/load.ts";
import { installedFiles } from "./apply.ts";
import { publicKeyFromPem } from "./keys.ts";
import type { MasterConfig } from "./master-config.ts";

// ---------------------------------------------------------------------------------------------------------------
// Wire format

export const CONFIG_DOC_FORMAT = 1;
export const HEADER_DEVICE = "x-switchboard-device";
export const HEADER_TIME = "x-switchboard-time";
export const HEADER_SIGNATURE = "x-switchboard-signature";
/** Base64 Ed25519 signature of the master over the exact bytes of the config document in the body. */
export const HEADER_CONFIG_SIGNATURE = "x-switchboard-config-signature";
export const HEADER_CONFIG_VERSION = "x-switchboard-config-version";
/** A signed request older or newer than this (seconds) is refused by the server. */
export const REQUEST_CLOCK_SKEW_S = 300;

const idPattern = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;
export const deviceIdSchema = z.string().regex(idPattern, "must be 1-128 letters, digits, '.', '_', ':' or '-'");

/** What the master signs: the config for one device, at one version. */
export const configDocumentSchema = z.strictObject({
  format: z.literal(CONFIG_DOC_FORMAT),
  deviceId: deviceIdSchema,
  version: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
  createdAt: z.iso.datetime({ offset: true }),
  /** The daemon's YAML config, as text. */
  config: z.string().max(4 * 1024 * 1024),
});
export type ConfigDocument = z.infer<typeof configDocumentSchema>;

export const enrollRequestSchema = z.strictObject({
  token: z.string().min(16).max(256),
  /** The device's Ed25519 public key, SPKI PEM. */
  publicKey: z.string().min(1).max(4096),
});
export const enrollResponseSchema = z.strictObject({ deviceId: deviceIdSchema });

const finite = z.number().finite();
/** Everything the box ever tells the master about itself: this schema is the privacy boundary. */
export const statusReportSchema = z.strictObject({
  deviceId: deviceIdSchema,
  /** Software version. */
  version: z.string().max(64),
  /** Version of the config document applied last (0: none yet). */
  configVersion: z.number().int().min(0),
  applyStatus: z.strictObject({
    state: z.enum(["none", "applied", "rejected", "failed"]),
    /** The document the state is about. */
    version: z.number().int().min(0),
    at: z.iso.datetime({ offset: true }).optional(),
    /** Why a document was rejected or failed to apply (config paths and check names, never config values). */
    reason: z.string().max(500).optional(),
  }),
  health: z.strictObject({
    cpuLoadPct: finite.optional(),
    memUsedPct: finite.optional(),
    diskFreePct: finite.optional(),
    temperatureC: finite.optional(),
    warnings: z.array(z.string().max(200)).max(20),
  }),
});
export type StatusReport = z.infer<typeof statusReportSchema>;
export type HealthSummary = StatusReport["health"];
export type ApplyStatus = StatusReport["applyStatus"];

/** The `master` file of a provisioning bundle. */
export const masterBundleSchema = z.strictObject({
  url: z.url().refine((u) => u.startsWith("https://"), "must be an https:// URL"),
  enrollmentToken: z.string().min(16).max(256),
  /** The master's Ed25519 public key (SPKI PEM) that signs config documents. */
  publicKey: z.string().min(1).max(4096),
  /** SHA-256 fingerprint of the master's TLS certificate, "AA:BB:..." (pinned instead of a CA). */
  certFingerprint: z.string().regex(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/, "must be a SHA-256 fingerprint AA:BB:..."),
});
export type MasterBundle = z.infer<typeof masterBundleSchema>;

export function sha256Hex(data: Buffer | string): string {
  return createHash("sha256").update(data).digest("hex");
}

/** The bytes a device signs for one request: method, path with query, time and the body's hash. */
export function requestSigningText(method: string, pathAndQuery: string, timeS: number, body: Buffer): Buffer {
  return Buffer.from(`switchboard-device-request-v1\n${method}\n${pathAndQuery}\n${timeS}\n${sha256Hex(body)}`);
}

export function signRequest(
  key: KeyObject,
  method: string,
  pathAndQuery: string,
  body: Buffer,
  nowMs: number,
): { time: string; signature: string } {
  const timeS = Math.floor(nowMs / 1000);
  return {
    time: String(timeS),
    signature: sign(null, requestSigningText(method, pathAndQuery, timeS, body), key).toString("base64"),
  };
}

/** ETag of a document: its version and a hash prefix (a re-signed document at the same version is a new ETag). */
export function configEtag(version: number, docBytes: Buffer): string {
  return `"v${version}-${sha256Hex(docBytes).slice(0, 16)}"`;
}

/** Reasons name paths and checks, never values; trimmed to what the report schema allows. */
function shortReason(s: string): string {
  return s.length > 500 ? `${s.slice(0, 497)}...` : s;
}

// ---------------------------------------------------------------------------------------------------------------
// Verification of a downloaded document

export class DocumentRejected extends Error {
  constructor(
    /** signature | document | device | version | config */
    readonly check: string,
    readonly where: string,
    readonly reason: string,
  ) {
    super(`${where}: ${reason}`);
    this.name = "DocumentRejected";
  }
}

/**
 * Signature first (over the raw bytes, before JSON.parse), then the schema, the device, the version (above the one
 * applied: no replay of an older document) and the config through the daemon's own loader.
 */
export function verifyDocument(
  body: Buffer,
  signatureB64: string | undefined,
  masterKey: KeyObject,
  expect: { deviceId: string; appliedVersion: number },
): ConfigDocument {
  if (!signatureB64) throw new DocumentRejected("signature", HEADER_CONFIG_SIGNATURE, "document is not signed");
  const sig = Buffer.from(signatureB64, "base64");
  if (sig.length !== 64 || !verify(null, body, masterKey, sig))
    throw new DocumentRejected("signature", HEADER_CONFIG_SIGNATURE, "signature does not match the master's key");
  let raw: unknown;
  try {
    raw = JSON.parse(body.toString("utf8"));
  } catch {
    throw new DocumentRejected("document", "body", "signed document is not JSON");
  }
  const parsed = configDocumentSchema.safeParse(raw);
  if (!parsed.success) {
    const i = parsed.error.issues[0];
    throw new DocumentRejected("document", `document.${i.path.join(".") || "(root)"}`, i.message);
  }
  const doc = parsed.data;
  if (doc.deviceId !== expect.deviceId)
    throw new DocumentRejected("device", "document.deviceId", "document is for another device");
  if (doc.version <= expect.appliedVersion)
    throw new DocumentRejected(
      "version",
      "document.version",
      `version ${doc.version} is not above the applied version ${expect.appliedVersion}`,
    );
  try {
    parseConfig(doc.config, "document.config");
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    const p = e.problems[0];
    const more = e.problems.length > 1 ? ` (and ${e.problems.length - 1} more)` : "";
    const at = p.line ? `document.config:${p.line}:${p.column}` : "document.config";
    throw new DocumentRejected("config", at, `${p.path || "(root)"}: ${p.message}${more}`);
  }
  return doc;
}

// ---------------------------------------------------------------------------------------------------------------
// HTTPS with a pinned certificate

export class MasterUnreachable extends Error {
  constructor(message: string) {
    super(message);
    this.name = "MasterUnreachable";
  }
}

export interface MasterResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export interface MasterEndpoint {
  url: string;
  /** SHA-256 fingerprint "AA:BB:..." of the server certificate; without it the system CAs decide. */
  certFingerprint?: string;
}

const MAX_RESPONSE_BYTES = 8 * 1024 * 1024;

/**
 * One request. With a fingerprint, TLS is set up by hand and the certificate compared before a single byte of the
 * request is written (Node checks a self-signed certificate before any checkServerIdentity hook would run).
 */
export function masterRequest(
  ep: MasterEndpoint,
  req: { method: string; path: string; headers?: Record<string, string>; body?: Buffer; timeoutMs: number },
): Promise<MasterResponse> {
  const base = new URL(ep.url);
  const target = new URL(req.path, base);
  const body = req.body ?? Buffer.alloc(0);
  const headers: Record<string, string> = { ...req.headers, "content-length": String(body.length) };
  if (body.length > 0) headers["content-type"] = "application/json";
  return new Promise((resolve, reject) => {
    let settled = false;
    const fail = (e: Error) => {
      if (settled) return;
      settled = true;
      reject(e instanceof MasterUnreachable ? e : new MasterUnreachable(`${target.origin}: ${e.message}`));
    };
    const port = Number(target.port || 443);
    const host = target.hostname.replace(/^\[|\]$/g, "");
    const common = {
      method: req.method,
      host,
      port,
      path: `${target.pathname}${target.search}`,
      headers,
      timeout: req.timeoutMs,
    };
    const pin = ep.certFingerprint;
    const r = pin
      ? httpRequest({
          ...common,
          // Node's ClientRequest accepts a callback-style factory (returning nothing); the types only know the sync one.
          createConnection: ((_opts: unknown, cb: (err: Error | null, s: TLSSocket) => void) => {
            const servername = /^[\d.]+$|:/.test(host) ? undefined : host;
            const s = tlsConnect({ host, port, servername, rejectUnauthorized: false });
            let done = false;
            s.once("secureConnect", () => {
              done = true;
              const fp = s.getPeerCertificate().fingerprint256;
              if (fp !== pin) {
                s.destroy();
                cb(new MasterUnreachable(`${target.origin}: certificate ${fp} is not the pinned ${pin}`), s);
              } else cb(null, s);
            });
            s.once("error", (e) => {
              if (!done) {
                done = true;
                cb(e, s);
              }
            });
            return undefined;
          }) as unknown as RequestOptions["createConnection"],
        })
      : httpsRequest(common);
    r.on("timeout", () => r.destroy(new Error(`no answer within ${req.timeoutMs} ms`)));
    r.on("error", fail);
    r.on("response", (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on("data", (c: Buffer) => {
        size += c.length;
        if (size > MAX_RESPONSE_BYTES) r.destroy(new Error(`answer larger than ${MAX_RESPONSE_BYTES} bytes`));
        else chunks.push(c);
      });
      res.on("error", fail);
      res.on("end", () => {
        if (settled) return;
        settled = true;
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) });
      });
    });
    r.end(body);
  });
}

function errorText(res: MasterResponse): string {
  try {
    const j = JSON.parse(res.body.toString("utf8")) as { error?: string; where?: string };
    if (j.error) return `${res.status} ${j.where ? `${j.where}: ` : ""}${j.error}`;
  } catch {
    // not JSON
  }
  return `HTTP ${res.status}`;
}

// ---------------------------------------------------------------------------------------------------------------
// The device's files: <dataDir>/master/

export interface SyncState {
  /** Version of the document applied last (0: none). */
  configVersion: number;
  /** ETag of the last document seen (applied or refused): sent as If-None-Match so it is not fetched again. */
  etag?: string;
  applyStatus: ApplyStatus;
}

export interface DeviceIdentityFile {
  deviceId: string;
  url: string;
  enrolledAt: string;
}

export const masterDir = (dataDir: string) => join(dataDir, "master");
const keyFile = (dataDir: string) => join(masterDir(dataDir), "device.key");
const identityFile = (dataDir: string) => join(masterDir(dataDir), "identity.json");
const stateFile = (dataDir: string) => join(masterDir(dataDir), "state.json");

function writeJsonAtomic(file: string, value: unknown, mode = 0o600): void {
  const tmp = `${file}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(value, null, 2)}\n`, { mode });
  renameSync(tmp, file);
}

function readJson<T>(file: string): T | undefined {
  try {
    return JSON.parse(readFileSync(file, "utf8")) as T;
  } catch {
    return undefined;
  }
}

/** The device's own key: made once, kept 0600 in <dataDir>/master/, reused for every later enrollment. */
export function deviceKey(dataDir: string): { privateKey: KeyObject; publicKeyPem: string } {
  mkdirSync(masterDir(dataDir), { recursive: true, mode: 0o700 });
  let pem: string;
  try {
    pem = readFileSync(keyFile(dataDir), "utf8");
  } catch {
    const { privateKey } = generateKeyPairSync("ed25519");
    pem = privateKey.export({ type: "pkcs8", format: "pem" }).toString();
    // "wx": two starts racing never end up with two keys.
    try {
      writeFileSync(keyFile(dataDir), pem, { mode: 0o600, flag: "wx" });
    } catch {
      pem = readFileSync(keyFile(dataDir), "utf8");
    }
  }
  const privateKey = createPrivateKey(pem);
  return { privateKey, publicKeyPem: createPublicKey(privateKey).export({ type: "spki", format: "pem" }).toString() };
}

/** The `master` file of the installed provisioning bundle, validated. */
export function readMasterBundle(dataDir: string): MasterBundle {
  const file = installedFiles(dataDir).find((f) => f.role === "master");
  if (!file) throw new Error(`${join(dataDir, "provisioning/current")}: the bundle has no "master" file`);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file.path, "utf8"));
  } catch (e) {
    throw new Error(`${file.path}: not JSON: ${(e as Error).message}`);
  }
  const parsed = masterBundleSchema.safeParse(raw);
  if (!parsed.success) {
    const i = parsed.error.issues[0];
    throw new Error(`${file.path}: ${i.path.join(".") || "(root)"}: ${i.message}`);
  }
  return parsed.data;
}

// ---------------------------------------------------------------------------------------------------------------
// The client

export type PollOutcome =
  | { kind: "unchanged" }
  | { kind: "nothing-published" }
  | { kind: "applied"; version: number }
  | { kind: "rejected"; where: string; reason: string }
  | { kind: "failed"; version: number; reason: string };

export interface MasterSyncEvents {
  enrolled: [deviceId: string];
  poll: [outcome: PollOutcome];
  /** The master could not be reached; the next try is in `retryInMs`. */
  offline: [reason: string, retryInMs: number];
  online: [];
  status: [report: StatusReport];
}

export interface SyncLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface MasterSyncOptions {
  dataDir: string;
  settings: MasterConfig;
  /** Hands a verified and validated config (YAML text) to the daemon; throws when the daemon refuses it. */
  apply: (configText: string, doc: ConfigDocument) => Promise<void>;
  /** The software version reported upward. */
  softwareVersion: string;
  /** The health summary of the report (see healthSummary()); none: no figures. */
  health?: () => Promise<HealthSummary>;
  /** Instead of the installed bundle's `master` file (tests, or a bundle read elsewhere). */
  bundle?: MasterBundle;
  log?: SyncLog;
  now?: () => number;
  /** 0..1 random source for backoff jitter. */
  random?: () => number;
}

const quietLog: SyncLog = { info() {}, warn() {} };

/** Enrollment, the pull loop and status reports against one master. start() runs it; the steps are public for tests. */
export class MasterSync extends EventEmitter<MasterSyncEvents> {
  private readonly bundle: MasterBundle;
  private readonly endpoint: MasterEndpoint;
  private readonly masterKey: KeyObject;
  private readonly key: { privateKey: KeyObject; publicKeyPem: string };
  private identity: DeviceIdentityFile | undefined;
  private state: SyncState;
  private readonly log: SyncLog;
  private readonly now: () => number;
  private readonly random: () => number;
  private stopper: AbortController | undefined;
  private loops: Promise<void>[] = [];
  private failures = 0;
  private enrolling: Promise<string> | undefined;

  constructor(private readonly opts: MasterSyncOptions) {
    super();
    this.bundle = opts.bundle ?? readMasterBundle(opts.dataDir);
    const url = opts.settings.url ?? this.bundle.url;
    this.endpoint = { url, certFingerprint: this.bundle.certFingerprint };
    this.masterKey = publicKeyFromPem(this.bundle.publicKey, "master bundle: publicKey");
    this.key = deviceKey(opts.dataDir);
    this.identity = readJson<DeviceIdentityFile>(identityFile(opts.dataDir));
    this.state = readJson<SyncState>(stateFile(opts.dataDir)) ?? {
      configVersion: 0,
      applyStatus: { state: "none", version: 0 },
    };
    this.log = opts.log ?? quietLog;
    this.now = opts.now ?? Date.now;
    this.random = opts.random ?? Math.random;
  }

  get deviceId(): string | undefined {
    return this.identity?.deviceId;
  }

  get syncState(): Readonly<SyncState> {
    return this.state;
  }

  /** Enrolls once with the bundle's one-time token; later calls return the stored identity. */
  enroll(): Promise<string> {
    if (this.identity) return Promise.resolve(this.identity.deviceId);
    // The poll and status loops start together: one enrollment, not two racing for the one-time token.
    this.enrolling ??= this.enrollNow().finally(() => {
      this.enrolling = undefined;
    });
    return this.enrolling;
  }

  private async enrollNow(): Promise<string> {
    const body = Buffer.from(JSON.stringify({ token: this.bundle.enrollmentToken, publicKey: this.key.publicKeyPem }));
    const res = await this.send("POST", "/v1/enroll", body);
    if (res.status !== 201) throw new Error(`enrollment refused: ${errorText(res)}`);
    const parsed = enrollResponseSchema.safeParse(JSON.parse(res.body.toString("utf8")));
    if (!parsed.success) throw new Error("enrollment answer: no valid deviceId");
    this.identity = {
      deviceId: parsed.data.deviceId,
      url: this.endpoint.url,
      enrolledAt: new Date(this.now()).toISOString(),
    };
    writeJsonAtomic(identityFile(this.opts.dataDir), this.identity);
    this.log.info({ deviceId: parsed.data.deviceId }, "master: enrolled");
    this.emit("enrolled", parsed.data.deviceId);
    return parsed.data.deviceId;
  }

  /** One GET of the config document (long-poll when waitS > 0); verifies, validates and applies a new one. */
  async pollOnce(waitS = 0): Promise<PollOutcome> {
    const deviceId = await this.enroll();
    const path = `/v1/devices/${encodeURIComponent(deviceId)}/config${waitS > 0 ? `?wait=${waitS}` : ""}`;
    const extra: Record<string, string> = {};
    if (this.state.etag) extra["if-none-match"] = this.state.etag;
    const res = await this.send("GET", path, Buffer.alloc(0), extra, waitS * 1000);
    let outcome: PollOutcome;
    if (res.status === 304) outcome = { kind: "unchanged" };
    else if (res.status === 204) outcome = { kind: "nothing-published" };
    else if (res.status !== 200) throw new MasterUnreachable(`GET ${path}: ${errorText(res)}`);
    else outcome = await this.take(res);
    this.emit("poll", outcome);
    return outcome;
  }

  private async take(res: MasterResponse): Promise<PollOutcome> {
    const etag = typeof res.headers.etag === "string" ? res.headers.etag : undefined;
    const sig = res.headers[HEADER_CONFIG_SIGNATURE];
    const at = new Date(this.now()).toISOString();
    let doc: ConfigDocument;
    try {
      doc = verifyDocument(res.body, typeof sig === "string" ? sig : undefined, this.masterKey, {
        deviceId: this.identity?.deviceId ?? "",
        appliedVersion: this.state.configVersion,
      });
    } catch (e) {
      if (!(e instanceof DocumentRejected)) throw e;
      const claimed = Number(res.headers[HEADER_CONFIG_VERSION]);
      const version = Number.isSafeInteger(claimed) && claimed > 0 ? claimed : 0;
      this.log.warn({ where: e.where, check: e.check }, `master: config document rejected: ${e.reason}`);
      this.save({
        ...this.state,
        etag,
        applyStatus: { state: "rejected", version, at, reason: shortReason(e.message) },
      });
      return { kind: "rejected", where: e.where, reason: e.reason };
    }
    try {
      await this.opts.apply(doc.config, doc);
    } catch (e) {
      const reason = shortReason(`apply: ${(e as Error).message}`);
      this.log.warn({ version: doc.version }, `master: config version ${doc.version} not applied: ${reason}`);
      this.save({ ...this.state, etag, applyStatus: { state: "failed", version: doc.version, at, reason } });
      return { kind: "failed", version: doc.version, reason };
    }
    this.save({ configVersion: doc.version, etag, applyStatus: { state: "applied", version: doc.version, at } });
    this.log.info({ version: doc.version }, "master: config applied");
    return { kind: "applied", version: doc.version };
  }

  /** The report as it is sent: validated against the strict schema, so nothing else can be added by mistake. */
  async statusReport(): Promise<StatusReport> {
    const health = this.opts.health
      ? await this.opts.health().catch(() => ({ warnings: ["health: probe failed"] }))
      : { warnings: [] };
    return statusReportSchema.parse({
      deviceId: this.identity?.deviceId ?? "",
      version: this.opts.softwareVersion,
      configVersion: this.state.configVersion,
      applyStatus: this.state.applyStatus,
      health,
    });
  }

  async reportStatus(): Promise<StatusReport> {
    const deviceId = await this.enroll();
    const report = await this.statusReport();
    const res = await this.send(
      "POST",
      `/v1/devices/${encodeURIComponent(deviceId)}/status`,
      Buffer.from(JSON.stringify(report)),
    );
    if (res.status !== 204) throw new MasterUnreachable(`status report: ${errorText(res)}`);
    this.emit("status", report);
    return report;
  }

  /** Runs the pull loop and the status timer until stop(). Never throws: failures back off and retry. */
  start(): void {
    if (this.stopper) return;
    const stopper = new AbortController();
    this.stopper = stopper;
    const s = this.opts.settings;
    this.loops = [
      this.loop(stopper.signal, async () => {
        const outcome = await this.pollOnce(s.longPollS);
        if (outcome.kind === "applied" || outcome.kind === "failed" || outcome.kind === "rejected")
          await this.reportStatus().catch((e: Error) => this.log.warn({}, `master: status report: ${e.message}`));
        return s.pollS * 1000;
      }),
      this.loop(stopper.signal, async () => {
        await this.reportStatus();
        return s.statusS * 1000;
      }),
    ];
  }

  async stop(): Promise<void> {
    this.stopper?.abort();
    this.stopper = undefined;
    await Promise.all(this.loops);
    this.loops = [];
  }

  /** Backoff delay for the n-th failure in a row: doubling from backoffMinS to backoffMaxS, 50..100 % jitter. */
  backoffMs(failures: number): number {
    const s = this.opts.settings;
    const full = Math.min(s.backoffMaxS, s.backoffMinS * 2 ** Math.min(failures - 1, 30)) * 1000;
    return Math.round(full * (0.5 + 0.5 * this.random()));
  }

  private async loop(signal: AbortSignal, step: () => Promise<number>): Promise<void> {
    while (!signal.aborted) {
      let delay: number;
      try {
        delay = await step();
        if (this.failures > 0) {
          this.failures = 0;
          this.log.info({}, "master: reachable again");
          this.emit("online");
        }
      } catch (e) {
        if (signal.aborted) return;
        this.failures++;
        delay = this.backoffMs(this.failures);
        const reason = (e as Error).message;
        this.log.warn({ retryInMs: delay }, `master: ${reason}`);
        this.emit("offline", reason, delay);
      }
      await sleep(delay, signal);
    }
  }

  private save(state: SyncState): void {
    this.state = state;
    writeJsonAtomic(stateFile(this.opts.dataDir), state);
  }

  private send(
    method: string,
    path: string,
    body: Buffer,
    extra: Record<string, string> = {},
    waitMs = 0,
  ): Promise<MasterResponse> {
    const { time, signature } = signRequest(this.key.privateKey, method, path, body, this.now());
    const headers: Record<string, string> = { ...extra, [HEADER_TIME]: time, [HEADER_SIGNATURE]: signature };
    if (this.identity) headers[HEADER_DEVICE] = this.identity.deviceId;
    return masterRequest(this.endpoint, {
      method,
      path,
      headers,
      body,
      timeoutMs: this.opts.settings.requestTimeoutS * 1000 + waitMs,
    });
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });
}

/** The daemon's health report reduced to what the master may see: percentages, temperature and warning texts. */
export function healthSummary(r: {
  cpuLoadPct?: number;
  temperatureC?: number;
  memUsedBytes?: number;
  memTotalBytes?: number;
  diskFreeBytes?: number;
  diskTotalBytes?: number;
  warnings?: readonly string[];
}): HealthSummary {
  const pct = (a?: number, b?: number) => (a !== undefined && b ? Math.round((a / b) * 1000) / 10 : undefined);
  const out: HealthSummary = { warnings: (r.warnings ?? []).slice(0, 20).map((w) => w.slice(0, 200)) };
  if (r.cpuLoadPct !== undefined) out.cpuLoadPct = Math.round(r.cpuLoadPct * 10) / 10;
  const mem = pct(r.memUsedBytes, r.memTotalBytes);
  if (mem !== undefined) out.memUsedPct = mem;
  const disk = pct(r.diskFreeBytes, r.diskTotalBytes);
  if (disk !== undefined) out.diskFreePct = disk;
  if (r.temperatureC !== undefined) out.temperatureC = r.temperatureC;
  return out;
}
