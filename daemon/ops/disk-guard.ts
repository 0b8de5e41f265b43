// Recording stops when the data disk is nearly full, so the database and the config (and with them the running calls)
// keep the space they need; calls stay up. Stop and resume thresholds differ (hysteresis), so a disk hovering around
// one threshold does not switch recording on and off with every sample.
import { EventEmitter } from "node:events";
import { z } from "zod";
import type { Log } from "./log.ts";

const MB = 1000 ** 2;
const GiB = 1024 ** 3;

/** Config sub-schema (proposed key: `recording.diskGuard`). */
export const diskGuardSchema = z
  .strictObject({
    /** Recording stops when free space falls below this share of the disk... */
    stopBelowPct: z.number().min(0).max(100).default(2),
    /** ...or below this many bytes, whichever comes first. */
    stopBelowBytes: z
      .number()
      .int()
      .min(0)
      .default(500 * MB),
    /** It resumes only once both are above these (higher) figures. */
    resumeAbovePct: z.number().min(0).max(100).default(5),
    resumeAboveBytes: z.number().int().min(0).default(GiB),
  })
  .refine((g) => g.resumeAbovePct >= g.stopBelowPct && g.resumeAboveBytes >= g.stopBelowBytes, {
    message: "the resume thresholds must not be below the stop thresholds",
  });
export type DiskGuardConfig = z.infer<typeof diskGuardSchema>;

export interface DiskFigures {
  diskFreeBytes: number;
  diskTotalBytes: number;
}

export interface DiskGuardEvents {
  /** Recording became allowed or disallowed; `reason` is for people (log, CDR, web page). */
  change: [allowed: boolean, reason: string];
}

export const RECORDING_STOPPED_REASON = "recording stopped: disk nearly full";

export class DiskGuard extends EventEmitter<DiskGuardEvents> {
  private readonly limits: DiskGuardConfig;
  private allowed = true;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    config: Partial<DiskGuardConfig> = {},
    private readonly log?: Log,
  ) {
    super();
    this.limits = diskGuardSchema.parse(config);
  }

  /** True until a sample says the disk is nearly full (a box that cannot measure its disk keeps recording). */
  get recordingAllowed(): boolean {
    return this.allowed;
  }

  /** Judges one sample; figures that are missing (a failed probe reports 0 total) change nothing. */
  update(d: DiskFigures): boolean {
    if (!(d.diskTotalBytes > 0) || !Number.isFinite(d.diskFreeBytes)) return this.allowed;
    const l = this.limits;
    const pct = (d.diskFreeBytes / d.diskTotalBytes) * 100;
    const free = `${formatBytes(d.diskFreeBytes)} (${pct.toFixed(1)} %) free`;
    if (this.allowed && (pct < l.stopBelowPct || d.diskFreeBytes < l.stopBelowBytes)) {
      this.allowed = false;
      this.log?.error({ diskFreeBytes: d.diskFreeBytes }, `${RECORDING_STOPPED_REASON}: ${free}`);
      this.emit("change", false, `${RECORDING_STOPPED_REASON} (${free})`);
    } else if (!this.allowed && pct > l.resumeAbovePct && d.diskFreeBytes > l.resumeAboveBytes) {
      this.allowed = true;
      this.log?.info({ diskFreeBytes: d.diskFreeBytes }, `recording allowed again: ${free}`);
      this.emit("change", true, `recording allowed again (${free})`);
    }
    return this.allowed;
  }

  /**
   * Follows a HealthMonitor's latest report. It emits only when its warnings change, which need not coincide with
   * these thresholds, so its `current` report is read on a timer (it samples every 10 s by default).
   */
  watch(source: { readonly current: DiskFigures | undefined }, intervalS = 10): void {
    this.unwatch();
    const check = () => {
      const r = source.current;
      if (r) this.update(r);
    };
    check();
    this.timer = setInterval(check, intervalS * 1000);
    this.timer.unref();
  }

  unwatch(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** For the metrics endpoint. */
  metrics() {
    return [
      {
        name: "switchboard_recording_allowed",
        help: "1 while calls may be recorded, 0 while the data disk is nearly full",
        type: "gauge" as const,
        value: this.allowed ? 1 : 0,
      },
    ];
  }
}

function formatBytes(n: number): string {
  return n >= GiB ? `${(n / GiB).toFixed(1)} GiB` : `${Math.round(n / 1024 ** 2)} MiB`;
}
