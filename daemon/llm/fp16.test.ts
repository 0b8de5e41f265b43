import assert from "node:assert/strict";
import { test } from "node:test";
import { f16BitsToF32, f16ToF32Array, f32ToF16Array, f32ToF16Bits } from "./fp16.ts";
import { createRng } from "./sampling.ts";

test("fp16: known bit patterns both ways", () => {
  const known: [number, number][] = [
    [0, 0x0000],
    [-0, 0x8000],
    [1, 0x3c00],
    [-2, 0xc000],
    [0.5, 0x3800],
    [65504, 0x7bff],
    [2 ** -14, 0x0400],
    [2 ** -24, 0x0001],
    [Number.POSITIVE_INFINITY, 0x7c00],
    [Number.NEGATIVE_INFINITY, 0xfc00],
  ];
  for (const [v, h] of known) {
    assert.equal(f32ToF16Bits(v), h, `f32ToF16Bits(${v})`);
    assert.ok(Object.is(f16BitsToF32(h), v), `f16BitsToF32(0x${h.toString(16)})`);
  }
  assert.equal(f32ToF16Bits(0.1), 0x2e66);
  assert.ok(Number.isNaN(f16BitsToF32(0x7e00)));
  assert.ok(Number.isNaN(f16BitsToF32(f32ToF16Bits(Number.NaN))));
});

test("fp16: every non-NaN half round-trips exactly", () => {
  for (let h = 0; h < 65536; h++) {
    const v = f16BitsToF32(h);
    if (Number.isNaN(v)) continue;
    assert.equal(f32ToF16Bits(v), h, `0x${h.toString(16)}`);
  }
});

test("fp16: rounding is to nearest, ties to even; overflow and underflow", () => {
  assert.equal(f32ToF16Bits(1 + 2 ** -11), 0x3c00, "tie between 0x3c00 and 0x3c01 goes to even");
  assert.equal(f32ToF16Bits(1 + 3 * 2 ** -11), 0x3c02, "tie between 0x3c01 and 0x3c02 goes to even");
  assert.equal(f32ToF16Bits(1 + 2 ** -11 + 2 ** -20), 0x3c01, "just above the tie rounds up");
  assert.equal(f32ToF16Bits(65519), 0x7bff);
  assert.equal(f32ToF16Bits(65520), 0x7c00, "65520 rounds to Infinity");
  assert.equal(f32ToF16Bits(2 ** -25), 0x0000, "half the smallest subnormal ties to 0");
  assert.equal(f32ToF16Bits(2 ** -25 * 1.001), 0x0001);
  assert.equal(f32ToF16Bits(3 * 2 ** -25), 0x0002, "subnormal tie goes to even");
  assert.equal(f32ToF16Bits(-(2 ** -30)), 0x8000, "underflow keeps the sign");
  assert.equal(f32ToF16Bits(2 ** -14 - 2 ** -25), 0x0400, "largest subnormal rounds up into the normals");
});

test("fp16: random float32 values narrow to the nearest half (brute-force reference)", () => {
  // Sorted positive finite halves, to find the two neighbours of any value.
  const halves: number[] = [];
  for (let h = 0; h < 0x7c00; h++) halves.push(f16BitsToF32(h));
  const rng = createRng(7);
  for (let i = 0; i < 20000; i++) {
    const v = Math.fround(2 ** (rng() * 40 - 26) * (rng() < 0.5 ? -1 : 1));
    const a = Math.abs(v);
    let lo = 0;
    let hi = halves.length - 1;
    while (hi - lo > 1) {
      const mid = (lo + hi) >> 1;
      if (halves[mid] <= a) lo = mid;
      else hi = mid;
    }
    let want: number;
    if (a >= 65520) want = 0x7c00;
    else if (a - halves[lo] < halves[hi] - a) want = lo;
    else if (a - halves[lo] > halves[hi] - a) want = hi;
    else want = lo % 2 === 0 ? lo : hi;
    if (v < 0) want |= 0x8000;
    assert.equal(f32ToF16Bits(v), want, `${v}`);
  }
});

test("fp16: array helpers", () => {
  const src = [1, -2, 0.5, 65504];
  const bits = f32ToF16Array(src);
  assert.deepEqual([...bits], [0x3c00, 0xc000, 0x3800, 0x7bff]);
  assert.deepEqual([...f16ToF32Array(bits)], src);
  assert.deepEqual([...f16ToF32Array(bits, 1, 2)], [-2, 0.5]);
});
