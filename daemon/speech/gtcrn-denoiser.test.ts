import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { GtcrnDenoiser } from "./gtcrn-denoiser.ts";
import { concatInt16, meanSquare } from "../media/pcm.ts";
import { espeak, frames, GTCRN, haveModel } from "./testutil.ts";
import { EngineLoadError } from "./types.ts";

function whiteNoise(n: number, amplitude: number, seed = 42): Int16Array {
  const out = new Int16Array(n);
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (s * 1664525 + 1013904223) >>> 0;
    out[i] = Math.round(((s / 2 ** 32) * 2 - 1) * amplitude);
  }
  return out;
}

function mix(a: Int16Array, b: Int16Array): Int16Array {
  const out = new Int16Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = Math.max(-32768, Math.min(32767, a[i] + b[i]));
  return out;
}

function denoise(d: GtcrnDenoiser, pcm: Int16Array): Int16Array {
  const s = d.createStream();
  const parts: Int16Array[] = [];
  for (const f of frames(pcm)) parts.push(s.process(f));
  parts.push(s.flush());
  return concatInt16(parts);
}

test("GTCRN removes white noise: noise-only energy drops by > 10 dB, speech stays", (t) => {
  if (!haveModel(t, "gtcrn", GTCRN)) return;
  const d = new GtcrnDenoiser({ model: GTCRN });
  const speech = concatInt16([
    new Int16Array(16000),
    espeak("Hello, I would like to book an appointment."),
    new Int16Array(8000),
  ]);
  const noise = whiteNoise(speech.length, 2000); // about -27 dBFS
  const noisy = mix(speech, noise);
  const out = denoise(d, noisy);
  assert.ok(Math.abs(out.length - noisy.length) <= 512, `length ${out.length} vs ${noisy.length}`);
  // The first second is noise only (skip the model's 0.1 s warm-up).
  const inNoise = meanSquare(noisy, 1600, 16000);
  const outNoise = meanSquare(out, 1600, 16000);
  const dropDb = 10 * Math.log10(inNoise / Math.max(outNoise, 1e-12));
  const speechIn = meanSquare(speech, 16000, speech.length - 8000);
  const speechOut = meanSquare(out, 16000, speech.length - 8000);
  const keptDb = 10 * Math.log10(speechOut / speechIn);
  t.diagnostic(`noise-only segment: -${dropDb.toFixed(1)} dB; speech segment energy ${keptDb.toFixed(1)} dB vs clean`);
  assert.ok(dropDb > 10, `noise reduced by ${dropDb} dB`);
  assert.ok(keptDb > -10, `speech kept (${keptDb} dB)`);
});

test("GTCRN: model without sherpa metadata or corrupt is rejected before sherpa", (t) => {
  if (!haveModel(t, "gtcrn", GTCRN)) return;
  const dir = mkdtempSync(join(tmpdir(), "gtcrn-bad-"));
  try {
    const truncated = join(dir, "truncated.onnx");
    writeFileSync(truncated, readFileSync(GTCRN).subarray(0, 100_000));
    assert.throws(() => new GtcrnDenoiser({ model: truncated }), EngineLoadError);
    const silero = join(dir, "other.onnx");
    writeFileSync(silero, Buffer.from([0x08, 0x07, 0x3a, 0x02, 0x0a, 0x00])); // ir_version 7 + empty graph
    assert.throws(() => new GtcrnDenoiser({ model: silero }), /lacks sherpa-onnx metadata/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
