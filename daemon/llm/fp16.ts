// IEEE 754 half precision as raw uint16 bits. Node 20 has no Float16Array, so onnxruntime-node hands float16
// tensors (logits, KV cache) over as Uint16Array bit patterns. The KV cache goes back to ORT untouched; only the
// logits row of the last position is widened to float32 per step, through a 256 KiB table (65536 entries).

/** Widens one half (bits) to a number: exact, including subnormals, ±0, ±Infinity and NaN. */
export function f16BitsToF32(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/**
 * Narrows a number to half bits the way hardware does: via float32, then round to nearest, ties to even; overflow
 * gives ±Infinity, underflow ±0 (through the subnormals), NaN stays a (quiet) NaN.
 */
export function f32ToF16Bits(v: number): number {
  f32[0] = v;
  const x = u32[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  const mant = x & 0x7fffff;
  if (exp === 0xff) return mant ? sign | 0x7e00 | (mant >>> 13) : sign | 0x7c00;
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e >= 1) {
    // Normal half. A round-up that carries out of the mantissa correctly bumps the exponent (up to Infinity).
    let h = sign | (e << 10) | (mant >>> 13);
    const rest = mant & 0x1fff;
    if (rest > 0x1000 || (rest === 0x1000 && (h & 1) === 1)) h++;
    return h;
  }
  // Subnormal half (or zero): value / 2^-24 = (1.mant * 2^23) >> (14 - e).
  const shift = 14 - e;
  if (shift > 24) return sign;
  const m = mant | 0x800000;
  let h = sign | (m >>> shift);
  const rest = m & ((1 << shift) - 1);
  const half = 1 << (shift - 1);
  if (rest > half || (rest === half && (h & 1) === 1)) h++;
  return h;
}

let table: Float32Array | undefined;

/** float32 value of every half bit pattern, built on first use. */
function f16Table(): Float32Array {
  if (!table) {
    table = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) table[h] = f16BitsToF32(h);
  }
  return table;
}

/** Widens `count` halves from `src[offset..]` into a new Float32Array. */
export function f16ToF32Array(src: Uint16Array, offset = 0, count = src.length - offset): Float32Array {
  const t = f16Table();
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) out[i] = t[src[offset + i]];
  return out;
}

/** Narrows an array of numbers to half bits (e.g. to feed a float16 input from float32 data). */
export function f32ToF16Array(src: ArrayLike<number>): Uint16Array {
  const out = new Uint16Array(src.length);
  for (let i = 0; i < src.length; i++) out[i] = f32ToF16Bits(src[i]);
  return out;
}
