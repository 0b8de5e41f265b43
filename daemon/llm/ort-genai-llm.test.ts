// OrtGenaiLlm on the RANDOM-weight tiny LLaMA fixture: the text is meaningless, so these tests prove code paths
// (tokenizer, KV cache, sampling, stopping, streaming, queueing, file checks), never answer quality.
import assert from "node:assert/strict";
import { readFileSync, rmSync, truncateSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, test } from "node:test";
import * as ort from "onnxruntime-node";
import { formatChat } from "./chat.ts";
import { f16ToF32Array } from "./fp16.ts";
import { OrtGenaiLlm } from "./ort-genai-llm.ts";
import { argmax } from "./sampling.ts";
import { fixtureCopy, haveTinyLlama, TINY_LLAMA } from "./testutil.ts";
import { type GenerateResult, LlmLoadError } from "./types.ts";

const PROMPT = "Guten Tag, hier ist die Telefonzentrale. How can I help you today?";

let shared: Promise<OrtGenaiLlm> | undefined;
/** One instance for the tests that do not need their own (loading costs ~0.3 s). */
function llm(): Promise<OrtGenaiLlm> {
  shared ??= OrtGenaiLlm.load(TINY_LLAMA);
  return shared;
}
after(async () => {
  if (shared) await (await shared).close();
});

test("tokenizer: German + English round-trips; BOS and known LLaMA ids; counts match generate()", async (t) => {
  if (!haveTinyLlama(t)) return;
  const m = await llm();
  const s = "Grüß Gott, Frau Müller! The invoice №42 costs 13,50 € — okay? 🙂";
  const ids = m.encode(s);
  assert.equal(ids[0], 1, "the tokenizer's post-processor adds <s>");
  assert.ok(
    ids.some((id) => id >= 3 && id < 259),
    "the emoji goes through byte fallback tokens",
  );
  assert.equal(m.decode(ids), s);
  // LLaMA's vocabulary: ▁Hello = 15043, ▁world = 3186.
  assert.deepEqual(m.encode("Hello world"), [1, 15043, 3186]);
  assert.equal(await m.countTokens("Hello world"), 3);
  const r = await m.generate("Hello world", { maxNewTokens: 1 });
  assert.equal(r.promptTokens, 3);
  const chat = [{ role: "user" as const, content: s }];
  const rc = await m.generate(chat, { maxNewTokens: 1 });
  assert.equal(rc.promptTokens, m.encode(formatChat(chat)).length);
  assert.equal(await m.countTokens(chat), rc.promptTokens);
});

test("maxNewTokens N gives exactly N tokens (finishReason length) unless eos", async (t) => {
  if (!haveTinyLlama(t)) return;
  const m = await llm();
  for (const n of [1, 5, 17]) {
    const r = await m.generate(PROMPT, { maxNewTokens: n });
    if (r.finishReason === "stop") assert.ok(r.tokens < n, "eos before the limit");
    else {
      assert.equal(r.finishReason, "length");
      assert.equal(r.tokens, n);
    }
    assert.equal(r.tokenIds.length, r.tokens);
    assert.equal(r.text, m.decode(r.tokenIds));
  }
  await assert.rejects(m.generate(PROMPT, { maxNewTokens: 0 }), RangeError);
  await assert.rejects(m.generate(PROMPT, { maxNewTokens: 2, temperature: -1 }), RangeError);
});

test("greedy is deterministic; onToken deltas concatenate to the text; tokens/s on the fixture", async (t) => {
  if (!haveTinyLlama(t)) return;
  const m = await llm();
  const deltas: string[] = [];
  const a = await m.generate(PROMPT, { maxNewTokens: 64, onToken: (d) => deltas.push(d) });
  const b = await m.generate(PROMPT, { maxNewTokens: 64 });
  assert.deepEqual(b.tokenIds, a.tokenIds);
  assert.equal(b.text, a.text);
  assert.equal(deltas.join(""), a.text);
  assert.ok(deltas.length >= a.tokens / 2, `${deltas.length} deltas for ${a.tokens} tokens: streamed, not at the end`);
  assert.ok(a.firstTokenMs >= 0 && a.firstTokenMs <= a.ms);
  t.diagnostic(
    `fixture (2 layers, hidden 16, vocab 32k), 1 thread: ${a.tokens} tokens in ${a.ms.toFixed(0)} ms = ` +
      `${((a.tokens / a.ms) * 1000).toFixed(0)} tokens/s; first token after ${a.firstTokenMs.toFixed(1)} ms ` +
      `(${a.promptTokens}-token prompt). A code-path figure only, not a model speed.`,
  );
});

test("seeded sampling is reproducible, differs between seeds, and top-k 1 is greedy", async (t) => {
  if (!haveTinyLlama(t)) return;
  const m = await llm();
  const opts = { maxNewTokens: 32, temperature: 1, topK: 50 };
  const s1 = await m.generate(PROMPT, { ...opts, seed: 1 });
  const s1b = await m.generate(PROMPT, { ...opts, seed: 1 });
  const s2 = await m.generate(PROMPT, { ...opts, seed: 2 });
  const greedy = await m.generate(PROMPT, { maxNewTokens: 32 });
  assert.deepEqual(s1b.tokenIds, s1.tokenIds);
  // 32 draws among 50 candidates of a random model: two seeds agreeing on all of them is vanishingly unlikely.
  assert.notDeepEqual(s2.tokenIds, s1.tokenIds);
  assert.notDeepEqual(s1.tokenIds, greedy.tokenIds);
  const k1 = await m.generate(PROMPT, { maxNewTokens: 32, temperature: 1, topK: 1, seed: 5 });
  assert.deepEqual(k1.tokenIds, greedy.tokenIds);
});

/** Greedy decoding with no cache at all: every step re-runs the whole sequence from an empty past. */
async function greedyWithoutCache(prompt: number[], steps: number): Promise<number[]> {
  const session = await ort.InferenceSession.create(join(TINY_LLAMA, "model.onnx"), { intraOpNumThreads: 1 });
  try {
    const seq = [...prompt];
    const out: number[] = [];
    for (let s = 0; s < steps; s++) {
      const n = seq.length;
      const i64 = (f: (i: number) => number) =>
        new ort.Tensor(
          "int64",
          BigInt64Array.from({ length: n }, (_, i) => BigInt(f(i))),
          [1, n],
        );
      const feeds: Record<string, ort.Tensor> = {
        input_ids: i64((i) => seq[i]),
        attention_mask: i64(() => 1),
        position_ids: i64((i) => i),
      };
      for (const l of [0, 1]) {
        for (const kv of ["key", "value"]) {
          feeds[`past_key_values.${l}.${kv}`] = new ort.Tensor("float16", new Uint16Array(0), [1, 1, 0, 16]);
        }
      }
      const r = await session.run(feeds);
      const V = r.logits.dims[2];
      const next = argmax(f16ToF32Array(r.logits.data as Uint16Array, (n - 1) * V, V));
      out.push(next);
      seq.push(next);
    }
    return out;
  } finally {
    await session.release();
  }
}

test("KV cache: cached greedy decoding equals re-running the full sequence without cache", async (t) => {
  if (!haveTinyLlama(t)) return;
  const m = await llm();
  const steps = 16;
  for (const prompt of [PROMPT, "Hallo"]) {
    const reference = await greedyWithoutCache(m.encode(prompt), steps);
    const cached = await m.generate(prompt, { maxNewTokens: steps });
    assert.deepEqual(cached.tokenIds, reference, prompt);
  }
});

test("stop string taken from the greedy output: text ends before it, it is never streamed", async (t) => {
  if (!haveTinyLlama(t)) return;
  const m = await llm();
  const full = await m.generate(PROMPT, { maxNewTokens: 24 });
  // Four characters from the middle of the text, made of non-space characters so it is a real marker.
  const words = full.text.slice(Math.floor(full.text.length / 2));
  const at = words.search(/\S{4}/);
  assert.ok(at >= 0, `no 4-character run in ${JSON.stringify(words)}`);
  const stop = words.slice(at, at + 4);
  const expected = full.text.slice(0, full.text.indexOf(stop));
  const deltas: string[] = [];
  const r = await m.generate(PROMPT, { maxNewTokens: 24, stop: [stop], onToken: (d) => deltas.push(d) });
  assert.equal(r.finishReason, "stop");
  assert.equal(r.text, expected);
  assert.equal(deltas.join(""), expected);
  assert.ok(r.tokens < full.tokens);
  assert.deepEqual(r.tokenIds, full.tokenIds.slice(0, r.tokens));
});

test("chat prompt: role-prefixed template, the answer starts without whitespace", async (t) => {
  if (!haveTinyLlama(t)) return;
  const m = await llm();
  const msgs = [
    { role: "system" as const, content: "Antworte kurz." },
    { role: "user" as const, content: "Wann haben Sie geöffnet?" },
  ];
  assert.equal(m.promptText(msgs), "System: Antworte kurz.\nUser: Wann haben Sie geöffnet?\nAssistant:");
  const r = await m.generate(msgs, { maxNewTokens: 16 });
  assert.equal(r.text, r.text.trimStart());
});

test("abort: mid-generation within one step, before start, and while queued", async (t) => {
  if (!haveTinyLlama(t)) return;
  const m = await llm();
  const ac = new AbortController();
  let abortedAt = 0;
  let seen = 0;
  const r = await m.generate(PROMPT, {
    maxNewTokens: 1000,
    onToken: () => {
      if (++seen === 3) {
        abortedAt = performance.now();
        ac.abort();
      }
    },
    signal: ac.signal,
  });
  const lag = performance.now() - abortedAt;
  assert.equal(r.finishReason, "aborted");
  assert.ok(r.tokens >= 3 && r.tokens <= 4, `${r.tokens} tokens`);
  assert.ok(lag < 200, `returned ${lag} ms after the abort`);
  assert.equal(r.text, m.decode(r.tokenIds));

  const pre = await m.generate(PROMPT, { maxNewTokens: 10, signal: AbortSignal.abort() });
  assert.equal(pre.finishReason, "aborted");
  assert.equal(pre.tokens, 0);

  const long = m.generate(PROMPT, { maxNewTokens: 300 });
  const queuedAc = new AbortController();
  const queued = m.generate(PROMPT, { maxNewTokens: 10, signal: queuedAc.signal });
  queuedAc.abort();
  const first = await Promise.race([queued.then(() => "queued"), long.then(() => "long")]);
  assert.equal(first, "queued", "an aborted waiter leaves the queue at once");
  assert.equal((await queued).finishReason, "aborted");
  assert.equal((await long).tokens, 300);
  // The queue still works after a waiter left it.
  assert.equal((await m.generate(PROMPT, { maxNewTokens: 2 })).tokens, 2);
});

test("concurrent generate() calls are serialized and both complete with their solo results", async (t) => {
  if (!haveTinyLlama(t)) return;
  const m = await llm();
  const other = "Wie ist das Wetter in Berlin?";
  const soloA = await m.generate(PROMPT, { maxNewTokens: 20 });
  const soloB = await m.generate(other, { maxNewTokens: 20 });
  const order: string[] = [];
  const [a, b] = await Promise.all([
    m.generate(PROMPT, { maxNewTokens: 20, onToken: () => order.push("a") }),
    m.generate(other, { maxNewTokens: 20, onToken: () => order.push("b") }),
  ]);
  assert.deepEqual(a.tokenIds, soloA.tokenIds);
  assert.deepEqual(b.tokenIds, soloB.tokenIds);
  const lastA = order.lastIndexOf("a");
  const firstB = order.indexOf("b");
  assert.ok(lastA < firstB, `streams interleaved: ${order.join("")}`);
});

test("context length: generation stops when the window is full; an oversized prompt is refused", async (t) => {
  if (!haveTinyLlama(t)) return;
  const m = await OrtGenaiLlm.load(TINY_LLAMA, { contextLength: 16 });
  t.after(() => m.close());
  assert.equal(m.contextLength, 16);
  const r = await m.generate("Hello world", { maxNewTokens: 100 });
  assert.equal(r.finishReason, "length");
  assert.equal(r.promptTokens + r.tokens, 16);
  await assert.rejects(m.generate(PROMPT, { maxNewTokens: 1 }), /prompt has \d+ tokens; the context holds 16/);
});

test("close: aborts the running generation, rejects queued and later calls", async (t) => {
  if (!haveTinyLlama(t)) return;
  const m = await OrtGenaiLlm.load(TINY_LLAMA);
  let started!: () => void;
  const isRunning = new Promise<void>((r) => {
    started = r;
  });
  const running = m.generate(PROMPT, { maxNewTokens: 1000, onToken: () => started() });
  const queued = m.generate(PROMPT, { maxNewTokens: 1 });
  await isRunning;
  await m.close();
  const r: GenerateResult = await running;
  assert.equal(r.finishReason, "aborted");
  assert.ok(r.tokens < 1000);
  await assert.rejects(queued, /closed/);
  await assert.rejects(m.generate(PROMPT, { maxNewTokens: 1 }), /closed/);
});

/** Loads `dir` and expects an LlmLoadError naming `path` with a reason matching `reason`. */
async function expectLoadError(dir: string, path: string, reason: RegExp): Promise<void> {
  await assert.rejects(OrtGenaiLlm.load(dir), (e: unknown) => {
    assert.ok(e instanceof LlmLoadError, `not an LlmLoadError: ${e}`);
    assert.equal(e.modelPath, path);
    assert.match(e.reason, reason);
    return true;
  });
}

test("missing or corrupt files: LlmLoadError naming the file, and the process survives", async (t) => {
  if (!haveTinyLlama(t)) return;
  const cases: [string, (dir: string) => void, string, RegExp][] = [
    ["model.onnx missing", (d) => unlinkSync(join(d, "model.onnx")), "model.onnx", /missing/],
    ["model.onnx empty", (d) => truncateSync(join(d, "model.onnx"), 0), "model.onnx", /empty/],
    ["model.onnx truncated", (d) => truncateSync(join(d, "model.onnx"), 20000), "model.onnx", /truncated|corrupt/],
    [
      "model.onnx garbage",
      (d) => writeFileSync(join(d, "model.onnx"), Buffer.alloc(4096, 0xa7)),
      "model.onnx",
      /not an ONNX/,
    ],
    ["data missing", (d) => unlinkSync(join(d, "model.onnx.data")), "model.onnx.data", /missing.*external weights/],
    [
      "data truncated",
      (d) => truncateSync(join(d, "model.onnx.data"), 1_000_000),
      "model.onnx.data",
      /truncated: 1000000 bytes/,
    ],
    ["genai_config missing", (d) => unlinkSync(join(d, "genai_config.json")), "genai_config.json", /missing/],
    [
      "genai_config not JSON",
      (d) => writeFileSync(join(d, "genai_config.json"), "{ model: "),
      "genai_config.json",
      /not valid JSON/,
    ],
    [
      "genai_config invalid",
      (d) => {
        const c = JSON.parse(readFileSync(join(d, "genai_config.json"), "utf8"));
        c.model.decoder.head_size = "16";
        delete c.model.context_length;
        writeFileSync(join(d, "genai_config.json"), JSON.stringify(c));
      },
      "genai_config.json",
      /model\.decoder\.head_size.*model\.context_length|model\.context_length.*model\.decoder\.head_size/,
    ],
    [
      "genai_config points outside",
      (d) => {
        const c = JSON.parse(readFileSync(join(d, "genai_config.json"), "utf8"));
        c.model.decoder.filename = "../model.onnx";
        writeFileSync(join(d, "genai_config.json"), JSON.stringify(c));
      },
      "genai_config.json",
      /outside the model directory/,
    ],
    ["tokenizer missing", (d) => unlinkSync(join(d, "tokenizer.json")), "tokenizer.json", /missing/],
    [
      "tokenizer not JSON",
      (d) => {
        unlinkSync(join(d, "tokenizer.json"));
        writeFileSync(join(d, "tokenizer.json"), '{"version": "1.0", "mod');
      },
      "tokenizer.json",
      /not valid JSON/,
    ],
  ];
  for (const [name, damage, file, reason] of cases) {
    await t.test(name, async (st) => {
      const dir = fixtureCopy(st);
      damage(dir);
      await expectLoadError(dir, join(dir, file), reason);
    });
  }
  await t.test("directory missing", async () => {
    await expectLoadError("/nonexistent/llm", "/nonexistent/llm", /directory missing/);
  });
  await t.test(
    "ORT itself rejects a truncated model with an error, not an abort (bypassing the pre-check)",
    async (st) => {
      const dir = fixtureCopy(st);
      truncateSync(join(dir, "model.onnx"), 20000);
      await assert.rejects(
        ort.InferenceSession.create(join(dir, "model.onnx"), { logSeverityLevel: 4 }),
        /Protobuf parsing failed/,
      );
    },
  );
  await t.test("a structurally valid protobuf with a broken graph: ORT's error, wrapped", async (st) => {
    const dir = fixtureCopy(st);
    rmSync(join(dir, "model.onnx"));
    // ModelProto{ ir_version 7, graph { node { input "x", output "y", op_type "NoSuchOp" } } }, no opset.
    const node = Buffer.from([0x0a, 1, 0x78, 0x12, 1, 0x79, 0x22, 8, ...Buffer.from("NoSuchOp")]);
    const graph = Buffer.concat([Buffer.from([0x0a, node.length]), node]);
    writeFileSync(join(dir, "model.onnx"), Buffer.concat([Buffer.from([0x08, 7, 0x3a, graph.length]), graph]));
    await expectLoadError(dir, join(dir, "model.onnx"), /onnxruntime could not load the model/);
  });
});

test("genai_config.json that contradicts the graph: LlmLoadError naming genai_config.json", async (t) => {
  if (!haveTinyLlama(t)) return;
  const cases: [string, (c: { model: { decoder: Record<string, unknown>; vocab_size: number } }) => void, RegExp][] = [
    [
      "kv heads",
      (c) => (c.model.decoder.num_key_value_heads = 2),
      /num_key_value_heads is 2 but past_key_values\.0\.key has 1/,
    ],
    ["head size", (c) => (c.model.decoder.head_size = 8), /head_size is 8 but past_key_values\.0\.key has 16/],
    ["too many layers", (c) => (c.model.decoder.num_hidden_layers = 3), /no input "past_key_values\.2\.key"/],
    ["too few layers", (c) => (c.model.decoder.num_hidden_layers = 1), /input "past_key_values\.1\.key" is not one/],
    ["vocab", (c) => (c.model.vocab_size = 32064), /vocab_size is 32064 but logits have 32000/],
  ];
  for (const [name, edit, reason] of cases) {
    await t.test(name, async (st) => {
      const dir = fixtureCopy(st);
      const path = join(dir, "genai_config.json");
      const c = JSON.parse(readFileSync(path, "utf8"));
      edit(c);
      writeFileSync(path, JSON.stringify(c));
      await expectLoadError(dir, path, reason);
    });
  }
});
