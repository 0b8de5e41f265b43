import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import {
  buildOfflineConfig,
  buildStreamingConfig,
  createAsr,
  formatHotwords,
  type OfflineAsrBundle,
  SherpaOfflineAsr,
  SherpaStreamingAsr,
  type StreamingAsrBundle,
  wordFilter,
} from "./sherpa-asr.ts";
import type {
  SherpaModule,
  SherpaOfflineRecognizerConfig,
  SherpaOfflineStream,
  SherpaOnlineRecognizerConfig,
  SherpaOnlineStream,
} from "./sherpa-api.ts";
import { EngineLoadError } from "./types.ts";

// Config construction, the file pre-checks and the stream logic against a fake sherpa module. The real embedded
// command recognizer runs through sherpa in test/command-asr.test.ts.

let dir = "";
// Smallest structurally valid ModelProto: ir_version 7 + empty graph. Never handed to real sherpa.
const TINY_ONNX = Buffer.from([0x08, 0x07, 0x3a, 0x02, 0x0a, 0x00]);

/** TINY_ONNX plus metadata_props (ModelProto field 14: StringStringEntryProto {1: key, 2: value}). */
function onnxWithMeta(meta: Record<string, string>): Buffer {
  const str = (field: number, v: string) => {
    const b = Buffer.from(v);
    return Buffer.concat([Buffer.from([(field << 3) | 2, b.length]), b]);
  };
  const entries = Object.entries(meta).map(([k, v]) => {
    const e = Buffer.concat([str(1, k), str(2, v)]);
    return Buffer.concat([Buffer.from([(14 << 3) | 2, e.length]), e]);
  });
  return Buffer.concat([TINY_ONNX, ...entries]);
}

before(() => {
  dir = mkdtempSync(join(tmpdir(), "asr-bundle-"));
  for (const f of ["enc.onnx", "dec.onnx", "join.onnx", "model.onnx", "pre.onnx", "cdec.onnx"]) {
    writeFileSync(join(dir, f), TINY_ONNX);
  }
  writeFileSync(join(dir, "tokens.txt"), "<blk> 0\n▁HELLO 1\n▁WORLD 2\n");
  writeFileSync(join(dir, "bpe.vocab"), "▁HELLO -1\n");
  writeFileSync(join(dir, "hotwords.txt"), "HELLO WORLD\n");
  writeFileSync(join(dir, "garbage.onnx"), Buffer.concat([Buffer.from([0x08]), Buffer.alloc(4096, 0xa5)]));
  writeFileSync(join(dir, "empty.onnx"), "");
  writeFileSync(join(dir, "truncated.onnx"), Buffer.from([0x08, 0x07, 0x3a, 0x7f, 0x0a]));
  writeFileSync(join(dir, "nemo.onnx"), onnxWithMeta({ vocab_size: "3", normalize_type: "" }));
  writeFileSync(join(dir, "nemo-vocab4.onnx"), onnxWithMeta({ vocab_size: "4", normalize_type: "" }));
  writeFileSync(join(dir, "nemo-norm.onnx"), onnxWithMeta({ vocab_size: "3", normalize_type: "all_features" }));
  writeFileSync(join(dir, "tokens-noblank.txt"), "a 0\nb 1\nc 2\n");
});
after(() => rmSync(dir, { recursive: true, force: true }));

const transducer = (): Extract<StreamingAsrBundle, { type: "transducer" }> => ({
  kind: "streaming",
  type: "transducer",
  dir,
  encoder: "enc.onnx",
  decoder: "dec.onnx",
  joiner: "join.onnx",
  tokens: "tokens.txt",
});

/** A fake sherpa that records constructions and scripts recognition results. */
function fakeSherpa() {
  const calls: string[] = [];
  let fed = 0;
  let text = "";
  class OnlineRecognizer {
    constructor(readonly config: SherpaOnlineRecognizerConfig) {
      calls.push("OnlineRecognizer");
    }
    createStream(): SherpaOnlineStream {
      return {
        acceptWaveform: (w) => {
          fed += w.samples.length;
          if (fed > 16000) text = "HELLO WORLD";
        },
        inputFinished: () => {},
      };
    }
    isReady() {
      return false;
    }
    decode() {}
    isEndpoint() {
      return fed > 32000;
    }
    reset() {
      fed = 0;
      text = "";
    }
    getResult() {
      return { text: ` ${text}`, tokens: text ? ["▁HELLO", "▁WORLD"] : [], timestamps: text ? [0.1, 0.5] : [] };
    }
  }
  const streams: (string | undefined)[] = [];
  class OfflineRecognizer {
    constructor(readonly config: SherpaOfflineRecognizerConfig) {
      calls.push("OfflineRecognizer");
    }
    createStream(hotwords?: string): SherpaOfflineStream {
      streams.push(hotwords);
      return { acceptWaveform: () => {} };
    }
    async decodeAsync() {
      return {
        text: " hallo welt",
        lang: "<|de|>",
        tokens: ["hallo", "welt"],
        timestamps: [0, 0.4],
        ys_log_probs: [-0.1, -0.3],
      };
    }
  }
  const notUsed = class {
    constructor() {
      throw new Error("not used");
    }
  };
  const mod = {
    OnlineRecognizer,
    OfflineRecognizer,
    Vad: notUsed,
    OnlineSpeechDenoiser: notUsed,
    OfflineTts: notUsed,
    LinearResampler: notUsed,
  } as unknown as SherpaModule;
  return { mod, calls, streams };
}

test("streaming transducer config from a bundle, with endpoint rules and bundle hotwords", () => {
  const c = buildStreamingConfig(transducer(), { endpoint: { rule2MinTrailingSilence: 0.6 } });
  assert.deepEqual(c.modelConfig.transducer, {
    encoder: join(dir, "enc.onnx"),
    decoder: join(dir, "dec.onnx"),
    joiner: join(dir, "join.onnx"),
  });
  assert.equal(c.modelConfig.tokens, join(dir, "tokens.txt"));
  assert.equal(c.decodingMethod, "greedy_search");
  assert.equal(c.enableEndpoint, 1);
  assert.equal(c.rule2MinTrailingSilence, 0.6);
  assert.equal(c.rule1MinTrailingSilence, 2.4);
  assert.deepEqual(c.featConfig, { sampleRate: 16000, featureDim: 80 });
  const h = buildStreamingConfig({
    ...transducer(),
    hotwordsFile: "hotwords.txt",
    modelingUnit: "bpe",
    bpeVocab: "bpe.vocab",
  });
  assert.equal(h.decodingMethod, "modified_beam_search");
  assert.equal(h.hotwordsFile, join(dir, "hotwords.txt"));
  assert.equal(h.modelConfig.bpeVocab, join(dir, "bpe.vocab"));
  assert.throws(
    () => buildStreamingConfig({ ...transducer(), hotwordsFile: "hotwords.txt" }, { decodingMethod: "greedy_search" }),
    /modified_beam_search/,
  );
  const ctc = buildStreamingConfig({
    kind: "streaming",
    type: "zipformer2-ctc",
    dir,
    model: "model.onnx",
    tokens: "tokens.txt",
  });
  assert.deepEqual(ctc.modelConfig.zipformer2Ctc, { model: join(dir, "model.onnx") });
  const nemo = buildStreamingConfig({
    kind: "streaming",
    type: "nemo-ctc",
    dir,
    model: "model.onnx",
    tokens: "tokens.txt",
  });
  assert.deepEqual(nemo.modelConfig.nemoCtc, { model: join(dir, "model.onnx") });
});

test("offline configs: whisper, sensevoice, moonshine, nemo-ctc, transducer", () => {
  const base = { kind: "offline" as const, dir, tokens: "tokens.txt" };
  const w = buildOfflineConfig({ ...base, type: "whisper", encoder: "enc.onnx", decoder: "dec.onnx", language: "de" });
  assert.deepEqual(w.modelConfig.whisper, {
    encoder: join(dir, "enc.onnx"),
    decoder: join(dir, "dec.onnx"),
    language: "de",
    task: "transcribe",
  });
  assert.equal(w.decodingMethod, undefined);
  const sv = buildOfflineConfig({ ...base, type: "sensevoice", model: "model.onnx" });
  assert.deepEqual(sv.modelConfig.senseVoice, {
    model: join(dir, "model.onnx"),
    language: "auto",
    useInverseTextNormalization: 1,
  });
  const ms = buildOfflineConfig({
    ...base,
    type: "moonshine",
    preprocessor: "pre.onnx",
    encoder: "enc.onnx",
    uncachedDecoder: "dec.onnx",
    cachedDecoder: "cdec.onnx",
  });
  assert.equal(ms.modelConfig.moonshine?.cachedDecoder, join(dir, "cdec.onnx"));
  const nc = buildOfflineConfig({ ...base, type: "nemo-ctc", model: "nemo.onnx" });
  assert.deepEqual(nc.modelConfig.nemoCtc, { model: join(dir, "nemo.onnx") });
  const tr = buildOfflineConfig({
    ...base,
    type: "transducer",
    encoder: "enc.onnx",
    decoder: "dec.onnx",
    joiner: "join.onnx",
  });
  assert.equal(tr.decodingMethod, "modified_beam_search");
});

test("corrupt, empty, truncated or missing model files: EngineLoadError before sherpa is called", () => {
  const { mod, calls } = fakeSherpa();
  for (const bad of ["garbage.onnx", "empty.onnx", "truncated.onnx", "nope.onnx"]) {
    assert.throws(
      () => new SherpaStreamingAsr({ ...transducer(), joiner: bad }, { sherpaModule: mod }),
      (e: unknown) => e instanceof EngineLoadError && e.modelPath === join(dir, bad),
      bad,
    );
    const off: OfflineAsrBundle = { kind: "offline", type: "sensevoice", dir, model: bad, tokens: "tokens.txt" };
    assert.throws(() => new SherpaOfflineAsr(off, { sherpaModule: mod }), EngineLoadError, bad);
  }
  assert.throws(
    () => new SherpaStreamingAsr({ ...transducer(), tokens: "enc.onnx" }, { sherpaModule: mod }),
    EngineLoadError,
  );
  assert.deepEqual(calls, [], "sherpa was never called");
});

test("a sherpa constructor error becomes EngineLoadError", () => {
  const { mod } = fakeSherpa();
  const throwing = { ...mod, OnlineRecognizer: mod.Vad } as unknown as SherpaModule;
  assert.throws(
    () => new SherpaStreamingAsr(transducer(), { sherpaModule: throwing }),
    /sherpa-onnx rejected the model/,
  );
});

test("streaming stream: partial, endpoint, final resets; per-call hotwords reported unsupported", () => {
  const { mod } = fakeSherpa();
  const unsupported: string[] = [];
  const asr = createAsr(transducer(), { sherpaModule: mod, onUnsupported: (w) => unsupported.push(w) });
  assert.ok(asr instanceof SherpaStreamingAsr);
  const s = asr.createStream({ hotwords: ["Switchboard"] });
  assert.equal(unsupported.length, 1);
  const frame = new Int16Array(320);
  let i = 0;
  for (; i < 200 && !s.isEndpoint(); i++) s.accept(frame);
  assert.equal(i, 101, "endpoint after 2 s of the fake's audio");
  assert.equal(s.partial(), "HELLO WORLD");
  const r = s.final();
  assert.deepEqual(r, { text: "HELLO WORLD", tokens: ["▁HELLO", "▁WORLD"], timestamps: [0.1, 0.5] });
  assert.equal(s.partial(), "", "final() reset the stream");
});

test("offline recognize: result mapping, confidence, language, hotwords only where supported", async () => {
  const { mod, streams } = fakeSherpa();
  const unsupported: string[] = [];
  const sv = new SherpaOfflineAsr(
    { kind: "offline", type: "sensevoice", dir, model: "model.onnx", tokens: "tokens.txt" },
    { sherpaModule: mod, onUnsupported: (w) => unsupported.push(w) },
  );
  assert.equal(sv.supportsHotwords, false);
  const r = await sv.recognize(new Int16Array(16000), { hotwords: ["Termin"] });
  assert.equal(r.text, "hallo welt");
  assert.equal(r.language, "de");
  assert.ok(r.confidence && Math.abs(r.confidence - Math.exp(-0.2)) < 1e-9);
  assert.deepEqual(streams, [undefined]);
  assert.equal(unsupported.length, 1);
  const tr = new SherpaOfflineAsr(
    {
      kind: "offline",
      type: "transducer",
      dir,
      encoder: "enc.onnx",
      decoder: "dec.onnx",
      joiner: "join.onnx",
      tokens: "tokens.txt",
      modelingUnit: "bpe",
      bpeVocab: "bpe.vocab",
    },
    { sherpaModule: mod },
  );
  assert.equal(tr.supportsHotwords, true);
  await tr.recognize(new Float32Array(1600), { hotwords: ["Doktor Meier", "a/b"] });
  assert.equal(streams[1], "Doktor Meier/a b");
  assert.equal(formatHotwords(["  x  y ", ""]), "x y");
});

test("measured: a corrupt .onnx given straight to sherpa aborts the process (why the pre-check exists)", () => {
  // Run in a child so this process survives; documents sherpa-onnx-node 1.13.8 behaviour.
  const code = `const s=require("sherpa-onnx-node");new s.OfflineRecognizer({featConfig:{sampleRate:16000,featureDim:80},modelConfig:{nemoCtc:{model:${JSON.stringify(join(dir, "garbage.onnx"))}},tokens:${JSON.stringify(join(dir, "tokens.txt"))},numThreads:1,provider:"cpu",debug:0}});console.log("alive")`;
  const r = spawnSync(process.execPath, ["-e", code], {
    cwd: new URL("../..", import.meta.url).pathname,
    encoding: "utf8",
    timeout: 60_000,
  });
  assert.notEqual(r.status, 0);
  assert.doesNotMatch(r.stdout, /alive/);
  assert.match(r.stderr, /Protobuf parsing failed|Ort::Exception/);
});

test("an offline NeMo CTC model that sherpa would abort on is rejected before it gets there", () => {
  const nemo = (model: string, tokens = "tokens.txt"): OfflineAsrBundle => ({
    kind: "offline",
    type: "nemo-ctc",
    dir,
    model,
    tokens,
  });
  const rejects = (b: OfflineAsrBundle, re: RegExp) =>
    assert.throws(
      () => buildOfflineConfig(b),
      (e: unknown) => e instanceof EngineLoadError && re.test(e.message),
    );
  rejects(nemo("nemo-vocab4.onnx"), /nemo-vocab4\.onnx.*4 output symbols but .*tokens\.txt lists 3/);
  rejects(nemo("model.onnx"), /model\.onnx.*no vocab_size/);
  rejects(nemo("nemo-norm.onnx"), /normalize_type "all_features"/);
  rejects(nemo("nemo.onnx", "tokens-noblank.txt"), /tokens-noblank\.txt.*no blank symbol/);
  assert.doesNotThrow(() => buildOfflineConfig(nemo("nemo.onnx")));
});

test("ignoreWords drop the command recognizer's filler token from text, tokens and timestamps", () => {
  const f = wordFilter(["other"]);
  assert.deepEqual(f({ text: "other 4 7 other", tokens: [" other", " 4", " 7", " other"], timestamps: [0, 1, 2, 3] }), {
    text: "4 7",
    tokens: [" 4", " 7"],
    timestamps: [1, 2],
  });
  assert.deepEqual(f({ text: "another other" }), { text: "another" }, "whole words only");
  const same = { text: "other" };
  assert.equal(wordFilter(undefined)(same), same);
});
