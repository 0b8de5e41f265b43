// Turns a PlaySource into 16 kHz mono PCM16 on the main thread (file read is async; decoding and resampling run
// here, off the media clock), ready to be transferred to the worker.
import { resampleBuffer } from "./resample.ts";
import { INTERNAL_RATE, type PlaySource } from "./types.ts";
import { readWav, toMono } from "./wav.ts";

export async function loadPlaySource(src: PlaySource): Promise<Int16Array> {
  if ("file" in src) {
    const wav = await readWav(src.file);
    return resampleBuffer(toMono(wav.samples, wav.channels), wav.sampleRate, INTERNAL_RATE);
  }
  if ("pcm" in src) {
    // always a copy: the result is transferred to the worker and the caller keeps its buffer
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
  const out = new Int16Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
