// RFC 4733 telephone-events (DTMF). The sender is driven by the media clock: one packet per 20 ms frame, all with the
// event's start timestamp, duration growing by one frame, marker on the first, and the End packet sent three times.
// The receiver reports a digit on the first End packet and ignores the repeats (same timestamp).

export const DTMF_EVENTS = "0123456789*#ABCD";
const VOLUME = 10; // -10 dBm0
const END_REPEATS = 3;

export function isDtmfDigit(c: string): boolean {
  return DTMF_EVENTS.includes(c.toUpperCase()) && c.length === 1;
}

export interface EventPacket {
  payload: Uint8Array;
  marker: boolean;
  /** The RTP timestamp to send with (the event start). */
  timestamp: number;
  /** Set on the last packet of a digit. */
  digitDone?: boolean;
  /** The tag given to `enqueue`, on the last packet. */
  tag?: number;
}

interface QueuedDigit {
  event: number;
  frames: number;
  sent: number;
  ends: number;
  startTs: number | undefined;
  gap: number;
  tag: number | undefined;
}

export class DtmfSender {
  private queue: QueuedDigit[] = [];

  constructor(private readonly samplesPerFrame = 160) {}

  /** @param gapFrames silence frames after the digit so the far end sees separate digits. */
  enqueue(digit: string, durationMs: number, gapFrames = 3, tag?: number): void {
    const event = DTMF_EVENTS.indexOf(digit.toUpperCase());
    if (event < 0) throw new Error(`not a DTMF digit: ${digit}`);
    const frames = Math.max(2, Math.round(durationMs / 20));
    this.queue.push({ event, frames, sent: 0, ends: 0, startTs: undefined, gap: gapFrames, tag });
  }

  get busy(): boolean {
    return this.queue.length > 0;
  }

  clear(): void {
    this.queue = [];
  }

  /**
   * Called once per frame with the RTP timestamp this frame would carry. Returns the event packet to send instead
   * of audio, `"gap"` for an inter-digit silence frame, or undefined when idle.
   */
  next(frameTs: number): EventPacket | "gap" | undefined {
    const d = this.queue[0];
    if (!d) return undefined;
    if (d.ends >= END_REPEATS) {
      if (d.gap-- > 0) return "gap";
      this.queue.shift();
      return this.next(frameTs);
    }
    const first = d.startTs === undefined;
    if (first) d.startTs = frameTs;
    let end = false;
    if (d.sent < d.frames) d.sent++;
    else {
      end = true;
      d.ends++;
    }
    const duration = Math.min(0xffff, d.sent * this.samplesPerFrame);
    const payload = Uint8Array.of(d.event, (end ? 0x80 : 0) | VOLUME, duration >> 8, duration & 0xff);
    const done = end && d.ends === END_REPEATS;
    return { payload, marker: first, timestamp: d.startTs as number, digitDone: done, tag: done ? d.tag : undefined };
  }
}

export interface ReceivedDigit {
  digit: string;
  durationMs: number;
}

export class DtmfReceiver {
  private lastReportedTs: number | undefined;
  private pendingEvent: { ts: number; event: number; duration: number } | undefined;

  constructor(private readonly clockRate = 8000) {}

  /** Returns a digit when this packet completes one (first End packet of a timestamp). */
  receive(payload: Uint8Array, timestamp: number): ReceivedDigit | undefined {
    if (payload.length < 4) return undefined;
    const event = payload[0];
    const end = (payload[1] & 0x80) !== 0;
    const duration = (payload[2] << 8) | payload[3];
    if (event > 15) return undefined; // flash and other events are not DTMF
    if (timestamp === this.lastReportedTs) return undefined;
    let lostEnd: ReceivedDigit | undefined;
    if (this.pendingEvent && this.pendingEvent.ts !== timestamp) {
      // a new event began while the previous one never ended (its End packets were lost): report the old one
      lostEnd = this.report(this.pendingEvent.ts, this.pendingEvent.event, this.pendingEvent.duration);
    }
    if (!end) {
      this.pendingEvent = { ts: timestamp, event, duration };
      return lostEnd;
    }
    this.pendingEvent = undefined;
    return lostEnd ?? this.report(timestamp, event, duration);
  }

  /** Whether a digit has started but not ended (the caller times it out with `flush`). */
  get pending(): boolean {
    return this.pendingEvent !== undefined;
  }

  /** Report a digit whose End packets never came (the caller decides when it has waited long enough). */
  flush(): ReceivedDigit | undefined {
    const p = this.pendingEvent;
    if (!p) return undefined;
    this.pendingEvent = undefined;
    return this.report(p.ts, p.event, p.duration);
  }

  private report(ts: number, event: number, duration: number): ReceivedDigit {
    this.lastReportedTs = ts;
    return { digit: DTMF_EVENTS[event], durationMs: Math.round((duration * 1000) / this.clockRate) };
  }
}
