// Turn endpointing: merge VAD segments into one caller turn and decide when the turn is over. A turn ends after
// `silenceMs[mode]` of silence following the last segment; the flow raises the mode while it expects digits, an
// e-mail address or an IBAN, where callers pause between groups. A speechStart inside the window continues the turn.
//
// Time is audio time: the caller passes `nowMs` (e.g. frames received × 20 ms) to push() and tick(), in the same
// timebase as the VadEvents' startMs/endMs. So the silence is measured from the segment's real end, not from when
// the VAD got around to reporting it (sherpa reports speechEnd only after its own minSilence), and tests need no
// timers. Configure the VAD's minSilenceS below the smallest silenceMs, or turns end the moment speechEnd arrives.
// The VAD confirms a new segment only after its minSpeech, which can land after the deadline; tick(now, true)
// ("speech may be starting", e.g. a fast barge-in VAD stream or an ASR partial that grew) holds the deadline.
import { EventEmitter } from "node:events";
import type { VadEvent } from "./types.ts";

export type EndpointMode = "default" | "digits" | "email" | "iban";

export interface TurnEndpointerOptions {
  silenceMs?: Partial<Record<EndpointMode, number>>;
  /** Turns longer than this end at once when the next segment ends (runaway speech / TV in the background). */
  maxTurnMs?: number;
  /** Turns with less speech than this (summed over segments) are dropped: coughs, clicks, line bursts. The VAD's
   * own minimum is kept shorter so that a short first word ("My ...", "Ja") is not cut off the turn. Default 150. */
  minTurnSpeechMs?: number;
}

export interface TurnSegment {
  startMs: number;
  endMs: number;
  pcm: Int16Array;
  samples: Float32Array;
}

export interface Turn {
  segments: TurnSegment[];
  startMs: number;
  endMs: number;
  /** When the endpoint was decided (audio time). */
  decidedMs: number;
  mode: EndpointMode;
  /** Why it ended. */
  reason: "silence" | "maxTurn" | "flush";
}

export interface TurnEndpointerEvents {
  turnEnd: [turn: Turn];
}

export const DEFAULT_SILENCE_MS: Readonly<Record<EndpointMode, number>> = {
  default: 700,
  digits: 1500,
  email: 2000,
  iban: 2500,
};

export class TurnEndpointer extends EventEmitter<TurnEndpointerEvents> {
  readonly silenceMs: Readonly<Record<EndpointMode, number>>;
  private readonly maxTurnMs: number;
  private readonly minTurnSpeechMs: number;
  private modeValue: EndpointMode = "default";
  private segments: TurnSegment[] = [];
  /** Inside a VAD segment (speechStart seen, speechEnd not yet). */
  private open = false;

  constructor(opts: TurnEndpointerOptions = {}) {
    super();
    this.silenceMs = { ...DEFAULT_SILENCE_MS, ...opts.silenceMs };
    this.maxTurnMs = opts.maxTurnMs ?? 60_000;
    this.minTurnSpeechMs = opts.minTurnSpeechMs ?? 150;
  }

  get mode(): EndpointMode {
    return this.modeValue;
  }

  /** Change what the flow expects; applies to the turn in progress too. */
  setMode(mode: EndpointMode): void {
    this.modeValue = mode;
  }

  /** True between the first speechStart of a turn and its turnEnd. */
  get inTurn(): boolean {
    return this.open || this.segments.length > 0;
  }

  /** Feed a VAD event; returns the turn if this event completed one. */
  push(event: VadEvent, nowMs: number): Turn | undefined {
    if (event.type === "speechStart") {
      this.open = true;
      return undefined;
    }
    this.open = false;
    this.segments.push({ startMs: event.startMs, endMs: event.endMs, pcm: event.pcm, samples: event.samples });
    const first = this.segments[0];
    if (event.endMs - first.startMs >= this.maxTurnMs) return this.finish(nowMs, "maxTurn");
    return this.tick(nowMs);
  }

  /**
   * Advance time; returns (and emits) the turn once the silence after the last segment reached the mode's limit.
   * `speechPending` holds the deadline while something that may be speech has not been confirmed by the VAD.
   */
  tick(nowMs: number, speechPending = false): Turn | undefined {
    if (this.open || this.segments.length === 0 || speechPending) return undefined;
    const last = this.segments[this.segments.length - 1];
    if (nowMs - last.endMs < this.silenceMs[this.modeValue]) return undefined;
    return this.finish(nowMs, "silence");
  }

  /** End of input (hangup, stream flush): emit what is there. */
  flush(nowMs: number): Turn | undefined {
    this.open = false;
    return this.segments.length > 0 ? this.finish(nowMs, "flush") : undefined;
  }

  reset(): void {
    this.segments = [];
    this.open = false;
  }

  private finish(nowMs: number, reason: Turn["reason"]): Turn | undefined {
    const segments = this.segments;
    this.segments = [];
    const speechMs = segments.reduce((sum, s) => sum + s.endMs - s.startMs, 0);
    if (speechMs < this.minTurnSpeechMs) return undefined;
    const turn: Turn = {
      segments,
      startMs: segments[0].startMs,
      endMs: segments[segments.length - 1].endMs,
      decidedMs: nowMs,
      mode: this.modeValue,
      reason,
    };
    this.emit("turnEnd", turn);
    return turn;
  }
}
