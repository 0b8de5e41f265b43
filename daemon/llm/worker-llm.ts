// The LLM as the daemon should hold it: OrtGenaiLlm running in its own worker thread. onnxruntime-node runs each
// step synchronously on the calling thread (see ort-genai-llm.ts), so on the main thread a generation would stall
// SIP timers, HTTP and the VAD for the length of every step; in a worker the main thread only sees messages.
// Same contract as OrtGenaiLlm: one generation at a time (the worker's instance queues), aborts within one step.
import type { Worker } from "node:worker_threads";
import { startModuleWorker } from "../ops/module-worker.ts";
import type { OrtGenaiLlmOptions } from "./ort-genai-llm.ts";
import { type ChatMessage, type GenerateOptions, type GenerateResult, type Llm, LlmLoadError } from "./types.ts";
import type { FromLlmWorker, LlmWorkerInit, ToLlmWorker } from "./worker-messages.ts";

interface Pending {
  resolve(v: unknown): void;
  reject(e: Error): void;
  onToken?(delta: string): void;
}

export class WorkerLlm implements Llm {
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private closed = false;
  private failure: Error | undefined;
  private onClosed: (() => void) | undefined;

  private constructor(
    private readonly worker: Worker,
    readonly contextLength: number,
  ) {
    worker.on("message", (m: FromLlmWorker) => this.onMessage(m));
    worker.on("error", (e) => this.fail(e));
    worker.on("exit", (code) => this.fail(new Error(`LLM worker exited (code ${code})`)));
  }

  /** Starts the worker and loads the model there; rejects with LlmLoadError like OrtGenaiLlm.load. */
  static async start(dir: string, opts: OrtGenaiLlmOptions = {}): Promise<WorkerLlm> {
    const worker = startModuleWorker(new URL("./llm-worker.ts", import.meta.url), {
      dir,
      opts,
    } satisfies LlmWorkerInit);
    let onMsg: ((m: FromLlmWorker) => void) | undefined;
    let onError: ((e: Error) => void) | undefined;
    let onExit: ((code: number) => void) | undefined;
    try {
      const contextLength = await new Promise<number>((resolve, reject) => {
        onMsg = (m) => {
          if (m.type === "ready") resolve(m.contextLength);
          else if (m.type === "loadError") reject(new LlmLoadError(m.modelPath, m.reason));
        };
        onError = reject;
        onExit = (code) => reject(new Error(`LLM worker exited during load (code ${code})`));
        worker.on("message", onMsg).on("error", onError).on("exit", onExit);
      });
      return new WorkerLlm(worker, contextLength);
    } catch (e) {
      await worker.terminate();
      throw e;
    } finally {
      if (onMsg) worker.off("message", onMsg);
      if (onError) worker.off("error", onError);
      if (onExit) worker.off("exit", onExit);
    }
  }

  countTokens(prompt: string | ChatMessage[]): Promise<number> {
    const id = this.nextId++;
    const p = this.request<number>(id);
    this.post({ type: "count", id, prompt });
    return p;
  }

  async generate(prompt: string | ChatMessage[], opts: GenerateOptions): Promise<GenerateResult> {
    const { signal, onToken, ...rest } = opts;
    const id = this.nextId++;
    const p = this.request<GenerateResult>(id, onToken);
    const onAbort = () => this.post({ type: "abort", id });
    signal?.addEventListener("abort", onAbort, { once: true });
    this.post({
      type: "generate",
      id,
      prompt,
      opts: { ...rest, stream: onToken !== undefined, aborted: signal?.aborted === true },
    });
    try {
      return await p;
    } finally {
      signal?.removeEventListener("abort", onAbort);
    }
  }

  /** Aborts running generations, releases the session and ends the worker. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (!this.failure) {
      const closed = new Promise<void>((resolve) => {
        this.onClosed = resolve;
      });
      this.worker.postMessage({ type: "close" } satisfies ToLlmWorker);
      await Promise.race([closed, new Promise((r) => setTimeout(r, 5000).unref())]);
    }
    this.fail(new Error("LLM is closed"));
    await this.worker.terminate();
  }

  private request<T>(id: number, onToken?: (delta: string) => void): Promise<T> {
    if (this.closed || this.failure) return Promise.reject(this.failure ?? new Error("LLM is closed"));
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, onToken });
    });
  }

  private post(m: ToLlmWorker): void {
    if (!this.closed && !this.failure) this.worker.postMessage(m);
  }

  private onMessage(m: FromLlmWorker): void {
    if (m.type === "closed") {
      this.onClosed?.();
      return;
    }
    if (m.type === "ready" || m.type === "loadError") return;
    const p = this.pending.get(m.id);
    if (!p) return;
    if (m.type === "token") {
      try {
        p.onToken?.(m.delta);
      } catch (e) {
        // As with OrtGenaiLlm, a throwing onToken fails the generation; here it also stops the worker's loop.
        this.pending.delete(m.id);
        this.post({ type: "abort", id: m.id });
        p.reject(e instanceof Error ? e : new Error(String(e)));
      }
      return;
    }
    this.pending.delete(m.id);
    if (m.type === "done") p.resolve(m.result);
    else if (m.type === "count") p.resolve(m.n);
    else if (m.type === "failed") {
      const e = m.name === "RangeError" ? new RangeError(m.message) : new Error(m.message);
      p.reject(e);
    }
  }

  private fail(e: Error): void {
    this.failure ??= e;
    for (const p of this.pending.values()) p.reject(this.failure);
    this.pending.clear();
  }
}
