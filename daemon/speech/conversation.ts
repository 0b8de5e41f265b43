// SpeechChannel: one call's turn-taking. Wires the call's MediaSession (caller audio in, prompts out) to the shared
// VAD (and optional ASR) and to the TTS / PromptCache:
//   - every 20 ms caller frame runs, synchronously on the main thread, through the turn VAD stream, the fast-onset
//     barge-in VAD stream and the BargeInDetector (together well under 1 ms per frame), then the TurnEndpointer;
//   - say() plays sentence by sentence (the first sentence plays while the rest is synthesized) and, when the prompt
//     is interruptible, is cut off by barge-in: stopPlayback() is called inside the very frame handler that decided;
//   - events: speechStarted, turn (merged segments + ASR text), bargeIn (measured delay).
// Audio time (samples received) drives endpointing and the barge-in onset; wall time only measures processing.
import { resampleBuffer } from "../media/resample.ts";
import { EventEmitter } from "node:events";
import type { MediaSession } from "../media/types.ts";
import { BargeInDetector, type BargeInOptions } from "./barge-in.ts";
import type { DeadAirMonitor } from "./dead-air.ts";
import { type EndpointMode, type Turn, TurnEndpointer, type TurnEndpointerOptions } from "./endpointing.ts";
import { AudioHistory } from "./audio-history.ts";
import { Lock } from "./lock.ts";
import { OnsetRefiner } from "./onset-refiner.ts";
import { concatInt16 } from "../media/pcm.ts";
import type { PromptCache } from "./prompt-cache.ts";
import type { Asr, AsrResult, Denoiser, DenoiserStream, StreamingAsrStream, Tts, Vad, VadStream } from "./types.ts";

const RATE = 16000;
/** Caller audio kept for recognizer context: turns up to ~10 s get their real surroundings. */
const HISTORY_S = 12;

export interface SpeechChannelOptions {
  media: MediaSession;
  /** Turn segmentation VAD (shared engine; this channel creates its own stream). */
  vad: Vad;
  /** Fast-onset VAD for barge-in (e.g. SileroVad with BARGE_IN_VAD). Without it the turn VAD's flag is used, which
   * is only as fast as that VAD's minSpeechS. */
  bargeInVad?: Vad;
  asr?: Asr;
  /** Optional denoiser in front of VAD and ASR (barge-in energy is measured on the raw frame). */
  denoiser?: Denoiser;
  tts: Tts;
  cache?: PromptCache;
  /** Default voice for say(). */
  voice: string;
  bargeIn?: BargeInOptions;
  endpointing?: TurnEndpointerOptions;
  /** Fed with caller/box speaking events when given. */
  deadAir?: DeadAirMonitor;
  /** The call's signal (CallSession.signal): aborts playback and stops the channel. */
  signal?: AbortSignal;
  /** Wall clock for processing-time measurement (ms). Default performance.now. */
  now?: () => number;
}

export interface SayOptions {
  /** Barge-in may cut this prompt off. Default true; false for legal notices and consent. */
  interruptible?: boolean;
  voice?: string;
  /** Static prompt: take it from the PromptCache (synthesized once, then no synthesis delay). */
  cached?: boolean;
  /** A filler / hold phrase: does not count as the box's answer for dead-air handling. */
  filler?: boolean;
  signal?: AbortSignal;
}

export interface SayResult {
  outcome: "done" | "interrupted" | "aborted" | "failed";
  playedMs: number;
  /** Onset → stopPlayback() call: audio ms counted in frames + processing ms of the deciding frame. */
  bargeInDelayMs?: number;
  error?: string;
}

export interface BargeInInfo {
  /** audioDelayMs + processingMs. */
  delayMs: number;
  /** Onset (first frame of the energy run) to the end of the frame that decided, in audio ms (frame counting). */
  audioDelayMs: number;
  /** Wall time from the deciding frame's arrival to the stopPlayback() call. */
  processingMs: number;
  onsetMs: number;
  triggerMs: number;
  meanDbfs: number;
}

export interface CallerTurn extends Turn {
  /** All segments of the turn concatenated (16 kHz). */
  pcm: Int16Array;
  /** ASR text, when an ASR is configured and succeeded. */
  text?: string;
  /** The whole recognizer result (tokens, timestamps, confidence when the engine gives them). */
  asr?: AsrResult;
  /** Wall time of the recognition of this turn (offline recognizers), ms. */
  asrMs?: number;
  asrError?: string;
}

export interface SpeechChannelEvents {
  /** The turn VAD confirmed caller speech; timeMs is the estimated start (audio time). */
  speechStarted: [info: { timeMs: number }];
  turn: [turn: CallerTurn];
  bargeIn: [info: BargeInInfo];
}

interface Playing {
  ac: AbortController;
  interruptible: boolean;
  bargeIn?: BargeInInfo;
}

export class SpeechChannel extends EventEmitter<SpeechChannelEvents> {
  readonly endpointer: TurnEndpointer;
  readonly detector: BargeInDetector;
  private readonly o: SpeechChannelOptions;
  private readonly now: () => number;
  private readonly turnVad: VadStream;
  private readonly fastVad: VadStream | undefined;
  /** Turn starts from the fast VAD's onset (needs the fast VAD). */
  private readonly onsets: OnsetRefiner | undefined;
  private readonly denoiser: DenoiserStream | undefined;
  private streamingAsr: StreamingAsrStream | undefined;
  /** Recent caller audio for a recognizer that wants context around a turn. */
  private readonly history: AudioHistory | undefined;
  private readonly sayLock = new Lock();
  private samples = 0;
  private playing: Playing | undefined;
  private started = false;
  private stopped = false;
  private readonly onAudio = (frame: Int16Array) => this.frame(frame);
  private readonly onAbort = () => this.stop();

  constructor(opts: SpeechChannelOptions) {
    super();
    this.o = opts;
    this.now = opts.now ?? (() => performance.now());
    this.turnVad = opts.vad.createStream();
    this.fastVad = opts.bargeInVad?.createStream();
    if (this.fastVad) this.onsets = new OnsetRefiner();
    this.denoiser = opts.denoiser?.createStream();
    this.detector = new BargeInDetector(opts.bargeIn);
    this.endpointer = new TurnEndpointer(opts.endpointing);
    if (opts.asr?.kind === "streaming") this.streamingAsr = opts.asr.createStream();
    // Command-length turns get their real surroundings; longer ones fall back to the segments (+ silence).
    if (opts.asr?.kind === "offline" && (opts.asr.contextMs ?? 0) > 0) this.history = new AudioHistory(HISTORY_S);
  }

  /** Audio time of the caller stream, ms. */
  get positionMs(): number {
    return (this.samples * 1000) / RATE;
  }

  setMode(mode: EndpointMode): void {
    this.endpointer.setMode(mode);
  }

  /** Start listening. A channel runs once: after stop() its streams belong to the next call. */
  start(): void {
    if (this.started || this.stopped) return;
    this.started = true;
    this.o.media.on("audio", this.onAudio);
    this.o.media.listen(true);
    this.o.signal?.addEventListener("abort", this.onAbort, { once: true });
    if (this.o.signal?.aborted) this.stop();
  }

  stop(): void {
    if (!this.started) return;
    this.started = false;
    this.stopped = true;
    this.o.media.off("audio", this.onAudio);
    this.o.media.listen(false);
    this.o.signal?.removeEventListener("abort", this.onAbort);
    this.playing?.ac.abort();
    for (const e of this.turnVad.flush()) this.endpointer.push(e, this.positionMs);
    const turn = this.endpointer.flush(this.positionMs);
    if (turn) this.deliver(turn);
    // Final: the VAD streams go back to the engine's pool for the next call.
    this.turnVad.release();
    this.fastVad?.release();
  }

  /** Speak text; resolves when it was played, cut off by barge-in, or aborted. One say() at a time (FIFO). */
  async say(text: string, opts: SayOptions = {}): Promise<SayResult> {
    const release = await this.sayLock.acquire();
    const ac = new AbortController();
    const abort = () => ac.abort();
    const signals = [this.o.signal, opts.signal].filter((s): s is AbortSignal => s !== undefined);
    for (const s of signals) {
      if (s.aborted) ac.abort();
      else s.addEventListener("abort", abort, { once: true });
    }
    const playing: Playing = { ac, interruptible: opts.interruptible ?? true };
    this.playing = playing;
    this.detector.armed = playing.interruptible;
    this.o.deadAir?.boxStartedSpeaking({ filler: opts.filler });
    let playedMs = 0;
    try {
      const voice = opts.voice ?? this.o.voice;
      const source =
        opts.cached && this.o.cache
          ? once(this.o.cache.get(voice, text))
          : sentences(this.o.tts, text, voice, ac.signal);
      for await (const pcm of prefetch(source)) {
        if (ac.signal.aborted) break;
        const r = await this.o.media.play({ pcm, sampleRate: RATE }, { signal: ac.signal });
        playedMs += r.playedMs;
        if (r.outcome === "failed") return { outcome: "failed", playedMs, error: r.error };
        if (r.outcome === "aborted") break;
      }
    } catch (e) {
      if (!ac.signal.aborted) return { outcome: "failed", playedMs, error: (e as Error).message };
    } finally {
      this.detector.armed = false;
      if (this.playing === playing) this.playing = undefined;
      for (const s of signals) s.removeEventListener("abort", abort);
      this.o.deadAir?.boxStoppedSpeaking();
      release();
    }
    if (playing.bargeIn) return { outcome: "interrupted", playedMs, bargeInDelayMs: playing.bargeIn.delayMs };
    if (ac.signal.aborted) return { outcome: "aborted", playedMs };
    return { outcome: "done", playedMs };
  }

  /** One caller frame. Synchronous: the barge-in decision and stopPlayback() happen before this returns. */
  private frame(frame: Int16Array): void {
    const t0 = this.now();
    this.samples += frame.length;
    // The denoiser delays its output by one model hop (16 ms for GTCRN): VAD times lag audio time by that much.
    const clean = this.denoiser ? this.denoiser.process(frame) : frame;
    const events = this.turnVad.push(clean);
    const fastEvents = this.fastVad?.push(clean) ?? [];
    this.onsets?.push(clean, fastEvents, events);
    const fastSpeaking = (this.fastVad ?? this.turnVad).speaking;
    this.streamingAsr?.accept(clean);
    this.history?.push(clean);

    if (this.detector.push(frame, fastSpeaking)) this.bargeIn(t0);

    const nowMs = this.positionMs;
    for (const e of events) {
      if (e.type === "speechStart") {
        this.o.deadAir?.callerStartedSpeaking();
        this.emit("speechStarted", { timeMs: e.timeMs });
      }
      const turn = this.endpointer.push(e.type === "speechEnd" && this.onsets ? this.onsets.refine(e) : e, nowMs);
      if (turn) this.deliver(turn);
    }
    const turn = this.endpointer.tick(nowMs, this.fastVad !== undefined && fastSpeaking);
    if (turn) this.deliver(turn);
  }

  private bargeIn(frameArrival: number): void {
    const p = this.playing;
    const trig = this.detector.lastTrigger;
    if (!p?.interruptible || !trig || p.ac.signal.aborted) return;
    const processingMs = this.now() - frameArrival;
    this.o.media.stopPlayback();
    p.ac.abort(); // also stops synthesis of the remaining sentences
    const audioDelayMs = ((trig.triggerSample - trig.onsetSample) * 1000) / RATE;
    p.bargeIn = {
      delayMs: audioDelayMs + processingMs,
      audioDelayMs,
      processingMs,
      onsetMs: (trig.onsetSample * 1000) / RATE,
      triggerMs: (trig.triggerSample * 1000) / RATE,
      meanDbfs: trig.meanDbfs,
    };
    this.emit("bargeIn", p.bargeIn);
  }

  private deliver(turn: Turn): void {
    this.o.deadAir?.callerTurnEnded();
    const pcm = concatInt16(turn.segments.map((s) => s.pcm));
    const asr = this.o.asr;
    if (!asr) {
      this.emit("turn", { ...turn, pcm });
      return;
    }
    if (asr.kind === "streaming") {
      const r = this.streamingAsr?.final();
      this.emit("turn", { ...turn, pcm, text: r?.text, asr: r });
      return;
    }
    const ctx = asr.contextMs ?? 0;
    // The whole turn with its pauses and the line's own audio around it, when still in the history.
    const around = this.history?.slice(turn.startMs - ctx, turn.endMs + ctx);
    const t0 = performance.now();
    asr.recognize(around ?? pcm, { withContext: around !== undefined }).then(
      (r) => this.emit("turn", { ...turn, pcm, text: r.text, asr: r, asrMs: performance.now() - t0 }),
      (e: unknown) => this.emit("turn", { ...turn, pcm, asrError: (e as Error).message }),
    );
  }
}

async function* once(p: Promise<Int16Array>): AsyncGenerator<Int16Array> {
  yield await p;
}

async function* sentences(tts: Tts, text: string, voice: string, signal: AbortSignal): AsyncGenerator<Int16Array> {
  for await (const c of tts.synthesize(text, { voice, signal })) {
    yield c.sampleRate === RATE ? c.pcm : resampleBuffer(c.pcm, c.sampleRate, RATE);
  }
}

/**
 * Pull a source eagerly into a queue: the next sentence is synthesized while the current one plays. When the
 * consumer stops early, the producer finishes on its own (the TTS sees the aborted signal).
 */
async function* prefetch<T>(src: AsyncIterable<T>): AsyncGenerator<T> {
  const queue: T[] = [];
  let done = false;
  let failed: { error: unknown } | undefined;
  let wake: (() => void) | undefined;
  void (async () => {
    try {
      for await (const x of src) {
        queue.push(x);
        wake?.();
      }
    } catch (error) {
      failed = { error };
    } finally {
      done = true;
      wake?.();
    }
  })();
  for (;;) {
    const next = queue.shift();
    if (next !== undefined) {
      yield next;
      continue;
    }
    if (failed) throw failed.error;
    if (done) return;
    await new Promise<void>((r) => {
      wake = r;
    });
    wake = undefined;
  }
}
