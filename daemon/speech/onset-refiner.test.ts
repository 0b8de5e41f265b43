import assert from "node:assert/strict";
import { test } from "node:test";
import { OnsetRefiner } from "./onset-refiner.ts";
import type { VadEvent } from "./types.ts";

const F = 320; // 20 ms frames
const frameAt = (i: number) => new Int16Array(F).fill(i % 1000); // sample values name their frame
const start = (sample: number): VadEvent => ({ type: "speechStart", sample, timeMs: sample / 16 });
function end(startSample: number, endSample: number): Extract<VadEvent, { type: "speechEnd" }> {
  const pcm = new Int16Array(endSample - startSample).fill(7);
  return {
    type: "speechEnd",
    startSample,
    endSample,
    startMs: startSample / 16,
    endMs: endSample / 16,
    samples: new Float32Array(pcm.length),
    pcm,
  };
}

/** Frames 0..n-1; fast VAD onset at frame `fastAt`, turn VAD opens at frame `turnAt` (estimated start `turnStart`). */
function drive(n: number, fastAt: number, turnAt: number, turnStart: number) {
  const r = new OnsetRefiner();
  for (let i = 0; i < n; i++) {
    r.push(frameAt(i), i === fastAt ? [start(fastAt * F)] : [], i === turnAt ? [start(turnStart)] : []);
  }
  return r;
}

test("a start the turn VAD found late moves back to the fast VAD's onset, with the audio in between", () => {
  // fast onset at frame 50 (1000 ms); the turn VAD opens at frame 70 with start 1200 ms (frame 60).
  const r = drive(400, 50, 70, 60 * F);
  const seg = r.refine(end(60 * F, 390 * F));
  assert.equal(seg.startMs, 1000);
  assert.equal(seg.pcm.length, 340 * F);
  assert.equal(seg.pcm[0], 50, "the head is the audio of frame 50");
  assert.equal(seg.pcm[10 * F - 1], 59, "the head ends where the turn VAD's segment starts");
  assert.equal(seg.pcm[10 * F], 7, "then the segment's own audio");
  assert.equal(seg.samples.length, seg.pcm.length);
});

test("a fast onset too long before, or an exact start the turn VAD already has, leaves the segment alone", () => {
  const far = drive(400, 10, 70, 60 * F); // 1 s before: more than maxShift 500 ms
  assert.equal(far.refine(end(60 * F, 390 * F)).startMs, 1200);
  const same = drive(400, 60, 70, 60 * F);
  const e = end(60 * F, 390 * F);
  assert.equal(same.refine(e), e);
});
