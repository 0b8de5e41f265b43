// File pre-checks run before any model reaches native code. Measured with sherpa-onnx-node 1.13.8 (see
// model-files.test.ts): a missing model makes most constructors throw "Please check your config!" but makes
// `Vad` construct a silently unusable object, and a corrupt .onnx (random bytes, or a truncated file) aborts the whole
// process with an uncaught Ort::Exception (SIGABRT) in every constructor. So nothing may reach sherpa unchecked.
//
// The ONNX check walks the top-level ModelProto fields (key varint, wire type, length) without reading the
// weights: it catches garbage, truncation and non-ONNX files cheaply, even for 1 GB models. It cannot prove the
// graph inside is valid; a structurally valid file with a broken graph still reaches ORT.
import { closeSync, openSync, readSync, statSync } from "node:fs";
import { join } from "node:path";
import { EngineLoadError } from "./types.ts";

function statOrThrow(path: string, what: "file" | "directory") {
  let st: ReturnType<typeof statSync>;
  try {
    st = statSync(path);
  } catch {
    throw new EngineLoadError(path, `${what} missing`);
  }
  if (what === "file" && !st.isFile()) throw new EngineLoadError(path, "not a regular file");
  if (what === "directory" && !st.isDirectory()) throw new EngineLoadError(path, "not a directory");
  return st;
}

export function checkDir(path: string, mustContain: readonly string[] = []): void {
  statOrThrow(path, "directory");
  for (const f of mustContain) checkFile(join(path, f));
}

/** Exists, regular file, not empty. */
export function checkFile(path: string): number {
  const st = statOrThrow(path, "file");
  if (st.size === 0) throw new EngineLoadError(path, "empty file");
  return st.size;
}

/** Random-access reader over a file descriptor; reads only the bytes it is asked for. */
class FileBytes {
  private readonly buf = Buffer.alloc(16);
  constructor(
    private readonly fd: number,
    readonly size: number,
  ) {}
  byte(pos: number): number {
    if (pos >= this.size) return -1;
    readSync(this.fd, this.buf, 0, 1, pos);
    return this.buf[0];
  }
  read(pos: number, len: number): Buffer {
    const b = Buffer.alloc(len);
    readSync(this.fd, b, 0, len, pos);
    return b;
  }
  /** Protobuf varint at pos: [value, next position], or undefined when malformed/truncated. */
  varint(pos: number): [number, number] | undefined {
    let v = 0;
    let mul = 1;
    for (let i = 0; i < 10; i++) {
      const b = this.byte(pos + i);
      if (b < 0) return undefined;
      v += (b & 0x7f) * mul;
      mul *= 128;
      if ((b & 0x80) === 0) return [v, pos + i + 1];
    }
    return undefined;
  }
}

export interface OnnxInfo {
  irVersion: number;
  /** ModelProto.metadata_props (sherpa-onnx reads model_type, sample_rate, ... from here). */
  metadata: Record<string, string>;
}

const MAX_TOP_LEVEL_FIELDS = 100_000;

/**
 * Structural check of an ONNX ModelProto: first byte 0x08 (field 1 ir_version, varint), every top-level field
 * well-formed and inside the file, the walk ending exactly at EOF, and a graph (field 7) present.
 */
export function checkOnnx(path: string): OnnxInfo {
  const size = checkFile(path);
  const fd = openSync(path, "r");
  try {
    const f = new FileBytes(fd, size);
    if (f.byte(0) !== 0x08) {
      throw new EngineLoadError(path, "not an ONNX model (first byte is not the ir_version tag 0x08)");
    }
    const metadata: Record<string, string> = {};
    let irVersion = -1;
    let hasGraph = false;
    let pos = 0;
    for (let n = 0; pos < size; n++) {
      if (n > MAX_TOP_LEVEL_FIELDS) throw new EngineLoadError(path, "not an ONNX model (too many top-level fields)");
      const key = f.varint(pos);
      if (!key) throw new EngineLoadError(path, `corrupt ONNX protobuf (bad field key at byte ${pos})`);
      const [k, afterKey] = key;
      const field = Math.floor(k / 8);
      const wire = k % 8;
      if (field === 0) throw new EngineLoadError(path, `corrupt ONNX protobuf (field 0 at byte ${pos})`);
      if (wire === 0) {
        const v = f.varint(afterKey);
        if (!v) throw new EngineLoadError(path, `corrupt ONNX protobuf (truncated varint at byte ${afterKey})`);
        if (field === 1) irVersion = v[0];
        pos = v[1];
      } else if (wire === 1) {
        pos = afterKey + 8;
      } else if (wire === 5) {
        pos = afterKey + 4;
      } else if (wire === 2) {
        const len = f.varint(afterKey);
        if (!len) throw new EngineLoadError(path, `corrupt ONNX protobuf (truncated length at byte ${afterKey})`);
        const end = len[1] + len[0];
        if (end > size) {
          throw new EngineLoadError(path, `corrupt or truncated ONNX file (field ${field} ends past EOF)`);
        }
        if (field === 7) hasGraph = true;
        if (field === 14 && len[0] < 65536) parseMetadataEntry(f.read(len[1], len[0]), metadata);
        pos = end;
      } else {
        throw new EngineLoadError(path, `corrupt ONNX protobuf (wire type ${wire} at byte ${pos})`);
      }
    }
    if (pos !== size) throw new EngineLoadError(path, "corrupt or truncated ONNX file (last field ends past EOF)");
    if (irVersion < 1 || irVersion > 100) throw new EngineLoadError(path, `implausible ONNX ir_version ${irVersion}`);
    if (!hasGraph) throw new EngineLoadError(path, "ONNX file has no graph");
    return { irVersion, metadata };
  } finally {
    closeSync(fd);
  }
}

/** StringStringEntryProto { 1: key, 2: value }. */
function parseMetadataEntry(b: Buffer, out: Record<string, string>): void {
  let key = "";
  let value = "";
  let p = 0;
  while (p < b.length) {
    const tag = b[p++];
    if ((tag & 7) !== 2) return;
    let len = 0;
    let mul = 1;
    for (;;) {
      if (p >= b.length) return;
      const c = b[p++];
      len += (c & 0x7f) * mul;
      mul *= 128;
      if ((c & 0x80) === 0) break;
    }
    if (p + len > b.length) return;
    const s = b.toString("utf8", p, p + len);
    if (tag >> 3 === 1) key = s;
    else if (tag >> 3 === 2) value = s;
    p += len;
  }
  if (key) out[key] = value;
}

/** tokens.txt of sherpa-onnx: "<symbol> <id>" per line (the symbol may itself be a space). */
export function readTokens(path: string): Map<string, number> {
  checkFile(path);
  const text = readTextFile(path);
  const map = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (line === "") continue;
    const m = /^(.*) (\d+)$/.exec(line);
    if (!m) throw new EngineLoadError(path, `not a tokens file (bad line ${JSON.stringify(line.slice(0, 40))})`);
    map.set(m[1], Number(m[2]));
  }
  if (map.size === 0) throw new EngineLoadError(path, "tokens file has no entries");
  return map;
}

function readTextFile(path: string): string {
  const b = readFileBytes(path);
  const s = b.toString("utf8");
  if (s.includes("\u0000")) throw new EngineLoadError(path, "binary data in a text file");
  return s;
}

function readFileBytes(path: string): Buffer {
  const size = checkFile(path);
  const fd = openSync(path, "r");
  try {
    const b = Buffer.alloc(size);
    readSync(fd, b, 0, size, 0);
    return b;
  } finally {
    closeSync(fd);
  }
}

/** Silero in sherpa-onnx only runs at 16 kHz; any other rate prints an error and exits the process. */
export function checkSileroSampleRate(sampleRate: number): void {
  if (sampleRate !== 16000) {
    throw new EngineLoadError("silero-vad", `sample rate must be 16000 (got ${sampleRate}); resample first`);
  }
}

/** espeak-ng data directory used by Piper/VITS/Kokoro/Matcha voices. */
export function checkEspeakData(dir: string): void {
  checkDir(dir, ["phontab", "phonindex", "phondata"]);
}
