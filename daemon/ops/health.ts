// The box's own health for the System page and the live view: CPU load, CPU temperature, memory and the free space
// of the data directory's filesystem, sampled every few seconds through systeminformation (in a worker thread: see
// system-probe.ts), turned into warnings by fixed thresholds. A probe that fails becomes a warning too; sampling never
// throws into the daemon.
import { EventEmitter } from "node:events";
import type { Log } from "./log.ts";
import { OffThreadProbe } from "./system-probe.ts";

export interface HealthSample {
  cpuLoadPct?: number;
  /** Undefined where the hardware or the container does not expose it. */
  temperatureC?: number;
  memUsedBytes?: number;
  memTotalBytes?: number;
  diskFreeBytes?: number;
  diskTotalBytes?: number;
  /** Probes that failed this time, as "what: why". */
  failures: string[];
}

export interface HealthReport {
  at: number;
  cpuLoadPct: number;
  temperatureC?: number;
  memUsedBytes: number;
  memTotalBytes: number;
  diskFreeBytes: number;
  diskTotalBytes: number;
  warnings: string[];
}

export interface HealthThresholds {
  cpuLoadPct: number;
  /** The CPU load must stay above cpuLoadPct this long before it is a warning (a busy second is not a problem). */
  cpuSustainedMs: number;
  temperatureC: number;
  memUsedPct: number;
  diskFreePct: number;
  diskFreeBytes: number;
}

export const DEFAULT_THRESHOLDS: HealthThresholds = {
  cpuLoadPct: 90,
  cpuSustainedMs: 60_000,
  temperatureC: 80,
  memUsedPct: 90,
  diskFreePct: 5,
  diskFreeBytes: 1024 ** 3,
};

export type HealthProbe = () => Promise<HealthSample>;

export interface HealthEvents {
  /** The set of warnings changed (the figures alone change every sample and do not count). */
  health: [report: HealthReport];
}

export class HealthMonitor extends EventEmitter<HealthEvents> {
  private readonly thresholds: HealthThresholds;
  private readonly probe: HealthProbe;
  private readonly now: () => number;
  private cpuHighSince: number | undefined;
  private last: HealthReport | undefined;
  private timer: NodeJS.Timeout | undefined;
  private sampling: Promise<HealthReport> | undefined;
  private readonly offThread: OffThreadProbe | undefined;

  constructor(
    private readonly opts: {
      dataDir: string;
      log?: Log;
      intervalS?: number;
      thresholds?: Partial<HealthThresholds>;
      /** Tests inject samples; the default reads systeminformation. */
      probe?: HealthProbe;
      now?: () => number;
    },
  ) {
    super();
    this.thresholds = { ...DEFAULT_THRESHOLDS, ...opts.thresholds };
    this.offThread = opts.probe ? undefined : new OffThreadProbe(opts.dataDir);
    this.probe = opts.probe ?? (() => (this.offThread as OffThreadProbe).sample());
    this.now = opts.now ?? Date.now;
  }

  /** The latest report, undefined before the first sample. */
  get current(): HealthReport | undefined {
    return this.last;
  }

  /** Sample now and then every intervalS (default 10 s). */
  start(): void {
    if (this.timer) return;
    void this.sample();
    this.timer = setInterval(() => void this.sample(), (this.opts.intervalS ?? 10) * 1000);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.offThread?.close();
  }

  /** One sample (a slow probe is not started twice). */
  sample(): Promise<HealthReport> {
    this.sampling ??= this.probe()
      .catch((e: Error) => ({ failures: [`health probe: ${e.message}`] }) as HealthSample)
      .then((s) => this.record(s))
      .finally(() => {
        this.sampling = undefined;
      });
    return this.sampling;
  }

  /** Judge one sample against the thresholds; emits `health` when the warnings changed. */
  record(s: HealthSample): HealthReport {
    const t = this.thresholds;
    const at = this.now();
    const warnings: string[] = [];
    if (s.cpuLoadPct !== undefined && s.cpuLoadPct > t.cpuLoadPct) {
      this.cpuHighSince ??= at;
      if (at - this.cpuHighSince >= t.cpuSustainedMs)
        warnings.push(`CPU load above ${t.cpuLoadPct} % for over ${Math.round(t.cpuSustainedMs / 1000)} s`);
    } else if (s.cpuLoadPct !== undefined) {
      this.cpuHighSince = undefined;
    }
    if (s.temperatureC !== undefined && s.temperatureC > t.temperatureC)
      warnings.push(`CPU temperature above ${t.temperatureC} °C`);
    if (s.memTotalBytes && s.memUsedBytes !== undefined && (s.memUsedBytes / s.memTotalBytes) * 100 > t.memUsedPct)
      warnings.push(`memory use above ${t.memUsedPct} %`);
    if (s.diskFreeBytes !== undefined && s.diskTotalBytes) {
      const pct = (s.diskFreeBytes / s.diskTotalBytes) * 100;
      if (pct < t.diskFreePct || s.diskFreeBytes < t.diskFreeBytes)
        warnings.push(`data disk almost full: less than ${t.diskFreePct} % or ${formatBytes(t.diskFreeBytes)} free`);
    }
    warnings.push(...s.failures);
    // A figure that could not be read this time keeps its last known value.
    const prev = this.last;
    const report: HealthReport = {
      at,
      cpuLoadPct: round1(s.cpuLoadPct ?? prev?.cpuLoadPct ?? 0),
      memUsedBytes: s.memUsedBytes ?? prev?.memUsedBytes ?? 0,
      memTotalBytes: s.memTotalBytes ?? prev?.memTotalBytes ?? 0,
      diskFreeBytes: s.diskFreeBytes ?? prev?.diskFreeBytes ?? 0,
      diskTotalBytes: s.diskTotalBytes ?? prev?.diskTotalBytes ?? 0,
      warnings,
    };
    if (s.temperatureC !== undefined) report.temperatureC = round1(s.temperatureC);
    this.last = report;
    const before = prev?.warnings ?? [];
    if (before.join("\n") !== warnings.join("\n")) {
      const raised = warnings.filter((w) => !before.includes(w));
      const cleared = before.filter((w) => !warnings.includes(w));
      if (raised.length) this.opts.log?.warn({ raised, cleared }, "health warning");
      else this.opts.log?.info({ cleared }, "health warning cleared");
      this.emit("health", report);
    }
    return report;
  }
}

function round1(n: number): number {
  return Math.round(n * 10) / 10;
}

function formatBytes(n: number): string {
  return n >= 1024 ** 3 ? `${round1(n / 1024 ** 3)} GiB` : `${Math.round(n / 1024 ** 2)} MiB`;
}
