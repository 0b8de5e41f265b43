import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { after, test } from "node:test";
import { ModelStore } from "../../models/store.ts";
import { needModel, sharedModelsDir } from "../../models/testing/shared-models.ts";
import { speechSchema } from "../config/schema.ts";
import { silentLog } from "../ops/log.ts";
import { agentVoice, canSpeak, loadSpeechEngines, voiceGaps } from "./engines.ts";

const tmp = mkdtempSync(join(tmpdir(), "switchboard-engines-"));
after(() => rmSync(tmp, { recursive: true, force: true }));
let n = 0;

/** builtinPaths default []: only the tests about the shipped recognizer see models/builtin. */
function setup(searchPaths: string[] = [], speech: Record<string, unknown> = {}, builtinPaths: string[] = []) {
  const dataDir = join(tmp, `data-${++n}`);
  const store = new ModelStore({ dataDir, searchPaths, builtinPaths, log: silentLog });
  return { dataDir, store, cfg: speechSchema.parse(speech), log: silentLog };
}

const pico = join(sharedModelsDir, "svox-pico/en-US_ta.bin");
const builtinDir = fileURLToPath(new URL("../../models/builtin/", import.meta.url));
const silero = join(sharedModelsDir, "silero-vad/silero_vad.onnx");

test("shared models on a search path: Silero VAD, Pico in the configured language, no recognizer said plainly", async (t) => {
  if (!needModel(t, "svox-pico", pico) || !needModel(t, "silero-vad", silero)) return;
  const s = setup([sharedModelsDir], { language: "en-GB" });
  const e = await loadSpeechEngines(s.cfg, { ...s, builtinVadPath: null });
  assert.match(e.status.vad, /^silero-vad .*search-path/);
  // Every Pico voice is loaded (agents may speak another language); the default is the configured one.
  assert.match(e.status.tts, /svox-pico de-DE\/en-US\/en-GB/);
  assert.equal(e.voice, "en-GB");
  assert.ok(e.vad && e.bargeInVad && e.cache, "VAD, barge-in VAD and prompt cache exist");
  assert.equal(e.asr, undefined);
  assert.match(e.status.asr, /no recognizer for en-GB/);
  // The cache really synthesizes with that voice.
  const pcm = await e.cache.get(e.voice as string, "Good morning.");
  assert.ok(pcm.length > 8000, `${pcm.length} samples`);
});

test("agents get the voice they name, else one of their language, else the default; gaps are named", async (t) => {
  if (!needModel(t, "svox-pico", pico) || !needModel(t, "silero-vad", silero)) return;
  const s = setup([sharedModelsDir], { language: "de-DE" });
  const e = await loadSpeechEngines(s.cfg, { ...s, builtinVadPath: null });
  assert.ok(canSpeak(e));
  assert.equal(agentVoice(e, "de-DE"), "de-DE");
  assert.equal(agentVoice(e, "en-US"), "en-US");
  assert.equal(agentVoice(e, "en-US", "en-GB"), "en-GB", "a named voice wins over the language's");
  assert.equal(agentVoice(e, "zh-CN"), "de-DE", "no Chinese voice here: the box's default");
  assert.equal(agentVoice(e, "en-US", "piper:missing"), "en-US", "a voice that is not installed: the language's");
  assert.deepEqual(
    voiceGaps(e, [
      { id: "front", language: "de-DE" },
      { id: "china", language: "zh-CN" },
      { id: "brit", language: "en-GB", voice: "piper:missing" },
    ]),
    [
      "agent china: no zh-CN voice installed; it speaks with the default voice de-DE",
      "agent brit: voice piper:missing is not installed (have de-DE, en-US, en-GB)",
    ],
  );
  // Each voice really speaks its own language through the one Tts.
  const de = await e.cache.get("de-DE", "Guten Morgen.");
  const en = await e.cache.get("en-US", "Good morning.");
  assert.ok(de.length > 4000 && en.length > 4000);
  assert.notDeepEqual(de.subarray(0, 4000), en.subarray(0, 4000));
});

test("no model anywhere: the npm-shipped Silero is used after its checksum matches the catalog", async () => {
  const s = setup();
  const e = await loadSpeechEngines(s.cfg, s);
  assert.match(e.status.vad, /built in/);
  assert.ok(e.vad);
});

test("a built-in VAD file that differs from the catalog is refused with its path; the rest still loads", async (t) => {
  if (!needModel(t, "silero-vad", silero)) return;
  const bad = join(tmp, "tampered.onnx");
  copyFileSync(silero, bad);
  writeFileSync(bad, "x", { flag: "a" });
  const s = setup();
  const e = await loadSpeechEngines(s.cfg, { ...s, builtinVadPath: bad });
  assert.equal(e.vad, undefined);
  assert.match(e.status.vad, /failed: .*tampered\.onnx: sha256 .* differs from models\/catalog\/silero-vad\.json/);
});

test("nothing installed and no built-in: every stage reports why, nothing throws", async () => {
  const s = setup([], { picoLangDir: join(tmp, "no-such-dir") });
  const e = await loadSpeechEngines(s.cfg, { ...s, builtinVadPath: null });
  assert.equal(e.vad, undefined);
  assert.equal(e.status.vad, "not installed");
  assert.equal(e.tts, undefined);
  assert.match(e.status.tts, /failed: .*no-such-dir/);
  assert.equal(e.cache, undefined);
});

test("speech.enabled false: no engine is loaded", async () => {
  const s = setup([sharedModelsDir], { enabled: false });
  const e = await loadSpeechEngines(s.cfg, s);
  assert.deepEqual(e.status, { vad: "off", denoiser: "off", tts: "off", asr: "off" });
  assert.equal(e.vad, undefined);
});

test("denoise on with GTCRN on the search path loads the denoiser", async (t) => {
  if (!needModel(t, "gtcrn", join(sharedModelsDir, "gtcrn/gtcrn_simple.sherpa.onnx"))) return;
  const s = setup([sharedModelsDir], { denoise: true });
  const e = await loadSpeechEngines(s.cfg, { ...s, builtinVadPath: null });
  assert.ok(e.denoiser);
  assert.match(e.status.denoiser, /^gtcrn /);
});

test("an ASR bundle with a corrupt model is reported with the file, and the daemon goes on without ASR", async () => {
  const root = join(tmp, "search");
  const dir = join(root, "broken-asr");
  mkdirSync(dir, { recursive: true });
  const files: Record<string, string> = { "model.onnx": "this is not onnx", "tokens.txt": "<blk> 0\na 1\n" };
  for (const [f, body] of Object.entries(files)) writeFileSync(join(dir, f), body);
  const manifest = {
    name: "broken-asr",
    version: "1.0.0",
    task: "asr",
    engine: "sherpa-onnx-offline-ctc",
    languages: ["de-DE"],
    sampleRate: 16000,
    licence: "test",
    files: Object.entries(files).map(([path, body]) => ({
      path,
      bytes: Buffer.byteLength(body),
      sha256: createHash("sha256").update(body).digest("hex"),
    })),
    engineOptions: { kind: "offline", type: "nemo-ctc", model: "model.onnx", tokens: "tokens.txt" },
  };
  writeFileSync(join(dir, "manifest.json"), JSON.stringify(manifest));
  const s = setup([root], { language: "de-DE" });
  const e = await loadSpeechEngines(s.cfg, { ...s, builtinVadPath: null });
  assert.equal(e.asr, undefined);
  assert.match(e.status.asr, /failed: broken-asr: .*broken-asr\/model\.onnx/);

  // With the recognizer that ships with the box, the broken bundle is skipped (and named), not fatal.
  const withBuiltin = setup([root], { language: "de-DE" }, [builtinDir]);
  const e2 = await loadSpeechEngines(withBuiltin.cfg, { ...withBuiltin, builtinVadPath: null });
  assert.equal(e2.asr?.kind, "offline");
  assert.match(e2.status.asr, /^command-asr-de-en .*\(command-asr, built-in\); skipped broken-asr: .*model\.onnx/);
});

test("the built-in command recognizer is the recognizer when nothing else is installed, for de and en", async () => {
  for (const language of ["de-DE", "en-US", "en-GB"]) {
    const s = setup([], { language }, [builtinDir]);
    const e = await loadSpeechEngines(s.cfg, { ...s, builtinVadPath: null });
    assert.match(e.status.asr, /^command-asr-de-en .*\(command-asr, built-in\)$/, language);
  }
});

test("speech.recognizer off: no recognizer even with the built-in one present", async () => {
  const s = setup([], { recognizer: "off" }, [builtinDir]);
  const e = await loadSpeechEngines(s.cfg, { ...s, builtinVadPath: null });
  assert.equal(e.asr, undefined);
  assert.equal(e.status.asr, "off");
});
