// Dead-air handling for one call: a filler phrase / hold tone when the box has nothing to say shortly after the
// caller's turn, "are you still there?" after an idle stretch, then a polite hangup; plus a maximum call length
// (polite, before CallSession's hard limits.maxCallDurationS). The monitor only decides; the app plays the prompts
// (normally from the PromptCache, so they start without synthesis delay) and hangs up.
//
// States, driven by events:
//   caller speaking  ── callerTurnEnded ──▶ awaiting reply: after fillerAfterMs → `filler` (repeats every
//                                            fillerRepeatMs while the box still has no answer)
//   box speaking     ── boxStoppedSpeaking ▶ idle: after idlePromptAfterMs → `areYouThere`, then after
//                                            hangupAfterMs more → `hangup` ("idle")
//   callerStartedSpeaking resets everything (and re-arms "are you there?").
// A filler is box speech that does not answer the turn: report it with boxStartedSpeaking({ filler: true }) so the
// reply is still awaited. The are-you-there prompt itself does not restart the idle cycle; only the caller does.
import { EventEmitter } from "node:events";

/** Timer source; the default uses the real clock, tests pass a fake. */
export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const realClock: Clock = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, ms);
    t.unref();
    return t;
  },
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

export interface DeadAirOptions {
  /** Box silent this long after the caller's turn → filler. Default 800. */
  fillerAfterMs?: number;
  /** Further fillers while still no answer, ms; 0 = only one. Default 4000. */
  fillerRepeatMs?: number;
  /** Nobody speaking this long after the box finished → "are you still there?". Default 8000. */
  idlePromptAfterMs?: number;
  /** No reply this long after "are you still there?" → hangup. Default 6000. */
  hangupAfterMs?: number;
  /** Maximum call length → hangup ("maxDuration"); 0 = none. Default 0. */
  maxCallMs?: number;
  clock?: Clock;
}

export interface DeadAirEvents {
  /** Play a filler phrase or hold tone; `count` starts at 1 per caller turn. */
  filler: [count: number];
  areYouThere: [];
  hangup: [reason: "idle" | "maxDuration"];
}

export type DeadAirState = "stopped" | "callerSpeaking" | "awaitingReply" | "boxSpeaking" | "idle" | "prompted";

export class DeadAirMonitor extends EventEmitter<DeadAirEvents> {
  private readonly o: Required<Omit<DeadAirOptions, "clock">>;
  private readonly clock: Clock;
  private stateValue: DeadAirState = "stopped";
  private timer: unknown;
  private maxTimer: unknown;
  private fillers = 0;
  /** "Are you there?" was asked and the caller has not spoken since. */
  private asked = false;
  /** The box owes the caller an answer (turn ended, only fillers played since). */
  private owed = false;

  constructor(opts: DeadAirOptions = {}) {
    super();
    this.o = {
      fillerAfterMs: opts.fillerAfterMs ?? 800,
      fillerRepeatMs: opts.fillerRepeatMs ?? 4000,
      idlePromptAfterMs: opts.idlePromptAfterMs ?? 8000,
      hangupAfterMs: opts.hangupAfterMs ?? 6000,
      maxCallMs: opts.maxCallMs ?? 0,
    };
    this.clock = opts.clock ?? realClock;
  }

  get state(): DeadAirState {
    return this.stateValue;
  }

  /** Call answered: start the max-length timer and wait (as after the box spoke) for someone to talk. */
  start(): void {
    if (this.stateValue !== "stopped") return;
    if (this.o.maxCallMs > 0) {
      this.maxTimer = this.clock.setTimeout(() => {
        this.stop();
        this.emit("hangup", "maxDuration");
      }, this.o.maxCallMs);
    }
    this.enterIdle();
  }

  stop(): void {
    this.clear();
    if (this.maxTimer !== undefined) this.clock.clearTimeout(this.maxTimer);
    this.maxTimer = undefined;
    this.stateValue = "stopped";
  }

  callerStartedSpeaking(): void {
    if (this.stateValue === "stopped") return;
    this.clear();
    this.asked = false;
    this.owed = false;
    this.stateValue = "callerSpeaking";
  }

  callerTurnEnded(): void {
    if (this.stateValue === "stopped") return;
    this.clear();
    this.asked = false;
    this.owed = true;
    this.fillers = 0;
    this.awaitReply(this.o.fillerAfterMs);
  }

  boxStartedSpeaking(opts: { filler?: boolean } = {}): void {
    if (this.stateValue === "stopped") return;
    this.clear();
    if (!opts.filler) this.owed = false;
    this.stateValue = "boxSpeaking";
  }

  boxStoppedSpeaking(): void {
    if (this.stateValue !== "boxSpeaking") return;
    if (this.owed && this.o.fillerRepeatMs > 0) this.awaitReply(this.o.fillerRepeatMs);
    else if (this.owed)
      this.stateValue = "awaitingReply"; // one filler only: wait for the answer, no timers
    else if (this.asked) this.enterPrompted();
    else this.enterIdle();
  }

  private awaitReply(ms: number): void {
    this.stateValue = "awaitingReply";
    this.timer = this.clock.setTimeout(() => {
      this.timer = undefined;
      this.fillers++;
      this.emit("filler", this.fillers);
    }, ms);
  }

  private enterIdle(): void {
    this.stateValue = "idle";
    this.timer = this.clock.setTimeout(() => {
      this.timer = undefined;
      this.asked = true;
      this.enterPrompted();
      this.emit("areYouThere");
    }, this.o.idlePromptAfterMs);
  }

  /** Waiting for any sign of life after "are you there?"; the app's prompt playback restarts this wait. */
  private enterPrompted(): void {
    this.clear();
    this.stateValue = "prompted";
    this.timer = this.clock.setTimeout(() => {
      this.timer = undefined;
      this.stop();
      this.emit("hangup", "idle");
    }, this.o.hangupAfterMs);
  }

  private clear(): void {
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }
}
