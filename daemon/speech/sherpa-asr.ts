// Speech recognition through sherpa-onnx-node, from model bundles.
// - Streaming (OnlineRecognizer): transducer, Zipformer2 CTC and NeMo CTC; partial results and endpointing.
// - Offline (OfflineRecognizer) on VAD segments: Whisper, SenseVoice, Moonshine, NeMo CTC, transducer.
// One recognizer per bundle is shared by all calls; a call holds only its stream.
//
// Hotwords: sherpa-onnx-node 1.13.8 only takes per-stream hotwords for OFFLINE streams (createStream(hotwords)),
// and only transducers decoded with modified_beam_search use them. Its createOnlineStream takes no hotwords, so a
// streaming engine can only bias towards a fixed list from the bundle (hotwordsFile, recognizer-wide); per-call
// hints on a streaming stream are ignored and reported through onUnsupported.
//
// Every file is pre-checked: a corrupt .onnx aborts the process inside sherpa (see model-files.ts).
import { isAbsolute, join } from "node:path";
import { checkFile, checkOnnx, readTokens } from "./model-files.ts";
import { int16ToFloat32 } from "../media/pcm.ts";
import {
  type SherpaModule,
  type SherpaOfflineRecognizer,
  type SherpaOfflineRecognizerConfig,
  type SherpaOnlineRecognizer,
  type SherpaOnlineRecognizerConfig,
  type SherpaOnlineStream,
  sherpa,
} from "./sherpa-api.ts";
import {
  type AsrResult,
  type AsrStreamOptions,
  EngineLoadError,
  type OfflineAsr,
  type StreamingAsr,
  type StreamingAsrStream,
} from "./types.ts";

interface Common {
  /** Bundle directory; relative file names resolve against it. */
  dir: string;
  tokens: string;
  /** "bpe" | "cjkchar" | "cjkchar+bpe": lets hotwords be given as words instead of token sequences. */
  modelingUnit?: string;
  bpeVocab?: string;
  /**
   * Words the model emits that are not words for the caller, dropped from text and tokens (with their timestamps):
   * the command recognizer's "other" (any non-command speech).
   */
  ignoreWords?: string[];
  /**
   * Audio wanted around each offline segment, ms: the call's own audio when the caller has it (SpeechChannel),
   * else silence. A model trained on utterances with noise around them (the command recognizer) drops the first
   * or only word of a VAD-trimmed segment without it (measured: "ja", "zwei", "nein danke" -> nothing at 0 ms,
   * right with 200 ms of silence).
   */
  padMs?: number;
}

export type StreamingAsrBundle = Common & { kind: "streaming" } & (
    | { type: "transducer"; encoder: string; decoder: string; joiner: string; hotwordsFile?: string }
    | { type: "zipformer2-ctc"; model: string }
    | { type: "nemo-ctc"; model: string }
  );

export type OfflineAsrBundle = Common & { kind: "offline" } & (
    | { type: "whisper"; encoder: string; decoder: string; language?: string; task?: "transcribe" | "translate" }
    | { type: "sensevoice"; model: string; language?: string; inverseTextNormalization?: boolean }
    | { type: "moonshine"; preprocessor: string; encoder: string; uncachedDecoder: string; cachedDecoder: string }
    | { type: "nemo-ctc"; model: string }
    | { type: "transducer"; encoder: string; decoder: string; joiner: string }
  );

export type AsrBundle = StreamingAsrBundle | OfflineAsrBundle;

export interface EndpointOptions {
  /** Endpoint after this much trailing silence when nothing was recognized, s. */
  rule1MinTrailingSilence?: number;
  /** Endpoint after this much trailing silence after some text, s. */
  rule2MinTrailingSilence?: number;
  /** Endpoint when the utterance reaches this length, s. */
  rule3MinUtteranceLength?: number;
}

export interface SherpaAsrOptions {
  numThreads?: number;
  endpoint?: EndpointOptions;
  /** modified_beam_search enables hotwords on transducers (slower than greedy). Default: when hotwords can work. */
  decodingMethod?: "greedy_search" | "modified_beam_search";
  hotwordsScore?: number;
  /** Called when a call asks for something the engine cannot do (e.g. per-call hotwords on a streaming model). */
  onUnsupported?: (what: string) => void;
  /** Injected in tests to prove that nothing reaches sherpa before the checks. */
  sherpaModule?: SherpaModule;
}

const FEAT = { sampleRate: 16000, featureDim: 80 };

function resolver(b: Common) {
  return (f: string) => (isAbsolute(f) ? f : join(b.dir, f));
}

/** Check tokens/bpe files, return the resolved common model fields. */
function commonModel(b: Common, numThreads: number) {
  const p = resolver(b);
  readTokens(p(b.tokens));
  if (b.bpeVocab) checkFile(p(b.bpeVocab));
  return {
    tokens: p(b.tokens),
    numThreads,
    provider: "cpu" as const,
    debug: 0 as const,
    ...(b.modelingUnit ? { modelingUnit: b.modelingUnit } : {}),
    ...(b.bpeVocab ? { bpeVocab: p(b.bpeVocab) } : {}),
  };
}

/** Build (and pre-check) the OnlineRecognizer config of a streaming bundle. */
export function buildStreamingConfig(b: StreamingAsrBundle, opts: SherpaAsrOptions = {}): SherpaOnlineRecognizerConfig {
  const p = resolver(b);
  const model = commonModel(b, opts.numThreads ?? 1);
  const ep = opts.endpoint ?? {};
  let hotwords: { hotwordsFile: string; hotwordsScore: number } | undefined;
  let modelConfig: SherpaOnlineRecognizerConfig["modelConfig"];
  switch (b.type) {
    case "transducer":
      for (const f of [b.encoder, b.decoder, b.joiner]) checkOnnx(p(f));
      modelConfig = { ...model, transducer: { encoder: p(b.encoder), decoder: p(b.decoder), joiner: p(b.joiner) } };
      if (b.hotwordsFile) {
        checkFile(p(b.hotwordsFile));
        hotwords = { hotwordsFile: p(b.hotwordsFile), hotwordsScore: opts.hotwordsScore ?? 1.5 };
      }
      break;
    case "zipformer2-ctc":
      checkOnnx(p(b.model));
      modelConfig = { ...model, zipformer2Ctc: { model: p(b.model) } };
      break;
    case "nemo-ctc":
      checkOnnx(p(b.model));
      modelConfig = { ...model, nemoCtc: { model: p(b.model) } };
      break;
  }
  const decodingMethod = opts.decodingMethod ?? (hotwords ? "modified_beam_search" : "greedy_search");
  if (hotwords && decodingMethod !== "modified_beam_search") {
    throw new EngineLoadError(p(b.tokens), "hotwords need decodingMethod modified_beam_search");
  }
  return {
    featConfig: FEAT,
    modelConfig,
    decodingMethod,
    ...(decodingMethod === "modified_beam_search" ? { maxActivePaths: 4 } : {}),
    enableEndpoint: 1,
    rule1MinTrailingSilence: ep.rule1MinTrailingSilence ?? 2.4,
    rule2MinTrailingSilence: ep.rule2MinTrailingSilence ?? 0.8,
    rule3MinUtteranceLength: ep.rule3MinUtteranceLength ?? 20,
    ...(hotwords ?? {}),
  };
}

/** Build (and pre-check) the OfflineRecognizer config of an offline bundle. */
export function buildOfflineConfig(b: OfflineAsrBundle, opts: SherpaAsrOptions = {}): SherpaOfflineRecognizerConfig {
  const p = resolver(b);
  const model = commonModel(b, opts.numThreads ?? 1);
  let modelConfig: SherpaOfflineRecognizerConfig["modelConfig"];
  let decodingMethod: SherpaOfflineRecognizerConfig["decodingMethod"];
  switch (b.type) {
    case "whisper":
      checkOnnx(p(b.encoder));
      checkOnnx(p(b.decoder));
      modelConfig = {
        ...model,
        whisper: {
          encoder: p(b.encoder),
          decoder: p(b.decoder),
          language: b.language ?? "",
          task: b.task ?? "transcribe",
        },
      };
      break;
    case "sensevoice":
      checkOnnx(p(b.model));
      modelConfig = {
        ...model,
        senseVoice: {
          model: p(b.model),
          language: b.language ?? "auto",
          useInverseTextNormalization: b.inverseTextNormalization === false ? 0 : 1,
        },
      };
      break;
    case "moonshine":
      for (const f of [b.preprocessor, b.encoder, b.uncachedDecoder, b.cachedDecoder]) checkOnnx(p(f));
      modelConfig = {
        ...model,
        moonshine: {
          preprocessor: p(b.preprocessor),
          encoder: p(b.encoder),
          uncachedDecoder: p(b.uncachedDecoder),
          cachedDecoder: p(b.cachedDecoder),
        },
      };
      break;
    case "nemo-ctc":
      checkNemoCtc(p(b.model), p(b.tokens));
      modelConfig = { ...model, nemoCtc: { model: p(b.model) } };
      break;
    case "transducer":
      for (const f of [b.encoder, b.decoder, b.joiner]) checkOnnx(p(f));
      modelConfig = { ...model, transducer: { encoder: p(b.encoder), decoder: p(b.decoder), joiner: p(b.joiner) } };
      decodingMethod = opts.decodingMethod ?? "modified_beam_search";
      break;
  }
  return {
    featConfig: FEAT,
    modelConfig,
    ...(decodingMethod ? { decodingMethod, maxActivePaths: 4 } : {}),
    ...(decodingMethod === "modified_beam_search" && opts.hotwordsScore !== undefined
      ? { hotwordsScore: opts.hotwordsScore }
      : {}),
  };
}

/**
 * What sherpa-onnx 1.13.8 does not survive in an offline NeMo CTC model (measured: each one aborts or exits the
 * process): a vocab_size that differs from tokens.txt (std::out_of_range on the first result), no vocab_size, a
 * normalize_type other than "" or "per_feature", no blank symbol in tokens.txt.
 */
export function checkNemoCtc(modelPath: string, tokensPath: string): void {
  const meta = checkOnnx(modelPath).metadata;
  const tokens = readTokens(tokensPath);
  const vocab = Number(meta.vocab_size);
  if (meta.vocab_size === undefined || !Number.isInteger(vocab) || vocab < 1)
    throw new EngineLoadError(modelPath, "no vocab_size in the ONNX metadata: not a sherpa-onnx NeMo CTC export");
  if (vocab !== tokens.size)
    throw new EngineLoadError(
      modelPath,
      `the model has ${vocab} output symbols but ${tokensPath} lists ${tokens.size}: model and tokens are not from the same bundle`,
    );
  const norm = meta.normalize_type ?? "";
  if (norm !== "" && norm !== "per_feature")
    throw new EngineLoadError(modelPath, `normalize_type "${norm}" is not supported (only "" or "per_feature")`);
  if (!["<blk>", "<eps>", "<blank>"].some((t) => tokens.has(t)))
    throw new EngineLoadError(tokensPath, "no blank symbol (<blk>, <eps> or <blank>)");
}

function construct<T>(path: string, make: () => T): T {
  try {
    return make();
  } catch (e) {
    throw new EngineLoadError(path, `sherpa-onnx rejected the model: ${(e as Error).message}`, { cause: e });
  }
}

/** Mean token probability from log-probabilities, when the engine reports them. */
function confidence(logProbs: number[] | undefined): number | undefined {
  if (!logProbs || logProbs.length === 0) return undefined;
  const mean = logProbs.reduce((a, b) => a + b, 0) / logProbs.length;
  return Math.min(1, Math.max(0, Math.exp(mean)));
}

export class SherpaStreamingAsr implements StreamingAsr {
  readonly kind = "streaming";
  readonly supportsHotwords = false;
  private readonly recognizer: SherpaOnlineRecognizer;
  private readonly onUnsupported: (what: string) => void;
  private readonly ignore: (r: AsrResult) => AsrResult;

  constructor(bundle: StreamingAsrBundle, opts: SherpaAsrOptions = {}) {
    this.ignore = wordFilter(bundle.ignoreWords);
    const config = buildStreamingConfig(bundle, opts);
    const mod = opts.sherpaModule ?? sherpa();
    this.recognizer = construct(bundle.dir, () => new mod.OnlineRecognizer(config));
    this.onUnsupported = opts.onUnsupported ?? (() => {});
  }

  createStream(opts: AsrStreamOptions = {}): StreamingAsrStream {
    if (opts.hotwords?.length) this.onUnsupported("per-call hotwords on a streaming model (sherpa-onnx-node 1.13.8)");
    return new OnlineStream(this.recognizer, this.recognizer.createStream(), this.ignore);
  }
}

/** Trailing silence fed at final() so the last frames leave the model's lookahead. */
const TAIL_PADDING = new Float32Array(16000 * 0.3);

class OnlineStream implements StreamingAsrStream {
  constructor(
    private readonly r: SherpaOnlineRecognizer,
    private readonly s: SherpaOnlineStream,
    private readonly ignore: (r: AsrResult) => AsrResult,
  ) {}

  accept(frame: Int16Array): void {
    this.s.acceptWaveform({ samples: int16ToFloat32(frame), sampleRate: 16000 });
    this.decode();
  }

  partial(): string {
    return this.ignore({ text: this.r.getResult(this.s).text.trim() }).text;
  }

  isEndpoint(): boolean {
    return this.r.isEndpoint(this.s);
  }

  final(): AsrResult {
    if (!this.r.isEndpoint(this.s)) {
      // Called without an endpoint (hangup, barge-in): push the tail through the model.
      this.s.acceptWaveform({ samples: TAIL_PADDING, sampleRate: 16000 });
      this.decode();
    }
    const res = this.r.getResult(this.s);
    this.r.reset(this.s);
    const conf = confidence(res.ys_probs);
    return this.ignore({
      text: res.text.trim(),
      ...(conf !== undefined ? { confidence: conf } : {}),
      ...(res.tokens ? { tokens: res.tokens } : {}),
      ...(res.timestamps ? { timestamps: res.timestamps } : {}),
    });
  }

  private decode(): void {
    // Bounded: each decode consumes at least one chunk of features.
    for (let i = 0; i < 1000 && this.r.isReady(this.s); i++) this.r.decode(this.s);
  }
}

export class SherpaOfflineAsr implements OfflineAsr {
  readonly kind = "offline";
  readonly supportsHotwords: boolean;
  private readonly recognizer: SherpaOfflineRecognizer;
  private readonly onUnsupported: (what: string) => void;
  readonly contextMs: number;
  private readonly ignore: (r: AsrResult) => AsrResult;

  constructor(bundle: OfflineAsrBundle, opts: SherpaAsrOptions = {}) {
    this.ignore = wordFilter(bundle.ignoreWords);
    this.contextMs = Math.max(0, bundle.padMs ?? 0);
    const config = buildOfflineConfig(bundle, opts);
    // Hotwords as words need the modeling unit; without it sherpa expects token sequences we cannot produce.
    this.supportsHotwords =
      bundle.type === "transducer" && config.decodingMethod === "modified_beam_search" && !!bundle.modelingUnit;
    const mod = opts.sherpaModule ?? sherpa();
    this.recognizer = construct(bundle.dir, () => new mod.OfflineRecognizer(config));
    this.onUnsupported = opts.onUnsupported ?? (() => {});
  }

  async recognize(
    segment: Float32Array | Int16Array,
    opts: AsrStreamOptions & { withContext?: boolean } = {},
  ): Promise<AsrResult> {
    let hotwords: string | undefined;
    if (opts.hotwords?.length) {
      if (this.supportsHotwords) hotwords = formatHotwords(opts.hotwords);
      else this.onUnsupported("hotwords on this offline model");
    }
    const stream = hotwords === undefined ? this.recognizer.createStream() : this.recognizer.createStream(hotwords);
    let samples = segment instanceof Int16Array ? int16ToFloat32(segment) : segment;
    const pad = opts.withContext ? 0 : Math.round((this.contextMs * 16000) / 1000);
    if (pad > 0) {
      const padded = new Float32Array(samples.length + 2 * pad);
      padded.set(samples, pad);
      samples = padded;
    }
    stream.acceptWaveform({ samples, sampleRate: 16000 });
    // decodeAsync runs in sherpa's worker pool, so recognition does not block the event loop.
    const res = await this.recognizer.decodeAsync(stream);
    const conf = confidence(res.ys_log_probs);
    return this.ignore({
      text: res.text.trim(),
      ...(conf !== undefined ? { confidence: conf } : {}),
      ...(res.tokens ? { tokens: res.tokens } : {}),
      ...(res.timestamps ? { timestamps: res.timestamps } : {}),
      ...(res.lang ? { language: res.lang.replace(/[<|>]/g, "") } : {}),
    });
  }
}

/**
 * Drops ignored words from a result. Tokens are matched without sherpa's word-start marker (" other", "▁other");
 * a timestamp goes with its token. Text is rebuilt only when something was dropped.
 */
export function wordFilter(words: string[] | undefined): (r: AsrResult) => AsrResult {
  if (!words?.length) return (r) => r;
  const drop = new Set(words.map((w) => w.toLowerCase()));
  const bare = (t: string) => t.replace(/^[\s\u2581]+/, "").toLowerCase();
  return (r) => {
    const text = r.text
      .split(/\s+/)
      .filter((w) => w !== "" && !drop.has(w.toLowerCase()))
      .join(" ");
    if (!r.tokens) return { ...r, text };
    const keep = r.tokens.map((t) => !drop.has(bare(t)));
    return {
      ...r,
      text,
      tokens: r.tokens.filter((_, i) => keep[i]),
      ...(r.timestamps && r.timestamps.length === r.tokens.length
        ? { timestamps: r.timestamps.filter((_, i) => keep[i]) }
        : {}),
    };
  };
}

/** sherpa's hotwords string: phrases separated by "/" (case kept: it must match the model's vocabulary). */
export function formatHotwords(phrases: string[]): string {
  return phrases
    .map((p) =>
      p
        .replace(/[/:\n]/g, " ")
        .trim()
        .replace(/\s+/g, " "),
    )
    .filter((p) => p.length > 0)
    .join("/");
}

export function createAsr(bundle: AsrBundle, opts: SherpaAsrOptions = {}): SherpaStreamingAsr | SherpaOfflineAsr {
  return bundle.kind === "streaming" ? new SherpaStreamingAsr(bundle, opts) : new SherpaOfflineAsr(bundle, opts);
}
