// A decoder-only LLM in ONNX Runtime GenAI layout, run with onnxruntime-node and a pure-JS Hugging Face tokenizer.
// The ORT-GenAI runtime is not a dependency here; its layout (genai_config.json beside a decoder graph with
// past_key_values.N.key/value inputs and present.N.* outputs) is what the GenAI model builder and Olive produce
// for small models, so this adapter reads that layout and runs the generation loop itself.
//
// Threading: onnxruntime-node 1.30's `session.run` returns a promise, but the native run happens synchronously on
// the calling JS thread (dist/backend.js: setImmediate(() => binding.run(...))), so every step blocks that thread's
// event loop for its whole duration; a 2000-token prefill of even the 2-layer test fixture blocked the loop 0.4 s.
// On the daemon's main thread that stalls SIP timers, HTTP and the VAD. So the daemon should use WorkerLlm
// (worker-llm.ts), which runs this class in a worker thread; this class is what runs there (and in tests).
// intraOpNumThreads defaults to 1, so a generation takes one core of a 2-core box and leaves the other to the
// main thread and the media worker.
//
// The prompt is prefilled in one run, as ORT-GenAI does: the GenAI model builder's attention-mask subgraph accepts
// either several tokens with an empty past or one token with a past (the fixture rejects 2+ tokens after a past
// with "invalid expand shape"), so chunked prefill is not possible with this layout. That run returns logits for
// every prompt position (prompt x vocabulary floats); only the last row is used.
//
// The KV cache is not shared between generations: each generation starts from an empty past and feeds every
// `present` output back as the next `past` input. onnxruntime-node has no IO binding for CPU tensors, so the
// cache is copied out of and back into ORT on every step; for a voice turn (hundreds of tokens) that is small
// next to the matrix work, and it keeps the adapter independent of ORT-GenAI's past/present buffer sharing.
import { randomInt } from "node:crypto";
import { Tokenizer } from "@huggingface/tokenizers";
import * as ort from "onnxruntime-node";
import { Lock } from "../speech/lock.ts";
import { CHAT_STOPS, formatChat } from "./chat.ts";
import { f16ToF32Array } from "./fp16.ts";
import { checkModelDir, type GenaiConfig, type ModelDir } from "./model-dir.ts";
import { argmax, createRng, sampleToken } from "./sampling.ts";
import { TextStream } from "./text-stream.ts";
import {
  type ChatMessage,
  type FinishReason,
  type GenerateOptions,
  type GenerateResult,
  type Llm,
  LlmLoadError,
} from "./types.ts";

export interface OrtGenaiLlmOptions {
  /** ORT intra-op threads; 1 keeps a generation on one core. */
  intraOpNumThreads?: number;
  /** Lower the usable context below the model's context_length (bounds KV memory and prompt prefill time). */
  contextLength?: number;
  /** ORT log level (0 verbose .. 4 fatal); 3 keeps ORT's own stderr quiet unless it fails. */
  logSeverityLevel?: 0 | 1 | 2 | 3 | 4;
}

type IntType = "int64" | "int32";
type KvType = "float16" | "float32";

/** The model's inputs and outputs, resolved from genai_config.json and checked against the session. */
interface ModelIo {
  inputIds: string;
  inputIdsType: IntType;
  attentionMask?: { name: string; type: IntType };
  positionIds?: { name: string; type: IntType };
  pastKey: string[];
  pastValue: string[];
  presentKey: string[];
  presentValue: string[];
  logits: string;
  kvType: KvType;
  kvHeads: number;
  headSize: number;
}

const layerName = (pattern: string, layer: number) => pattern.replace("%d", String(layer));

/** genai_config.json and the session disagree; becomes an LlmLoadError naming genai_config.json. */
class IoMismatch extends Error {}

/** Matches the config's geometry and names against the session's metadata. */
function resolveIo(config: GenaiConfig, session: ort.InferenceSession): ModelIo {
  const d = config.model.decoder;
  const inputs = new Map(session.inputMetadata.map((m) => [m.name, m]));
  const outputs = new Map(session.outputMetadata.map((m) => [m.name, m]));
  const layers = Array.from({ length: d.num_hidden_layers }, (_, l) => l);
  const io: ModelIo = {
    inputIds: d.inputs.input_ids,
    inputIdsType: "int64",
    pastKey: layers.map((l) => layerName(d.inputs.past_key_names, l)),
    pastValue: layers.map((l) => layerName(d.inputs.past_value_names, l)),
    presentKey: layers.map((l) => layerName(d.outputs.present_key_names, l)),
    presentValue: layers.map((l) => layerName(d.outputs.present_value_names, l)),
    logits: d.outputs.logits,
    kvType: "float32",
    kvHeads: d.num_key_value_heads,
    headSize: d.head_size,
  };
  const intType = (name: string): IntType => {
    const m = inputs.get(name);
    if (!m?.isTensor) return "int64";
    if (m.type !== "int64" && m.type !== "int32")
      throw new IoMismatch(`input ${name} is ${m.type}, expected int64 or int32`);
    return m.type;
  };
  if (!inputs.has(io.inputIds)) throw new IoMismatch(`model has no input "${io.inputIds}" (decoder.inputs.input_ids)`);
  io.inputIdsType = intType(io.inputIds);
  if (inputs.has(d.inputs.attention_mask)) {
    io.attentionMask = { name: d.inputs.attention_mask, type: intType(d.inputs.attention_mask) };
  }
  if (inputs.has(d.inputs.position_ids)) {
    io.positionIds = { name: d.inputs.position_ids, type: intType(d.inputs.position_ids) };
  }
  const known = new Set([io.inputIds, d.inputs.attention_mask, d.inputs.position_ids, ...io.pastKey, ...io.pastValue]);
  for (const name of inputs.keys()) {
    if (!known.has(name)) {
      throw new IoMismatch(
        `model input "${name}" is not one this adapter feeds (num_hidden_layers ${d.num_hidden_layers}; input names in decoder.inputs)`,
      );
    }
  }
  if (!outputs.has(io.logits)) throw new IoMismatch(`model has no output "${io.logits}" (decoder.outputs.logits)`);
  const kvTypes = new Set<string>();
  for (const [names, where, kind] of [
    [io.pastKey, inputs, "input"],
    [io.pastValue, inputs, "input"],
    [io.presentKey, outputs, "output"],
    [io.presentValue, outputs, "output"],
  ] as const) {
    for (const name of names) {
      const m = where.get(name);
      if (!m) throw new IoMismatch(`model has no ${kind} "${name}" (num_hidden_layers ${d.num_hidden_layers})`);
      if (!m.isTensor) continue;
      kvTypes.add(m.type);
      const s = m.shape;
      if (s.length !== 4)
        throw new IoMismatch(`${name} has rank ${s.length}, expected [batch, kv_heads, sequence, head_size]`);
      if (typeof s[1] === "number" && s[1] !== d.num_key_value_heads) {
        throw new IoMismatch(`num_key_value_heads is ${d.num_key_value_heads} but ${name} has ${s[1]} heads`);
      }
      if (typeof s[3] === "number" && s[3] !== d.head_size) {
        throw new IoMismatch(`head_size is ${d.head_size} but ${name} has ${s[3]}`);
      }
    }
  }
  if (kvTypes.size > 1) throw new IoMismatch(`KV cache tensors mix types (${[...kvTypes].join(", ")})`);
  const kv = [...kvTypes][0];
  if (kv !== undefined && kv !== "float16" && kv !== "float32")
    throw new IoMismatch(`KV cache type ${kv} is not supported`);
  if (kv) io.kvType = kv;
  const lm = outputs.get(io.logits);
  if (lm?.isTensor) {
    if (lm.type !== "float16" && lm.type !== "float32")
      throw new IoMismatch(`logits are ${lm.type}, expected float16 or float32`);
    const v = lm.shape.at(-1);
    const vocab = config.model.vocab_size;
    if (typeof v === "number" && vocab !== undefined && v !== vocab)
      throw new IoMismatch(`vocab_size is ${vocab} but logits have ${v}`);
  }
  return io;
}

/** Token ids of a special token named in tokenizer_config.json ("eos_token": "</s>" or {content: "</s>"}). */
function specialTokenId(tokenizer: Tokenizer, cfg: Record<string, unknown>, key: string): number | undefined {
  const v = cfg[key];
  const content = typeof v === "string" ? v : typeof v === "object" && v !== null && "content" in v ? v.content : "";
  return typeof content === "string" && content ? tokenizer.token_to_id(content) : undefined;
}

function intTensor(type: IntType, values: ArrayLike<number>, dims: number[]): ort.Tensor {
  if (type === "int32") return new ort.Tensor("int32", Int32Array.from(values), dims);
  const a = new BigInt64Array(values.length);
  for (let i = 0; i < values.length; i++) a[i] = BigInt(values[i]);
  return new ort.Tensor("int64", a, dims);
}

/** Resolves with the lock's release, or with undefined when `signal` aborts first (the place is then given up). */
async function acquire(lock: Lock, signal?: AbortSignal): Promise<(() => void) | undefined> {
  const p = lock.acquire();
  if (!signal) return p;
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<undefined>((resolve) => {
    onAbort = () => resolve(undefined);
    signal.addEventListener("abort", onAbort, { once: true });
  });
  const r = await Promise.race([p, aborted]);
  if (onAbort) signal.removeEventListener("abort", onAbort);
  if (r === undefined) void p.then((release) => release());
  return r;
}

export class OrtGenaiLlm implements Llm {
  readonly contextLength: number;
  private readonly lock = new Lock();
  private readonly eos: ReadonlySet<number>;
  private closed = false;

  private constructor(
    private readonly files: ModelDir,
    private readonly session: ort.InferenceSession,
    private readonly tokenizer: Tokenizer,
    private readonly io: ModelIo,
    contextLength: number,
  ) {
    this.contextLength = contextLength;
    // genai_config.json's eos_token_id is authoritative (ORT-GenAI stops on it); tokenizer_config.json's eos_token
    // is added because the two disagree in some exports (the test fixture: genai says 1, the tokenizer's </s> is 2).
    // BOS is left to tokenizer.json's post-processor; genai_config's bos_token_id is not used (the fixture's is 0,
    // which is the tokenizer's <unk>).
    const eos = new Set([files.config.model.eos_token_id].flat());
    const tokEos = specialTokenId(tokenizer, files.tokenizerConfig, "eos_token");
    if (tokEos !== undefined) eos.add(tokEos);
    this.eos = eos;
  }

  /** Checks the directory's files, then creates the session and tokenizer. Every failure is an LlmLoadError. */
  static async load(dir: string, opts: OrtGenaiLlmOptions = {}): Promise<OrtGenaiLlm> {
    const files = checkModelDir(dir);
    let tokenizer: Tokenizer;
    try {
      tokenizer = new Tokenizer(files.tokenizerJson, files.tokenizerConfig);
    } catch (e) {
      throw new LlmLoadError(files.tokenizerPath, `tokenizer could not be built: ${(e as Error).message}`, {
        cause: e,
      });
    }
    let session: ort.InferenceSession;
    try {
      session = await ort.InferenceSession.create(files.modelPath, {
        intraOpNumThreads: opts.intraOpNumThreads ?? 1,
        interOpNumThreads: 1,
        executionMode: "sequential",
        graphOptimizationLevel: "all",
        logSeverityLevel: opts.logSeverityLevel ?? 3,
      });
    } catch (e) {
      const msg = (e as Error).message.split("\n")[0].slice(0, 500);
      throw new LlmLoadError(files.modelPath, `onnxruntime could not load the model: ${msg}`, { cause: e });
    }
    let io: ModelIo;
    try {
      io = resolveIo(files.config, session);
    } catch (e) {
      await session.release();
      if (!(e instanceof IoMismatch)) throw e;
      throw new LlmLoadError(files.configPath, `does not match ${files.config.model.decoder.filename}: ${e.message}`);
    }
    const ctx = Math.min(files.config.model.context_length, opts.contextLength ?? Number.POSITIVE_INFINITY);
    if (!(ctx >= 2)) throw new RangeError(`contextLength ${opts.contextLength} is too small`);
    return new OrtGenaiLlm(files, session, tokenizer, io, ctx);
  }

  /** What the chat template turns a conversation into; exposed so logs and tests can show the exact prompt. */
  promptText(prompt: string | ChatMessage[]): string {
    return typeof prompt === "string" ? prompt : formatChat(prompt);
  }

  encode(prompt: string | ChatMessage[]): number[] {
    return this.tokenizer.encode(this.promptText(prompt)).ids;
  }

  /** Text of token ids, special tokens left out. */
  decode(ids: readonly number[]): string {
    return this.tokenizer.decode([...ids], { skip_special_tokens: true });
  }

  async countTokens(prompt: string | ChatMessage[]): Promise<number> {
    return this.encode(prompt).length;
  }

  async generate(prompt: string | ChatMessage[], opts: GenerateOptions): Promise<GenerateResult> {
    if (!Number.isInteger(opts.maxNewTokens) || opts.maxNewTokens < 1) {
      throw new RangeError(`maxNewTokens must be a positive integer, got ${opts.maxNewTokens}`);
    }
    if (opts.temperature !== undefined && !(opts.temperature >= 0 && Number.isFinite(opts.temperature))) {
      throw new RangeError(`temperature must be >= 0, got ${opts.temperature}`);
    }
    if (opts.topK !== undefined && !(Number.isInteger(opts.topK) && opts.topK >= 0)) {
      throw new RangeError(`topK must be an integer >= 0, got ${opts.topK}`);
    }
    if (this.closed) throw new Error("LLM is closed");
    const ids = this.encode(prompt);
    if (ids.length >= this.contextLength) {
      throw new RangeError(`prompt has ${ids.length} tokens; the context holds ${this.contextLength}`);
    }
    const aborted = (): GenerateResult => ({
      text: "",
      tokens: 0,
      tokenIds: [],
      finishReason: "aborted",
      promptTokens: ids.length,
      ms: 0,
      firstTokenMs: -1,
    });
    if (opts.signal?.aborted) return aborted();
    const release = await acquire(this.lock, opts.signal);
    if (!release) return aborted();
    try {
      if (this.closed) throw new Error("LLM is closed");
      return await this.run(ids, opts, typeof prompt !== "string");
    } finally {
      release();
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const release = await this.lock.acquire();
    try {
      await this.session.release();
    } finally {
      release();
    }
  }

  private async run(ids: number[], opts: GenerateOptions, chat: boolean): Promise<GenerateResult> {
    const t0 = performance.now();
    const search = this.files.config.search;
    const temperature = opts.temperature ?? (search.do_sample ? search.temperature : 0);
    const topK = opts.topK ?? (search.do_sample ? search.top_k : 50);
    const rng = temperature > 0 ? createRng(opts.seed ?? randomInt(2 ** 32)) : undefined;
    const stops = [...(opts.stop ?? []), ...(chat ? CHAT_STOPS : [])];
    const stream = new TextStream((t) => this.decode(t), stops, opts.onToken, chat);
    const stopRequested = () => opts.signal?.aborted === true || this.closed;

    let finish: FinishReason | undefined = stopRequested() ? "aborted" : undefined;
    let logits: Float32Array | undefined;
    let past = this.emptyPast();
    let pos = 0;
    if (!finish) {
      ({ logits, past } = await this.step(ids, 0, past));
      pos = ids.length;
    }
    const generated: number[] = [];
    let firstTokenMs = -1;
    while (!finish && logits) {
      const next = rng ? sampleToken(logits, temperature, topK, rng) : argmax(logits);
      if (firstTokenMs < 0) firstTokenMs = performance.now() - t0;
      if (this.eos.has(next)) {
        finish = "stop";
        break;
      }
      generated.push(next);
      if (stream.push(next)) finish = "stop";
      else if (generated.length >= opts.maxNewTokens || ids.length + generated.length >= this.contextLength) {
        finish = "length";
      } else if (stopRequested()) finish = "aborted";
      else {
        ({ logits, past } = await this.step([next], pos, past));
        pos += 1;
      }
    }
    const text = stream.finish();
    return {
      text,
      tokens: generated.length,
      tokenIds: generated,
      finishReason: finish ?? "aborted",
      promptTokens: ids.length,
      ms: performance.now() - t0,
      firstTokenMs,
    };
  }

  private emptyPast(): ort.Tensor[] {
    const dims = [1, this.io.kvHeads, 0, this.io.headSize];
    const make = () =>
      this.io.kvType === "float16"
        ? new ort.Tensor("float16", new Uint16Array(0), dims)
        : new ort.Tensor("float32", new Float32Array(0), dims);
    return this.io.pastKey.flatMap(() => [make(), make()]);
  }

  /** One forward pass over `tokens` at positions pos.. with the cache `past` (key, value per layer). */
  private async step(
    tokens: readonly number[],
    pos: number,
    past: ort.Tensor[],
  ): Promise<{ logits: Float32Array; past: ort.Tensor[] }> {
    const io = this.io;
    const n = tokens.length;
    const feeds: Record<string, ort.Tensor> = { [io.inputIds]: intTensor(io.inputIdsType, tokens, [1, n]) };
    if (io.attentionMask) {
      feeds[io.attentionMask.name] = intTensor(io.attentionMask.type, new Array(pos + n).fill(1), [1, pos + n]);
    }
    if (io.positionIds) {
      const p = Array.from({ length: n }, (_, i) => pos + i);
      feeds[io.positionIds.name] = intTensor(io.positionIds.type, p, [1, n]);
    }
    io.pastKey.forEach((name, l) => {
      feeds[name] = past[2 * l];
      feeds[io.pastValue[l]] = past[2 * l + 1];
    });
    const out = await this.session.run(feeds);
    const next: ort.Tensor[] = [];
    io.presentKey.forEach((name, l) => {
      for (const t of [out[name], out[io.presentValue[l]]]) {
        if (t.dims[2] !== pos + n) throw new Error(`${name}: present length ${t.dims[2]}, expected ${pos + n}`);
        next.push(t);
      }
    });
    const lt = out[io.logits];
    const vocab = lt.dims[lt.dims.length - 1];
    const offset = lt.size - vocab; // the last position's row ([1, n, V], or [1, 1, V] for last-token-only exports)
    let logits: Float32Array;
    if (lt.type === "float16" && lt.data instanceof Uint16Array) logits = f16ToF32Array(lt.data, offset, vocab);
    else if (lt.type === "float32" && lt.data instanceof Float32Array) logits = lt.data.slice(offset, offset + vocab);
    else logits = Float32Array.from(lt.data as ArrayLike<number>).subarray(offset); // Float16Array on newer Node
    return { logits, past: next };
  }
}
