// Audio fixtures made by real, independent tools (espeak-ng for speech, sox for resampling) into a per-process temp
// dir. Cached by content so repeated calls in one run cost nothing.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { encodeWavPcm16 } from "./wav.ts";

let dir: string | undefined;
function fixtureDir(): string {
  if (!dir) {
    const d = mkdtempSync(join(tmpdir(), "switchboard-audio-"));
    dir = d;
    process.once("exit", () => rmSync(d, { recursive: true, force: true }));
  }
  return dir;
}

function key(...parts: unknown[]): string {
  return createHash("sha1").update(JSON.stringify(parts)).digest("hex").slice(0, 12);
}

/** Speech from espeak-ng, resampled by sox to mono PCM16 at `rate`. */
export function generateSpeechWav(text: string, opts: { rate?: 8000 | 16000; voice?: string } = {}): string {
  const rate = opts.rate ?? 8000;
  const voice = opts.voice ?? "en-us";
  const out = join(fixtureDir(), `speech-${key(text, rate, voice)}-${rate}.wav`);
  if (existsSync(out)) return out;
  const raw = `${out}.espeak.wav`;
  execFileSync("espeak-ng", ["-v", voice, "-s", "150", "-w", raw, text], { timeout: 30_000 });
  // -G guards against clipping in the resampler; dither off keeps the fixture deterministic.
  execFileSync("sox", ["-G", raw, "-D", "-r", String(rate), "-c", "1", "-b", "16", "-e", "signed-integer", out], {
    timeout: 30_000,
  });
  rmSync(raw, { force: true });
  return out;
}

/** A sine tone at half scale, mono PCM16, written without external tools. */
export function toneWav(freq: number, ms: number, rate = 8000): string {
  const out = join(fixtureDir(), `tone-${freq}-${ms}-${rate}.wav`);
  if (existsSync(out)) return out;
  const n = Math.round((rate * ms) / 1000);
  const s = new Float32Array(n);
  for (let i = 0; i < n; i++) s[i] = 0.5 * Math.sin((2 * Math.PI * freq * i) / rate);
  writeFileSync(out, encodeWavPcm16(s, rate));
  return out;
}

/** sox resampling to `rate` mono PCM16 (to compare a fixture with a recording made at another rate). */
export function resampleWav(path: string, rate: number): string {
  const out = join(fixtureDir(), `resampled-${key(path, rate)}-${rate}.wav`);
  if (existsSync(out)) return out;
  execFileSync("sox", ["-G", path, "-D", "-r", String(rate), "-c", "1", "-b", "16", "-e", "signed-integer", out], {
    timeout: 30_000,
  });
  return out;
}

/** Concatenate WAVs (same format) with sox, e.g. to make a long looped source for baresip. */
export function concatWav(paths: string[]): string {
  const out = join(fixtureDir(), `concat-${key(paths)}.wav`);
  if (existsSync(out)) return out;
  execFileSync("sox", [...paths, out], { timeout: 30_000 });
  return out;
}

/** sox resampling keeping all channels (for stereo recordings). */
export function resampleStereo(path: string, rate: number): string {
  const out = join(fixtureDir(), `resampled-st-${key(path, rate)}-${rate}.wav`);
  if (existsSync(out)) return out;
  execFileSync("sox", ["-G", path, "-D", "-r", String(rate), "-b", "16", "-e", "signed-integer", out], {
    timeout: 30_000,
  });
  return out;
}
