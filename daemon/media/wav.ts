// WAV reading (PCM 8/16/24/32-bit, float 32/64, A-law, µ-law, WAVE_FORMAT_EXTENSIBLE; any rate and channel count)
// and streaming WAV writing whose header sizes are patched on close, so a crash leaves a file most tools can read.
import { open, readFile, type FileHandle } from "node:fs/promises";
import { ALAW_DECODE, ULAW_DECODE } from "./g711.ts";

export interface WavAudio {
  sampleRate: number;
  channels: number;
  /** Interleaved PCM16. */
  samples: Int16Array;
}

const FMT_PCM = 1;
const FMT_FLOAT = 3;
const FMT_ALAW = 6;
const FMT_MULAW = 7;
const FMT_EXTENSIBLE = 0xfffe;

function clamp16(v: number): number {
  return v > 32767 ? 32767 : Math.max(v, -32768);
}

export function parseWav(buf: Buffer): WavAudio {
  if (buf.length < 12 || buf.toString("ascii", 0, 4) !== "RIFF" || buf.toString("ascii", 8, 12) !== "WAVE")
    throw new Error("not a RIFF/WAVE file");
  let off = 12;
  let fmt: { format: number; channels: number; rate: number; bits: number; align: number } | undefined;
  let data: Buffer | undefined;
  while (off + 8 <= buf.length) {
    const id = buf.toString("ascii", off, off + 4);
    let len = buf.readUInt32LE(off + 4);
    const body = off + 8;
    // streaming writers leave 0 or 0xffffffff in the data size; take the rest of the file
    if (id === "data" && (len === 0 || body + len > buf.length)) len = buf.length - body;
    if (id === "fmt ") {
      if (len < 16) throw new Error("short fmt chunk");
      let format = buf.readUInt16LE(body);
      if (format === FMT_EXTENSIBLE && len >= 26) format = buf.readUInt16LE(body + 24);
      fmt = {
        format,
        channels: buf.readUInt16LE(body + 2),
        rate: buf.readUInt32LE(body + 4),
        align: buf.readUInt16LE(body + 12),
        bits: buf.readUInt16LE(body + 14),
      };
    } else if (id === "data") data = buf.subarray(body, body + len);
    off = body + len + (len & 1);
  }
  if (!fmt) throw new Error("no fmt chunk");
  if (!data) throw new Error("no data chunk");
  const { format, channels, rate, bits } = fmt;
  if (channels < 1 || rate < 1000 || rate > 384000) throw new Error(`unsupported WAV: ${channels} ch, ${rate} Hz`);
  const bytes = bits / 8;
  const n = Math.floor(data.length / bytes);
  const out = new Int16Array(n);
  if (format === FMT_PCM && bits === 16) for (let i = 0; i < n; i++) out[i] = data.readInt16LE(i * 2);
  else if (format === FMT_PCM && bits === 8) for (let i = 0; i < n; i++) out[i] = (data[i] - 128) << 8;
  else if (format === FMT_PCM && bits === 24) for (let i = 0; i < n; i++) out[i] = data.readIntLE(i * 3, 3) >> 8;
  else if (format === FMT_PCM && bits === 32) for (let i = 0; i < n; i++) out[i] = data.readInt32LE(i * 4) >> 16;
  else if (format === FMT_FLOAT && bits === 32)
    for (let i = 0; i < n; i++) out[i] = clamp16(Math.round(data.readFloatLE(i * 4) * 32767));
  else if (format === FMT_FLOAT && bits === 64)
    for (let i = 0; i < n; i++) out[i] = clamp16(Math.round(data.readDoubleLE(i * 8) * 32767));
  else if (format === FMT_ALAW && bits === 8) for (let i = 0; i < n; i++) out[i] = ALAW_DECODE[data[i]];
  else if (format === FMT_MULAW && bits === 8) for (let i = 0; i < n; i++) out[i] = ULAW_DECODE[data[i]];
  else throw new Error(`unsupported WAV encoding: format ${format}, ${bits} bits`);
  const whole = n - (n % channels);
  return { sampleRate: rate, channels, samples: whole === n ? out : out.subarray(0, whole) };
}

export async function readWav(path: string): Promise<WavAudio> {
  return parseWav(await readFile(path));
}

/** Average interleaved channels to mono. */
export function toMono(samples: Int16Array, channels: number): Int16Array {
  if (channels === 1) return samples;
  const n = Math.floor(samples.length / channels);
  const out = new Int16Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let c = 0; c < channels; c++) s += samples[i * channels + c];
    out[i] = Math.round(s / channels);
  }
  return out;
}

export function wavHeader(sampleRate: number, channels: number, dataBytes: number): Buffer {
  const h = Buffer.alloc(44);
  h.write("RIFF", 0, "ascii");
  h.writeUInt32LE(Math.min(0xffffffff, 36 + dataBytes), 4);
  h.write("WAVE", 8, "ascii");
  h.write("fmt ", 12, "ascii");
  h.writeUInt32LE(16, 16);
  h.writeUInt16LE(FMT_PCM, 20);
  h.writeUInt16LE(channels, 22);
  h.writeUInt32LE(sampleRate, 24);
  h.writeUInt32LE(sampleRate * channels * 2, 28);
  h.writeUInt16LE(channels * 2, 32);
  h.writeUInt16LE(16, 34);
  h.write("data", 36, "ascii");
  h.writeUInt32LE(Math.min(0xffffffff, dataBytes), 40);
  return h;
}

/** Encode a whole PCM16 buffer as a WAV file image. */
export function encodeWav(samples: Int16Array, sampleRate: number, channels = 1): Buffer {
  const body = Buffer.from(samples.buffer, samples.byteOffset, samples.byteLength);
  return Buffer.concat([wavHeader(sampleRate, channels, body.length), body]);
}

/**
 * Streaming PCM16 WAV writer. `write` never blocks: chunks are appended in order by a promise chain; `close`
 * waits for them and rewrites the header with the final sizes.
 */
export class WavWriter {
  private bytes = 0;
  private chain: Promise<void>;
  private failure: Error | undefined;

  private constructor(
    private readonly fh: FileHandle,
    readonly path: string,
    readonly sampleRate: number,
    readonly channels: number,
  ) {
    this.chain = fh.write(wavHeader(sampleRate, channels, 0), 0, 44, 0).then(() => undefined);
  }

  static async create(path: string, sampleRate: number, channels: number): Promise<WavWriter> {
    return new WavWriter(await open(path, "w"), path, sampleRate, channels);
  }

  /** Queue interleaved samples; the array must not be modified afterwards. */
  write(samples: Int16Array): void {
    if (this.failure || samples.length === 0) return;
    const buf = Buffer.from(samples.buffer, samples.byteOffset, samples.byteLength);
    const pos = 44 + this.bytes;
    this.bytes += buf.length;
    this.chain = this.chain
      .then(() => this.fh.write(buf, 0, buf.length, pos))
      .then(
        () => undefined,
        (e: Error) => {
          this.failure = e;
        },
      );
  }

  get durationMs(): number {
    return (this.bytes / 2 / this.channels / this.sampleRate) * 1000;
  }

  async close(): Promise<void> {
    await this.chain;
    try {
      await this.fh.write(wavHeader(this.sampleRate, this.channels, this.bytes), 0, 44, 0);
    } finally {
      await this.fh.close();
    }
    if (this.failure) throw this.failure;
  }
}
