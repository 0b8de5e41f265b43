// Starts a worker thread whose entry is a TypeScript module next to its caller. Under tsx (tests, development) the
// entry is .ts, and `execArgv: ["--import", "tsx"]` alone does not reach a worker's .ts entry on Node 20
// (ERR_UNKNOWN_FILE_EXTENSION), so a tiny eval'd bootstrap registers tsx's loader inside the worker first and then
// imports the entry. Built code runs the .js file directly.
import { Worker } from "node:worker_threads";

/** `entry` is the worker module's .ts URL, e.g. `new URL("./media-worker.ts", import.meta.url)`. */
export function startModuleWorker(entry: URL, workerData: unknown): Worker {
  if (!import.meta.url.endsWith(".ts")) return new Worker(new URL(entry.href.replace(/\.ts$/, ".js")), { workerData });
  const tsxApi = import.meta.resolve("tsx/esm/api");
  const boot = `import(${JSON.stringify(tsxApi)}).then((m) => { m.register(); return import(${JSON.stringify(entry.href)}); });`;
  return new Worker(boot, { eval: true, workerData });
}
