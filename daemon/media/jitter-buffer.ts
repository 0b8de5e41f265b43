// Adaptive jitter buffer for 20 ms audio packets. Packets are ordered by extended sequence number (RFC 3550 A.1
// style wrap handling); RFC 4733 packets share the sequence space, so they are pushed as placeholders that keep the
// space contiguous without costing a playout slot. The target depth follows the RFC 3550 interarrival jitter
// between minMs and maxMs: it grows at once when jitter rises and shrinks one frame at a time by dropping a frame.

export interface JitterPacket {
  ssrc: number;
  seq: number;
  /** RTP timestamp. */
  ts: number;
  /** null for a sequence-space placeholder (telephone-event). */
  payload: Uint8Array | null;
}

export type PopResult =
  | { kind: "audio"; payload: Uint8Array; ts: number }
  /** The packet for this slot never came: conceal. */
  | { kind: "lost" }
  /** Nothing buffered (start, underrun, silence suppression, DTMF gap): play silence, not PLC. */
  | { kind: "empty" };

export interface JitterStats {
  received: number;
  lost: number;
  late: number;
  duplicate: number;
  resets: number;
  /** Frames dropped to shrink the buffer. */
  dropped: number;
  /** RFC 3550 interarrival jitter, ms. */
  jitterMs: number;
  targetMs: number;
}

export interface JitterOptions {
  minMs: number;
  maxMs: number;
  /** RTP clock rate, for the jitter estimate. */
  clockRate: number;
  frameMs?: number;
}

const RESYNC_GAP = 100; // frames: a jump this large is a restarted stream, not loss
const MAX_BUFFERED = 64;

export class JitterBuffer {
  private readonly frameMs: number;
  private readonly slots = new Map<number, JitterPacket>();
  private ssrc: number | undefined;
  private maxSeq16 = -1;
  private cycles = 0;
  private maxExt = -1;
  /** Extended seq of the next slot to play; undefined while (re)buffering. */
  private next: number | undefined;
  private firstExt: number | undefined;
  private transit: number | undefined;
  private jitter = 0; // timestamp units, RFC 3550 A.8
  private targetFrames: number;
  private overTarget = 0;
  readonly stats: JitterStats;

  constructor(private readonly opts: JitterOptions) {
    this.frameMs = opts.frameMs ?? 20;
    this.targetFrames = Math.ceil(opts.minMs / this.frameMs);
    this.stats = {
      received: 0,
      lost: 0,
      late: 0,
      duplicate: 0,
      resets: 0,
      dropped: 0,
      jitterMs: 0,
      targetMs: this.targetFrames * this.frameMs,
    };
  }

  /** Extended (32+ bit) sequence number of a 16-bit one, relative to the highest seen. */
  private extend(seq: number): number {
    if (this.maxSeq16 < 0) {
      this.maxSeq16 = seq;
      return seq;
    }
    const delta = (seq - this.maxSeq16) & 0xffff;
    if (delta < 0x8000) {
      if (seq < this.maxSeq16) this.cycles += 0x10000;
      this.maxSeq16 = seq;
      return this.cycles + seq;
    }
    return this.cycles + seq - (seq > this.maxSeq16 ? 0x10000 : 0);
  }

  private reset(): void {
    this.slots.clear();
    this.maxSeq16 = -1;
    this.cycles = 0;
    this.maxExt = -1;
    this.next = undefined;
    this.firstExt = undefined;
    this.transit = undefined;
    this.stats.resets++;
  }

  /** @param arrivalMs arrival time on a monotonic clock. */
  push(p: JitterPacket, arrivalMs: number): void {
    if (this.ssrc !== undefined && p.ssrc !== this.ssrc) this.reset();
    this.ssrc = p.ssrc;
    let ext = this.extend(p.seq);
    if (this.next !== undefined && Math.abs(ext - this.next) > RESYNC_GAP) {
      // restarted stream with the same SSRC (some PBXs do this on re-INVITE)
      this.reset();
      this.ssrc = p.ssrc;
      ext = this.extend(p.seq);
    }
    this.stats.received++;
    if (this.firstExt === undefined || ext < this.firstExt) this.firstExt = ext;
    if (p.payload) this.updateJitter(p.ts, arrivalMs);
    if (this.next !== undefined && ext < this.next) {
      this.stats.late++;
      return;
    }
    if (this.slots.has(ext)) {
      this.stats.duplicate++;
      return;
    }
    this.slots.set(ext, p);
    if (ext > this.maxExt) this.maxExt = ext;
    if (this.slots.size > MAX_BUFFERED) {
      // sender is running far ahead of our clock: drop the oldest
      const oldest = Math.min(...this.slots.keys());
      this.slots.delete(oldest);
      this.stats.dropped++;
      if (this.next !== undefined && this.next <= oldest) this.next = oldest + 1;
    }
  }

  private updateJitter(ts: number, arrivalMs: number): void {
    const arrival = (arrivalMs * this.opts.clockRate) / 1000;
    const transit = arrival - ts;
    if (this.transit !== undefined) {
      let d = transit - this.transit;
      // RTP timestamps wrap at 2^32
      if (d > 2 ** 31) d -= 2 ** 32;
      else if (d < -(2 ** 31)) d += 2 ** 32;
      this.jitter += (Math.abs(d) - this.jitter) / 16;
    }
    this.transit = transit;
    const jitterMs = (this.jitter * 1000) / this.opts.clockRate;
    this.stats.jitterMs = jitterMs;
    // three times the mean deviation plus one frame covers nearly all arrivals for typical jitter distributions
    const wantMs = Math.min(this.opts.maxMs, Math.max(this.opts.minMs, 3 * jitterMs + this.frameMs));
    const want = Math.ceil(wantMs / this.frameMs);
    if (want > this.targetFrames) this.targetFrames = want;
    else if (want < this.targetFrames) this.targetFrames--; // shrink slowly, one frame per packet at most
    this.stats.targetMs = this.targetFrames * this.frameMs;
  }

  get remoteSsrc(): number | undefined {
    return this.ssrc;
  }

  /** Highest extended sequence number (RFC 3550 report block), for the current source. */
  get highestSeq(): number {
    return Math.max(0, this.maxExt) >>> 0;
  }

  /** Packets expected from the sequence numbers seen for the current source. */
  get expected(): number {
    return this.firstExt === undefined ? 0 : this.maxExt - this.firstExt + 1;
  }

  /** Frames buffered from the playout point up to the newest packet. */
  get depthFrames(): number {
    if (this.maxExt < 0) return 0;
    const from = this.next ?? Math.min(...this.slots.keys());
    return this.slots.size === 0 ? 0 : this.maxExt - from + 1;
  }

  /** Once per 20 ms playout tick. */
  pop(): PopResult {
    if (this.next === undefined) {
      if (this.slots.size === 0 || this.depthFrames < this.targetFrames) return { kind: "empty" };
      this.next = Math.min(...this.slots.keys());
    }
    // buffer well above target for a while: drop one frame to cut latency
    if (this.depthFrames > this.targetFrames + 2) {
      if (++this.overTarget > 10) {
        this.overTarget = 0;
        this.skip();
      }
    } else this.overTarget = 0;
    for (;;) {
      if (this.next > this.maxExt) {
        // underrun: re-buffer to the target depth before playing again
        this.next = undefined;
        return { kind: "empty" };
      }
      const p = this.slots.get(this.next);
      if (!p) {
        this.next++;
        this.stats.lost++;
        return { kind: "lost" };
      }
      this.slots.delete(this.next);
      this.next++;
      // telephone-event placeholders occupy sequence numbers but no playout time of their own
      if (p.payload === null) continue;
      return { kind: "audio", payload: p.payload, ts: p.ts };
    }
  }

  private skip(): void {
    if (this.next === undefined) return;
    if (this.slots.delete(this.next)) this.stats.dropped++;
    this.next++;
  }
}
