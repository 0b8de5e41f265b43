// The reference master server's state, all in one directory so the CLI and a running server share it:
//   master.key / master.pub     Ed25519 key that signs config documents (the devices pin master.pub)
//   tls/cert.pem, tls/key.pem   self-signed HTTPS certificate (the devices pin its fingerprint)
//   registry.json               enrollment tokens (sha256 only), devices and their keys, published config versions
//   configs/<device>.json|.sig  the current signed document per device (served byte for byte)
//   status/<device>.json        the last status report of each device
//   requests.jsonl              every request received: method, URL, headers, body (for the capture test; 0600)
// A reference for tests and development, not a fleet manager: one writer at a time is assumed.
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject, randomBytes, sign } from "node:crypto";
import { EventEmitter } from "node:events";
import { appendFileSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fingerprintOf, selfSigned } from "../../daemon/web/tls-cert.ts";
import {
  CONFIG_DOC_FORMAT,
  type ConfigDocument,
  configEtag,
  deviceIdSchema,
  type MasterBundle,
  type StatusReport,
  sha256Hex,
} from "../master-sync.ts";

export interface TokenEntry {
  sha256: string;
  /** The identity the device gets; absent: the server picks one. */
  deviceId?: string;
  createdAt: string;
  expiresAt: string;
  usedAt?: string;
}

export interface DeviceEntry {
  publicKey: string;
  enrolledAt: string;
}

export interface PublishedConfig {
  version: number;
  etag: string;
  publishedAt: string;
}

export interface Registry {
  tokens: TokenEntry[];
  devices: Record<string, DeviceEntry>;
  configs: Record<string, PublishedConfig>;
}

export interface LoggedRequest {
  at: string;
  method: string;
  url: string;
  headers: Record<string, string | string[] | undefined>;
  /** The exact body bytes (the enrollment token alone is redacted). */
  bodyBase64: string;
}

export class TokenRejected extends Error {}

const emptyRegistry = (): Registry => ({ tokens: [], devices: {}, configs: {} });

function writeAtomic(file: string, data: string | Buffer, mode = 0o600): void {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, data, { mode });
  renameSync(tmp, file);
}

export class MasterStore extends EventEmitter<{ published: [deviceId: string] }> {
  readonly masterKey: KeyObject;
  readonly publicKeyPem: string;
  private registry: Registry;
  private registryMtime = 0;

  private constructor(
    readonly dir: string,
    readonly tls: { cert: string; key: string; fingerprint: string },
  ) {
    super();
    const keyFile = join(dir, "master.key");
    let pem: string;
    try {
      pem = readFileSync(keyFile, "utf8");
    } catch {
      pem = generateKeyPairSync("ed25519").privateKey.export({ type: "pkcs8", format: "pem" }).toString();
      writeFileSync(keyFile, pem, { mode: 0o600, flag: "wx" });
    }
    this.masterKey = createPrivateKey(pem);
    this.publicKeyPem = createPublicKey(this.masterKey).export({ type: "spki", format: "pem" }).toString();
    writeFileSync(join(dir, "master.pub"), this.publicKeyPem, { mode: 0o644 });
    mkdirSync(join(dir, "configs"), { recursive: true, mode: 0o700 });
    mkdirSync(join(dir, "status"), { recursive: true, mode: 0o700 });
    this.registry = emptyRegistry();
    this.reload();
  }

  /** Opens (or creates: keys, certificate, registry) the state in `dir`. */
  static async open(dir: string): Promise<MasterStore> {
    mkdirSync(join(dir, "tls"), { recursive: true, mode: 0o700 });
    const certFile = join(dir, "tls/cert.pem");
    const keyFile = join(dir, "tls/key.pem");
    let cert: string;
    let key: string;
    try {
      cert = readFileSync(certFile, "utf8");
      key = readFileSync(keyFile, "utf8");
    } catch {
      // The daemon's own generator: ECDSA P-256, self-signed, names localhost and the loopback addresses.
      const made = await selfSigned(["localhost"], ["127.0.0.1", "::1"]);
      writeAtomic(keyFile, made.key, 0o600);
      writeAtomic(certFile, made.cert, 0o644);
      cert = made.cert;
      key = made.key;
    }
    return new MasterStore(dir, { cert, key, fingerprint: fingerprintOf(cert) });
  }

  private get registryFile(): string {
    return join(this.dir, "registry.json");
  }

  /** Re-reads registry.json when another process (the CLI) changed it; true when it did. */
  reload(): boolean {
    let mtime: number;
    try {
      mtime = statSync(this.registryFile).mtimeMs;
    } catch {
      return false;
    }
    if (mtime === this.registryMtime) return false;
    this.registry = { ...emptyRegistry(), ...(JSON.parse(readFileSync(this.registryFile, "utf8")) as Registry) };
    this.registryMtime = mtime;
    return true;
  }

  private save(): void {
    writeAtomic(this.registryFile, `${JSON.stringify(this.registry, null, 2)}\n`);
    this.registryMtime = statSync(this.registryFile).mtimeMs;
  }

  /** A new one-time enrollment token (returned once; only its hash is kept). */
  addToken(opts: { deviceId?: string; ttlMs?: number; now?: number } = {}): string {
    this.reload();
    if (opts.deviceId !== undefined) deviceIdSchema.parse(opts.deviceId);
    const now = opts.now ?? Date.now();
    const token = randomBytes(24).toString("base64url");
    this.registry.tokens.push({
      sha256: sha256Hex(token),
      deviceId: opts.deviceId,
      createdAt: new Date(now).toISOString(),
      expiresAt: new Date(now + (opts.ttlMs ?? 7 * 86_400_000)).toISOString(),
    });
    this.save();
    return token;
  }

  /** The `master` file for a provisioning bundle: where the master is and how to trust it. */
  bundleFile(url: string, token: string): MasterBundle {
    return { url, enrollmentToken: token, publicKey: this.publicKeyPem, certFingerprint: this.tls.fingerprint };
  }

  /** Burns the token and registers (or re-keys) the device. */
  enroll(token: string, publicKeyPem: string, now = Date.now()): string {
    this.reload();
    const entry = this.registry.tokens.find((t) => t.sha256 === sha256Hex(token));
    if (!entry) throw new TokenRejected("unknown enrollment token");
    if (entry.usedAt) throw new TokenRejected("enrollment token already used");
    if (Date.parse(entry.expiresAt) <= now) throw new TokenRejected("enrollment token expired");
    entry.usedAt = new Date(now).toISOString();
    const deviceId = entry.deviceId ?? `box-${randomBytes(5).toString("hex")}`;
    this.registry.devices[deviceId] = { publicKey: publicKeyPem, enrolledAt: entry.usedAt };
    this.save();
    return deviceId;
  }

  device(deviceId: string): DeviceEntry | undefined {
    this.reload();
    return Object.hasOwn(this.registry.devices, deviceId) ? this.registry.devices[deviceId] : undefined;
  }

  devices(): Record<string, DeviceEntry> {
    this.reload();
    return { ...this.registry.devices };
  }

  published(deviceId: string): PublishedConfig | undefined {
    this.reload();
    return Object.hasOwn(this.registry.configs, deviceId) ? this.registry.configs[deviceId] : undefined;
  }

  /**
   * Signs and publishes a config (YAML text) as the device's next version. `signWith`/`unsigned` exist for tests of
   * the device's checks (a document signed by another key, or none).
   */
  publish(
    deviceId: string,
    configText: string,
    opts: { signWith?: KeyObject; unsigned?: boolean; version?: number; now?: number } = {},
  ): PublishedConfig {
    this.reload();
    deviceIdSchema.parse(deviceId);
    const version = opts.version ?? (this.registry.configs[deviceId]?.version ?? 0) + 1;
    const doc: ConfigDocument = {
      format: CONFIG_DOC_FORMAT,
      deviceId,
      version,
      createdAt: new Date(opts.now ?? Date.now()).toISOString(),
      config: configText,
    };
    const bytes = Buffer.from(JSON.stringify(doc));
    const base = join(this.dir, "configs", deviceId);
    writeAtomic(`${base}.json`, bytes, 0o644);
    if (opts.unsigned) writeAtomic(`${base}.sig`, "", 0o644);
    else writeAtomic(`${base}.sig`, sign(null, bytes, opts.signWith ?? this.masterKey).toString("base64"), 0o644);
    const entry = { version, etag: configEtag(version, bytes), publishedAt: doc.createdAt };
    this.registry.configs[deviceId] = entry;
    this.save();
    this.emit("published", deviceId);
    return entry;
  }

  /** The current document bytes and signature, exactly as stored. */
  document(deviceId: string): { bytes: Buffer; signature: string } | undefined {
    const base = join(this.dir, "configs", deviceId);
    try {
      return { bytes: readFileSync(`${base}.json`), signature: readFileSync(`${base}.sig`, "utf8").trim() };
    } catch {
      return undefined;
    }
  }

  saveStatus(deviceId: string, report: StatusReport, now = Date.now()): void {
    writeAtomic(
      join(this.dir, "status", `${deviceId}.json`),
      `${JSON.stringify({ receivedAt: new Date(now).toISOString(), report }, null, 2)}\n`,
    );
  }

  lastStatus(deviceId: string): { receivedAt: string; report: StatusReport } | undefined {
    try {
      return JSON.parse(readFileSync(join(this.dir, "status", `${deviceId}.json`), "utf8"));
    } catch {
      return undefined;
    }
  }

  get requestLogFile(): string {
    return join(this.dir, "requests.jsonl");
  }

  logRequest(r: LoggedRequest): void {
    appendFileSync(this.requestLogFile, `${JSON.stringify(r)}\n`, { mode: 0o600 });
  }

  requestLog(): LoggedRequest[] {
    let text: string;
    try {
      text = readFileSync(this.requestLogFile, "utf8");
    } catch {
      return [];
    }
    return text
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l) as LoggedRequest);
  }
}
