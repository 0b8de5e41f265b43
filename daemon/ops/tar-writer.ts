// A minimal streaming tar writer (POSIX ustar, pax headers for long names and huge sizes): regular files and
// directories only, which is exactly what models/tar.ts reads back. A file that yields more or fewer bytes than
// its declared size fails the archive rather than producing one that lies.
const BLOCK = 512;
const MAX_OCTAL_SIZE = 8 ** 11 - 1;

export interface TarWriterEntry {
  /** Relative, "/"-separated, no "..": the caller's paths come from walking a directory. */
  path: string;
  type: "file" | "directory";
  /** Bytes of a file; `data` must yield exactly this many. */
  size?: number;
  mode?: number;
  mtimeMs?: number;
  data?: Buffer | AsyncIterable<Uint8Array>;
}

function octal(n: number, width: number): string {
  return `${Math.floor(n)
    .toString(8)
    .padStart(width - 1, "0")}\0`;
}

function header(name: Buffer, type: string, size: number, mode: number, mtimeMs: number): Buffer {
  const h = Buffer.alloc(BLOCK);
  name.copy(h, 0, 0, Math.min(name.length, 100));
  h.write(octal(mode & 0o7777, 8), 100, "latin1");
  h.write(octal(0, 8), 108, "latin1");
  h.write(octal(0, 8), 116, "latin1");
  h.write(octal(size, 12), 124, "latin1");
  h.write(octal(Math.max(0, mtimeMs / 1000), 12), 136, "latin1");
  h.write(type, 156, "latin1");
  h.write("ustar\0", 257, "latin1");
  h.write("00", 263, "latin1");
  h.fill(0x20, 148, 156);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148, "latin1");
  return h;
}

function paxRecord(key: string, value: string): string {
  // "<len> key=value\n" where len counts itself.
  const body = ` ${key}=${value}\n`;
  let len = Buffer.byteLength(body) + 1;
  while (String(len).length + Buffer.byteLength(body) !== len) len++;
  return `${len}${body}`;
}

function pad(n: number): Buffer {
  return Buffer.alloc((BLOCK - (n % BLOCK)) % BLOCK);
}

/** Tar blocks for `entries`, in order, ending with the two zero blocks. */
export async function* writeTar(
  entries: AsyncIterable<TarWriterEntry> | Iterable<TarWriterEntry>,
): AsyncGenerator<Buffer> {
  for await (const e of entries) {
    const name = e.type === "directory" ? `${e.path.replace(/\/+$/, "")}/` : e.path;
    const nameBytes = Buffer.from(name, "utf8");
    const size = e.type === "file" ? (e.size ?? (Buffer.isBuffer(e.data) ? e.data.length : 0)) : 0;
    const pax: string[] = [];
    if (nameBytes.length > 100 || /[^\x20-\x7e]/.test(name)) pax.push(paxRecord("path", name));
    if (size > MAX_OCTAL_SIZE) pax.push(paxRecord("size", String(size)));
    const mtime = e.mtimeMs ?? Date.now();
    if (pax.length) {
      const body = Buffer.from(pax.join(""), "utf8");
      yield header(Buffer.from("././@PaxHeader"), "x", body.length, 0o644, mtime);
      yield body;
      yield pad(body.length);
    }
    yield header(
      nameBytes,
      e.type === "directory" ? "5" : "0",
      size > MAX_OCTAL_SIZE ? 0 : size,
      e.mode ?? 0o644,
      mtime,
    );
    if (e.type === "directory") continue;
    let written = 0;
    const data = e.data ?? Buffer.alloc(0);
    for await (const chunk of Buffer.isBuffer(data) ? [data] : data) {
      written += chunk.length;
      if (written > size) throw new Error(`${e.path}: grew while being archived (expected ${size} bytes)`);
      yield Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length);
    }
    if (written !== size) throw new Error(`${e.path}: shrank while being archived (${written} of ${size} bytes)`);
    yield pad(size);
  }
  yield Buffer.alloc(2 * BLOCK);
}
