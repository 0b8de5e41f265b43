// Builds a signed bundle for installers: hashes the input files, writes and signs the manifest, and streams everything
// into a ustar archive with manifest.json and manifest.sig first (the order a device reads and checks them in).
import { createHash, type KeyObject, randomUUID } from "node:crypto";
import { createReadStream } from "node:fs";
import { type FileHandle, open, rename, rm, stat } from "node:fs/promises";
import { basename } from "node:path";
import { signManifest } from "./keys.ts";
import {
  FORMAT,
  MANIFEST_FILE,
  type Manifest,
  manifestSchema,
  type Role,
  SIGNATURE_FILE,
  type Target,
} from "./manifest.ts";

export interface BundleInput {
  role: Role;
  /** File on the installer's machine. */
  source: string;
  /** Path inside the bundle; default `<role>/<basename>`. */
  path?: string;
}

export interface MakeBundleOptions {
  privateKey: KeyObject;
  target: Target;
  version: number;
  expiresAt: Date;
  files: BundleInput[];
  now?: () => number;
}

async function hashFile(file: string): Promise<{ sha256: string; size: number }> {
  const hash = createHash("sha256");
  let size = 0;
  for await (const chunk of createReadStream(file)) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { sha256: hash.digest("hex"), size };
}

function octal(n: number, width: number): string {
  return `${n.toString(8).padStart(width - 1, "0")}\0`;
}

/** A ustar header for a regular file; long paths go into the prefix field (no pax needed for our names). */
function header(path: string, size: number, mtime: number): Buffer {
  const h = Buffer.alloc(512);
  let name = path;
  let prefix = "";
  if (Buffer.byteLength(name) > 100) {
    const slashes = [...path.matchAll(/\//g)].map((m) => m.index ?? 0);
    const at = slashes.find(
      (i) => Buffer.byteLength(path.slice(i + 1)) <= 100 && Buffer.byteLength(path.slice(0, i)) <= 155,
    );
    if (at === undefined) throw new Error(`bundle path "${path}" is too long for a ustar header`);
    prefix = path.slice(0, at);
    name = path.slice(at + 1);
  }
  h.write(name, 0, "utf8");
  h.write(octal(0o644, 8), 100, "latin1");
  h.write(octal(0, 8), 108, "latin1");
  h.write(octal(0, 8), 116, "latin1");
  h.write(octal(size, 12), 124, "latin1");
  h.write(octal(Math.floor(mtime / 1000), 12), 136, "latin1");
  h.write("0", 156, "latin1");
  h.write("ustar\0", 257, "latin1");
  h.write("00", 263, "latin1");
  h.write(prefix, 345, "utf8");
  h.fill(0x20, 148, 156);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148, "latin1");
  return h;
}

async function appendEntry(fh: FileHandle, path: string, data: Buffer | string, mtime: number): Promise<void> {
  const size = typeof data === "string" ? (await stat(data)).size : data.length;
  await fh.write(header(path, size, mtime));
  let written = 0;
  if (typeof data === "string") {
    for await (const chunk of createReadStream(data)) {
      await fh.write(chunk as Buffer);
      written += (chunk as Buffer).length;
    }
    // The file changed between hashing and copying: the bundle would be rejected on the device anyway.
    if (written !== size) throw new Error(`${data} changed while the bundle was being written`);
  } else {
    await fh.write(data);
    written = data.length;
  }
  const pad = (512 - (written % 512)) % 512;
  if (pad) await fh.write(Buffer.alloc(pad));
}

/** Writes the bundle to `out` (atomically) and returns its manifest. */
export async function makeBundle(out: string, opts: MakeBundleOptions): Promise<Manifest> {
  const now = (opts.now ?? Date.now)();
  const contents = [];
  for (const f of opts.files) {
    const { sha256, size } = await hashFile(f.source);
    contents.push({ path: f.path ?? `${f.role}/${basename(f.source)}`, sha256, size, role: f.role });
  }
  const draft = {
    format: FORMAT,
    id: randomUUID(),
    target: opts.target,
    version: opts.version,
    createdAt: new Date(now).toISOString(),
    expiresAt: opts.expiresAt.toISOString(),
    contents,
  };
  const checked = manifestSchema.safeParse(draft);
  if (!checked.success) {
    const i = checked.error.issues[0];
    throw new Error(`manifest ${i.path.map(String).join(".") || "(root)"}: ${i.message}`);
  }
  if (opts.expiresAt.getTime() <= now) throw new Error(`expiry ${draft.expiresAt} is in the past`);
  const manifestBytes = Buffer.from(`${JSON.stringify(draft, null, 2)}\n`);
  const tmp = `${out}.tmp-${process.pid}`;
  const fh = await open(tmp, "w", 0o644);
  try {
    await appendEntry(fh, MANIFEST_FILE, manifestBytes, now);
    await appendEntry(fh, SIGNATURE_FILE, Buffer.from(signManifest(manifestBytes, opts.privateKey)), now);
    for (const [i, f] of opts.files.entries()) await appendEntry(fh, contents[i].path, f.source, now);
    await fh.write(Buffer.alloc(1024));
    await fh.sync();
    await fh.close();
    await rename(tmp, out);
  } catch (e) {
    await fh.close().catch(() => {});
    await rm(tmp, { force: true });
    throw e;
  }
  return checked.data;
}
