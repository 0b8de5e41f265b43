import assert from "node:assert/strict";
import { test } from "node:test";
import { Downsampler2, resampleBuffer, Upsampler2 } from "./resample.ts";

function tone(freq: number, rate: number, n: number, amp = 10000): Int16Array {
  return Int16Array.from({ length: n }, (_, i) => Math.round(amp * Math.sin((2 * Math.PI * freq * i) / rate)));
}
function rms(x: Int16Array, skip = 0): number {
  let s = 0;
  for (let i = skip; i < x.length; i++) s += x[i] * x[i];
  return Math.sqrt(s / (x.length - skip));
}
const db = (a: number, b: number) => 20 * Math.log10(a / b);

function streamDown(x: Int16Array): Int16Array {
  const d = new Downsampler2();
  const out = new Int16Array(x.length / 2);
  for (let i = 0; i < x.length; i += 320) out.set(d.process(x.subarray(i, i + 320)), i / 2);
  return out;
}
function streamUp(x: Int16Array): Int16Array {
  const u = new Upsampler2();
  const out = new Int16Array(x.length * 2);
  for (let i = 0; i < x.length; i += 160) out.set(u.process(x.subarray(i, i + 160)), i * 2);
  return out;
}

test("16k->8k passes 1 kHz within 0.5 dB and attenuates 6 kHz by >= 40 dB", () => {
  const pass = streamDown(tone(1000, 16000, 16000));
  assert.ok(Math.abs(db(rms(pass, 100), rms(tone(1000, 8000, 8000)))) < 0.5);
  const stop = streamDown(tone(6000, 16000, 16000));
  const att = db(rms(stop, 100), 10000 / Math.SQRT2);
  assert.ok(att <= -40, `6 kHz only ${att.toFixed(1)} dB`);
});

test("8k->16k passes 1 kHz within 0.5 dB and suppresses the 15 kHz image", () => {
  const up = streamUp(tone(1000, 8000, 8000));
  assert.ok(Math.abs(db(rms(up, 200), 10000 / Math.SQRT2)) < 0.5);
  // a 3 kHz tone must not leave a strong image at 13 kHz: compare against the ideal 16 kHz tone
  const up3 = streamUp(tone(3000, 8000, 8000));
  const ideal = tone(3000, 16000, 16000);
  // align by the filter delay (23 samples) and measure the residual
  let err = 0;
  let sig = 0;
  for (let i = 200; i < 16000; i++) {
    err += (up3[i] - ideal[i - 23]) ** 2;
    sig += ideal[i - 23] ** 2;
  }
  assert.ok(10 * Math.log10(err / sig) < -20, "image/ripple too large");
});

test("streaming in odd chunks equals one-shot processing", () => {
  const x = tone(700, 16000, 3200);
  const a = new Downsampler2().process(x);
  const d = new Downsampler2();
  const b = new Int16Array(1600);
  b.set(d.process(x.subarray(0, 640)), 0);
  b.set(d.process(x.subarray(640, 3200)), 320);
  assert.deepEqual(b, a);
});

test("arbitrary-rate conversion keeps a 1 kHz tone and removes what cannot be represented", () => {
  for (const from of [22050, 44100, 48000, 11025, 8000]) {
    const y = resampleBuffer(tone(1000, from, from), from, 16000);
    assert.equal(y.length, 16000);
    assert.ok(Math.abs(db(rms(y, 800), 10000 / Math.SQRT2)) < 0.5, `from ${from}`);
  }
  const hi = resampleBuffer(tone(10000, 44100, 44100), 44100, 16000);
  assert.ok(db(rms(hi, 800), 10000 / Math.SQRT2) < -40);
});
