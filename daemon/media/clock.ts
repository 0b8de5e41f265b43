// The one media clock: frames are due at t0 + k * 20 ms (absolute deadlines, so timer jitter never accumulates
// into drift). The timer is armed slightly early; when woken late, every due frame is run back to back. Lateness
// of each frame against its deadline goes into a histogram for the engine stats.

const BIN_MS = 0.05;
const BINS = 2000; // 0..100 ms
const MAX_CATCH_UP = 50; // frames; beyond this (suspended process) frames are skipped and counted as missed
const EARLY_WAKE_MS = 0.5;

export class LatenessHistogram {
  private readonly bins = new Uint32Array(BINS + 1);
  count = 0;
  max = 0;

  add(ms: number): void {
    const v = Math.max(ms, 0);
    this.bins[Math.min(BINS, Math.floor(v / BIN_MS))]++;
    this.count++;
    if (v > this.max) this.max = v;
  }

  percentile(p: number): number {
    if (this.count === 0) return 0;
    const want = Math.ceil(p * this.count);
    let seen = 0;
    for (let i = 0; i <= BINS; i++) {
      seen += this.bins[i];
      if (seen >= want) return i === BINS ? this.max : (i + 1) * BIN_MS;
    }
    return this.max;
  }
}

export class MediaClock {
  lateness = new LatenessHistogram();
  ticks = 0;
  framesMissed = 0;
  private t0 = 0;
  private k = 0;
  private timer: NodeJS.Timeout | undefined;
  private running = false;

  constructor(
    private readonly onFrame: (frame: number) => void,
    private readonly periodMs = 20,
  ) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    this.t0 = performance.now() + this.periodMs;
    this.k = 0;
    this.arm();
  }

  stop(): void {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private arm(): void {
    const next = this.t0 + this.k * this.periodMs;
    this.timer = setTimeout(() => this.wake(), Math.max(0, next - performance.now() - EARLY_WAKE_MS));
  }

  private wake(): void {
    if (!this.running) return;
    // frames due within EARLY_WAKE_MS count as due: no busy-waiting for the last fraction of a millisecond
    let now = performance.now() + EARLY_WAKE_MS;
    let due = this.t0 + this.k * this.periodMs;
    const behind = Math.floor((now - due) / this.periodMs);
    if (behind > MAX_CATCH_UP) {
      this.framesMissed += behind;
      this.k += behind;
      due = this.t0 + this.k * this.periodMs;
    }
    while (due <= now) {
      this.lateness.add(performance.now() - due);
      this.ticks++;
      try {
        this.onFrame(this.k);
      } catch {
        // a frame handler must never stop the clock; sessions guard and count their own errors
      }
      this.k++;
      due = this.t0 + this.k * this.periodMs;
      now = performance.now() + EARLY_WAKE_MS;
    }
    this.arm();
  }
}
