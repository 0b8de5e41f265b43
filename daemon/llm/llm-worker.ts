// Worker-thread side of WorkerLlm: owns the ORT session and runs the generation loop, so that ORT's synchronous
// native runs block this thread's event loop instead of the daemon's. Between steps the loop yields, so abort
// messages arrive within one step.
import { parentPort, workerData } from "node:worker_threads";
import { OrtGenaiLlm } from "./ort-genai-llm.ts";
import { LlmLoadError } from "./types.ts";
import type { FromLlmWorker, LlmWorkerInit, ToLlmWorker } from "./worker-messages.ts";

if (!parentPort) throw new Error("llm-worker.ts must run in a worker thread");
const port = parentPort;
const post = (m: FromLlmWorker) => port.postMessage(m);
const init = workerData as LlmWorkerInit;

const failed = (id: number, e: unknown): FromLlmWorker => ({
  type: "failed",
  id,
  message: e instanceof Error ? e.message : String(e),
  name: e instanceof Error ? e.name : "Error",
});

async function main(): Promise<void> {
  let llm: OrtGenaiLlm;
  try {
    llm = await OrtGenaiLlm.load(init.dir, init.opts);
  } catch (e) {
    if (e instanceof LlmLoadError) post({ type: "loadError", modelPath: e.modelPath, reason: e.reason });
    else post({ type: "loadError", modelPath: init.dir, reason: e instanceof Error ? e.message : String(e) });
    return;
  }
  const running = new Map<number, AbortController>();
  port.on("message", (m: ToLlmWorker) => {
    if (m.type === "generate") {
      const ac = new AbortController();
      running.set(m.id, ac);
      const { stream, aborted, ...opts } = m.opts;
      if (aborted) ac.abort();
      llm
        .generate(m.prompt, {
          ...opts,
          signal: ac.signal,
          onToken: stream ? (delta) => post({ type: "token", id: m.id, delta }) : undefined,
        })
        .then(
          (result) => post({ type: "done", id: m.id, result }),
          (e) => post(failed(m.id, e)),
        )
        .finally(() => running.delete(m.id));
    } else if (m.type === "abort") {
      running.get(m.id)?.abort();
    } else if (m.type === "count") {
      try {
        post({ type: "count", id: m.id, n: llm.encode(m.prompt).length });
      } catch (e) {
        post(failed(m.id, e));
      }
    } else if (m.type === "close") {
      for (const ac of running.values()) ac.abort();
      void llm.close().finally(() => post({ type: "closed" }));
    }
  });
  post({ type: "ready", contextLength: llm.contextLength });
}

void main();
