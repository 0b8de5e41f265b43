import assert from "node:assert/strict";
import { test } from "node:test";
import { AudioHistory } from "./audio-history.ts";

/** 20 ms frames whose samples count up from `start` (so every sample names its own position). */
const frame = (start: number) => Int16Array.from({ length: 320 }, (_, i) => (start + i) % 32768);

test("slices by audio time across the ring's wrap, and refuses what is gone or not yet here", () => {
  const h = new AudioHistory(0.1); // 1600 samples = 5 frames
  for (let f = 0; f < 12; f++) h.push(frame(f * 320));
  // 12 frames written (3840 samples); the ring holds samples 2240..3839 (140..240 ms).
  const s = h.slice(150, 230) as Int16Array;
  assert.equal(s.length, 1280);
  assert.equal(s[0], 2400);
  assert.equal(s.at(-1), 3679);
  assert.equal(h.slice(130, 200), undefined, "partly overwritten");
  assert.equal(h.slice(200, 250), undefined, "not yet recorded");
  assert.deepEqual(h.slice(140, 240)?.[0], 2240);
});
