// The parts of sherpa-onnx-node (CommonJS, untyped) that the speech engines use, typed narrowly. The addon is
// loaded lazily so that importing a speech module does not load native code (tests of pure code, CLI startup).
import { createRequire } from "node:module";

export interface SherpaGeneratedAudio {
  samples: Float32Array;
  sampleRate: number;
}

export interface SherpaSpeechSegment {
  start: number;
  samples: Float32Array;
}

export interface SherpaVadConfig {
  sileroVad: {
    model: string;
    threshold: number;
    minSilenceDuration: number;
    minSpeechDuration: number;
    maxSpeechDuration: number;
    windowSize: number;
  };
  sampleRate: 16000;
  numThreads: number;
  provider: "cpu";
  debug: 0 | 1;
}

export interface SherpaVad {
  acceptWaveform(samples: Float32Array): void;
  isEmpty(): boolean;
  isDetected(): boolean;
  pop(): void;
  front(enableExternalBuffer?: boolean): SherpaSpeechSegment;
  reset(): void;
  flush(): void;
}

export interface SherpaOnlineDenoiser {
  readonly sampleRate: number;
  readonly frameShiftInSamples: number;
  run(req: { samples: Float32Array; sampleRate: number; enableExternalBuffer?: boolean }): SherpaGeneratedAudio;
  flush(enableExternalBuffer?: boolean): SherpaGeneratedAudio;
  reset(): void;
}

export interface SherpaOnlineDenoiserConfig {
  model: { gtcrn: { model: string }; numThreads: number; provider: "cpu"; debug: 0 | 1 };
}

export interface SherpaTtsVitsConfig {
  model: string;
  tokens: string;
  dataDir?: string;
  lexicon?: string;
  noiseScale?: number;
  noiseScaleW?: number;
  lengthScale?: number;
}

export interface SherpaTtsMatchaConfig {
  acousticModel: string;
  vocoder: string;
  tokens: string;
  dataDir?: string;
  lexicon?: string;
  noiseScale?: number;
  lengthScale?: number;
}

export interface SherpaTtsKokoroConfig {
  model: string;
  voices: string;
  tokens: string;
  dataDir?: string;
  lexicon?: string;
  lang?: string;
  lengthScale?: number;
}

export interface SherpaOfflineTtsConfig {
  model: {
    vits?: SherpaTtsVitsConfig;
    matcha?: SherpaTtsMatchaConfig;
    kokoro?: SherpaTtsKokoroConfig;
    numThreads: number;
    provider: "cpu";
    debug: 0 | 1;
  };
  /** Sentences per generate() batch; we split ourselves, so 1. */
  maxNumSentences: number;
}

export interface SherpaOfflineTts {
  readonly sampleRate: number;
  readonly numSpeakers: number;
  generate(req: { text: string; sid: number; speed: number; enableExternalBuffer?: boolean }): SherpaGeneratedAudio;
  /** Runs in a worker thread; onProgress returning 0 stops generation. */
  generateAsync(req: {
    text: string;
    sid: number;
    speed: number;
    enableExternalBuffer?: boolean;
    onProgress?: (info: { samples: Float32Array; progress: number }) => number;
  }): Promise<SherpaGeneratedAudio>;
}

export interface SherpaOnlineModelConfig {
  transducer?: { encoder: string; decoder: string; joiner: string };
  zipformer2Ctc?: { model: string };
  nemoCtc?: { model: string };
  paraformer?: { encoder: string; decoder: string };
  tokens: string;
  numThreads: number;
  provider: "cpu";
  debug: 0 | 1;
  modelType?: string;
  modelingUnit?: string;
  bpeVocab?: string;
}

export interface SherpaOnlineRecognizerConfig {
  featConfig: { sampleRate: number; featureDim: number };
  modelConfig: SherpaOnlineModelConfig;
  decodingMethod: "greedy_search" | "modified_beam_search";
  maxActivePaths?: number;
  enableEndpoint: 0 | 1;
  rule1MinTrailingSilence: number;
  rule2MinTrailingSilence: number;
  rule3MinUtteranceLength: number;
  hotwordsFile?: string;
  hotwordsScore?: number;
}

export interface SherpaOnlineResult {
  text: string;
  tokens?: string[];
  timestamps?: number[];
  ys_probs?: number[];
}

export interface SherpaOnlineStream {
  acceptWaveform(w: { samples: Float32Array; sampleRate: number }): void;
  inputFinished(): void;
}

export interface SherpaOnlineRecognizer {
  createStream(): SherpaOnlineStream;
  isReady(s: SherpaOnlineStream): boolean;
  decode(s: SherpaOnlineStream): void;
  isEndpoint(s: SherpaOnlineStream): boolean;
  reset(s: SherpaOnlineStream): void;
  getResult(s: SherpaOnlineStream): SherpaOnlineResult;
}

export interface SherpaOfflineModelConfig {
  transducer?: { encoder: string; decoder: string; joiner: string };
  whisper?: { encoder: string; decoder: string; language?: string; task?: string; tailPaddings?: number };
  senseVoice?: { model: string; language?: string; useInverseTextNormalization?: number };
  moonshine?: { preprocessor: string; encoder: string; uncachedDecoder: string; cachedDecoder: string };
  nemoCtc?: { model: string };
  tokens: string;
  numThreads: number;
  provider: "cpu";
  debug: 0 | 1;
  modelingUnit?: string;
  bpeVocab?: string;
}

export interface SherpaOfflineRecognizerConfig {
  featConfig: { sampleRate: number; featureDim: number };
  modelConfig: SherpaOfflineModelConfig;
  decodingMethod?: "greedy_search" | "modified_beam_search";
  maxActivePaths?: number;
  hotwordsFile?: string;
  hotwordsScore?: number;
}

export interface SherpaOfflineResult {
  text: string;
  lang?: string;
  tokens?: string[];
  timestamps?: number[];
  ys_log_probs?: number[];
}

export interface SherpaOfflineStream {
  acceptWaveform(w: { samples: Float32Array; sampleRate: number }): void;
}

export interface SherpaOfflineRecognizer {
  /** hotwords: per-stream biasing, transducer + modified_beam_search only. */
  createStream(hotwords?: string): SherpaOfflineStream;
  decodeAsync(s: SherpaOfflineStream): Promise<SherpaOfflineResult>;
}

export interface SherpaLinearResampler {
  resample(samples: Float32Array): Float32Array;
  flush(samples: Float32Array): Float32Array;
  reset(): void;
}

export interface SherpaModule {
  Vad: new (config: SherpaVadConfig, bufferSizeInSeconds: number) => SherpaVad;
  OnlineSpeechDenoiser: new (config: SherpaOnlineDenoiserConfig) => SherpaOnlineDenoiser;
  OfflineTts: new (config: SherpaOfflineTtsConfig) => SherpaOfflineTts;
  OnlineRecognizer: new (config: SherpaOnlineRecognizerConfig) => SherpaOnlineRecognizer;
  OfflineRecognizer: new (config: SherpaOfflineRecognizerConfig) => SherpaOfflineRecognizer;
  LinearResampler: new (inputRate: number, outputRate: number) => SherpaLinearResampler;
}

let cached: SherpaModule | undefined;

export function sherpa(): SherpaModule {
  cached ??= createRequire(import.meta.url)("sherpa-onnx-node") as SherpaModule;
  return cached;
}
