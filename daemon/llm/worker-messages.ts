// Messages between WorkerLlm (main thread) and llm-worker.ts. Plain data only: they cross postMessage.
import type { OrtGenaiLlmOptions } from "./ort-genai-llm.ts";
import type { ChatMessage, GenerateOptions, GenerateResult } from "./types.ts";

export interface LlmWorkerInit {
  dir: string;
  opts: OrtGenaiLlmOptions;
}

/**
 * GenerateOptions without the parts that cannot cross threads: `stream` says whether to send token deltas,
 * `aborted` that the caller's signal had fired before the request was sent.
 */
export type WireGenerateOptions = Omit<GenerateOptions, "signal" | "onToken"> & { stream: boolean; aborted: boolean };

export type ToLlmWorker =
  | { type: "generate"; id: number; prompt: string | ChatMessage[]; opts: WireGenerateOptions }
  | { type: "abort"; id: number }
  | { type: "count"; id: number; prompt: string | ChatMessage[] }
  | { type: "close" };

export type FromLlmWorker =
  | { type: "ready"; contextLength: number }
  | { type: "loadError"; modelPath: string; reason: string }
  | { type: "token"; id: number; delta: string }
  | { type: "done"; id: number; result: GenerateResult }
  | { type: "count"; id: number; n: number }
  | { type: "failed"; id: number; message: string; name: string }
  | { type: "closed" };
