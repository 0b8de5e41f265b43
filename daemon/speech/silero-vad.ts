// Silero VAD v5 through sherpa-onnx-node. sherpa's Vad object is stateful (model state + ring buffer), so the
// shared engine holds the checked config and each call's stream owns one native Vad (its own ORT session of the
// 2.3 MB model; see bench/speech-engines.ts for RSS per stream).
// Silero in sherpa runs at 16 kHz only: another rate makes the native code exit the process, so the rate is fixed
// here and other input rates are resampled per stream with sherpa's LinearResampler.
import { checkOnnx, checkSileroSampleRate } from "./model-files.ts";
import { int16ToFloat32 } from "../media/pcm.ts";
import { type SherpaLinearResampler, type SherpaVad, type SherpaVadConfig, sherpa } from "./sherpa-api.ts";
import type { Vad, VadEvent, VadStream } from "./types.ts";

export interface SileroVadOptions {
  model: string;
  /** Speech probability threshold (0..1). */
  threshold?: number;
  /** Shorter speech bursts are ignored, seconds. */
  minSpeechS?: number;
  /** Silence that ends a segment, seconds. */
  minSilenceS?: number;
  /** Longer segments are split, seconds. */
  maxSpeechS?: number;
  /** Rate of the PCM pushed into streams; anything but 16000 is resampled. */
  inputSampleRate?: number;
  /** Released streams kept for reuse (each holds its own ORT session, ~9 MB). Default 16. */
  maxIdleStreams?: number;
}

const RATE = 16000;
const WINDOW = 512; // Silero v5 at 16 kHz takes 512-sample windows (32 ms)

export class SileroVad implements Vad {
  readonly sampleRate = RATE;
  private readonly config: SherpaVadConfig;
  private readonly inputRate: number;
  private readonly bufferS: number;
  private readonly maxIdle: number;
  /** Reset streams ready for the next call: creating one costs 150–400 ms of main-thread time (ORT session). */
  private readonly idle: SileroVadStream[] = [];
  private warming = false;

  constructor(opts: SileroVadOptions) {
    checkSileroSampleRate(RATE);
    checkOnnx(opts.model);
    this.inputRate = opts.inputSampleRate ?? RATE;
    this.maxIdle = opts.maxIdleStreams ?? 16;
    if (!Number.isInteger(this.inputRate) || this.inputRate < 8000 || this.inputRate > 48000) {
      throw new RangeError(`inputSampleRate ${this.inputRate} not supported`);
    }
    const maxSpeech = opts.maxSpeechS ?? 20;
    this.bufferS = Math.ceil(maxSpeech + 10);
    this.config = {
      sileroVad: {
        model: opts.model,
        threshold: opts.threshold ?? 0.5,
        minSilenceDuration: opts.minSilenceS ?? 0.5,
        minSpeechDuration: opts.minSpeechS ?? 0.25,
        maxSpeechDuration: maxSpeech,
        windowSize: WINDOW,
      },
      sampleRate: RATE,
      numThreads: 1,
      provider: "cpu",
      debug: 0,
    };
  }

  createStream(): VadStream {
    return this.idle.pop() ?? this.newStream();
  }

  /** Streams ready for reuse (for tests and metrics). */
  get idleStreams(): number {
    return this.idle.length;
  }

  /**
   * Keep `spare` streams ready, created one per event-loop turn in the background, so answering a call never waits
   * for an ORT session and no single stall is longer than one creation.
   */
  prewarm(spare: number): void {
    if (this.warming) return;
    this.warming = true;
    const step = () => {
      if (this.idle.length >= Math.min(spare, this.maxIdle)) {
        this.warming = false;
        return;
      }
      this.idle.push(this.newStream());
      setTimeout(step, 0).unref();
    };
    setTimeout(step, 0).unref();
  }

  private newStream(): SileroVadStream {
    const resampler = this.inputRate === RATE ? undefined : new (sherpa().LinearResampler)(this.inputRate, RATE);
    const minSilence = Math.round(this.config.sileroVad.minSilenceDuration * RATE);
    // sherpa ends a segment at Tail - minSilence, where Tail is the end of the window in which the silence count
    // reached minSilence (rounded up to whole windows) and the count began after the first non-speech window. Both
    // are bookkeeping, not speech: trimming them brings the end from about +110 ms to about +60 ms of the true end
    // (measured with espeak-ng speech, silero-vad.test.ts).
    const endTrim = Math.ceil(minSilence / WINDOW) * WINDOW - minSilence + WINDOW;
    return new SileroVadStream(
      new (sherpa().Vad)(this.config, this.bufferS),
      Math.round(this.config.sileroVad.minSpeechDuration * RATE),
      endTrim,
      resampler,
      (s) => {
        s.reset();
        if (this.idle.length < this.maxIdle && !this.idle.includes(s)) this.idle.push(s);
      },
    );
  }
}

class SileroVadStream implements VadStream {
  /** Samples not yet fed because they do not fill a window. */
  private pending = new Float32Array(WINDOW);
  private pendingLen = 0;
  /** Samples fed to the native VAD since start/reset. */
  private fed = 0;
  private inSpeech = false;

  constructor(
    private readonly vad: SherpaVad,
    private readonly minSpeechSamples: number,
    private readonly endTrim: number,
    private readonly resampler: SherpaLinearResampler | undefined,
    private readonly onRelease: (s: SileroVadStream) => void,
  ) {}

  release(): void {
    this.onRelease(this);
  }

  get speaking(): boolean {
    return this.inSpeech;
  }

  push(frame: Int16Array): VadEvent[] {
    let x = int16ToFloat32(frame);
    if (this.resampler) x = this.resampler.resample(x);
    const events: VadEvent[] = [];
    let i = 0;
    while (i < x.length) {
      const n = Math.min(WINDOW - this.pendingLen, x.length - i);
      this.pending.set(x.subarray(i, i + n), this.pendingLen);
      this.pendingLen += n;
      i += n;
      if (this.pendingLen === WINDOW) {
        // acceptWaveform copies the samples, so the window buffer can be reused.
        this.vad.acceptWaveform(this.pending);
        this.fed += WINDOW;
        this.pendingLen = 0;
        this.collect(events);
      }
    }
    return events;
  }

  flush(): VadEvent[] {
    const events: VadEvent[] = [];
    if (this.pendingLen > 0) {
      // Zero-pad the tail to a whole window rather than drop it.
      this.pending.fill(0, this.pendingLen);
      this.vad.acceptWaveform(this.pending);
      this.fed += WINDOW;
      this.pendingLen = 0;
    }
    this.vad.flush();
    this.collect(events);
    this.inSpeech = false;
    return events;
  }

  reset(): void {
    this.vad.reset();
    this.resampler?.reset();
    this.pendingLen = 0;
    this.fed = 0;
    this.inSpeech = false;
  }

  private collect(events: VadEvent[]): void {
    const detected = this.vad.isDetected();
    if (detected && !this.inSpeech) {
      // sherpa places a segment start 2 windows + minSpeech before the window that confirmed speech; mirror it so
      // the early estimate matches the exact start that comes with speechEnd.
      const sample = Math.max(0, this.fed - 2 * WINDOW - this.minSpeechSamples);
      events.push({ type: "speechStart", sample, timeMs: (sample / RATE) * 1000 });
      this.inSpeech = true;
    }
    let lastEnd = -1;
    while (!this.vad.isEmpty()) {
      // false: copy out of the native buffer, which pop() releases.
      const seg = this.vad.front(false);
      this.vad.pop();
      const kept = seg.samples.subarray(0, Math.max(1, seg.samples.length - this.endTrim));
      const samples = kept.subarray(0, quietTailStart(kept));
      const pcm = new Int16Array(samples.length);
      for (let j = 0; j < samples.length; j++) {
        const v = Math.round(samples[j] * 32768);
        pcm[j] = v > 32767 ? 32767 : Math.max(v, -32768);
      }
      const endSample = seg.start + samples.length;
      events.push({
        type: "speechEnd",
        startSample: seg.start,
        endSample,
        startMs: (seg.start / RATE) * 1000,
        endMs: (endSample / RATE) * 1000,
        samples,
        pcm,
      });
      lastEnd = endSample;
    }
    // A segment cut at maxSpeech while speech goes on: the rest is a new segment, announce it.
    if (lastEnd >= 0 && detected)
      events.push({ type: "speechStart", sample: lastEnd, timeMs: (lastEnd / RATE) * 1000 });
    this.inSpeech = detected;
  }
}

const BLOCK = 160; // 10 ms
const MAX_TAIL_BLOCKS = 15;
const TAIL_REL = 10 ** (-35 / 20);
const TAIL_FLOOR = 10 ** (-55 / 20);

/**
 * Silero keeps saying "speech" for one to four 32 ms windows after speech stops, depending on where its windows fall
 * (measured over real calls: ends +10 to +130 ms late). Cut the trailing 10 ms blocks that are 35 dB below the
 * segment's loudest block (at most 150 ms), so the end does not depend on the window phase.
 */
function quietTailStart(x: Float32Array): number {
  const blocks = Math.floor(x.length / BLOCK);
  if (blocks < 2) return x.length;
  const rms = new Float64Array(blocks);
  let peak = 0;
  for (let b = 0; b < blocks; b++) {
    let e = 0;
    for (let i = b * BLOCK; i < (b + 1) * BLOCK; i++) e += x[i] * x[i];
    rms[b] = Math.sqrt(e / BLOCK);
    if (rms[b] > peak) peak = rms[b];
  }
  const threshold = Math.max(peak * TAIL_REL, TAIL_FLOOR);
  let end = blocks;
  while (end > 1 && blocks - end < MAX_TAIL_BLOCKS && rms[end - 1] < threshold) end--;
  return end === blocks ? x.length : end * BLOCK;
}
