// Reading and verifying a provisioning bundle: a tar (or a directory) holding manifest.json, manifest.sig and the
// listed files. Order matters: the Ed25519 signature over the raw manifest bytes is checked before anything is parsed,
// then expiry, target and version, and only then are file bytes read, each checked by size (before reading) and
// sha256 (while streaming). Every rejection is a BundleRejected naming the file or field.
import { createHash, type KeyObject, verify } from "node:crypto";
import { createReadStream } from "node:fs";
import { type FileHandle, lstat, mkdir, open, readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { readTar, TarError } from "../models/tar.ts";
import {
  type ContentEntry,
  describeTarget,
  FORMAT,
  fieldPath,
  MANIFEST_FILE,
  type Manifest,
  manifestSchema,
  SECRET_ROLES,
  SIGNATURE_FILE,
} from "./manifest.ts";

export type RejectCode =
  | "signature"
  | "manifest"
  | "expired"
  | "target"
  | "version"
  | "content"
  | "archive"
  | "oversized"
  | "config"
  | "io";

export class BundleRejected extends Error {
  constructor(
    readonly code: RejectCode,
    /** The file or field at fault, e.g. `manifest.json: contents[2].sha256` or `config/site.yaml`. */
    readonly where: string,
    readonly reason: string,
  ) {
    super(`${where}: ${reason}`);
    this.name = "BundleRejected";
  }
}

export interface DeviceIdentity {
  deviceId: string;
  fleetId?: string;
}

export interface BundleProgress {
  files: number;
  totalFiles: number;
  bytes: number;
  totalBytes: number;
}

export interface VerifyOptions {
  publicKey: KeyObject;
  device: DeviceIdentity;
  /** Highest version this device ever applied; the bundle must be above it. */
  installedVersion: number;
  now?: () => number;
  /** Bound on the sum of listed file sizes (default 8 GiB). */
  maxBytes?: number;
  onProgress?: (p: BundleProgress) => void;
}

export interface VerifiedBundle {
  manifest: Manifest;
  manifestBytes: Buffer;
  signature: Buffer;
}

export const DEFAULT_MAX_BYTES = 8 * 2 ** 30;
const MAX_MANIFEST_BYTES = 1 << 20;
const MAX_SIGNATURE_BYTES = 1024;

/** Signature first, then the manifest's own checks. Nothing in `manifestBytes` is parsed before the key vouched for it. */
export function checkManifest(manifestBytes: Buffer, signatureText: Buffer, opts: VerifyOptions): Manifest {
  const sigText = signatureText.toString("latin1").trim();
  const signature = Buffer.from(sigText, "base64");
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(sigText) || signature.length !== 64)
    throw new BundleRejected("signature", SIGNATURE_FILE, "not a base64 Ed25519 signature (64 bytes)");
  let ok = false;
  try {
    ok = verify(null, manifestBytes, opts.publicKey, signature);
  } catch (e) {
    throw new BundleRejected("signature", SIGNATURE_FILE, `cannot be checked: ${(e as Error).message}`);
  }
  if (!ok)
    throw new BundleRejected(
      "signature",
      SIGNATURE_FILE,
      "does not match manifest.json for the trusted key (tampered manifest or signed with another key)",
    );

  let data: unknown;
  try {
    data = JSON.parse(manifestBytes.toString("utf8"));
  } catch (e) {
    throw new BundleRejected("manifest", MANIFEST_FILE, `not valid JSON: ${(e as Error).message}`);
  }
  const format = (data as { format?: unknown } | null)?.format;
  if (format !== FORMAT)
    throw new BundleRejected("manifest", `${MANIFEST_FILE}: format`, `unsupported format ${JSON.stringify(format)}`);
  const r = manifestSchema.safeParse(data);
  if (!r.success) {
    const first = r.error.issues[0];
    const rest = r.error.issues.length > 1 ? ` (and ${r.error.issues.length - 1} more problem(s))` : "";
    throw new BundleRejected("manifest", `${MANIFEST_FILE}: ${fieldPath(first.path)}`, `${first.message}${rest}`);
  }
  const m = r.data;
  const now = (opts.now ?? Date.now)();
  if (Date.parse(m.expiresAt) <= now)
    throw new BundleRejected("expired", `${MANIFEST_FILE}: expiresAt`, `bundle expired at ${m.expiresAt}`);
  const t = m.target;
  const forUs = "deviceId" in t ? t.deviceId === opts.device.deviceId : t.fleetId === opts.device.fleetId;
  if (!forUs)
    throw new BundleRejected(
      "target",
      `${MANIFEST_FILE}: target`,
      `bundle is for ${describeTarget(t)}, this is device:${opts.device.deviceId}` +
        (opts.device.fleetId ? ` in fleet:${opts.device.fleetId}` : ""),
    );
  if (m.version <= opts.installedVersion)
    throw new BundleRejected(
      "version",
      `${MANIFEST_FILE}: version`,
      `version ${m.version} is not above the installed version ${opts.installedVersion} (replayed or old bundle)`,
    );
  const total = m.contents.reduce((n, c) => n + c.size, 0);
  const max = opts.maxBytes ?? DEFAULT_MAX_BYTES;
  if (total > max)
    throw new BundleRejected("oversized", `${MANIFEST_FILE}: contents`, `${total} bytes listed, limit ${max}`);
  return m;
}

/** One listed file's bytes: size checked before, sha256 after; written to `destDir` when given. */
async function fileSink(entry: ContentEntry, destDir: string | undefined, onBytes: (n: number) => void) {
  let fh: FileHandle | undefined;
  if (destDir) {
    const target = join(destDir, entry.path);
    await mkdir(dirname(target), { recursive: true, mode: 0o700 });
    // "wx": never follow or overwrite something already there.
    fh = await open(target, "wx", SECRET_ROLES.has(entry.role) ? 0o600 : 0o644);
  }
  const hash = createHash("sha256");
  let bytes = 0;
  return {
    async write(chunk: Buffer) {
      bytes += chunk.length;
      if (bytes > entry.size)
        throw new BundleRejected("content", entry.path, `longer than the listed ${entry.size} bytes`);
      hash.update(chunk);
      await fh?.write(chunk);
      onBytes(chunk.length);
    },
    async end() {
      try {
        if (bytes !== entry.size)
          throw new BundleRejected("content", entry.path, `${bytes} bytes, manifest lists ${entry.size}`);
        const sha = hash.digest("hex");
        if (sha !== entry.sha256)
          throw new BundleRejected("content", entry.path, `sha256 ${sha} does not match the manifest (tampered file)`);
        await fh?.sync();
      } finally {
        await fh?.close();
      }
    },
    async abort() {
      await fh?.close();
    },
  };
}

class Tally {
  files = 0;
  bytes = 0;
  constructor(
    private readonly m: Manifest,
    private readonly cb?: (p: BundleProgress) => void,
  ) {}
  add(n: number): void {
    this.bytes += n;
    this.report();
  }
  fileDone(): void {
    this.files++;
    this.report();
  }
  report(): void {
    this.cb?.({
      files: this.files,
      totalFiles: this.m.contents.length,
      bytes: this.bytes,
      totalBytes: this.m.contents.reduce((n, c) => n + c.size, 0),
    });
  }
}

/**
 * Verifies a bundle (tar file or directory). With `destDir` (an existing empty directory) the listed files are
 * written there as they are checked; manifest.json and manifest.sig are not (the caller has them in the result).
 * A half-written destDir after a rejection is the caller's to remove.
 */
export async function verifyBundle(
  bundlePath: string,
  opts: VerifyOptions & { destDir?: string },
): Promise<VerifiedBundle> {
  let st: Awaited<ReturnType<typeof lstat>>;
  try {
    st = await lstat(bundlePath);
  } catch (e) {
    throw new BundleRejected("io", bundlePath, `cannot read: ${(e as Error).message}`);
  }
  try {
    if (st.isDirectory()) return await verifyDirectory(bundlePath, opts);
    if (!st.isFile()) throw new BundleRejected("archive", bundlePath, "not a regular file or directory");
    const max = opts.maxBytes ?? DEFAULT_MAX_BYTES;
    // Headers and padding add a little to the listed sizes; far more than that is not a bundle we wrote.
    if (st.size > max + 32 * 2 ** 20)
      throw new BundleRejected("oversized", bundlePath, `${st.size}-byte archive exceeds the ${max}-byte limit`);
    return await verifyTar(bundlePath, opts);
  } catch (e) {
    if (e instanceof BundleRejected) throw e;
    if (e instanceof TarError) {
      const code = /exceeds|more than|oversized/.test(e.message) ? "oversized" : "archive";
      throw new BundleRejected(code, bundlePath, e.message);
    }
    throw new BundleRejected("io", bundlePath, (e as Error).message);
  }
}

async function verifyTar(bundlePath: string, opts: VerifyOptions & { destDir?: string }): Promise<VerifiedBundle> {
  const small = new Map<string, Buffer>();
  let verified: VerifiedBundle | undefined;
  let tally: Tally | undefined;
  const seen = new Set<string>();
  const max = opts.maxBytes ?? DEFAULT_MAX_BYTES;
  await readTar(
    createReadStream(bundlePath, { highWaterMark: 1 << 16 }),
    {
      async directory() {
        // Directories carry no data; files create their parents when written.
      },
      async file(e) {
        if (!verified) {
          // Before the signature is checked only the manifest and its signature may appear, and only small.
          const limit =
            e.path === MANIFEST_FILE ? MAX_MANIFEST_BYTES : e.path === SIGNATURE_FILE ? MAX_SIGNATURE_BYTES : -1;
          if (limit < 0)
            throw new BundleRejected(
              "archive",
              e.path,
              "comes before manifest.json and manifest.sig (they must be the first two entries)",
            );
          if (e.size > limit) throw new BundleRejected("oversized", e.path, `${e.size} bytes, limit ${limit}`);
          const parts: Buffer[] = [];
          return {
            async write(c) {
              parts.push(Buffer.from(c));
            },
            async end() {
              small.set(e.path, Buffer.concat(parts));
              const mb = small.get(MANIFEST_FILE);
              const sig = small.get(SIGNATURE_FILE);
              if (mb && sig) {
                const manifest = checkManifest(mb, sig, opts);
                verified = { manifest, manifestBytes: mb, signature: sig };
                tally = new Tally(manifest, opts.onProgress);
                tally.report();
              }
            },
            async abort() {},
          };
        }
        const entry = verified.manifest.contents.find((c) => c.path === e.path);
        if (!entry) throw new BundleRejected("content", e.path, "is not listed in the manifest");
        if (e.size !== entry.size)
          throw new BundleRejected("content", e.path, `${e.size} bytes in the archive, manifest lists ${entry.size}`);
        seen.add(e.path);
        const t = tally as Tally;
        const sink = await fileSink(entry, opts.destDir, (n) => t.add(n));
        return {
          write: sink.write,
          abort: sink.abort,
          async end() {
            await sink.end();
            t.fileDone();
          },
        };
      },
    },
    { maxTotalBytes: max + MAX_MANIFEST_BYTES + MAX_SIGNATURE_BYTES, maxEntries: 10_010 },
  );
  if (!verified) throw new BundleRejected("archive", bundlePath, "manifest.json or manifest.sig is missing");
  checkAllPresent(verified.manifest, seen);
  return verified;
}

function checkAllPresent(m: Manifest, seen: Set<string>): void {
  const missing = m.contents.find((c) => !seen.has(c.path));
  if (missing) throw new BundleRejected("content", missing.path, "listed in the manifest but missing from the bundle");
}

/** A regular file at `rel` inside `root`, reached without following any link. */
async function plainFile(root: string, rel: string, limit: number): Promise<number> {
  const parts = rel.split("/");
  for (let n = 1; n <= parts.length; n++) {
    const p = join(root, ...parts.slice(0, n));
    let s: Awaited<ReturnType<typeof lstat>>;
    try {
      s = await lstat(p);
    } catch {
      throw new BundleRejected("content", rel, "listed in the manifest but missing from the bundle");
    }
    if (s.isSymbolicLink()) throw new BundleRejected("archive", rel, "is or passes through a symbolic link");
    if (n < parts.length && !s.isDirectory()) throw new BundleRejected("archive", rel, "a parent is not a directory");
    if (n === parts.length) {
      if (!s.isFile()) throw new BundleRejected("archive", rel, "is not a regular file");
      if (s.size > limit) throw new BundleRejected("oversized", rel, `${s.size} bytes, limit ${limit}`);
      return s.size;
    }
  }
  return 0;
}

async function verifyDirectory(root: string, opts: VerifyOptions & { destDir?: string }): Promise<VerifiedBundle> {
  await plainFile(root, MANIFEST_FILE, MAX_MANIFEST_BYTES);
  await plainFile(root, SIGNATURE_FILE, MAX_SIGNATURE_BYTES);
  const manifestBytes = await readFile(join(root, MANIFEST_FILE));
  const signature = await readFile(join(root, SIGNATURE_FILE));
  const manifest = checkManifest(manifestBytes, signature, opts);
  const tally = new Tally(manifest, opts.onProgress);
  tally.report();
  // Files not listed are never read (a stick may carry other things); listed ones must be plain files.
  for (const entry of manifest.contents) {
    const size = await plainFile(root, entry.path, Number.MAX_SAFE_INTEGER);
    if (size !== entry.size)
      throw new BundleRejected("content", entry.path, `${size} bytes on disk, manifest lists ${entry.size}`);
    const sink = await fileSink(entry, opts.destDir, (n) => tally.add(n));
    try {
      for await (const chunk of createReadStream(join(root, entry.path), { highWaterMark: 1 << 16 }))
        await sink.write(chunk as Buffer);
    } catch (e) {
      await sink.abort();
      throw e;
    }
    await sink.end();
    tally.fileDone();
  }
  return { manifest, manifestBytes, signature };
}
