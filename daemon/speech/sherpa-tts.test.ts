import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { buildTtsConfig, fixGermanTokens, type SherpaTtsBundle, SherpaTts } from "./sherpa-tts.ts";
import { ESPEAK_DATA, FAKE_PIPER, haveModel } from "./testutil.ts";
import { EngineLoadError, type TtsChunk } from "./types.ts";

// The fake piper graph outputs "token ids × 0.001", one sample per id: PCM16 / 32.768 gives the ids back.
const ids = (c: TtsChunk) => Array.from(c.pcm, (x) => Math.round(x / 32.768));

const de: SherpaTtsBundle = {
  type: "piper",
  id: "piper-de-fake",
  language: "de-DE",
  dir: FAKE_PIPER,
  model: "fake-de.onnx",
  tokens: "tokens-de.txt",
};
const en: SherpaTtsBundle = {
  ...de,
  id: "piper-en-fake",
  language: "en-US",
  model: "fake-en.onnx",
  tokens: "tokens-en.txt",
};

async function collect(it: AsyncIterable<TtsChunk>): Promise<TtsChunk[]> {
  const out: TtsChunk[] = [];
  for await (const c of it) out.push(c);
  return out;
}

test("fake piper: one sample per phoneme id, sentence by sentence, de and en", async (t) => {
  if (!haveModel(t, "fake-piper-vits", join(FAKE_PIPER, "fake-de.onnx"), ESPEAK_DATA)) return;
  const tts = new SherpaTts({ bundles: [de, en] });
  assert.deepEqual(
    tts.voices.map((v) => v.id),
    ["piper-de-fake", "piper-en-fake"],
  );
  const chunks = await collect(tts.synthesize("Hallo Welt. Wie geht es?", { voice: "piper-de-fake" }));
  assert.deepEqual(
    chunks.map((c) => c.text),
    ["Hallo Welt.", "Wie geht es?"],
  );
  for (const c of chunks) {
    const seq = ids(c);
    assert.equal(c.sampleRate, 16000);
    // piper framing: BOS "^" (1) first, EOS "$" (2) last, blank (0) between phonemes.
    assert.equal(seq[0], 1);
    assert.equal(seq[seq.length - 1], 2);
    assert.ok(seq.every((x) => Number.isInteger(x) && x >= 0 && x < 200));
    assert.ok(
      seq.filter((_, i) => i % 2 === 1).every((x) => x === 0),
      "blank between ids",
    );
  }
  const enChunks = await collect(tts.synthesize("Hello.", { voice: "piper-en-fake" }));
  assert.equal(enChunks.length, 1);
  assert.ok(ids(enChunks[0]).length >= 7);
});

test("German ich-Laut fix maps sherpa's c+U+0327 to the id of ç", async (t) => {
  if (!haveModel(t, "fake-piper-vits", join(FAKE_PIPER, "fake-de.onnx"), ESPEAK_DATA)) return;
  const tokens = readFileSync(join(FAKE_PIPER, "tokens-de.txt"), "utf8");
  const cId = Number(/^c (\d+)$/m.exec(tokens)?.[1]);
  const cedId = Number(/^ç (\d+)$/m.exec(tokens)?.[1]);
  const withFix = new SherpaTts({ bundles: [de] });
  const without = new SherpaTts({ bundles: [de], germanIchLautFix: false });
  const a = ids((await collect(withFix.synthesize("ich", { voice: de.id })))[0]);
  const b = ids((await collect(without.synthesize("ich", { voice: de.id })))[0]);
  t.diagnostic(`with fix: ${a.join(",")}; without: ${b.join(",")}`);
  assert.notDeepEqual(a, b);
  assert.ok(a.includes(cedId) && !a.includes(cId), "fixed output has ç");
  assert.ok(b.includes(cId) && !b.includes(cedId), "unfixed output has the plosive c");
  // English voices are left alone.
  const dir = mkdtempSync(join(tmpdir(), "tok-"));
  try {
    assert.equal(fixGermanTokens(join(FAKE_PIPER, "tokens-en.txt"), "en-US", dir), undefined);
    const fixedPath = fixGermanTokens(join(FAKE_PIPER, "tokens-de.txt"), "de-DE", dir);
    assert.ok(fixedPath);
    const fixed = readFileSync(fixedPath, "utf8");
    assert.match(fixed, new RegExp(`^c ${cedId}$`, "m"));
    assert.equal(fixed.split("\n").length, tokens.split("\n").length, "same number of lines");
    // A tokens file without "c" gets it added.
    const noC = join(dir, "noc.txt");
    writeFileSync(noC, tokens.replace(/^c \d+\n/m, ""));
    assert.match(readFileSync(fixGermanTokens(noC, "de", dir) ?? "", "utf8"), new RegExp(`^c ${cedId}$`, "m"));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("config shapes for matcha and kokoro bundles; file checks before sherpa", () => {
  const dir = mkdtempSync(join(tmpdir(), "tts-bundle-"));
  try {
    const onnx = Buffer.from([0x08, 0x07, 0x3a, 0x02, 0x0a, 0x00]); // structurally valid, never given to sherpa here
    for (const f of ["am.onnx", "voc.onnx", "kokoro.onnx"]) writeFileSync(join(dir, f), onnx);
    writeFileSync(join(dir, "tokens.txt"), "_ 0\na 1\n");
    writeFileSync(join(dir, "voices.bin"), Buffer.alloc(16, 1));
    const matcha = buildTtsConfig({
      type: "matcha",
      id: "m",
      language: "en-US",
      dir,
      acousticModel: "am.onnx",
      vocoder: "voc.onnx",
      tokens: "tokens.txt",
      dataDir: ESPEAK_DATA,
      lengthScale: 1.1,
    });
    assert.deepEqual(matcha.model.matcha, {
      acousticModel: join(dir, "am.onnx"),
      vocoder: join(dir, "voc.onnx"),
      tokens: join(dir, "tokens.txt"),
      dataDir: ESPEAK_DATA,
      lengthScale: 1.1,
    });
    const kokoro = buildTtsConfig({
      type: "kokoro",
      id: "k",
      language: "en-US",
      dir,
      model: "kokoro.onnx",
      voices: "voices.bin",
      tokens: "tokens.txt",
      lang: "en-us",
    });
    assert.equal(kokoro.model.kokoro?.voices, join(dir, "voices.bin"));
    assert.equal(kokoro.model.kokoro?.lang, "en-us");
    assert.equal(kokoro.maxNumSentences, 1);

    // Corrupt model: EngineLoadError from the pre-check, the process survives.
    const bad = join(dir, "bad.onnx");
    writeFileSync(bad, Buffer.concat([Buffer.from([0x08, 0x07]), Buffer.alloc(300, 0xfe)]));
    assert.throws(
      () =>
        new SherpaTts({
          bundles: [{ type: "vits", id: "x", language: "en", dir, model: "bad.onnx", tokens: "tokens.txt" }],
        }),
      EngineLoadError,
    );
    assert.throws(
      () => buildTtsConfig({ type: "vits", id: "x", language: "en", dir, model: "am.onnx", tokens: "missing.txt" }),
      /missing/,
    );
    assert.throws(
      () =>
        buildTtsConfig({
          type: "vits",
          id: "x",
          language: "en",
          dir,
          model: "am.onnx",
          tokens: "tokens.txt",
          dataDir: dir,
        }),
      /phontab/,
    );
    writeFileSync(join(dir, "tokens-bin.txt"), Buffer.from([0, 1, 2, 3]));
    assert.throws(
      () => buildTtsConfig({ type: "vits", id: "x", language: "en", dir, model: "am.onnx", tokens: "tokens-bin.txt" }),
      EngineLoadError,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
