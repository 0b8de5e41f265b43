// Reading the box through systeminformation. Its Linux probes shell out with execSync (cat /proc/stat, sensors,
// /proc/mounts), which blocked the main thread 20-80 ms per sample, so the daemon samples in a worker thread
// (system-probe-worker.ts) and the main thread only awaits the answer.
import { realpath, statfs } from "node:fs/promises";
import { sep } from "node:path";
import type { Worker } from "node:worker_threads";
import si, { type Systeminformation } from "systeminformation";
import type { HealthSample } from "./health.ts";
import { startModuleWorker } from "./module-worker.ts";

/** Reads the box through systeminformation; each figure on its own, so one failing probe costs only that figure. */
export async function systemProbe(dataDir: string): Promise<HealthSample> {
  const failures: string[] = [];
  const guard = async <T>(what: string, f: () => Promise<T>): Promise<T | undefined> => {
    try {
      return await f();
    } catch (e) {
      failures.push(`${what}: ${(e as Error).message}`);
      return undefined;
    }
  };
  const [load, temp, mem, disk] = await Promise.all([
    guard("CPU load", () => si.currentLoad()),
    guard("CPU temperature", () => si.cpuTemperature()),
    guard("memory", () => si.mem()),
    guard("data disk", () => dataDisk(dataDir)),
  ]);
  const sample: HealthSample = { failures };
  if (load && Number.isFinite(load.currentLoad)) sample.cpuLoadPct = load.currentLoad;
  // Containers and many boards report null or -1: there is no temperature then, which is not a failure.
  const main = temp?.main;
  if (typeof main === "number" && Number.isFinite(main) && main > 0) sample.temperatureC = main;
  if (mem) {
    sample.memTotalBytes = mem.total;
    // Page cache is free for the taking: what is in use is what is not available.
    sample.memUsedBytes = mem.total - (mem.available || mem.free);
  }
  if (disk) {
    sample.diskFreeBytes = disk.free;
    sample.diskTotalBytes = disk.total;
  }
  return sample;
}

/** The filesystem holding the data directory: the longest mount point that contains it, else statfs on it. */
async function dataDisk(dataDir: string): Promise<{ free: number; total: number }> {
  const dir = await realpath(dataDir).catch(() => dataDir);
  let mounts: Systeminformation.FsSizeData[] = [];
  try {
    mounts = await si.fsSize();
  } catch {
    // df missing or failing: statfs below still knows
  }
  const within = (mount: string) =>
    mount === "/" || dir === mount || dir.startsWith(mount.endsWith(sep) ? mount : mount + sep);
  const best = mounts
    .filter((m) => typeof m.mount === "string" && within(m.mount) && m.size > 0)
    .sort((a, b) => b.mount.length - a.mount.length)[0];
  if (best) return { free: best.available, total: best.size };
  const s = await statfs(dir);
  return { free: s.bavail * s.bsize, total: s.blocks * s.bsize };
}

/** systemProbe in a worker thread, started on the first sample; one request at a time (HealthMonitor's rule). */
export class OffThreadProbe {
  private worker: Worker | undefined;
  private pending: { resolve: (s: HealthSample) => void; reject: (e: Error) => void } | undefined;

  constructor(private readonly dataDir: string) {}

  sample(): Promise<HealthSample> {
    if (this.pending) return Promise.reject(new Error("a sample is already being taken"));
    const worker = this.start();
    return new Promise((resolve, reject) => {
      this.pending = { resolve, reject };
      worker.postMessage(this.dataDir);
    });
  }

  close(): void {
    void this.worker?.terminate();
    this.worker = undefined;
    this.settle(new Error("health probe closed"));
  }

  private start(): Worker {
    if (this.worker) return this.worker;
    const w = startModuleWorker(new URL("./system-probe-worker.ts", import.meta.url), undefined);
    w.unref(); // never what keeps the daemon alive
    w.on("message", (s: HealthSample) => {
      const p = this.pending;
      this.pending = undefined;
      p?.resolve(s);
    });
    // a crashed worker is a failed sample; the next one starts a new worker
    w.on("error", (e) => this.settle(e));
    w.on("exit", () => {
      if (this.worker === w) this.worker = undefined;
      this.settle(new Error("health probe worker exited"));
    });
    this.worker = w;
    return w;
  }

  private settle(e: Error): void {
    const p = this.pending;
    this.pending = undefined;
    p?.reject(e);
  }
}
