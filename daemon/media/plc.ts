// Packet-loss concealment in the spirit of G.711 Appendix I: repeat the last pitch period of the signal history,
// fade it out (silent after 60 ms of loss), and overlap-add into the next good packet so the seam does not click.
// Works on the decoded signal at any rate (8 kHz G.711, 16 kHz G.722) and for gaps of any length: the jitter
// buffer conceals exactly the missing duration, which with 10..60 ms packets is rarely a whole number of frames.

const MAX_CONCEAL_MS = 60;

export class Concealer {
  private readonly hist: Int16Array;
  private readonly minPitch: number;
  private readonly maxPitch: number;
  private readonly ola: number;
  /** Samples concealed since the last good packet. */
  private lostRun = 0;
  private pitch = 0;
  private phase = 0;
  private readonly tail: Float32Array;
  private tailValid = false;

  constructor(
    private readonly rate: number,
    private readonly frameSamples: number,
  ) {
    this.minPitch = Math.round(rate / 200); // 200 Hz
    this.maxPitch = Math.round(rate / 66); // 66 Hz
    this.hist = new Int16Array(this.maxPitch * 3);
    this.ola = Math.round(rate / 1000) * 2; // 2 ms crossfade
    this.tail = new Float32Array(this.ola);
  }

  /** Feed every good frame (after decoding); repairs the seam after a concealed run in place. */
  good(frame: Int16Array): void {
    if (this.lostRun > 0 && this.tailValid) {
      for (let i = 0; i < this.ola && i < frame.length; i++) {
        const w = (i + 1) / (this.ola + 1);
        frame[i] = Math.round(frame[i] * w + this.tail[i] * (1 - w));
      }
    }
    this.lostRun = 0;
    this.push(frame);
  }

  /** Synthesise `out.length` samples (default one frame) of a gap; consecutive calls continue the same gap. */
  conceal(out: Int16Array = new Int16Array(this.frameSamples)): Int16Array {
    if (this.lostRun === 0) {
      this.pitch = this.estimatePitch();
      this.phase = 0;
    }
    const maxRun = (this.rate * MAX_CONCEAL_MS) / 1000;
    const from = this.lostRun;
    this.lostRun += out.length;
    if (from >= maxRun) {
      out.fill(0);
      this.tail.fill(0);
      this.tailValid = true;
      return out;
    }
    const h = this.hist;
    const start = h.length - this.pitch;
    // linear fade from the gain at the start of the gap to zero MAX_CONCEAL_MS into it
    const gain = (k: number) => Math.max(0, 1 - k / maxRun);
    for (let i = 0; i < out.length; i++) {
      out[i] = Math.round(h[start + this.phase] * gain(from + i));
      this.phase = (this.phase + 1) % this.pitch;
    }
    for (let i = 0; i < this.ola; i++) {
      this.tail[i] = h[start + this.phase] * gain(this.lostRun + i);
      this.phase = (this.phase + 1) % this.pitch;
    }
    this.tailValid = true;
    // keep the history (not the concealed output) so repeated periods stay clean
    return out;
  }

  reset(): void {
    this.hist.fill(0);
    this.lostRun = 0;
    this.tailValid = false;
  }

  private push(frame: Int16Array): void {
    const h = this.hist;
    if (frame.length >= h.length) h.set(frame.subarray(frame.length - h.length));
    else {
      h.copyWithin(0, frame.length);
      h.set(frame, h.length - frame.length);
    }
  }

  /** Normalised autocorrelation over the last max-pitch window; decimated by 2 to keep it cheap. */
  private estimatePitch(): number {
    const h = this.hist;
    const n = this.maxPitch;
    const end = h.length;
    let best = this.maxPitch;
    let bestScore = -1;
    for (let lag = this.minPitch; lag <= this.maxPitch; lag++) {
      let xy = 0;
      let yy = 0;
      for (let i = end - n; i < end; i += 2) {
        xy += h[i] * h[i - lag];
        yy += h[i - lag] * h[i - lag];
      }
      const score = yy > 0 ? xy / Math.sqrt(yy) : 0;
      if (score > bestScore) {
        bestScore = score;
        best = lag;
      }
    }
    return best;
  }
}
