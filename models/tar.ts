// A minimal, defensive tar reader (POSIX ustar, plus the pax and GNU long-name headers GNU tar writes), so bundles
// can be installed without a dependency and without ever handing an archive to a tool that would honour symlinks,
// devices or "../" paths. Only regular files and directories are accepted; everything else rejects the archive.
import { createHash } from "node:crypto";
import { type FileHandle, mkdir, open } from "node:fs/promises";
import { dirname, join } from "node:path";
import { unsafePathReason } from "./manifest.ts";

export class TarError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "TarError";
  }
}

export interface TarLimits {
  /** Sum of all file sizes (default 64 GiB: LLM bundles are big, the disk check is the caller's). */
  maxTotalBytes?: number;
  /** Number of entries (default 10,000). */
  maxEntries?: number;
}

export interface TarEntry {
  path: string;
  type: "file" | "directory";
  size: number;
}

export interface FileSink {
  write(chunk: Buffer): Promise<void>;
  end(): Promise<void>;
  /** Called instead of end() when the entry fails part-way, so handles are not leaked. */
  abort(): Promise<void>;
}

/** Receives the archive's entries in order; `file` returns a sink for the file's bytes. */
export interface TarVisitor {
  directory(entry: TarEntry): Promise<void>;
  file(entry: TarEntry): Promise<FileSink>;
  /** Archive bytes consumed so far (monotonic), for progress. */
  progress?(archiveBytes: number): void;
}

const BLOCK = 512;
const MAX_META_BYTES = 1 << 20; // pax / GNU long-name payloads are tiny; anything bigger is an attack

/** Pulls exact byte counts out of a chunked stream; keeps at most one chunk plus a header in memory. */
class ByteReader {
  private buf = Buffer.alloc(0);
  private ended = false;
  consumed = 0;
  constructor(private readonly it: AsyncIterator<Uint8Array>) {}

  private async fill(n: number): Promise<void> {
    while (this.buf.length < n && !this.ended) {
      const r = await this.it.next();
      if (r.done) this.ended = true;
      else if (r.value.length) this.buf = this.buf.length ? Buffer.concat([this.buf, r.value]) : Buffer.from(r.value);
    }
  }

  /** Exactly n bytes, or null at a clean end of stream (nothing left). */
  async read(n: number, what: string): Promise<Buffer | null> {
    await this.fill(n);
    if (this.buf.length === 0 && this.ended) return null;
    if (this.buf.length < n) throw new TarError(`truncated archive: ${what} is cut short`);
    const out = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(n);
    this.consumed += n;
    return out;
  }

  /** Streams n bytes to `sink` chunk by chunk. */
  async pipe(n: number, what: string, sink: (chunk: Buffer) => Promise<void>): Promise<void> {
    let left = n;
    while (left > 0) {
      if (this.buf.length === 0) await this.fill(1);
      if (this.buf.length === 0) throw new TarError(`truncated archive: ${what} is cut short`);
      const take = Math.min(left, this.buf.length);
      const chunk = this.buf.subarray(0, take);
      this.buf = this.buf.subarray(take);
      this.consumed += take;
      left -= take;
      await sink(chunk);
    }
  }
}

function cString(b: Buffer, field: string): string {
  const nul = b.indexOf(0);
  // Bytes after the terminating NUL must be NUL too: "a\0b" is a name-smuggling trick, not a name.
  if (nul >= 0 && b.subarray(nul).some((x) => x !== 0)) throw new TarError(`header field ${field} contains a NUL byte`);
  return b.subarray(0, nul < 0 ? b.length : nul).toString("utf8");
}

function numeric(b: Buffer, field: string): number {
  if (b[0] & 0x80) {
    // GNU base-256 for values that do not fit in octal (files over 8 GiB).
    if (b[0] !== 0x80) throw new TarError(`header field ${field}: negative or oversized base-256 value`);
    let v = 0;
    for (let i = 1; i < b.length; i++) v = v * 256 + b[i];
    if (!Number.isSafeInteger(v)) throw new TarError(`header field ${field}: value too large`);
    return v;
  }
  const s = b
    .toString("latin1")
    .replace(/[\0 ]+$/, "")
    .replace(/^ +/, "");
  if (s === "") return 0;
  if (!/^[0-7]+$/.test(s)) throw new TarError(`header field ${field} is not octal: ${JSON.stringify(s)}`);
  return Number.parseInt(s, 8);
}

function checkHeaderChecksum(h: Buffer): void {
  let stored: number;
  try {
    stored = numeric(h.subarray(148, 156), "chksum");
  } catch {
    throw new TarError("header checksum field is not a number (corrupt or not a tar)");
  }
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const v = i >= 148 && i < 156 ? 0x20 : h[i];
    unsigned += v;
    signed += v > 127 ? v - 256 : v; // some historic writers summed signed chars
  }
  if (stored !== unsigned && stored !== signed) throw new TarError("header checksum mismatch (corrupt or not a tar)");
}

/** pax records: "<len> <key>=<value>\n". Only path and size matter; linkpath etc. are irrelevant (links rejected). */
function parsePax(data: Buffer): Map<string, string> {
  const out = new Map<string, string>();
  let i = 0;
  while (i < data.length) {
    const sp = data.indexOf(0x20, i);
    if (sp < 0) throw new TarError("malformed pax header");
    const len = Number.parseInt(data.subarray(i, sp).toString("latin1"), 10);
    if (!Number.isInteger(len) || len <= sp - i || i + len > data.length) throw new TarError("malformed pax header");
    const rec = data.subarray(sp + 1, i + len - 1).toString("utf8");
    const eq = rec.indexOf("=");
    if (eq < 0 || data[i + len - 1] !== 0x0a) throw new TarError("malformed pax header record");
    out.set(rec.slice(0, eq), rec.slice(eq + 1));
    i += len;
  }
  return out;
}

const typeNames: Record<string, string> = {
  "1": "hard link",
  "2": "symbolic link",
  "3": "character device",
  "4": "block device",
  "6": "FIFO",
  "7": "contiguous file",
  S: "GNU sparse file",
  V: "GNU volume header",
  M: "GNU multi-volume continuation",
  K: "GNU long link name",
};

/** Normalizes an archive path ("./a/b/" → "a/b"); "" is the archive root. Rejects anything unsafe. */
function safeEntryPath(raw: string): string {
  if (raw.includes("\0")) throw new TarError(`entry name contains a NUL byte: ${JSON.stringify(raw)}`);
  let p = raw;
  while (p.startsWith("./")) p = p.slice(2);
  p = p.replace(/\/+$/, "");
  if (p === "" || p === ".") return "";
  const reason = unsafePathReason(p);
  if (reason) throw new TarError(`unsafe entry path ${JSON.stringify(raw)}: ${reason}`);
  return p;
}

/** Reads a tar stream and hands regular files and directories to `visitor`; rejects anything else. */
export async function readTar(source: AsyncIterable<Uint8Array>, visitor: TarVisitor, limits: TarLimits = {}) {
  const maxTotal = limits.maxTotalBytes ?? 64 * 2 ** 30;
  const maxEntries = limits.maxEntries ?? 10_000;
  const r = new ByteReader(source[Symbol.asyncIterator]());
  const seen = new Set<string>();
  let total = 0;
  let entries = 0;
  let pax = new Map<string, string>();
  let longName: string | undefined;

  for (;;) {
    const h = await r.read(BLOCK, "header");
    if (h === null) throw new TarError("truncated archive: no end-of-archive marker");
    if (h.every((x) => x === 0)) return; // end of archive; GNU tar pads with a second zero block and more
    const magic = h.subarray(257, 263).toString("latin1");
    if (magic !== "ustar\0" && magic !== "ustar ") throw new TarError("not a ustar archive (bad magic)");
    checkHeaderChecksum(h);
    const type = String.fromCharCode(h[156] || 0x30);
    const size = numeric(h.subarray(124, 136), "size");
    const padded = Math.ceil(size / BLOCK) * BLOCK;
    if (++entries > maxEntries) throw new TarError(`archive has more than ${maxEntries} entries`);

    if (type === "x" || type === "g" || type === "L") {
      if (size > MAX_META_BYTES) throw new TarError(`oversized ${type} header (${size} bytes)`);
      const data = (await r.read(padded, "extended header")) ?? Buffer.alloc(0);
      if (data.length < padded) throw new TarError("truncated archive: extended header is cut short");
      if (type === "x") pax = parsePax(data.subarray(0, size));
      else if (type === "L") longName = data.subarray(0, size).toString("utf8").replace(/\0+$/, "");
      // "g" (global pax) only carries defaults such as mtime; nothing we use.
      visitor.progress?.(r.consumed);
      continue;
    }
    if (type !== "0" && type !== "5") {
      const name = cString(h.subarray(0, 100), "name");
      throw new TarError(
        `entry "${name}" is a ${typeNames[type] ?? `type '${type}' entry`}; only files and directories`,
      );
    }

    let name = cString(h.subarray(0, 100), "name");
    const prefix = magic === "ustar\0" ? cString(h.subarray(345, 500), "prefix") : "";
    if (prefix) name = `${prefix}/${name}`;
    if (longName !== undefined) name = longName;
    const paxPath = pax.get("path");
    if (paxPath !== undefined) name = paxPath;
    const paxSize = pax.get("size");
    const realSize = paxSize !== undefined ? Number(paxSize) : size;
    if (!Number.isSafeInteger(realSize) || realSize < 0) throw new TarError(`entry "${name}" has an invalid size`);
    pax = new Map();
    longName = undefined;

    const path = safeEntryPath(name);
    const what = `entry "${path}"`;
    if (type === "5" || name.endsWith("/")) {
      if (realSize !== 0) throw new TarError(`directory ${what} has a size`);
      if (path !== "") await visitor.directory({ path, type: "directory", size: 0 });
      visitor.progress?.(r.consumed);
      continue;
    }
    if (path === "") throw new TarError("a file entry names the archive root");
    if (seen.has(path)) throw new TarError(`duplicate ${what}`);
    seen.add(path);
    total += realSize;
    if (total > maxTotal) throw new TarError(`archive content exceeds the ${maxTotal}-byte limit`);

    const sink = await visitor.file({ path, type: "file", size: realSize });
    try {
      await r.pipe(realSize, what, async (c) => {
        await sink.write(c);
        visitor.progress?.(r.consumed);
      });
    } catch (e) {
      await sink.abort();
      throw e;
    }
    await sink.end();
    const pad = Math.ceil(realSize / BLOCK) * BLOCK - realSize;
    if (pad > 0 && (await r.read(pad, `padding of ${what}`)) === null)
      throw new TarError(`truncated archive: padding of ${what} is missing`);
    visitor.progress?.(r.consumed);
  }
}

export interface ExtractedFile {
  path: string;
  bytes: number;
  sha256: string;
}

/**
 * Extracts into `destDir` (which must exist and be empty) and returns each file's size and sha256, computed while
 * writing so the caller need not read the files again. Files get mode 0644 regardless of the archive (no setuid,
 * no executables); since no links are ever created, a later entry cannot escape through an earlier one.
 */
export async function extractTar(
  source: AsyncIterable<Uint8Array>,
  destDir: string,
  opts: TarLimits & { onProgress?: (archiveBytes: number) => void } = {},
): Promise<ExtractedFile[]> {
  const files: ExtractedFile[] = [];
  await readTar(
    source,
    {
      async directory(e) {
        await mkdir(join(destDir, e.path), { recursive: true, mode: 0o755 });
      },
      async file(e) {
        await mkdir(dirname(join(destDir, e.path)), { recursive: true, mode: 0o755 });
        // "wx": never follow or overwrite something already there.
        const fh: FileHandle = await open(join(destDir, e.path), "wx", 0o644);
        const hash = createHash("sha256");
        let bytes = 0;
        return {
          async write(chunk) {
            hash.update(chunk);
            bytes += chunk.length;
            await fh.write(chunk);
          },
          async end() {
            await fh.sync();
            await fh.close();
            files.push({ path: e.path, bytes, sha256: hash.digest("hex") });
          },
          async abort() {
            await fh.close();
          },
        };
      },
      progress: opts.onProgress,
    },
    opts,
  );
  return files;
}
