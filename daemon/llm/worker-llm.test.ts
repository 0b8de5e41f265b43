// WorkerLlm: the same adapter in a worker thread. Besides the contract (same tokens, streaming, abort, queueing,
// load errors), this measures what the worker is for: the main thread's event loop during a long prompt prefill.
import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { OrtGenaiLlm } from "./ort-genai-llm.ts";
import { fixtureCopy, haveTinyLlama, TINY_LLAMA } from "./testutil.ts";
import { LlmLoadError } from "./types.ts";
import { WorkerLlm } from "./worker-llm.ts";
import { truncateSync } from "node:fs";

const PROMPT = "Guten Tag, hier ist die Telefonzentrale. How can I help you today?";

test("WorkerLlm: same greedy tokens as in-process, streamed deltas, token count, abort, queueing, close", async (t) => {
  if (!haveTinyLlama(t)) return;
  const w = await WorkerLlm.start(TINY_LLAMA);
  t.after(() => w.close());
  const local = await OrtGenaiLlm.load(TINY_LLAMA);
  t.after(() => local.close());
  assert.equal(w.contextLength, 2048);
  assert.equal(await w.countTokens("Hello world"), 3);

  const deltas: string[] = [];
  const r = await w.generate(PROMPT, { maxNewTokens: 24, onToken: (d) => deltas.push(d) });
  const ref = await local.generate(PROMPT, { maxNewTokens: 24 });
  assert.deepEqual(r.tokenIds, ref.tokenIds);
  assert.equal(r.text, ref.text);
  assert.equal(deltas.join(""), r.text);
  const sampled = await w.generate(PROMPT, { maxNewTokens: 16, temperature: 1, seed: 9 });
  assert.deepEqual(
    sampled.tokenIds,
    (await local.generate(PROMPT, { maxNewTokens: 16, temperature: 1, seed: 9 })).tokenIds,
  );

  const ac = new AbortController();
  let seen = 0;
  const aborted = await w.generate(PROMPT, {
    maxNewTokens: 1000,
    signal: ac.signal,
    onToken: () => {
      if (++seen === 3) ac.abort();
    },
  });
  assert.equal(aborted.finishReason, "aborted");
  assert.ok(aborted.tokens < 1000);
  const pre = await w.generate(PROMPT, { maxNewTokens: 10, signal: AbortSignal.abort() });
  assert.equal(pre.finishReason, "aborted");
  assert.equal(pre.tokens, 0);
  assert.equal(pre.promptTokens, ref.promptTokens);

  const order: string[] = [];
  const [a, b] = await Promise.all([
    w.generate(PROMPT, { maxNewTokens: 10, onToken: () => order.push("a") }),
    w.generate("Hallo", { maxNewTokens: 10, onToken: () => order.push("b") }),
  ]);
  assert.equal(a.tokens + b.tokens, 20);
  assert.ok(order.lastIndexOf("a") < order.indexOf("b"), order.join(""));
  await assert.rejects(w.generate(PROMPT, { maxNewTokens: 0 }), RangeError);

  await w.close();
  await assert.rejects(w.generate(PROMPT, { maxNewTokens: 1 }), /closed/);
});

test("WorkerLlm: a load failure in the worker is an LlmLoadError naming the file", async (t) => {
  if (!haveTinyLlama(t)) return;
  const dir = fixtureCopy(t);
  truncateSync(join(dir, "model.onnx.data"), 4096);
  await assert.rejects(WorkerLlm.start(dir), (e: unknown) => {
    assert.ok(e instanceof LlmLoadError);
    assert.equal(e.modelPath, join(dir, "model.onnx.data"));
    assert.match(e.reason, /truncated/);
    return true;
  });
});

/** Largest gap between 5 ms timer ticks while `work` runs: how long the event loop was blocked. */
async function maxLoopGap(work: () => Promise<unknown>): Promise<number> {
  let last = performance.now();
  let max = 0;
  const iv = setInterval(() => {
    const now = performance.now();
    max = Math.max(max, now - last);
    last = now;
  }, 5);
  try {
    await work();
  } finally {
    clearInterval(iv);
  }
  return Math.max(max, performance.now() - last);
}

test("WorkerLlm keeps the main event loop free during a long prefill; in-process ORT blocks it", async (t) => {
  if (!haveTinyLlama(t)) return;
  const local = await OrtGenaiLlm.load(TINY_LLAMA);
  t.after(() => local.close());
  const w = await WorkerLlm.start(TINY_LLAMA);
  t.after(() => w.close());
  const prompt = "Guten Tag, ich rufe wegen meiner Rechnung an. ".repeat(70);
  const n = local.encode(prompt).length;
  assert.ok(n > 900 && n < 2000, `${n} prompt tokens`);
  await local.generate("warm up", { maxNewTokens: 1 });
  await w.generate("warm up", { maxNewTokens: 1 });
  // Worker first: the in-process run leaves ~70 MB of logits garbage whose collection would land in the other window.
  const inWorker = await maxLoopGap(() => w.generate(prompt, { maxNewTokens: 4 }));
  const inProcess = await maxLoopGap(() => local.generate(prompt, { maxNewTokens: 4 }));
  t.diagnostic(
    `${n}-token prompt + 4 tokens on the fixture: main event loop blocked up to ${inProcess.toFixed(0)} ms in-process, ` +
      `${inWorker.toFixed(0)} ms with WorkerLlm (5 ms timer)`,
  );
  assert.ok(inWorker < inProcess / 3, `worker ${inWorker} ms vs in-process ${inProcess} ms`);
});
