import assert from "node:assert/strict";
import { test } from "node:test";
import { pickVoice, TtsVoices } from "./tts-voices.ts";
import type { Tts, TtsChunk, TtsVoice } from "./types.ts";

/** A fake engine (no audio model): answers with a chunk whose text names the engine, so routing is visible. */
function fakeEngine(name: string, voices: TtsVoice[]): Tts {
  return {
    voices,
    async *synthesize(text: string): AsyncIterable<TtsChunk> {
      yield { pcm: new Int16Array(1), sampleRate: 16000, text: `${name}:${text}` };
    },
  };
}

const v = (id: string, language: string): TtsVoice => ({ id, language, sampleRate: 16000 });

test("each voice is synthesized by the engine that owns it; the first engine wins a duplicate id", async () => {
  const neural = fakeEngine("neural", [v("thorsten", "de-DE"), v("de-DE", "de-DE")]);
  const pico = fakeEngine("pico", [v("de-DE", "de-DE"), v("en-US", "en-US")]);
  const all = new TtsVoices([neural, pico]);
  assert.deepEqual(
    all.voices.map((x) => x.id),
    ["thorsten", "de-DE", "en-US"],
  );
  const said = async (voice: string) => {
    for await (const c of all.synthesize("hi", { voice })) return c.text;
  };
  assert.equal(await said("en-US"), "pico:hi");
  assert.equal(await said("de-DE"), "neural:hi");
  assert.throws(() => all.synthesize("hi", { voice: "nope" }), /unknown TTS voice nope/);
});

test("pickVoice: the named voice, then the exact language, then the same primary language, else none", () => {
  const voices = [v("thorsten", "de-DE"), v("en-GB", "en-GB")];
  assert.equal(pickVoice(voices, "de-DE", "en-GB")?.id, "en-GB");
  assert.equal(pickVoice(voices, "de-DE")?.id, "thorsten");
  assert.equal(pickVoice(voices, "en-US")?.id, "en-GB");
  assert.equal(pickVoice(voices, "zh-CN"), undefined);
  assert.equal(pickVoice(voices, "de-DE", "missing")?.id, "thorsten");
});
