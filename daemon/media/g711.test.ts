import assert from "node:assert/strict";
import { test } from "node:test";
import { ALAW_DECODE, ALAW_ENCODE, g711Decode, g711Encode, ULAW_DECODE, ULAW_ENCODE } from "./g711.ts";

// Transcriptions of the ITU-T G.191 STL g711.c routines, written independently of the production code.
function refUlawCompress(x: number): number {
  let absno = x < 0 ? (~x >> 2) + 33 : (x >> 2) + 33;
  if (absno > 0x1fff) absno = 0x1fff;
  let i = absno >> 6;
  let segno = 1;
  while (i !== 0) {
    segno++;
    i >>= 1;
  }
  const high = 0x0008 - segno;
  const low = 0x000f - ((absno >> segno) & 0x000f);
  let out = (high << 4) | low;
  if (x >= 0) out |= 0x0080;
  return out;
}
function refUlawExpand(code: number): number {
  const sign = code < 0x80 ? -1 : 1;
  let mantissa = ~code;
  const exponent = (mantissa >> 4) & 0x07;
  const segment = exponent + 1;
  mantissa &= 0x0f;
  const step = 4 << segment;
  return sign * ((0x80 << exponent) + step * mantissa + step / 2 - 4 * 33);
}
function refAlawCompress(x: number): number {
  let ix = x < 0 ? ~x >> 4 : x >> 4;
  if (ix > 15) {
    let iexp = 1;
    while (ix > 16 + 15) {
      ix >>= 1;
      iexp++;
    }
    ix -= 16;
    ix += iexp << 4;
  }
  if (x >= 0) ix |= 0x0080;
  return ix ^ 0x0055;
}
function refAlawExpand(code: number): number {
  let ix = code ^ 0x0055;
  ix &= 0x007f;
  const iexp = ix >> 4;
  let mant = ix & 0x000f;
  if (iexp > 0) mant += 16;
  mant = (mant << 4) + 0x0008;
  if (iexp > 1) mant <<= iexp - 1;
  return code > 127 ? mant : -mant;
}

test("µ-law and A-law encode all 65536 inputs like the G.191 reference", () => {
  for (let x = -32768; x < 32768; x++) {
    assert.equal(ULAW_ENCODE[x & 0xffff], refUlawCompress(x), `ulaw ${x}`);
    assert.equal(ALAW_ENCODE[x & 0xffff], refAlawCompress(x), `alaw ${x}`);
  }
});

test("decode tables match the reference for all 256 codes and re-encode to the same code", () => {
  for (let c = 0; c < 256; c++) {
    assert.equal(ULAW_DECODE[c], refUlawExpand(c) + 0);
    assert.equal(ALAW_DECODE[c], refAlawExpand(c));
    // µ-law has two zero codes (0x7f and 0xff); both decode to 0 which encodes as 0xff
    if (c !== 0x7f) assert.equal(ULAW_ENCODE[ULAW_DECODE[c] & 0xffff], c);
    assert.equal(ALAW_ENCODE[ALAW_DECODE[c] & 0xffff], c);
  }
});

test("round trip error stays within half a quantisation step", () => {
  for (let x = -32768; x < 32768; x++) {
    for (const law of ["ulaw", "alaw"] as const) {
      const y = g711Decode(law, g711Encode(law, Int16Array.of(x)))[0];
      // the largest step is 1024 (µ-law) / 1024 (A-law) in the top segment; clipping adds a little at the extremes
      const tol = Math.max(16, Math.abs(x) / 16 + 16) + (Math.abs(x) > 32000 ? 700 : 0);
      assert.ok(Math.abs(y - x) <= tol, `${law} ${x} -> ${y}`);
    }
  }
});
