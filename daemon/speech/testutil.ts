// Test helpers for the speech engines: where the shared models live, skip-or-fail when one is missing, and speech
// synthesized with espeak-ng at 16 kHz.
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { sherpa } from "./sherpa-api.ts";

export const MODELS = fileURLToPath(new URL("../../../shared/models/", import.meta.url));
export const SILERO = join(MODELS, "silero-vad/silero_vad.onnx");
export const GTCRN = join(MODELS, "gtcrn/gtcrn_simple.sherpa.onnx");
export const PICO_DIR = join(MODELS, "svox-pico");
export const FAKE_PIPER = join(MODELS, "test-fixtures/fake-piper-vits");
export const ESPEAK_DATA = "/usr/lib/x86_64-linux-gnu/espeak-ng-data";

interface Skippable {
  skip(message?: string): void;
}

/**
 * True when every path exists. Otherwise the test is skipped with a message naming the model, except on CI where
 * a missing model is a failure.
 */
export function haveModel(t: Skippable, name: string, ...paths: string[]): boolean {
  const missing = paths.filter((p) => !existsSync(p));
  if (missing.length === 0) return true;
  const msg = `model ${name} not installed (${missing.join(", ")})`;
  if (process.env.CI === "true") throw new Error(msg);
  t.skip(msg);
  return false;
}

/** Minimal PCM16 mono WAV reader (espeak-ng output). */
export function readWavPcm16(buf: Buffer): { pcm: Int16Array; sampleRate: number } {
  if (buf.toString("ascii", 0, 4) !== "RIFF" || buf.toString("ascii", 8, 12) !== "WAVE") throw new Error("not a WAV");
  let p = 12;
  let sampleRate = 0;
  while (p + 8 <= buf.length) {
    const id = buf.toString("ascii", p, p + 4);
    let size = buf.readUInt32LE(p + 4);
    if (id === "fmt ") {
      if (buf.readUInt16LE(p + 8) !== 1 || buf.readUInt16LE(p + 10) !== 1 || buf.readUInt16LE(p + 22) !== 16) {
        throw new Error("WAV is not PCM16 mono");
      }
      sampleRate = buf.readUInt32LE(p + 12);
    } else if (id === "data") {
      // espeak-ng writing to a file may leave 0x7fffffff as size when it streams; clamp to the buffer.
      size = Math.min(size, buf.length - p - 8);
      const pcm = new Int16Array(size >> 1);
      for (let i = 0; i < pcm.length; i++) pcm[i] = buf.readInt16LE(p + 8 + 2 * i);
      return { pcm, sampleRate };
    }
    p += 8 + size + (size & 1);
  }
  throw new Error("WAV without data chunk");
}

/** Speech from espeak-ng, resampled to 16 kHz PCM16. */
export function espeak(text: string, voice = "en"): Int16Array {
  const dir = mkdtempSync(join(tmpdir(), "speech-espeak-"));
  try {
    const file = join(dir, "s.wav");
    execFileSync("espeak-ng", ["-v", voice, "-w", file, text], { timeout: 30_000 });
    const { pcm, sampleRate } = readWavPcm16(readFileSync(file));
    if (sampleRate === 16000) return pcm;
    const f = new Float32Array(pcm.length);
    for (let i = 0; i < pcm.length; i++) f[i] = pcm[i] / 32768;
    const r = new (sherpa().LinearResampler)(sampleRate, 16000).flush(f);
    const out = new Int16Array(r.length);
    for (let i = 0; i < r.length; i++) out[i] = Math.max(-32768, Math.min(32767, Math.round(r[i] * 32768)));
    return out;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** First and last sample whose 10 ms window energy is above threshold (relative to the peak window). */
export function speechBounds(pcm: Int16Array, relDb = -40): { start: number; end: number } {
  const win = 160;
  const energies: number[] = [];
  for (let i = 0; i + win <= pcm.length; i += win) {
    let s = 0;
    for (let j = i; j < i + win; j++) s += pcm[j] * pcm[j];
    energies.push(s / win);
  }
  const peak = Math.max(...energies);
  const thr = peak * 10 ** (relDb / 10);
  const first = energies.findIndex((e) => e > thr);
  let last = energies.length - 1;
  while (last > 0 && energies[last] <= thr) last--;
  return { start: first * win, end: (last + 1) * win };
}

/** Split PCM into 20 ms frames (last one may be short). */
export function* frames(pcm: Int16Array, size = 320): Generator<Int16Array> {
  for (let i = 0; i < pcm.length; i += size) yield pcm.subarray(i, Math.min(pcm.length, i + size));
}
