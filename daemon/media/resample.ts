// Sample-rate conversion. The 8k<->16k pair runs on the media clock for every call, so it is a half-band FIR
// (every other tap is zero, ~24 multiplies per output) with streaming state. File playback uses the
// arbitrary-ratio windowed-sinc converter, which is slower and runs on the main thread before audio reaches the clock.

function besselI0(x: number): number {
  let sum = 1;
  let term = 1;
  for (let k = 1; k < 50; k++) {
    term *= (x / (2 * k)) ** 2;
    sum += term;
    if (term < 1e-12 * sum) break;
  }
  return sum;
}

function kaiser(n: number, len: number, beta: number): number {
  const r = (2 * n) / (len - 1) - 1;
  return besselI0(beta * Math.sqrt(Math.max(0, 1 - r * r))) / besselI0(beta);
}

const HB_TAPS = 47; // odd, (HB_TAPS - 1) / 2 odd so the centre tap sits between zero taps
const HB_CENTER = (HB_TAPS - 1) / 2;
const HB_BETA = 7; // ~70 dB stopband; transition ~3.4-4.6 kHz at 16 kHz

/** Non-zero half-band taps other than the centre (which is 0.5): h[0], h[2], ... h[46]. */
const HB_EVEN = (() => {
  const t = new Float64Array(HB_CENTER + 1);
  for (let j = 0; j <= HB_CENTER; j++) {
    const n = 2 * j;
    const x = (n - HB_CENTER) / 2;
    t[j] = ((0.5 * Math.sin(Math.PI * x)) / (Math.PI * x)) * kaiser(n, HB_TAPS, HB_BETA);
  }
  // normalise so that DC gain is exactly 1 (sum of even taps = 0.5)
  const s = t.reduce((a, b) => a + b, 0);
  for (let j = 0; j < t.length; j++) t[j] *= 0.5 / s;
  return t;
})();

function clamp16(v: number): number {
  const r = Math.round(v);
  return r > 32767 ? 32767 : Math.max(r, -32768);
}

/** Filter state buffer: `hist` samples of history followed by `input`; grows (keeping history) when needed. */
function withInput(buf: Float32Array<ArrayBuffer>, hist: number, input: Int16Array): Float32Array<ArrayBuffer> {
  let b = buf;
  if (b.length < hist + input.length) {
    b = new Float32Array(hist + input.length);
    b.set(buf.subarray(0, hist));
  }
  for (let i = 0; i < input.length; i++) b[hist + i] = input[i];
  return b;
}

/** 16 kHz -> 8 kHz, streaming. Input length must be even. */
export class Downsampler2 {
  private readonly hist = HB_TAPS - 1;
  private buf = new Float32Array(HB_TAPS - 1 + 320);

  process(input: Int16Array, out = new Int16Array(input.length >> 1)): Int16Array {
    const h = this.hist;
    this.buf = withInput(this.buf, h, input);
    const b = this.buf;
    const nTaps = HB_EVEN.length;
    for (let j = 0; j < out.length; j++) {
      // y[i] = sum h[k] x[i - k]; in buffer coordinates x[i] is b[i + h]
      const base = 2 * j + h;
      let acc = 0.5 * b[base - HB_CENTER];
      for (let t = 0; t < nTaps; t++) acc += HB_EVEN[t] * b[base - 2 * t];
      out[j] = clamp16(acc);
    }
    b.copyWithin(0, input.length, input.length + h);
    return out;
  }

  reset(): void {
    this.buf.fill(0);
  }
}

/** 8 kHz -> 16 kHz, streaming (zero-stuffing + the same half-band filter, polyphase). */
export class Upsampler2 {
  private readonly hist = HB_CENTER; // 23 input samples of history
  private buf = new Float32Array(HB_CENTER + 160);

  process(input: Int16Array, out = new Int16Array(input.length * 2)): Int16Array {
    const h = this.hist;
    this.buf = withInput(this.buf, h, input);
    const b = this.buf;
    const nTaps = HB_EVEN.length;
    for (let m = 0; m < input.length; m++) {
      const base = m + h; // x[m]
      let acc = 0;
      for (let t = 0; t < nTaps; t++) acc += HB_EVEN[t] * b[base - t];
      out[2 * m] = clamp16(2 * acc);
      // odd phase: only the centre tap hits a real sample: 2 * 0.5 * x[m - 11]
      out[2 * m + 1] = b[base - (HB_CENTER - 1) / 2];
    }
    b.copyWithin(0, input.length, input.length + h);
    return out;
  }

  reset(): void {
    this.buf.fill(0);
  }
}

const SINC_ZEROS = 16; // half-width in zero crossings
const SINC_RES = 256; // table points per zero crossing
const SINC_BETA = 8.5;
const SINC_TABLE = (() => {
  const n = SINC_ZEROS * SINC_RES + 2;
  const t = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const x = i / SINC_RES;
    const s = x === 0 ? 1 : Math.sin(Math.PI * x) / (Math.PI * x);
    const r = x / SINC_ZEROS;
    const w = r >= 1 ? 0 : besselI0(SINC_BETA * Math.sqrt(1 - r * r)) / besselI0(SINC_BETA);
    t[i] = s * w;
  }
  return t;
})();

/**
 * Arbitrary-ratio conversion of a whole buffer (file playback, any WAV rate). Kaiser-windowed sinc, cutoff at 95 %
 * of the lower Nyquist frequency. Input and output are mono PCM16.
 */
export function resampleBuffer(input: Int16Array, fromRate: number, toRate: number): Int16Array {
  if (fromRate === toRate) return input.slice();
  const ratio = toRate / fromRate;
  const outLen = Math.floor((input.length * toRate) / fromRate);
  const out = new Int16Array(outLen);
  const fc = Math.min(1, ratio) * 0.95; // cutoff relative to the input Nyquist
  const halfWidth = SINC_ZEROS / fc; // in input samples
  const step = fromRate / toRate;
  for (let n = 0; n < outLen; n++) {
    const t = n * step;
    const lo = Math.max(0, Math.ceil(t - halfWidth));
    const hi = Math.min(input.length - 1, Math.floor(t + halfWidth));
    let acc = 0;
    for (let i = lo; i <= hi; i++) {
      const pos = Math.abs(t - i) * fc * SINC_RES;
      const k = pos | 0;
      if (k >= SINC_ZEROS * SINC_RES) continue;
      const frac = pos - k;
      acc += input[i] * (SINC_TABLE[k] + frac * (SINC_TABLE[k + 1] - SINC_TABLE[k]));
    }
    out[n] = clamp16(acc * fc);
  }
  return out;
}
