// The local LLM as the rest of the daemon sees it. One model instance is loaded at start and shared by every call;
// it runs one generation at a time (its KV cache belongs to that generation), so concurrent callers queue.
// Text goes in and out as strings: token ids stay inside the adapter, except `tokenIds` for diagnostics and tests.

import { EngineLoadError } from "../speech/types.ts";

/**
 * A model could not be loaded: the file or directory that failed (model.onnx, model.onnx.data, genai_config.json,
 * tokenizer.json, ...) and why. Raised by the file pre-checks before ORT sees a bad file, or wrapping ORT's error.
 */
export class LlmLoadError extends EngineLoadError {
  override readonly name: string = "LlmLoadError";
}

export interface ChatMessage {
  role: "system" | "user" | "assistant";
  content: string;
}

/**
 * Why a generation ended. "stop": the model's end-of-sequence token or a stop string; "length": maxNewTokens or
 * the context window is full; "aborted": the caller's signal fired (barge-in, hangup) before or during generation.
 */
export type FinishReason = "stop" | "length" | "aborted";

export interface GenerateOptions {
  /** Upper bound on generated tokens; a voice turn wants a short answer, and tokens cost time on a 2-core box. */
  maxNewTokens: number;
  /** 0 (or unset, unless the model's genai_config says do_sample) = greedy, reproducible without a seed. */
  temperature?: number;
  /**
   * Sample only among the k most likely tokens; 0 = all. Ignored when greedy. Default: genai_config's search.top_k
   * when it sets do_sample, else 50 (configs that do not sample often carry top_k 1, which would make sampling greedy).
   */
  topK?: number;
  /** Seed of the sampling PRNG, so a sampled answer can be reproduced; unset = random. */
  seed?: number;
  /** Generation ends before the first occurrence of any of these; the stop string itself is never emitted. */
  stop?: string[];
  /** Checked before every decoding step: an abort costs at most one step. */
  signal?: AbortSignal;
  /**
   * Streaming: text deltas as tokens are decoded, so TTS can start on the first sentence. Their concatenation is
   * always the final `text`. Text that might be the start of a stop string, or an incomplete UTF-8 sequence, is
   * held back until it is resolved.
   */
  onToken?(delta: string): void;
}

export interface GenerateResult {
  /**
   * Decoded from the generated tokens alone, so SentencePiece decoders (LLaMA) drop the first token's leading
   * space; byte-level BPE keeps it. Chat answers have leading whitespace removed either way.
   */
  text: string;
  /** Generated tokens, not counting an end-of-sequence token. */
  tokens: number;
  tokenIds: readonly number[];
  finishReason: FinishReason;
  promptTokens: number;
  /** Wall time of this generation, excluding time queued behind another one. */
  ms: number;
  /** Time to the first generated token (prompt prefill included): the latency a caller hears. -1 if none. */
  firstTokenMs: number;
}

export interface Llm {
  /**
   * Tokens the prompt occupies in the context window (special tokens included), for trimming a conversation.
   * Async because the tokenizer lives where the model runs (a worker thread for WorkerLlm).
   */
  countTokens(prompt: string | ChatMessage[]): Promise<number>;
  /** Tokens prompt + answer may use together. */
  readonly contextLength: number;
  generate(prompt: string | ChatMessage[], opts: GenerateOptions): Promise<GenerateResult>;
  /** Ends the running generation (finishReason "aborted"), releases the model; queued and later calls reject. */
  close(): Promise<void>;
}
