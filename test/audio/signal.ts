// Signal comparison for the test oracle: normalized cross-correlation with lag search (FFT based, so a few seconds of
// audio with a second of lag search stays fast) and RMS-envelope correlation for paths that do not keep the
// waveform (resampling with a different filter, lossy codecs).

function nextPow2(n: number): number {
  let p = 1;
  while (p < n) p <<= 1;
  return p;
}

/** In-place iterative radix-2 FFT; `inverse` computes the unscaled inverse. */
function fft(re: Float64Array, im: Float64Array, inverse: boolean): void {
  const n = re.length;
  for (let i = 1, j = 0; i < n; i++) {
    let bit = n >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) {
      [re[i], re[j]] = [re[j], re[i]];
      [im[i], im[j]] = [im[j], im[i]];
    }
  }
  for (let len = 2; len <= n; len <<= 1) {
    const ang = ((inverse ? 2 : -2) * Math.PI) / len;
    const wr = Math.cos(ang);
    const wi = Math.sin(ang);
    for (let i = 0; i < n; i += len) {
      let cr = 1;
      let ci = 0;
      for (let k = 0; k < len / 2; k++) {
        const a = i + k;
        const b = a + len / 2;
        const xr = re[b] * cr - im[b] * ci;
        const xi = re[b] * ci + im[b] * cr;
        re[b] = re[a] - xr;
        im[b] = im[a] - xi;
        re[a] += xr;
        im[a] += xi;
        const t = cr * wr - ci * wi;
        ci = cr * wi + ci * wr;
        cr = t;
      }
    }
  }
}

/** Raw cross-correlation c[lag] = sum_i a[i] * b[i + lag] for lag in [-maxLag, maxLag]. */
function crossCorrelate(a: ArrayLike<number>, b: ArrayLike<number>, maxLag: number): Float64Array {
  const n = nextPow2(a.length + b.length);
  const ar = new Float64Array(n);
  const ai = new Float64Array(n);
  const br = new Float64Array(n);
  const bi = new Float64Array(n);
  for (let i = 0; i < a.length; i++) ar[i] = a[i];
  for (let i = 0; i < b.length; i++) br[i] = b[i];
  fft(ar, ai, false);
  fft(br, bi, false);
  // conj(A) * B gives sum_i a[i] b[i + lag] at index lag (negative lags wrap to the end).
  for (let k = 0; k < n; k++) {
    const r = ar[k] * br[k] + ai[k] * bi[k];
    const i = ar[k] * bi[k] - ai[k] * br[k];
    ar[k] = r;
    ai[k] = i;
  }
  fft(ar, ai, true);
  const out = new Float64Array(2 * maxLag + 1);
  for (let lag = -maxLag; lag <= maxLag; lag++) out[lag + maxLag] = ar[(lag + n) % n] / n;
  return out;
}

function prefixSquares(x: ArrayLike<number>): Float64Array {
  const p = new Float64Array(x.length + 1);
  for (let i = 0; i < x.length; i++) p[i + 1] = p[i] + x[i] * x[i];
  return p;
}

/**
 * Best normalized cross-correlation of `b` against `a` over lags in [-maxLagSamples, maxLagSamples]. A positive lag
 * means `b` is delayed: b[i + lag] ≈ a[i]. Each lag is normalized by the energies of the overlapping parts only, so
 * signals of different length compare fairly. Overlaps shorter than `minOverlap` (default: a quarter of the shorter
 * signal) are ignored: a handful of samples can correlate perfectly by chance.
 */
export function bestCorrelation(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  maxLagSamples: number,
  minOverlap = Math.floor(Math.min(a.length, b.length) / 4),
): { r: number; lag: number } {
  const maxLag = Math.max(0, Math.min(maxLagSamples, Math.max(a.length, b.length)));
  const c = crossCorrelate(a, b, maxLag);
  const pa = prefixSquares(a);
  const pb = prefixSquares(b);
  let best = { r: Number.NEGATIVE_INFINITY, lag: 0 };
  for (let lag = -maxLag; lag <= maxLag; lag++) {
    // Overlap: i in [i0, i1) with 0 <= i < a.length and 0 <= i + lag < b.length.
    const i0 = Math.max(0, -lag);
    const i1 = Math.min(a.length, b.length - lag);
    if (i1 - i0 < Math.max(1, minOverlap)) continue;
    const ea = pa[i1] - pa[i0];
    const eb = pb[i1 + lag] - pb[i0 + lag];
    if (ea <= 0 || eb <= 0) continue;
    const r = c[lag + maxLag] / Math.sqrt(ea * eb);
    if (r > best.r) best = { r, lag };
  }
  if (!Number.isFinite(best.r)) return { r: 0, lag: 0 };
  return best;
}

/** RMS per window of `windowMs`. */
export function rmsEnvelope(x: ArrayLike<number>, rate: number, windowMs = 10): Float64Array {
  const w = Math.max(1, Math.round((rate * windowMs) / 1000));
  const out = new Float64Array(Math.floor(x.length / w));
  for (let k = 0; k < out.length; k++) {
    let s = 0;
    for (let i = k * w; i < (k + 1) * w; i++) s += x[i] * x[i];
    out[k] = Math.sqrt(s / w);
  }
  return out;
}

function meanRemoved(x: Float64Array): Float64Array {
  let m = 0;
  for (const v of x) m += v;
  m /= x.length || 1;
  return x.map((v) => v - m);
}

/**
 * Pearson correlation of the RMS envelopes (mean removed, since envelopes are all positive) with lag search.
 * `lag` is returned in samples at `rate`. Both signals must have the same sample rate.
 */
export function envelopeCorrelation(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  rate: number,
  windowMs = 10,
  maxLagMs = 2000,
): { r: number; lag: number } {
  const ea = meanRemoved(rmsEnvelope(a, rate, windowMs));
  const eb = meanRemoved(rmsEnvelope(b, rate, windowMs));
  const best = bestCorrelation(ea, eb, Math.round(maxLagMs / windowMs));
  return { r: best.r, lag: Math.round((best.lag * rate * windowMs) / 1000) };
}

/** RMS in dBFS of a slice (−Infinity for digital silence). */
export function rmsDbfs(x: ArrayLike<number>, from = 0, to = x.length): number {
  let s = 0;
  for (let i = from; i < to; i++) s += x[i] * x[i];
  return 10 * Math.log10(s / Math.max(1, to - from));
}

/** Seconds (in windows of `windowMs`) whose RMS is above `thresholdDbfs`: "how much of this is not silence". */
export function activeSeconds(x: ArrayLike<number>, rate: number, thresholdDbfs = -45, windowMs = 20): number {
  const env = rmsEnvelope(x, rate, windowMs);
  let n = 0;
  const lin = 10 ** (thresholdDbfs / 20);
  for (const v of env) if (v > lin) n++;
  return (n * windowMs) / 1000;
}
