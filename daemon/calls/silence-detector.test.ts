import assert from "node:assert/strict";
import { test } from "node:test";
import { frameDbfs } from "../media/pcm.ts";
import { SilenceDetector } from "./silence-detector.ts";

const tone = (amp: number) => Int16Array.from({ length: 320 }, (_, i) => Math.round(amp * Math.sin(i / 3)));

test("frameDbfs measures a full-scale sine near -3 dBFS and digital silence as very low", () => {
  assert.ok(Math.abs(frameDbfs(tone(32767)) + 3) < 0.5);
  assert.equal(frameDbfs(new Int16Array(320)), -120);
});

test("silence after speech is detected after the configured time, speech resets it", () => {
  const d = new SilenceDetector(1000);
  for (let i = 0; i < 10; i++) assert.equal(d.push(tone(8000)), false);
  for (let i = 0; i < 49; i++) assert.equal(d.push(tone(10)), false);
  assert.equal(d.push(new Int16Array(320)), true);
  assert.equal(d.push(tone(8000)), false);
});

test("before any speech the detector waits twice as long", () => {
  const d = new SilenceDetector(200);
  const results = Array.from({ length: 20 }, () => d.push(new Int16Array(320)));
  assert.equal(results.indexOf(true), 19);
});
