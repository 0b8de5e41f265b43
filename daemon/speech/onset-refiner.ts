// Moves a turn VAD segment's start back to where the fast VAD heard speech begin. The turn VAD opens a segment only
// after minSpeech of uninterrupted speech; a short first word followed by a dip ("My | customer number ...") resets
// that count, and the segment then starts at the second word (measured over real calls: +140 to +400 ms late in a
// third of the window phases). The fast barge-in VAD (30 ms minimum, lower threshold) has heard the first word, so
// its onset is the better start. The audio between the two is taken from a short history of recent frames when the
// turn VAD opens its segment (the segment itself is only complete, seconds later, at its end).
import { concatInt16, int16ToFloat32 } from "../media/pcm.ts";
import type { VadEvent } from "./types.ts";

const RATE = 16000;

export interface OnsetRefinerOptions {
  /** How far back a fast-VAD onset may move a start, ms. Default 500. */
  maxShiftMs?: number;
  /** A fast-VAD segment counts only if it ends at most this long before the turn segment starts, ms. Default 300. */
  maxGapMs?: number;
}

type SpeechEnd = Extract<VadEvent, { type: "speechEnd" }>;

export class OnsetRefiner {
  private readonly maxShift: number;
  private readonly maxGap: number;
  /** Recent audio as [first sample index, frame]; a little more than maxShift. */
  private history: [number, Int16Array][] = [];
  private historySamples = 0;
  private position = 0;
  /** Fast-VAD segments [start, end) in samples; end = Infinity while open. Only recent ones are kept. */
  private fast: [number, number][] = [];
  /** Audio from the fast onset up to where the turn VAD opened its current segment. */
  private head: { from: number; pcm: Int16Array } | undefined;

  constructor(opts: OnsetRefinerOptions = {}) {
    this.maxShift = Math.round(((opts.maxShiftMs ?? 500) * RATE) / 1000);
    this.maxGap = Math.round(((opts.maxGapMs ?? 300) * RATE) / 1000);
  }

  /** The frame both VADs were just fed, and both VADs' events for it. */
  push(frame: Int16Array, fastEvents: VadEvent[], turnEvents: VadEvent[]): void {
    this.history.push([this.position, frame]);
    this.position += frame.length;
    this.historySamples += frame.length;
    while (this.history.length > 1 && this.historySamples - this.history[0][1].length > this.maxShift + RATE / 10) {
      this.historySamples -= (this.history.shift() as [number, Int16Array])[1].length;
    }
    for (const e of fastEvents) {
      if (e.type === "speechStart") this.fast.push([e.sample, Number.POSITIVE_INFINITY]);
      else {
        // The exact bounds replace the open segment's estimate.
        const open = this.fast.findLastIndex((s) => s[1] === Number.POSITIVE_INFINITY);
        if (open >= 0) this.fast.splice(open, 1);
        this.fast.push([e.startSample, e.endSample]);
      }
    }
    const horizon = this.position - 2 * this.maxShift - RATE;
    this.fast = this.fast.filter((s) => s[1] > horizon);
    for (const e of turnEvents) if (e.type === "speechStart") this.captureHead(e.sample);
  }

  /** The turn VAD's segment, with its start moved back to the fast VAD's onset when that heard it begin earlier. */
  refine(e: SpeechEnd): SpeechEnd {
    const head = this.head;
    this.head = undefined;
    if (!head || head.from >= e.startSample || e.startSample - head.from > head.pcm.length) return e;
    const pcm = concatInt16([head.pcm.subarray(0, e.startSample - head.from), e.pcm]);
    return { ...e, startSample: head.from, startMs: (head.from / RATE) * 1000, pcm, samples: int16ToFloat32(pcm) };
  }

  private captureHead(turnStart: number): void {
    let start = turnStart;
    for (const [s, end] of this.fast) {
      if (s < start && s >= turnStart - this.maxShift && end >= start - this.maxGap) start = s;
    }
    start = Math.max(start, this.history[0]?.[0] ?? this.position);
    // Up to now, not just to the estimated start: the exact start that comes with speechEnd may be a little later.
    this.head = start < turnStart ? { from: start, pcm: this.slice(start, this.position) } : undefined;
  }

  private slice(from: number, to: number): Int16Array {
    const out = new Int16Array(to - from);
    for (const [at, f] of this.history) {
      const a = Math.max(from, at);
      const b = Math.min(to, at + f.length);
      if (a < b) out.set(f.subarray(a - at, b - at), a - from);
    }
    return out;
  }
}
