import assert from "node:assert/strict";
import { test } from "node:test";
import { argmax, createRng, sampleToken, topKIndices } from "./sampling.ts";

test("argmax: lowest index wins a tie, NaN never wins", () => {
  assert.equal(argmax(Float32Array.from([1, 3, 3, 2])), 1);
  assert.equal(argmax(Float32Array.from([Number.NaN, -5, Number.NaN])), 1);
  assert.equal(argmax(Float32Array.from([Number.NEGATIVE_INFINITY])), 0);
});

test("topKIndices: the k largest, best first, same as a full sort", () => {
  const rng = createRng(3);
  const logits = Float32Array.from({ length: 5000 }, () => Math.round(rng() * 200) / 10); // many ties
  const sorted = [...logits.keys()].sort((a, b) => logits[b] - logits[a] || a - b);
  for (const k of [1, 2, 50, 4999]) assert.deepEqual(topKIndices(logits, k), sorted.slice(0, k), `k=${k}`);
  assert.deepEqual(topKIndices(logits, 0), sorted);
});

test("createRng: seeded, reproducible, in [0, 1), roughly uniform", () => {
  const a = createRng(42);
  const b = createRng(42);
  const xs = Array.from({ length: 10000 }, () => a());
  assert.deepEqual(
    xs.slice(0, 5),
    Array.from({ length: 5 }, () => b()),
  );
  assert.ok(xs.every((x) => x >= 0 && x < 1));
  const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
  assert.ok(Math.abs(mean - 0.5) < 0.02, `mean ${mean}`);
  assert.notEqual(createRng(1)(), createRng(2)());
});

test("sampleToken: temperature 0 is greedy; top-k 1 is greedy; frequencies follow softmax", () => {
  const logits = Float32Array.from([0, Math.log(3), Math.log(1), -100]);
  const rng = createRng(1);
  assert.equal(sampleToken(logits, 0, 0, rng), 1);
  for (let i = 0; i < 50; i++) assert.equal(sampleToken(logits, 1, 1, rng), 1);
  // softmax at T=1 over (1, 3, 1, ~0): 0.2, 0.6, 0.2, 0.
  const counts = [0, 0, 0, 0];
  const n = 20000;
  for (let i = 0; i < n; i++) counts[sampleToken(logits, 1, 0, rng)]++;
  assert.ok(Math.abs(counts[1] / n - 0.6) < 0.02, `p1 ${counts[1] / n}`);
  assert.ok(Math.abs(counts[0] / n - 0.2) < 0.02, `p0 ${counts[0] / n}`);
  assert.equal(counts[3], 0);
  // top-k 2 keeps only indices 1 and 0 (0 beats 2 on the tie by index): 0.75 / 0.25.
  const k2 = [0, 0, 0, 0];
  for (let i = 0; i < n; i++) k2[sampleToken(logits, 1, 2, rng)]++;
  assert.equal(k2[2], 0);
  assert.ok(Math.abs(k2[1] / n - 0.75) < 0.02, `p1 ${k2[1] / n}`);
  // A high temperature flattens the distribution.
  const hot = [0, 0, 0, 0];
  for (let i = 0; i < n; i++) hot[sampleToken(logits, 100, 3, rng)]++;
  assert.ok(hot[1] / n < 0.36, `p1 at T=100 ${hot[1] / n}`);
});
