// The oracle's own tests: if these helpers were wrong, every audio assertion in the peer tests would be meaningless.
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { spawnSync } from "node:child_process";
import { generateSpeechWav, toneWav } from "./fixtures.ts";
import { activeSeconds, bestCorrelation, envelopeCorrelation } from "./signal.ts";
import { encodeWavPcm16, readWav, readWavMono } from "./wav.ts";

// Deterministic noise so a failure reproduces.
function noise(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 32 - 0.5;
  }
  return out;
}

function chirp(n: number, rate: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const t = i / rate;
    out[i] = 0.5 * Math.sin(2 * Math.PI * (200 * t + 400 * t * t)) * (0.5 + 0.5 * Math.sin(2 * Math.PI * 3 * t));
  }
  return out;
}

const has = (bin: string) => spawnSync("which", [bin]).status === 0;

describe("signal helpers", () => {
  it("identical signals correlate to 1 at lag 0", () => {
    const a = chirp(8000, 8000);
    const { r, lag } = bestCorrelation(a, a, 400);
    assert.ok(r > 0.9999, `r=${r}`);
    assert.equal(lag, 0);
  });

  it("finds a positive and a negative shift", () => {
    const a = noise(8000, 1);
    const delayed = new Float32Array(8000 + 237);
    delayed.set(a, 237);
    const d = bestCorrelation(a, delayed, 1000);
    assert.equal(d.lag, 237);
    assert.ok(d.r > 0.999, `r=${d.r}`);
    const early = a.subarray(100);
    const e = bestCorrelation(a, early, 1000);
    assert.equal(e.lag, -100);
    assert.ok(e.r > 0.999, `r=${e.r}`);
  });

  it("unrelated noise correlates near 0", () => {
    const { r } = bestCorrelation(noise(16000, 2), noise(16000, 3), 200);
    assert.ok(Math.abs(r) < 0.1, `r=${r}`);
  });

  it("an inverted signal does not count as a match", () => {
    const a = chirp(4000, 8000);
    const { r } = bestCorrelation(
      a,
      a.map((v) => -v),
      0,
    );
    assert.ok(r < -0.99, `r=${r}`);
  });

  it("envelope correlation survives a gain change and a shift, and rejects unrelated envelopes", () => {
    const a = chirp(16000, 8000);
    const b = new Float32Array(16000 + 800);
    for (let i = 0; i < a.length; i++) b[i + 800] = a[i] * 0.3;
    const same = envelopeCorrelation(a, b, 8000);
    assert.ok(same.r > 0.98, `r=${same.r}`);
    assert.ok(Math.abs(same.lag - 800) <= 80, `lag=${same.lag}`);
    const other = envelopeCorrelation(noise(16000, 4), noise(16000, 5), 8000);
    assert.ok(other.r < 0.5, `r=${other.r}`);
  });

  it("activeSeconds counts only non-silent audio", () => {
    const x = new Float32Array(16000);
    x.set(chirp(8000, 8000), 4000);
    const s = activeSeconds(x, 8000);
    assert.ok(s > 0.8 && s <= 1.0, `active=${s}`);
  });
});

describe("wav reader", () => {
  it("round-trips PCM16 and splits stereo channels", () => {
    const dir = mkdtempSync(join(tmpdir(), "sigtest-"));
    const mono = join(dir, "m.wav");
    const a = chirp(800, 8000);
    writeFileSync(mono, encodeWavPcm16(a, 8000));
    const m = readWavMono(mono);
    assert.equal(m.rate, 8000);
    assert.equal(m.samples.length, 800);
    assert.ok(Math.abs(m.samples[123] - a[123]) < 1e-4);
    // Hand-made stereo: left = +0.25, right = -0.5.
    const data = Buffer.alloc(4 * 10);
    for (let i = 0; i < 10; i++) {
      data.writeInt16LE(8192, i * 4);
      data.writeInt16LE(-16384, i * 4 + 2);
    }
    const h = Buffer.from(encodeWavPcm16(new Float32Array(0), 16000));
    h.writeUInt16LE(2, 22);
    h.writeUInt32LE(64000, 28);
    h.writeUInt16LE(4, 32);
    h.writeUInt32LE(data.length, 40);
    h.writeUInt32LE(36 + data.length, 4);
    const st = join(dir, "s.wav");
    writeFileSync(st, Buffer.concat([h, data]));
    const w = readWav(st);
    assert.equal(w.channels.length, 2);
    assert.equal(w.rate, 16000);
    assert.equal(readWavMono(st, { channel: 0 }).samples[5], 0.25);
    assert.equal(readWavMono(st, { channel: 1 }).samples[5], -0.5);
  });

  it("toneWav writes the requested length", () => {
    const t = readWavMono(toneWav(1000, 500, 8000));
    assert.equal(t.samples.length, 4000);
  });

  it("espeak-ng speech fixture is 8 kHz mono with speech in it", { skip: !has("espeak-ng") || !has("sox") }, () => {
    const p = generateSpeechWav("Hello, this is a test call to the switchboard.", { rate: 8000 });
    assert.ok(existsSync(p));
    const s = readWavMono(p);
    assert.equal(s.rate, 8000);
    assert.ok(activeSeconds(s.samples, s.rate) > 1, "expected over a second of speech");
  });
});
