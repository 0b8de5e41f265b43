// Energy-based timing for the speech call tests: where speech is in a signal, where it pauses, and where a run of
// loud frames starts the way the barge-in pre-gate sees it. Deliberately simple and independent of the product's
// VAD, so the product's turn and barge-in figures can be checked against it.
import { writeFileSync } from "node:fs";
import { encodeWavPcm16 } from "./wav.ts";

export interface Span {
  startMs: number;
  endMs: number;
}

/** dBFS (RMS re full scale) of consecutive windows of `windowMs`; −Infinity for digital silence. */
export function windowDbfs(x: ArrayLike<number>, rate: number, windowMs: number): Float64Array {
  const w = Math.max(1, Math.round((rate * windowMs) / 1000));
  const out = new Float64Array(Math.floor(x.length / w));
  for (let k = 0; k < out.length; k++) {
    let s = 0;
    for (let i = k * w; i < (k + 1) * w; i++) s += x[i] * x[i];
    out[k] = 10 * Math.log10(s / w);
  }
  return out;
}

export interface ActiveOptions {
  /** A window at or above this level is active. Default −45 dBFS. */
  thresholdDbfs?: number;
  /** Default 10 ms. */
  windowMs?: number;
  /** Silences shorter than this between active stretches are bridged (one span). Default 0. */
  bridgeMs?: number;
  /** Spans shorter than this are dropped. Default 0. */
  minMs?: number;
}

/** Stretches of active windows, pauses shorter than `bridgeMs` bridged. Times in ms from the start of `x`. */
export function activeSpans(x: ArrayLike<number>, rate: number, o: ActiveOptions = {}): Span[] {
  const windowMs = o.windowMs ?? 10;
  const db = windowDbfs(x, rate, windowMs);
  const thr = o.thresholdDbfs ?? -45;
  const raw: Span[] = [];
  let start = -1;
  for (let k = 0; k <= db.length; k++) {
    const on = k < db.length && db[k] >= thr;
    if (on && start < 0) start = k;
    if (!on && start >= 0) {
      raw.push({ startMs: start * windowMs, endMs: k * windowMs });
      start = -1;
    }
  }
  const merged: Span[] = [];
  for (const s of raw) {
    const last = merged.at(-1);
    if (last && s.startMs - last.endMs < (o.bridgeMs ?? 0)) last.endMs = s.endMs;
    else merged.push({ ...s });
  }
  return merged.filter((s) => s.endMs - s.startMs >= (o.minMs ?? 0));
}

/** From the first to the last active window (undefined when nothing is active). */
export function speechBounds(x: ArrayLike<number>, rate: number, o: ActiveOptions = {}): Span | undefined {
  const spans = activeSpans(x, rate, o);
  if (spans.length === 0) return undefined;
  return { startMs: spans[0].startMs, endMs: spans[spans.length - 1].endMs };
}

/** Pauses (ms) between the active stretches of `x`, in order (leading and trailing silence excluded). */
export function innerPauses(x: ArrayLike<number>, rate: number, o: ActiveOptions = {}): number[] {
  const spans = activeSpans(x, rate, { ...o, bridgeMs: 0, minMs: 0 });
  return spans.slice(1).map((s, i) => s.startMs - spans[i].endMs);
}

/**
 * Onsets (ms) of energy runs as the daemon's barge-in pre-gate defines them (daemon/speech/barge-in.ts): a run starts
 * at the first `frameMs` frame at or above `gateDbfs` and ends after more than `maxGapMs` of frames below it. Frames
 * are counted from the start of `x`, so the onsets sit on the same frame grid as a recording started on a media tick.
 */
export function energyRunOnsets(
  x: ArrayLike<number>,
  rate: number,
  o: { gateDbfs: number; frameMs?: number; maxGapMs?: number },
): number[] {
  const frameMs = o.frameMs ?? 20;
  const db = windowDbfs(x, rate, frameMs);
  const maxGapFrames = Math.floor((o.maxGapMs ?? 60) / frameMs);
  const onsets: number[] = [];
  let inRun = false;
  let gap = 0;
  for (let k = 0; k < db.length; k++) {
    if (db[k] >= o.gateDbfs) {
      if (!inRun) onsets.push(k * frameMs);
      inRun = true;
      gap = 0;
    } else if (inRun && ++gap > maxGapFrames) inRun = false;
  }
  return onsets;
}

/** Writes a mono PCM16 WAV of `totalMs` silence with each clip placed at `atMs` (clips must not overlap). */
export function composeWav(
  path: string,
  rate: number,
  totalMs: number,
  clips: { samples: Float32Array; atMs: number }[],
): string {
  const out = new Float32Array(Math.round((rate * totalMs) / 1000));
  for (const c of clips) {
    const at = Math.round((rate * c.atMs) / 1000);
    if (at + c.samples.length > out.length) throw new Error(`clip at ${c.atMs} ms runs past ${totalMs} ms`);
    out.set(c.samples, at);
  }
  writeFileSync(path, encodeWavPcm16(out, rate));
  return path;
}
