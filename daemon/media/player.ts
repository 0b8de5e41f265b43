// Turns a PlaySource into 16 kHz mono PCM16 on the main thread (file read is async; decoding and resampling run
// here, off the media clock), ready to be transferred to the worker.
import { stat } from "node:fs/promises";
import { concatInt16 } from "./pcm.ts";
import { resampleBuffer } from "./resample.ts";
import { INTERNAL_RATE, type PlaySource } from "./types.ts";
import { readWav, toMono } from "./wav.ts";

/**
 * Decoded prompt files, keyed by path and checked against size and mtime. The same few prompts are played on every
 * call, and resampling them each time was the main thread's largest cost at 200 calls (measured: 27 % of its CPU).
 */
class DecodedFiles {
  private readonly entries = new Map<string, { size: number; mtimeMs: number; pcm: Int16Array }>();
  private bytes = 0;

  constructor(private readonly maxBytes: number) {}

  async get(path: string): Promise<Int16Array> {
    const st = await stat(path);
    const hit = this.entries.get(path);
    if (hit && hit.size === st.size && hit.mtimeMs === st.mtimeMs) {
      this.entries.delete(path); // re-insert: Map order is the LRU order
      this.entries.set(path, hit);
      return hit.pcm;
    }
    const wav = await readWav(path);
    const pcm = resampleBuffer(toMono(wav.samples, wav.channels), wav.sampleRate, INTERNAL_RATE);
    if (hit) this.drop(path);
    if (pcm.byteLength <= this.maxBytes) {
      this.entries.set(path, { size: st.size, mtimeMs: st.mtimeMs, pcm });
      this.bytes += pcm.byteLength;
      for (const oldest of this.entries.keys()) {
        if (this.bytes <= this.maxBytes) break;
        this.drop(oldest);
      }
    }
    return pcm;
  }

  private drop(path: string): void {
    const e = this.entries.get(path);
    if (!e) return;
    this.bytes -= e.pcm.byteLength;
    this.entries.delete(path);
  }
}

const decodedFiles = new DecodedFiles(64 * 2 ** 20);

export async function loadPlaySource(src: PlaySource): Promise<Int16Array> {
  // always a copy: the result is transferred to the worker
  if ("file" in src) return (await decodedFiles.get(src.file)).slice();
  if ("pcm" in src) {
    return src.sampleRate === INTERNAL_RATE ? src.pcm.slice() : resampleBuffer(src.pcm, src.sampleRate, INTERNAL_RATE);
  }
  if ("tone" in src) return tone(src.tone);
  return new Int16Array(Math.round((src.silenceMs * INTERNAL_RATE) / 1000));
}

/** Sum of sines (each at -12 dBFS over the count), with an optional on/off cadence (ring-back, busy). */
export function tone(t: { frequencies: number[]; durationMs: number; onMs?: number; offMs?: number }): Int16Array {
  const n = Math.round((t.durationMs * INTERNAL_RATE) / 1000);
  const out = new Int16Array(n);
  const amp = 8000 / Math.max(1, t.frequencies.length);
  const on = t.onMs ? (t.onMs * INTERNAL_RATE) / 1000 : n;
  const period = on + (t.offMs ? (t.offMs * INTERNAL_RATE) / 1000 : 0);
  for (let i = 0; i < n; i++) {
    if (i % period >= on) continue;
    let v = 0;
    for (const f of t.frequencies) v += Math.sin((2 * Math.PI * f * i) / INTERNAL_RATE);
    out[i] = Math.round(amp * v);
  }
  return out;
}

const DTMF_FREQS: Record<string, [number, number]> = {};
"123A456B789C*0#D".split("").forEach((d, i) => {
  DTMF_FREQS[d] = [[697, 770, 852, 941][Math.floor(i / 4)], [1209, 1336, 1477, 1633][i % 4]];
});

/** In-band DTMF for peers without telephone-event: each digit's tone followed by an equal pause. */
export function dtmfTones(digits: string, durationMs: number): Int16Array {
  const parts = [...digits.toUpperCase()].map((d) => {
    const f = DTMF_FREQS[d];
    if (!f) throw new Error(`not a DTMF digit: ${d}`);
    return tone({ frequencies: f, durationMs: durationMs * 2, onMs: durationMs, offMs: durationMs });
  });
  return concatInt16(parts);
}
