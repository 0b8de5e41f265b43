// ITU-T G.711 µ-law and A-law. Bit-exact with the ITU-T G.191 STL reference (one's complement of negative inputs),
// which is what real trunks and the test vectors use. Table lookups keep the per-packet cost well below a microsecond.

function ulawEncodeSample(x: number): number {
  const mag = x < 0 ? ~x : x;
  let v = (mag >> 2) + 33;
  if (v > 0x1fff) v = 0x1fff;
  const seg = 26 - Math.clz32(v); // v >= 33, so the segment is 0..7
  const code = ~((seg << 4) | ((v >> (seg + 1)) & 0x0f)) & 0x7f;
  return x >= 0 ? code | 0x80 : code;
}

function alawEncodeSample(x: number): number {
  const ix = (x < 0 ? ~x : x) >> 4;
  let code: number;
  if (ix < 32) code = ix;
  else {
    const seg = 28 - Math.clz32(ix);
    code = (seg << 4) | ((ix >> (seg - 1)) & 0x0f);
  }
  if (x >= 0) code |= 0x80;
  return code ^ 0x55;
}

function ulawDecodeSample(code: number): number {
  const m = ~code & 0xff;
  const exp = (m >> 4) & 7;
  const step = 4 << (exp + 1);
  const mag = (0x80 << exp) + step * (m & 0x0f) + step / 2 - 132;
  return code < 0x80 ? -mag : mag;
}

function alawDecodeSample(code: number): number {
  const ix = (code ^ 0x55) & 0x7f;
  const exp = ix >> 4;
  let mant = ix & 0x0f;
  if (exp > 0) mant += 16;
  mant = (mant << 4) + 8;
  if (exp > 1) mant <<= exp - 1;
  return code > 127 ? mant : -mant;
}

function buildEncodeTable(f: (x: number) => number): Uint8Array {
  const t = new Uint8Array(65536);
  for (let i = 0; i < 65536; i++) t[i] = f((i << 16) >> 16);
  return t;
}

function buildDecodeTable(f: (c: number) => number): Int16Array {
  const t = new Int16Array(256);
  for (let i = 0; i < 256; i++) t[i] = f(i);
  return t;
}

/** Index with `sample & 0xffff`. */
export const ULAW_ENCODE = buildEncodeTable(ulawEncodeSample);
export const ALAW_ENCODE = buildEncodeTable(alawEncodeSample);
export const ULAW_DECODE = buildDecodeTable(ulawDecodeSample);
export const ALAW_DECODE = buildDecodeTable(alawDecodeSample);

/** The code a silent frame is made of (what most gateways send as comfort silence). */
export const ULAW_SILENCE = ULAW_ENCODE[0];
export const ALAW_SILENCE = ALAW_ENCODE[0];

export type G711Law = "ulaw" | "alaw";

export function g711Encode(law: G711Law, pcm: Int16Array, out = new Uint8Array(pcm.length)): Uint8Array {
  const t = law === "ulaw" ? ULAW_ENCODE : ALAW_ENCODE;
  for (let i = 0; i < pcm.length; i++) out[i] = t[pcm[i] & 0xffff];
  return out;
}

export function g711Decode(law: G711Law, data: Uint8Array, out = new Int16Array(data.length)): Int16Array {
  const t = law === "ulaw" ? ULAW_DECODE : ALAW_DECODE;
  for (let i = 0; i < data.length; i++) out[i] = t[data[i]];
  return out;
}
