// Adaptive jitter buffer with timestamp-driven playout. Peers packetize as they like (10..60 ms, and the size may
// change mid-stream), so playout cannot be "one packet per tick": each packet is decoded into its samples and the
// buffer hands out exactly one 20 ms frame per clock tick from a timestamp-indexed sample FIFO.
//
// Packets are ordered by extended sequence number (RFC 3550 A.1 wrap handling), which also detects duplicates and
// late arrivals; their RTP timestamps (extended over the 32-bit wrap) place them on the timeline. A timestamp gap
// with missing sequence numbers is loss and is concealed for exactly its duration; a gap without missing sequence
// numbers is silence suppression or a same-SSRC telephone-event and plays as silence. Telephone-event and comfort
// noise packets of the audio SSRC are pushed as placeholders: they fill the sequence space but carry no audio.
// The target depth is in ms and follows the RFC 3550 interarrival jitter between minMs and maxMs (never below one
// packet plus one frame, or a 60 ms stream would underrun on every packet).

export interface JitterPacket {
  ssrc: number;
  seq: number;
  /** RTP timestamp. */
  ts: number;
  /** null for a sequence-space placeholder (telephone-event, comfort noise). */
  payload: Uint8Array | null;
}

/** What the buffer needs of the codec: decoding in stream order (G.722 is stateful) and concealment. */
export interface PlayoutDecoder {
  /** Sample rate of decoded audio. */
  readonly nativeRate: number;
  /** Decode a whole packet (the result may be reused by the next call; it is copied at once). */
  decode(payload: Uint8Array): Int16Array;
}

export interface Concealment {
  /** Every decoded packet, in order (may repair the seam after a concealed gap in place). */
  good(pcm: Int16Array): void;
  /** Fill `out` with a continuation of the signal. */
  conceal(out: Int16Array): Int16Array;
}

export interface JitterStats {
  received: number;
  /** Missing sequence numbers of the audio stream. */
  lost: number;
  late: number;
  duplicate: number;
  resets: number;
  /** Packets or 20 ms of audio dropped to cut latency or because the buffer overflowed. */
  dropped: number;
  /** Audio synthesised by concealment, ms. */
  concealedMs: number;
  /** RFC 3550 interarrival jitter, ms. */
  jitterMs: number;
  targetMs: number;
  /** Duration of the last audio packet, ms. */
  packetMs: number;
}

export interface JitterOptions {
  minMs: number;
  maxMs: number;
  /** RTP clock rate. */
  clockRate: number;
  decoder: PlayoutDecoder;
  plc?: Concealment;
}

const FRAME_MS = 20;
const RESYNC_GAP = 100; // sequence numbers: a jump this large is a restarted stream, not loss
const MAX_BUFFERED = 64; // packets
/** A timestamp gap (or step back) larger than this is a sender re-basing its clock: follow it, do not fill it. */
const MAX_GAP_MS = 1000;

interface Slot extends JitterPacket {
  /** Extended sequence number and timestamp (unwrapped). */
  ext: number;
  xts: number;
}

type Piece =
  | { kind: "audio"; slot: Slot & { payload: Uint8Array } }
  | { kind: "lost" | "silence"; ts: number }
  | { kind: "jump"; to: number }
  | { kind: "empty" };

export class JitterBuffer {
  private readonly slots = new Map<number, Slot>();
  private ssrc: number | undefined;
  private maxSeq16 = -1;
  private cycles = 0;
  private maxExt = -1;
  private firstExt: number | undefined;
  /** Extended seq of the next packet to play. */
  private next: number | undefined;
  /** Highest extended timestamp seen (reference for unwrapping). */
  private tsHigh: number | undefined;
  /** Extended timestamp at the end of the FIFO; undefined while (re)buffering. */
  private pos: number | undefined;
  private fifo: Int16Array;
  private fifoLen = 0;
  private readonly out: Int16Array;
  private readonly frameN: number;
  /** Decoded samples per RTP timestamp unit (2 for G.722: 16 kHz audio on an 8 kHz RTP clock). */
  private readonly ratio: number;
  private transit: number | undefined;
  private jitter = 0; // timestamp units, RFC 3550 A.8
  private overTarget = 0;
  readonly stats: JitterStats;

  constructor(private readonly opts: JitterOptions) {
    this.ratio = opts.decoder.nativeRate / opts.clockRate;
    this.frameN = (opts.decoder.nativeRate * FRAME_MS) / 1000;
    this.out = new Int16Array(this.frameN);
    this.fifo = new Int16Array(this.frameN * 4);
    this.stats = {
      received: 0,
      lost: 0,
      late: 0,
      duplicate: 0,
      resets: 0,
      dropped: 0,
      concealedMs: 0,
      jitterMs: 0,
      targetMs: Math.ceil(opts.minMs / FRAME_MS) * FRAME_MS,
      packetMs: FRAME_MS,
    };
  }

  /** RTP timestamp units a payload covers: one byte per 8 kHz tick for G.711 and G.722 (2 x 4-bit subbands). */
  private static duration(p: JitterPacket): number {
    return p.payload ? p.payload.length : 0;
  }

  private ms(tsUnits: number): number {
    return (tsUnits * 1000) / this.opts.clockRate;
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

  /** Extended timestamp: the 32-bit one nearest the highest seen (ToInt32 of the difference does the wrap). */
  private extendTs(ts: number): number {
    if (this.tsHigh === undefined) {
      this.tsHigh = ts;
      return ts;
    }
    const x = this.tsHigh + ((ts - this.tsHigh) | 0);
    if (x > this.tsHigh) this.tsHigh = x;
    return x;
  }

  private reset(): void {
    this.slots.clear();
    this.maxSeq16 = -1;
    this.cycles = 0;
    this.maxExt = -1;
    this.next = undefined;
    this.firstExt = undefined;
    this.tsHigh = undefined;
    this.pos = undefined;
    this.fifoLen = 0;
    this.transit = undefined;
    this.stats.resets++;
  }

  /** @param arrivalMs arrival time on a monotonic clock. */
  push(p: JitterPacket, arrivalMs: number): void {
    if (p.ssrc !== this.ssrc) {
      // a placeholder from another source (e.g. telephone-event on its own SSRC) says nothing about the audio
      if (!p.payload) return;
      if (this.ssrc !== undefined) this.reset();
    }
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
    if (p.payload) {
      this.stats.packetMs = this.ms(JitterBuffer.duration(p));
      this.updateJitter(p.ts, arrivalMs);
    }
    if (this.next !== undefined && ext < this.next) {
      this.stats.late++;
      return;
    }
    if (this.slots.has(ext)) {
      this.stats.duplicate++;
      return;
    }
    this.slots.set(ext, { ...p, ext, xts: this.extendTs(p.ts) });
    if (ext > this.maxExt) this.maxExt = ext;
    if (this.slots.size > MAX_BUFFERED) {
      // sender is running far ahead of our clock: drop the oldest and re-buffer from what is left
      const oldest = Math.min(...this.slots.keys());
      this.slots.delete(oldest);
      this.stats.dropped++;
      this.next = oldest + 1;
      this.pos = undefined;
      this.fifoLen = 0;
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
    const jitterMs = this.ms(this.jitter);
    this.stats.jitterMs = jitterMs;
    // three times the mean deviation plus one packet covers nearly all arrivals for typical jitter distributions;
    // whatever the jitter, one packet plus one frame must fit or every packet boundary underruns
    const packetMs = this.stats.packetMs;
    const wantMs = Math.max(
      Math.min(this.opts.maxMs, Math.max(this.opts.minMs, 3 * jitterMs + packetMs)),
      packetMs + FRAME_MS,
    );
    const want = Math.ceil(wantMs / FRAME_MS) * FRAME_MS;
    // grow at once, shrink slowly (one frame per packet at most)
    if (want > this.stats.targetMs) this.stats.targetMs = want;
    else if (want < this.stats.targetMs) this.stats.targetMs -= FRAME_MS;
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

  /** Audio buffered ahead of the playout point (FIFO plus packets), ms. */
  get depthMs(): number {
    const last = this.slots.get(this.maxExt);
    if (this.pos === undefined) {
      if (!last) return 0;
      const first = this.first() as Slot;
      return this.ms(last.xts + JitterBuffer.duration(last) - first.xts);
    }
    const end = last ? Math.max(this.pos, last.xts + JitterBuffer.duration(last)) : this.pos;
    return this.ms(end - this.pos) + (this.fifoLen * 1000) / this.opts.decoder.nativeRate;
  }

  /** Lowest buffered packet by sequence number. */
  private first(): Slot | undefined {
    let best: Slot | undefined;
    for (const s of this.slots.values()) if (!best || s.ext < best.ext) best = s;
    return best;
  }

  /** (Re)start playout at the first buffered audio packet once the target depth is buffered. */
  private start(): boolean {
    let first = this.first();
    // a leading placeholder has no audio to start from
    while (first && !first.payload) {
      this.slots.delete(first.ext);
      this.next = first.ext + 1;
      first = this.first();
    }
    if (!first || this.depthMs < this.stats.targetMs) return false;
    // sequence numbers skipped while we were not playing were never received
    if (this.next !== undefined && first.ext > this.next) this.stats.lost += first.ext - this.next;
    this.next = first.ext;
    this.pos = first.xts;
    return true;
  }

  /** The next piece of the timeline from `pos`, in sequence order. */
  private piece(pos: number): Piece {
    const maxGap = (MAX_GAP_MS * this.opts.clockRate) / 1000;
    for (;;) {
      const next = this.next as number;
      if (next > this.maxExt) return { kind: "empty" };
      let p = this.slots.get(next);
      if (!p) {
        // missing sequence numbers: lost, now that a later packet is here and its time has come
        let k = next + 1;
        while (k <= this.maxExt && !this.slots.has(k)) k++;
        this.stats.lost += k - next;
        this.next = k;
        p = this.slots.get(k);
        if (!p) return { kind: "empty" };
        const gap = p.xts - pos;
        if (gap > maxGap) return { kind: "jump", to: p.xts };
        if (gap > 0) return { kind: "lost", ts: gap };
        continue;
      }
      if (!p.payload) {
        this.slots.delete(next);
        this.next = next + 1;
        continue;
      }
      const gap = p.xts - pos;
      if (gap > maxGap || gap < -maxGap) return { kind: "jump", to: p.xts };
      // no sequence number missing: silence suppression or a same-SSRC telephone-event
      if (gap > 0) return { kind: "silence", ts: gap };
      this.slots.delete(next);
      this.next = next + 1;
      return { kind: "audio", slot: p as Slot & { payload: Uint8Array } };
    }
  }

  private room(n: number): Int16Array {
    if (this.fifo.length < this.fifoLen + n) {
      const f = new Int16Array(Math.max(this.fifo.length * 2, this.fifoLen + n));
      f.set(this.fifo.subarray(0, this.fifoLen));
      this.fifo = f;
    }
    return this.fifo.subarray(this.fifoLen, this.fifoLen + n);
  }

  /** Decode and conceal until the FIFO holds `n` samples; false on underrun. */
  private fill(n: number): boolean {
    const { decoder, plc } = this.opts;
    while (this.fifoLen < n) {
      const pos = this.pos as number;
      const r = this.piece(pos);
      if (r.kind === "empty") return false;
      if (r.kind === "jump") {
        this.pos = r.to;
        continue;
      }
      if (r.kind === "audio") {
        const pcm = decoder.decode(r.slot.payload);
        plc?.good(pcm);
        // a packet overlapping what was already played (after concealment or a jump): keep only the new part
        const skip = Math.min(pcm.length, Math.round((pos - r.slot.xts) * this.ratio));
        this.room(pcm.length - skip).set(pcm.subarray(skip));
        this.fifoLen += pcm.length - skip;
        this.pos = Math.max(pos, r.slot.xts + JitterBuffer.duration(r.slot));
        continue;
      }
      const len = Math.round(r.ts * this.ratio);
      const dst = this.room(len);
      if (r.kind === "lost" && plc) {
        plc.conceal(dst);
        this.stats.concealedMs += (len * 1000) / decoder.nativeRate;
      } else dst.fill(0);
      this.fifoLen += len;
      this.pos = pos + r.ts;
    }
    return true;
  }

  private take(n: number): Int16Array {
    const out = this.out;
    out.set(this.fifo.subarray(0, n));
    if (n < out.length) out.fill(0, n);
    this.fifo.copyWithin(0, n, this.fifoLen);
    this.fifoLen -= n;
    return out;
  }

  /**
   * Once per 20 ms tick: the next 20 ms of decoded audio at the decoder's rate (the array is reused), or null when
   * nothing plays (start, underrun, silence) — silence, not concealment.
   */
  pop(): Int16Array | null {
    if (this.pos === undefined && !this.start()) return null;
    const n = this.frameN;
    // well above target for a while: drop 20 ms to cut latency (the trough of the depth is what counts, hence
    // minus one packet: a 60 ms stream swings by 60 ms between arrivals)
    if (this.depthMs - this.stats.packetMs > this.stats.targetMs + FRAME_MS) {
      if (++this.overTarget > 10 && this.fill(2 * n)) {
        this.overTarget = 0;
        this.take(n);
        this.stats.dropped++;
      }
    } else this.overTarget = 0;
    if (this.fill(n)) return this.take(n);
    // underrun: play out what is left, then re-buffer to the target depth before playing again
    this.pos = undefined;
    if (this.fifoLen === 0) return null;
    return this.take(this.fifoLen);
  }
}
