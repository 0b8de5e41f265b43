// Minimal WAV reader for the test oracle. Deliberately independent of the product's WAV/codec code: a shared bug
// must not make a broken recording look right.
import { readFileSync } from "node:fs";

export interface WavData {
  rate: number;
  channels: Float32Array[];
}

/** Reads PCM16, PCM8, PCM32 or float32 WAV (also WAVE_FORMAT_EXTENSIBLE) into one Float32Array per channel. */
export function readWav(path: string): WavData {
  const buf = readFileSync(path);
  if (buf.toString("ascii", 0, 4) !== "RIFF" || buf.toString("ascii", 8, 12) !== "WAVE") {
    throw new Error(`${path}: not a RIFF/WAVE file`);
  }
  let fmt: { format: number; channels: number; rate: number; bits: number } | undefined;
  let off = 12;
  while (off + 8 <= buf.length) {
    const id = buf.toString("ascii", off, off + 4);
    let size = buf.readUInt32LE(off + 4);
    const body = off + 8;
    if (id === "fmt ") {
      let format = buf.readUInt16LE(body);
      if (format === 0xfffe) format = buf.readUInt16LE(body + 24); // sub-format GUID starts with the real tag
      fmt = {
        format,
        channels: buf.readUInt16LE(body + 2),
        rate: buf.readUInt32LE(body + 4),
        bits: buf.readUInt16LE(body + 14),
      };
    } else if (id === "data") {
      if (!fmt) throw new Error(`${path}: data chunk before fmt chunk`);
      // A writer that crashed (or streams) may leave size 0 or 0xffffffff: take what is there.
      if (size === 0 || body + size > buf.length) size = buf.length - body;
      return { rate: fmt.rate, channels: decode(buf.subarray(body, body + size), fmt, path) };
    }
    off = body + size + (size & 1);
  }
  throw new Error(`${path}: no data chunk`);
}

function decode(data: Buffer, fmt: { format: number; channels: number; bits: number }, path: string): Float32Array[] {
  const bytes = fmt.bits / 8;
  const frames = Math.floor(data.length / (bytes * fmt.channels));
  const out = Array.from({ length: fmt.channels }, () => new Float32Array(frames));
  for (let i = 0; i < frames; i++) {
    for (let c = 0; c < fmt.channels; c++) {
      const o = (i * fmt.channels + c) * bytes;
      let v: number;
      if (fmt.format === 1 && fmt.bits === 16) v = data.readInt16LE(o) / 32768;
      else if (fmt.format === 1 && fmt.bits === 8) v = (data[o] - 128) / 128;
      else if (fmt.format === 1 && fmt.bits === 32) v = data.readInt32LE(o) / 2147483648;
      else if (fmt.format === 3 && fmt.bits === 32) v = data.readFloatLE(o);
      else throw new Error(`${path}: unsupported WAV format ${fmt.format}/${fmt.bits} bit`);
      out[c][i] = v;
    }
  }
  return out;
}

/** One channel (`channel` given) or the average of all channels. */
export function readWavMono(path: string, opts: { channel?: number } = {}): { rate: number; samples: Float32Array } {
  const w = readWav(path);
  if (opts.channel !== undefined) {
    const ch = w.channels[opts.channel];
    if (!ch) throw new Error(`${path}: no channel ${opts.channel} (has ${w.channels.length})`);
    return { rate: w.rate, samples: ch };
  }
  if (w.channels.length === 1) return { rate: w.rate, samples: w.channels[0] };
  const n = w.channels[0].length;
  const mix = new Float32Array(n);
  for (const ch of w.channels) for (let i = 0; i < n; i++) mix[i] += ch[i] / w.channels.length;
  return { rate: w.rate, samples: mix };
}

/** Writes mono PCM16 (test fixtures only). */
export function encodeWavPcm16(samples: Float32Array, rate: number): Buffer {
  const data = Buffer.alloc(samples.length * 2);
  for (let i = 0; i < samples.length; i++) {
    const v = Math.max(-1, Math.min(1, samples[i]));
    data.writeInt16LE(Math.round(v * 32767), i * 2);
  }
  const h = Buffer.alloc(44);
  h.write("RIFF", 0, "ascii");
  h.writeUInt32LE(36 + data.length, 4);
  h.write("WAVEfmt ", 8, "ascii");
  h.writeUInt32LE(16, 16);
  h.writeUInt16LE(1, 20);
  h.writeUInt16LE(1, 22);
  h.writeUInt32LE(rate, 24);
  h.writeUInt32LE(rate * 2, 28);
  h.writeUInt16LE(2, 32);
  h.writeUInt16LE(16, 34);
  h.write("data", 36, "ascii");
  h.writeUInt32LE(data.length, 40);
  return Buffer.concat([h, data]);
}

/**
 * Resolves with `path` once the WAV writer has patched the header on close (RIFF size = file size - 8). The CDR row
 * can end before the media worker's last chunk and header write are on disk (seen under load), and a file read in
 * between is silently shorter.
 */
export async function finishedWav(path: string, timeoutMs = 10_000): Promise<string> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const buf = readFileSync(path);
    if (buf.length > 44 && buf.readUInt32LE(4) === buf.length - 8) return path;
    if (Date.now() > until) throw new Error(`${path}: WAV header never finalized (${buf.length} bytes)`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
