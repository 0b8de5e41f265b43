// Speech engine interfaces. An engine is created once at startup and shared by every call; a call only holds the
// streams it creates. All audio crossing these interfaces is mono PCM16 at 16 kHz (see media/types.ts) unless a
// result says otherwise with its own sampleRate.

/** A model could not be loaded. Raised by the file pre-checks, before any native code sees a bad file. */
export class EngineLoadError extends Error {
  override readonly name: string = "EngineLoadError";
  constructor(
    /** The file or directory that failed. */
    readonly modelPath: string,
    /** Human-readable reason ("missing", "empty", "not an ONNX protobuf", ...). */
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`${modelPath}: ${reason}`, options);
  }
}

// ---------------------------------------------------------------------------------------------------------- VAD

export type VadEvent =
  | {
      type: "speechStart";
      /** Estimated first speech sample, counted from stream start (exact start comes with speechEnd). */
      sample: number;
      timeMs: number;
    }
  | {
      type: "speechEnd";
      startSample: number;
      endSample: number;
      startMs: number;
      endMs: number;
      /** The segment, 16 kHz, as float [-1, 1] (what sherpa ASR wants) and as PCM16. */
      samples: Float32Array;
      pcm: Int16Array;
    };

export interface VadStream {
  /** Feed one frame (any length, usually 320 samples) of 16 kHz PCM16; returns the events it completed. */
  push(frame: Int16Array): VadEvent[];
  /** End of input: closes an open segment. */
  flush(): VadEvent[];
  /** Forget all state (new utterance context); sample counting restarts at 0. */
  reset(): void;
  /** True while inside speech. */
  readonly speaking: boolean;
  /** Hand the stream back to its engine for reuse by a later call; it must not be used afterwards. */
  release(): void;
}

export interface Vad {
  readonly sampleRate: 16000;
  createStream(): VadStream;
}

// ---------------------------------------------------------------------------------------------------- Denoiser

export interface DenoiserStream {
  /** Denoise a frame; output lags input by the model's frame shift, so lengths differ per call. */
  process(frame: Int16Array): Int16Array;
  /** Drain what the model still holds. */
  flush(): Int16Array;
  reset(): void;
}

export interface Denoiser {
  readonly sampleRate: 16000;
  createStream(): DenoiserStream;
}

// --------------------------------------------------------------------------------------------------------- TTS

export interface TtsVoice {
  /** Stable id used in flows, e.g. "de-DE" (Pico) or "piper:de_DE-thorsten-low". */
  id: string;
  /** BCP-47 language, e.g. "de-DE". */
  language: string;
  sampleRate: number;
}

export interface TtsChunk {
  pcm: Int16Array;
  sampleRate: number;
  /** The sentence this audio speaks. */
  text: string;
}

export interface TtsOptions {
  voice: string;
  /** Abort between (and, for Pico, inside) sentences: barge-in or hangup. */
  signal?: AbortSignal;
}

export interface Tts {
  readonly voices: readonly TtsVoice[];
  /** Sentence-by-sentence audio; the first chunk arrives before later sentences are synthesized. */
  synthesize(text: string, opts: TtsOptions): AsyncIterable<TtsChunk>;
}

// --------------------------------------------------------------------------------------------------------- ASR

export interface AsrResult {
  text: string;
  /** 0..1 when the engine gives per-token probabilities. */
  confidence?: number;
  tokens?: string[];
  /** Token start times, seconds from segment/stream start. */
  timestamps?: number[];
  /** Language when the model detects it (Whisper, SenseVoice). */
  language?: string;
}

export interface AsrStreamOptions {
  /** Phrase hints. Only used where the engine supports biasing (see supportsHotwords). */
  hotwords?: string[];
}

export interface StreamingAsrStream {
  /** Feed one 16 kHz PCM16 frame and decode what is ready. */
  accept(frame: Int16Array): void;
  /** Current hypothesis of the ongoing utterance. */
  partial(): string;
  /** The recognizer's endpoint rules fired (trailing silence / max utterance). */
  isEndpoint(): boolean;
  /** Result of the current utterance; resets the stream for the next one. */
  final(): AsrResult;
}

export interface StreamingAsr {
  readonly kind: "streaming";
  readonly supportsHotwords: boolean;
  createStream(opts?: AsrStreamOptions): StreamingAsrStream;
}

export interface OfflineAsr {
  readonly kind: "offline";
  readonly supportsHotwords: boolean;
  /**
   * Audio the model wants around a segment, ms (each side). Callers that have the real audio around it pass it
   * and set `withContext`; otherwise the recognizer pads with silence itself.
   */
  readonly contextMs?: number;
  /** Recognize one VAD segment (16 kHz). */
  recognize(
    segment: Float32Array | Int16Array,
    opts?: AsrStreamOptions & { withContext?: boolean },
  ): Promise<AsrResult>;
}

export type Asr = StreamingAsr | OfflineAsr;
