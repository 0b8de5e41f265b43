// Barge-in: decide, frame by frame, that the caller has started talking over an interruptible prompt.
//
// How onset is found fast enough. sherpa's Silero Vad only raises isDetected() (our VadStream.speaking / the
// speechStart event) after minSpeechDuration, counted in 32 ms windows and on top of the model's own lag. With the
// turn-taking VAD at minSpeechS 0.25 that is ~300 ms after onset: far too late for a 200 ms budget. So the decision
// combines two signals:
//   1. A frame-energy pre-gate (cheap, zero lag) marks the *onset*: the first 20 ms frame of a run of frames above
//      `gateDbfs`, tolerating short dips between syllables (`maxGapMs`). The run also carries the mean energy and
//      its duration, which reject clicks (too short) and backchannels / distant talk (too quiet).
//   2. VAD confirmation rejects loud non-speech (door slam, rustle, a long noise burst): the frame must be judged
//      speech by a *second* Silero stream created with a short minSpeechS and a lower threshold (BARGE_IN_VAD
//      below). Measured on five espeak-ng utterances after 1 s of -60 dBFS noise, that stream reports speaking
//      100–190 ms after the energy onset at threshold 0.3 (minSpeechS 0.01 or 0.03 alike), but 100–210 ms at
//      threshold 0.5 — fricative starts ("Sorry", "Stop", "Fine") are the slow ones; with digital silence before the
//      speech, minSpeechS 0.05 / 0.1 added 20–50 / 100+ ms over 0.03 (sherpa counts whole 32 ms windows, and Silero
//      itself lags a window or two), so the brief's 0.05–0.1 would eat most of the 200 ms budget. The permissive
//      VAD setting is safe here because the energy run (duration + mean level) is the other half of the decision.
//      The turn-taking stream keeps its longer minSpeechS, so short noises still do not open turns. A second stream
//      costs one more small ORT session per call and doubles the per-frame VAD cost (RTF ≈ 0.008 → 0.016).
// The detector fires at the first frame where the run is ≥ minSpeechMs long, its mean energy ≥ minDbfs and the VAD
// says speech, while armed (interruptible playback in progress). The decision lands at max(minSpeechMs, VAD
// confirmation) + up to one frame: 150–200 ms of audio after onset in the tests (fricative starts are the slow end). It fires once per run (latched) and is pure: no clock, audio time only.
import { meanSquare } from "../media/pcm.ts";

/** Settings for the dedicated fast-onset Silero stream (pass to `new SileroVad({ model, ...BARGE_IN_VAD })`). */
export const BARGE_IN_VAD = { minSpeechS: 0.03, threshold: 0.3, minSilenceS: 0.2 } as const;

export interface BargeInOptions {
  /** Speech must last this long (audio ms, from energy onset) before it interrupts. Default 120. */
  minSpeechMs?: number;
  /** Mean energy of the run, dBFS (RMS re full scale), needed to interrupt. Default -38. */
  minDbfs?: number;
  /** When the VAD input is a probability: speech at or above this. Default 0.5. */
  vadThreshold?: number;
  /** Per-frame pre-gate that starts/extends a run, dBFS. Default minDbfs - 10. */
  gateDbfs?: number;
  /** Frames below the gate for longer than this end a run. Default 60 ms. */
  maxGapMs?: number;
  /** Default 16000. */
  sampleRate?: number;
}

export interface BargeInTrigger {
  /** First sample of the energy run (the onset estimate), counted from detector start/reset. */
  onsetSample: number;
  /** Sample just after the frame that triggered. */
  triggerSample: number;
  /** triggerSample - onsetSample in ms of audio. */
  delayMs: number;
  /** Mean energy of the run up to the trigger, dBFS. */
  meanDbfs: number;
}

export class BargeInDetector {
  /** True while interruptible playback is in progress; only then can push() return true. */
  armed = false;
  readonly minSpeechMs: number;
  readonly minDbfs: number;
  readonly vadThreshold: number;
  readonly gateDbfs: number;
  private readonly maxGapSamples: number;
  private readonly rate: number;

  private pos = 0;
  private runStart = -1;
  /** End of the run's last frame at or above the gate: the run's sound ends here, the gap after it is not speech. */
  private runActiveEnd = -1;
  private runEnergy = 0;
  private runSamples = 0;
  private gap = 0;
  private latched = false;
  private trigger: BargeInTrigger | undefined;

  constructor(opts: BargeInOptions = {}) {
    this.minSpeechMs = opts.minSpeechMs ?? 120;
    this.minDbfs = opts.minDbfs ?? -38;
    this.vadThreshold = opts.vadThreshold ?? 0.5;
    this.gateDbfs = opts.gateDbfs ?? this.minDbfs - 10;
    this.rate = opts.sampleRate ?? 16000;
    this.maxGapSamples = Math.round(((opts.maxGapMs ?? 60) * this.rate) / 1000);
  }

  /** The last trigger (kept until the next one or reset()). */
  get lastTrigger(): BargeInTrigger | undefined {
    return this.trigger;
  }

  /** Sample position of the current energy run's onset, or undefined outside a run. */
  get onsetSample(): number | undefined {
    return this.runStart >= 0 ? this.runStart : undefined;
  }

  /** Samples pushed since start/reset. */
  get position(): number {
    return this.pos;
  }

  /**
   * Feed one frame of caller audio with the VAD's verdict for it (probability 0..1 or a speaking flag). Returns
   * true exactly once per speech run: at the frame where it should interrupt playback.
   */
  push(frame: Int16Array, vad: number | boolean): boolean {
    const start = this.pos;
    this.pos += frame.length;
    const ms = meanSquare(frame);
    const db = ms > 0 ? 10 * Math.log10(ms) : Number.NEGATIVE_INFINITY;
    const speech = typeof vad === "boolean" ? vad : vad >= this.vadThreshold;

    if (db >= this.gateDbfs) {
      if (this.runStart < 0) {
        this.runStart = start;
        this.runEnergy = 0;
        this.runSamples = 0;
        this.latched = false;
      }
      this.gap = 0;
      this.runActiveEnd = this.pos;
    } else if (this.runStart >= 0) {
      this.gap += frame.length;
      if (this.gap > this.maxGapSamples) {
        this.runStart = -1;
        this.latched = false;
        return false;
      }
    } else {
      return false;
    }
    this.runEnergy += ms * frame.length;
    this.runSamples += frame.length;

    if (!this.armed || this.latched || !speech) return false;
    // Only the sound counts towards minSpeechMs: the frames of the tolerated gap after it would let any ~60 ms sound
    // (a click, a short "mm") that the fast VAD still calls speech reach 120 ms while it is already over.
    if (((this.runActiveEnd - this.runStart) * 1000) / this.rate < this.minSpeechMs) return false;
    const durMs = ((this.pos - this.runStart) * 1000) / this.rate;
    const mean = this.runEnergy / this.runSamples;
    const meanDbfs = mean > 0 ? 10 * Math.log10(mean) : Number.NEGATIVE_INFINITY;
    if (meanDbfs < this.minDbfs) return false;
    this.latched = true;
    this.trigger = { onsetSample: this.runStart, triggerSample: this.pos, delayMs: durMs, meanDbfs };
    return true;
  }

  /** Forget the run and restart sample counting (armed is kept). */
  reset(): void {
    this.pos = 0;
    this.runStart = -1;
    this.gap = 0;
    this.latched = false;
    this.trigger = undefined;
  }
}
