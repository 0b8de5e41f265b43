// Builds tar archives byte by byte for tests, including ones no sane `tar` would write ("../evil", bad checksums).
export interface RawTarEntry {
  name: string;
  /** typeflag: "0" file, "5" dir, "1" hard link, "2" symlink, "3" char device, ... */
  type?: string;
  data?: Buffer;
  linkname?: string;
  /** Overrides the size field (for lying headers). */
  size?: number;
  corruptChecksum?: boolean;
}

function octal(n: number, width: number): string {
  return `${n.toString(8).padStart(width - 1, "0")}\0`;
}

export function tarHeader(e: RawTarEntry): Buffer {
  const h = Buffer.alloc(512);
  const name = Buffer.from(e.name, "utf8");
  if (name.length > 100) throw new Error("name too long for this builder");
  name.copy(h, 0);
  h.write(octal(0o644, 8), 100, "latin1");
  h.write(octal(0, 8), 108, "latin1");
  h.write(octal(0, 8), 116, "latin1");
  h.write(octal(e.size ?? e.data?.length ?? 0, 12), 124, "latin1");
  h.write(octal(0, 12), 136, "latin1");
  h.write(e.type ?? "0", 156, "latin1");
  if (e.linkname) h.write(e.linkname, 157, "utf8");
  h.write("ustar\0", 257, "latin1");
  h.write("00", 263, "latin1");
  h.fill(0x20, 148, 156);
  let sum = 0;
  for (const b of h) sum += b;
  if (e.corruptChecksum) sum += 1;
  h.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148, "latin1");
  return h;
}

export function buildTar(entries: RawTarEntry[], opts: { end?: boolean } = {}): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    parts.push(tarHeader(e));
    const data = e.data ?? Buffer.alloc(0);
    parts.push(data, Buffer.alloc((512 - (data.length % 512)) % 512));
  }
  if (opts.end !== false) parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}
