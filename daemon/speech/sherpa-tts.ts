// Neural voices through sherpa-onnx OfflineTts: VITS/Piper, Matcha and Kokoro, from model bundles.
//
// - Every file is pre-checked (model-files.ts) before sherpa sees it: a corrupt .onnx aborts the process.
// - espeak-ng (the phonemizer of Piper/Kokoro/Matcha voices) keeps global state, so all sherpa voices share one
//   lock; generation runs in sherpa's worker thread (generateAsync) so the event loop stays free.
// - German Piper voices: sherpa-onnx 1.13.8 phonemizes the ich-Laut as "c" + U+0327 (combining cedilla), not as "ç";
//   piper's map has no U+0327, so "ich" would be spoken with a plosive [c]. When the tokens file has "ç", we write a
//   corrected copy in which "c" carries the id of "ç" (the real piper "c" phoneme does not occur in German).
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { isAbsolute, join } from "node:path";
import { Lock } from "./lock.ts";
import { checkEspeakData, checkFile, checkOnnx, readTokens } from "./model-files.ts";
import { float32ToInt16 } from "../media/pcm.ts";
import { splitSentences } from "./sentences.ts";
import { type SherpaOfflineTts, type SherpaOfflineTtsConfig, sherpa } from "./sherpa-api.ts";
import { EngineLoadError, type Tts, type TtsChunk, type TtsOptions, type TtsVoice } from "./types.ts";

export const DEBIAN_ESPEAK_DATA = "/usr/lib/x86_64-linux-gnu/espeak-ng-data";

interface BundleCommon {
  /** Voice id used by flows. */
  id: string;
  /** BCP-47 language, e.g. "de-DE"; "de*" enables the ich-Laut tokens fix. */
  language: string;
  /** Bundle directory; relative file names below resolve against it. */
  dir: string;
  tokens: string;
  lexicon?: string;
  /** espeak-ng data; default Debian's espeak-ng-data. */
  dataDir?: string;
  speakerId?: number;
  speed?: number;
}

export type SherpaTtsBundle =
  | (BundleCommon & {
      type: "vits" | "piper";
      model: string;
      noiseScale?: number;
      noiseScaleW?: number;
      lengthScale?: number;
    })
  | (BundleCommon & {
      type: "matcha";
      acousticModel: string;
      vocoder: string;
      noiseScale?: number;
      lengthScale?: number;
    })
  | (BundleCommon & { type: "kokoro"; model: string; voices: string; lang?: string; lengthScale?: number });

export interface SherpaTtsOptions {
  bundles: SherpaTtsBundle[];
  /** Where corrected tokens files are written (default: a fresh directory under the OS temp dir). */
  workDir?: string;
  /** Apply the German "c"→"ç" tokens fix (default true). */
  germanIchLautFix?: boolean;
  /** Resample output to this rate (default 16000, the internal rate); 0 keeps the model's rate. */
  outputSampleRate?: number;
  numThreads?: number;
  maxSentenceChars?: number;
}

interface Voice {
  info: TtsVoice;
  tts: SherpaOfflineTts;
  sid: number;
  speed: number;
}

/** Build the sherpa config for a bundle after checking every file. Exported for tests. */
export function buildTtsConfig(
  b: SherpaTtsBundle,
  opts: { tokens?: string; numThreads?: number } = {},
): SherpaOfflineTtsConfig {
  const p = (f: string) => (isAbsolute(f) ? f : join(b.dir, f));
  const tokens = opts.tokens ?? p(b.tokens);
  readTokens(tokens);
  const lexicon = b.lexicon ? p(b.lexicon) : undefined;
  if (lexicon) checkFile(lexicon);
  const dataDir = b.dataDir ? p(b.dataDir) : DEBIAN_ESPEAK_DATA;
  checkEspeakData(dataDir);
  const common = { numThreads: opts.numThreads ?? 1, provider: "cpu" as const, debug: 0 as const };
  switch (b.type) {
    case "vits":
    case "piper":
      checkOnnx(p(b.model));
      return {
        model: {
          vits: {
            model: p(b.model),
            tokens,
            dataDir,
            ...(lexicon ? { lexicon } : {}),
            ...(b.noiseScale !== undefined ? { noiseScale: b.noiseScale } : {}),
            ...(b.noiseScaleW !== undefined ? { noiseScaleW: b.noiseScaleW } : {}),
            ...(b.lengthScale !== undefined ? { lengthScale: b.lengthScale } : {}),
          },
          ...common,
        },
        maxNumSentences: 1,
      };
    case "matcha":
      checkOnnx(p(b.acousticModel));
      checkOnnx(p(b.vocoder));
      return {
        model: {
          matcha: {
            acousticModel: p(b.acousticModel),
            vocoder: p(b.vocoder),
            tokens,
            dataDir,
            ...(lexicon ? { lexicon } : {}),
            ...(b.noiseScale !== undefined ? { noiseScale: b.noiseScale } : {}),
            ...(b.lengthScale !== undefined ? { lengthScale: b.lengthScale } : {}),
          },
          ...common,
        },
        maxNumSentences: 1,
      };
    case "kokoro":
      checkOnnx(p(b.model));
      checkFile(p(b.voices));
      return {
        model: {
          kokoro: {
            model: p(b.model),
            voices: p(b.voices),
            tokens,
            dataDir,
            ...(lexicon ? { lexicon } : {}),
            ...(b.lang ? { lang: b.lang } : {}),
            ...(b.lengthScale !== undefined ? { lengthScale: b.lengthScale } : {}),
          },
          ...common,
        },
        maxNumSentences: 1,
      };
  }
}

/**
 * The German ich-Laut fix: returns the path of a corrected tokens file, or undefined when none is needed
 * (not German, no "ç" in the map, or "c" already maps to it).
 */
export function fixGermanTokens(tokensPath: string, language: string, workDir: string): string | undefined {
  if (!/^de\b/i.test(language)) return undefined;
  const map = readTokens(tokensPath);
  const cedilla = map.get("ç");
  if (cedilla === undefined || map.get("c") === cedilla) return undefined;
  const lines = readFileSync(tokensPath, "utf8").split("\n");
  const fixed = lines.filter((l) => !/^c \d+$/.test(l));
  const at = fixed.indexOf("");
  fixed.splice(at < 0 ? fixed.length : at, 0, `c ${cedilla}`);
  const out = join(workDir, `tokens-${Buffer.from(tokensPath).toString("hex").slice(-24)}.txt`);
  writeFileSync(out, fixed.join("\n"));
  return out;
}

export class SherpaTts implements Tts {
  readonly voices: readonly TtsVoice[];
  private readonly byId = new Map<string, Voice>();
  /** espeak-ng inside sherpa is process-global: one generation at a time across all voices. */
  private readonly lock = new Lock();
  private readonly outRate: number;
  private readonly maxSentenceChars: number;

  constructor(opts: SherpaTtsOptions) {
    this.outRate = opts.outputSampleRate ?? 16000;
    this.maxSentenceChars = opts.maxSentenceChars ?? 200;
    let workDir = opts.workDir;
    for (const b of opts.bundles) {
      if (this.byId.has(b.id)) throw new EngineLoadError(b.dir, `duplicate voice id ${b.id}`);
      let tokens: string | undefined;
      if (opts.germanIchLautFix !== false && (b.type === "vits" || b.type === "piper")) {
        const original = isAbsolute(b.tokens) ? b.tokens : join(b.dir, b.tokens);
        workDir ??= mkdtempSync(join(tmpdir(), "switchboard-tts-"));
        tokens = fixGermanTokens(original, b.language, workDir);
      }
      const config = buildTtsConfig(b, { ...(tokens ? { tokens } : {}), numThreads: opts.numThreads ?? 1 });
      let tts: SherpaOfflineTts;
      try {
        tts = new (sherpa().OfflineTts)(config);
      } catch (e) {
        throw new EngineLoadError(b.dir, `sherpa-onnx rejected voice ${b.id}: ${(e as Error).message}`, { cause: e });
      }
      const sid = b.speakerId ?? 0;
      if (sid < 0 || sid >= Math.max(1, tts.numSpeakers)) {
        throw new EngineLoadError(b.dir, `speakerId ${sid} out of range (voice has ${tts.numSpeakers})`);
      }
      const rate = this.outRate || tts.sampleRate;
      this.byId.set(b.id, {
        info: { id: b.id, language: b.language, sampleRate: rate },
        tts,
        sid,
        speed: b.speed ?? 1,
      });
    }
    this.voices = [...this.byId.values()].map((v) => v.info);
  }

  async *synthesize(text: string, opts: TtsOptions): AsyncIterable<TtsChunk> {
    const v = this.byId.get(opts.voice);
    if (!v) throw new Error(`voice ${opts.voice} not loaded (have ${[...this.byId.keys()].join(", ")})`);
    for (const sentence of splitSentences(text, { maxChars: this.maxSentenceChars })) {
      if (opts.signal?.aborted) return;
      const release = await this.lock.acquire();
      let audio: { samples: Float32Array; sampleRate: number };
      try {
        if (opts.signal?.aborted) return;
        audio = await generate(v, sentence, opts.signal);
      } finally {
        release();
      }
      let samples = audio.samples;
      if (this.outRate && audio.sampleRate !== this.outRate) {
        samples = new (sherpa().LinearResampler)(audio.sampleRate, this.outRate).flush(samples);
      }
      yield { pcm: float32ToInt16(samples), sampleRate: this.outRate || audio.sampleRate, text: sentence };
    }
  }
}

function generate(v: Voice, text: string, signal?: AbortSignal) {
  // The progress callback returning 0 asks sherpa to stop early (barge-in during a long sentence).
  return v.tts.generateAsync({
    text,
    sid: v.sid,
    speed: v.speed,
    enableExternalBuffer: false,
    onProgress: () => (signal?.aborted ? 0 : 1),
  });
}
