// The embedded command recognizer (models/builtin/command-asr-de-en, trained by models/command-asr/run.sh).
//  1. It loads through sherpa-onnx-node from the model store's built-in directory and recognizes held-out
//     synthesized speech after a G.711 round trip; a corrupt or mismatched bundle is rejected with a clear error,
//     before sherpa could abort the process, and the daemon runs on.
//  2. Over a real call: baresip calls the daemon (Silero VAD, Pico, the built-in recognizer), picks the recognizer
//     test by saying "zwei", then says digit strings, yes/no and escalation phrases in voices never used in training
//     (espeak-ng variants m3/f3). What the box understood is read from the call record.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { ModelStore } from "../models/store.ts";
import { needModel, sharedModelsDir } from "../models/testing/shared-models.ts";
import { commandWords } from "../daemon/speech/commands.ts";
import { type AsrBundle, createAsr } from "../daemon/speech/sherpa-asr.ts";
import { EngineLoadError } from "../daemon/speech/types.ts";
import { generateSpeechWav } from "./audio/fixtures.ts";
import { composeWav } from "./audio/speech-timing.ts";
import { readWavMono } from "./audio/wav.ts";
import { startBaresip } from "./peers/baresip.ts";
import { type CdrRow, repoRoot, skipUnlessPeers, startDaemon, stopAll } from "./peers/daemon.ts";

const BUILTIN = join(repoRoot, "models/builtin/command-asr-de-en");
const work = mkdtempSync(join(tmpdir(), "switchboard-command-asr-"));
after(async () => {
  await stopAll();
  rmSync(work, { recursive: true, force: true });
});

/** Held-out caller voices: espeak-ng variants the training never used (models/command-asr/synth.py). */
const HELD_OUT = { de: "de+m3", en: "en-us+f3" } as const;

/** `text` in a held-out voice after a G.711 A-law round trip, 16 kHz float (what the daemon hands the recognizer). */
function telephone(text: string, voice: string): Float32Array {
  const src = generateSpeechWav(text, { rate: 16000, voice });
  const out = join(
    work,
    `tel-${Buffer.from(text + voice)
      .toString("hex")
      .slice(0, 40)}.wav`,
  );
  execFileSync("sox", [src, "-r", "8000", "-e", "a-law", "-t", "wav", `${out}.al.wav`]);
  execFileSync("sox", [`${out}.al.wav`, "-r", "16000", "-e", "signed-integer", "-b", "16", out]);
  return readWavMono(out).samples;
}

const wordsOf = (text: string) => commandWords(text).words.join(" ");

describe("command recognizer bundle", { skip: skipUnlessPeers("espeak-ng", "sox") }, () => {
  const bundleOf = (dir: string, manifest = JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8"))) =>
    ({ ...manifest.engineOptions, dir }) as AsrBundle;

  it("loads through sherpa-onnx-node from the built-in directory and recognizes held-out speech over G.711", async () => {
    const store = new ModelStore({ dataDir: join(work, "data") });
    const b = await store.resolve("command-asr", { language: "de-DE" });
    assert.equal(b?.source, "built-in");
    assert.deepEqual(await store.verify("command-asr-de-en").then((r) => r[0].problems), []);
    const asr = createAsr(bundleOf(b.dir));
    assert.equal(asr.kind, "offline");
    if (asr.kind !== "offline") return;
    const cases: [string, string][] = [
      ["vier sieben eins eins", HELD_OUT.de],
      ["ja", HELD_OUT.de],
      ["nein danke", HELD_OUT.de],
      ["einen Mitarbeiter bitte", HELD_OUT.de],
      ["five five five one two", HELD_OUT.en],
      ["yes please", HELD_OUT.en],
      ["I want to talk to a human", HELD_OUT.en],
    ];
    const wrong: string[] = [];
    for (const [text, voice] of cases) {
      const r = await asr.recognize(telephone(text, voice));
      assert.doesNotMatch(r.text, /\bother\b/, "ignoreWords from the manifest drop the filler token");
      if (wordsOf(r.text) !== wordsOf(text)) wrong.push(`${voice} "${text}" → "${r.text}"`);
    }
    assert.ok(wrong.length <= 1, `misrecognized:\n${wrong.join("\n")}`);
  });

  it("a corrupt or mismatched model file is rejected with an error that names it", () => {
    const copy = (name: string) => {
      const d = join(work, name);
      cpSync(BUILTIN, d, { recursive: true });
      return d;
    };
    const truncated = copy("truncated");
    truncateSync(join(truncated, "model.onnx"), 100_000);
    assert.throws(
      () => createAsr(bundleOf(truncated)),
      (e: unknown) => e instanceof EngineLoadError && /model\.onnx.*truncated/.test(e.message),
    );
    // tokens.txt of another model (one symbol less): sherpa itself would abort on the first result.
    const mismatched = copy("mismatched");
    const tokens = readFileSync(join(mismatched, "tokens.txt"), "utf8").trim().split("\n");
    writeFileSync(join(mismatched, "tokens.txt"), `${tokens.slice(0, -1).join("\n")}\n`);
    assert.throws(
      () => createAsr(bundleOf(mismatched)),
      (e: unknown) => e instanceof EngineLoadError && /not from the same bundle/.test(e.message),
    );
  });

  it("a daemon given a broken command-asr bundle says why, falls back to the built-in one and runs on", async (t) => {
    if (!needModel(t, "silero-vad", join(sharedModelsDir, "silero-vad/silero_vad.onnx"))) return;
    // A search-path bundle with a higher version than the built-in, whose tokens do not fit its model.
    const search = join(work, "search");
    const broken = join(search, "command-asr-broken");
    cpSync(BUILTIN, broken, { recursive: true });
    const tokens = readFileSync(join(broken, "tokens.txt"), "utf8").trim().split("\n");
    writeFileSync(join(broken, "tokens.txt"), `${tokens.slice(0, -1).join("\n")}\n`);
    const m = JSON.parse(readFileSync(join(broken, "manifest.json"), "utf8"));
    m.name = "command-asr-broken";
    m.version = "9.0.0";
    for (const f of m.files)
      if (f.path === "tokens.txt") {
        f.bytes = readFileSync(join(broken, "tokens.txt")).length;
        f.sha256 = execFileSync("sha256sum", [join(broken, "tokens.txt")], { encoding: "utf8" }).split(" ")[0];
      }
    writeFileSync(join(broken, "manifest.json"), JSON.stringify(m));
    const d = await startDaemon({
      config: { models: { searchPaths: [search, sharedModelsDir] }, speech: { enabled: true, language: "de-DE" } },
      readyTimeoutMs: 60_000,
    });
    const line = await d.waitForLog((l) => l.msg === "speech engines", 60_000);
    const status = line.speech as Record<string, string>;
    assert.match(
      status.asr,
      /^command-asr-de-en .*\(command-asr, built-in\); skipped command-asr-broken: .*model\.onnx.*not from the same bundle/,
      JSON.stringify(status),
    );
    const health = await fetch(new URL("/health", d.metricsUrl)).then((r) => r.status);
    assert.equal(health, 200, "the daemon runs on");
  });
});

describe("command recognizer over a real call", { skip: skipUnlessPeers("baresip", "espeak-ng", "sox") }, () => {
  it("held-out voices: menu choice by voice, digits, yes/no and escalation understood by the box", async (t) => {
    if (!needModel(t, "svox-pico", join(sharedModelsDir, "svox-pico/de-DE_ta.bin"))) return;
    const d = await startDaemon({
      config: { models: { searchPaths: [sharedModelsDir] }, speech: { enabled: true, language: "de-DE" } },
      readyTimeoutMs: 60_000,
    });
    const engines = await d.waitForLog((l) => l.msg === "speech engines", 60_000);
    assert.match((engines.speech as Record<string, string>).asr, /command-asr-de-en .*built-in/);
    await d.waitForLog((l) => l.msg === "prompt cache warm", 60_000);

    const script: [string, string][] = [
      ["vier sieben eins eins", HELD_OUT.de],
      ["ja genau", HELD_OUT.de],
      ["nein", HELD_OUT.de],
      ["null acht neun drei zwo", HELD_OUT.de],
      ["ich möchte mit einem Mitarbeiter sprechen", HELD_OUT.de],
      ["one two three four five six", HELD_OUT.en],
      ["no thanks", HELD_OUT.en],
      ["operator", HELD_OUT.en],
    ];
    const RATE = 8000;
    const clips = [
      { samples: readWavMono(generateSpeechWav("zwei", { rate: RATE, voice: HELD_OUT.de })).samples, atMs: 1500 },
    ];
    // The test's introduction is cut off by the first utterance; each answer is cut off by the next.
    for (const [i, [text, voice]] of script.entries())
      clips.push({
        samples: readWavMono(generateSpeechWav(text, { rate: RATE, voice })).samples,
        atMs: 7000 + i * 5000,
      });
    const src = composeWav(join(work, "caller.wav"), RATE, 7000 + script.length * 5000 + 3000, clips);

    const before = new Set(d.calls().map((r) => r.id));
    const b = await startBaresip({ sourceWav: src, codecs: ["PCMA"] });
    try {
      b.dial(`sip:+4912345@${d.sipUdp.address}:${d.sipUdp.port}`);
      await b.waitFor(/Call established/, 10_000);
      await b.waitFor(/terminated/, 90_000);
    } finally {
      await b.stop();
    }
    const rows = await d.waitForCalls((rs) => rs.some((r) => !before.has(r.id) && r.ended_at !== null), 10_000);
    const row = rows.find((r) => !before.has(r.id)) as CdrRow;
    const events = (JSON.parse(row.events) as { what: string }[]).map((e) => e.what);
    assert.ok(
      events.some((e) => /^menu choice 2 by voice/.test(e)),
      `"zwei" picks the recognizer test:\n${events.join("\n")}`,
    );
    const heard = events.filter((e) => e.startsWith("recognizer test: ")).map((e) => e.slice(17));
    assert.equal(heard.length, script.length, `one result per utterance:\n${events.join("\n")}`);
    const wrong = script.flatMap(([text], i) => (wordsOf(text) === heard[i] ? [] : [`"${text}" → "${heard[i]}"`]));
    assert.ok(wrong.length <= 1, `misrecognized over the call:\n${wrong.join("\n")}`);
  });
});
