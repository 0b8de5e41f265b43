// The last few seconds of a call's caller audio, addressed by audio time. A recognizer that wants context around a
// VAD segment (the command recognizer was trained on utterances with the line's own noise before and after them)
// gets the real audio of the call instead of digital silence, and the pauses inside a turn stay in place.

const RATE = 16000;

export class AudioHistory {
  private readonly ring: Int16Array;
  /** Samples written since the start (absolute position of the next sample). */
  private written = 0;

  constructor(seconds: number) {
    this.ring = new Int16Array(Math.round(seconds * RATE));
  }

  push(frame: Int16Array): void {
    const n = this.ring.length;
    let src = frame;
    if (src.length > n) src = src.subarray(src.length - n);
    const at = (this.written + frame.length - src.length) % n;
    const first = Math.min(src.length, n - at);
    this.ring.set(src.subarray(0, first), at);
    if (first < src.length) this.ring.set(src.subarray(first), 0);
    this.written += frame.length;
  }

  /** Audio between two audio times (ms since the first frame), or undefined when part of it is gone or not yet here. */
  slice(fromMs: number, toMs: number): Int16Array | undefined {
    const from = Math.max(0, Math.round((fromMs * RATE) / 1000));
    const to = Math.round((toMs * RATE) / 1000);
    if (to <= from || to > this.written || from < this.written - this.ring.length) return undefined;
    const out = new Int16Array(to - from);
    const n = this.ring.length;
    for (let i = 0, p = from % n; i < out.length; ) {
      const run = Math.min(out.length - i, n - p);
      out.set(this.ring.subarray(p, p + run), i);
      i += run;
      p = 0;
    }
    return out;
  }
}
