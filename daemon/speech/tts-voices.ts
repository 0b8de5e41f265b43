// All TTS voices of the box behind one Tts: neural bundles and Pico side by side, each sentence synthesized by the
// engine that owns the requested voice. Agents pick a voice by id or by their language (voiceFor).
import type { Tts, TtsChunk, TtsOptions, TtsVoice } from "./types.ts";

export class TtsVoices implements Tts {
  readonly voices: readonly TtsVoice[];
  private readonly owner = new Map<string, Tts>();

  /** Engines in order of preference: for a language, the first engine's voice wins (neural before Pico). */
  constructor(engines: readonly Tts[]) {
    const voices: TtsVoice[] = [];
    for (const e of engines) {
      for (const v of e.voices) {
        if (this.owner.has(v.id)) continue;
        this.owner.set(v.id, e);
        voices.push(v);
      }
    }
    this.voices = voices;
  }

  synthesize(text: string, opts: TtsOptions): AsyncIterable<TtsChunk> {
    const engine = this.owner.get(opts.voice);
    if (!engine) throw new Error(`unknown TTS voice ${opts.voice} (have ${[...this.owner.keys()].join(", ")})`);
    return engine.synthesize(text, opts);
  }
}

/**
 * The voice an agent speaks with: the voice it names when installed, else the first voice of its language, else one
 * of the same language with another region (en-GB for en-US), else undefined (the caller decides the fallback).
 */
export function pickVoice(voices: readonly TtsVoice[], language: string, preferred?: string): TtsVoice | undefined {
  if (preferred) {
    const named = voices.find((v) => v.id === preferred);
    if (named) return named;
  }
  const lang = language.toLowerCase();
  const base = lang.split("-")[0];
  return (
    voices.find((v) => v.language.toLowerCase() === lang) ??
    voices.find((v) => v.language.toLowerCase().split("-")[0] === base)
  );
}
