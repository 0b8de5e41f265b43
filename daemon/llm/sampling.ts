// Choosing the next token from a logits row. Greedy is the default for a voice agent (reproducible answers, easy to
// test); sampling exists for variety and uses its own seeded PRNG so a sampled conversation can be replayed.

/** mulberry32: tiny, fast, 32-bit state; plenty for picking tokens (not for anything secret). */
export function createRng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Index of the largest logit; the lowest index wins a tie (fp16 logits tie often), NaN never wins. */
export function argmax(logits: Float32Array): number {
  let best = -1;
  let bestV = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < logits.length; i++) {
    const v = logits[i];
    if (v > bestV) {
      bestV = v;
      best = i;
    }
  }
  return Math.max(best, 0);
}

/** The k largest logits as indices, best first (ties: lower index first). k <= 0 or k >= n: all finite ones. */
export function topKIndices(logits: Float32Array, k: number): number[] {
  const n = logits.length;
  if (k <= 0 || k >= n) {
    const all: number[] = [];
    for (let i = 0; i < n; i++) if (!Number.isNaN(logits[i])) all.push(i);
    return all.sort((a, b) => logits[b] - logits[a] || a - b);
  }
  // Insertion into a small sorted list: after the first k, few candidates beat the current minimum.
  const idx: number[] = [];
  for (let i = 0; i < n; i++) {
    const v = logits[i];
    if (Number.isNaN(v)) continue;
    if (idx.length === k && v <= logits[idx[k - 1]]) continue;
    let j = idx.length < k ? idx.length : k - 1;
    if (idx.length < k) idx.push(i);
    while (j > 0 && logits[idx[j - 1]] < v) {
      idx[j] = idx[j - 1];
      j--;
    }
    idx[j] = i;
  }
  return idx;
}

/** Samples from softmax(logits / temperature) restricted to the top k; temperature <= 0 is greedy. */
export function sampleToken(logits: Float32Array, temperature: number, topK: number, rng: () => number): number {
  if (!(temperature > 0)) return argmax(logits);
  const cand = topKIndices(logits, topK);
  if (cand.length === 0) return 0;
  const max = logits[cand[0]];
  if (max === Number.POSITIVE_INFINITY || max === Number.NEGATIVE_INFINITY) return cand[0];
  const w = new Float64Array(cand.length);
  let sum = 0;
  for (let i = 0; i < cand.length; i++) {
    w[i] = Math.exp((logits[cand[i]] - max) / temperature);
    sum += w[i];
  }
  let u = rng() * sum;
  for (let i = 0; i < cand.length; i++) {
    u -= w[i];
    if (u < 0) return cand[i];
  }
  return cand[cand.length - 1];
}
