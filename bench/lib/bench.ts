// Shared bench helpers: argument parsing, process CPU/RSS from /proc, percentiles, and "hold N calls with RTP"
// driven by sipp against a daemon started through test/peers/daemon.ts.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { type DaemonHandle, metric, runSipp, type SippResult, scenario, startDaemon } from "../../test/peers/daemon.ts";

export function argNum(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return def;
  const v = Number(process.argv[i + 1]);
  if (!Number.isFinite(v)) throw new Error(`--${name} needs a number`);
  return v;
}

export function argStr<T extends string | undefined>(name: string, def: T): string | T {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? def : (process.argv[i + 1] ?? def);
}

export const argFlag = (name: string): boolean => process.argv.includes(`--${name}`);

export function argList(name: string, def: number[]): number[] {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? def : process.argv[i + 1].split(",").map(Number);
}

/** Kernel clock ticks per second: the unit of the CPU times in /proc. */
export const clkTck = (() => {
  try {
    return Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/**
 * A /proc/<pid>/stat or /proc/<pid>/task/<tid>/stat file: parent, command name, own CPU seconds (user + system) and
 * CPU seconds of children already reaped. Fields are counted after the ")" of the name, which may contain spaces.
 */
export function procStat(path: string): { ppid: number; comm: string; own: number; children: number } {
  const s = readFileSync(path, "utf8");
  const f = s.slice(s.lastIndexOf(")") + 2).split(" ");
  return {
    ppid: Number(f[1]),
    comm: s.slice(s.indexOf("(") + 1, s.lastIndexOf(")")),
    own: (Number(f[11]) + Number(f[12])) / clkTck,
    children: (Number(f[13]) + Number(f[14])) / clkTck,
  };
}

/** CPU seconds (user + system, all threads) a process has used so far. */
export function cpuSeconds(pid: number): number {
  return procStat(`/proc/${pid}/stat`).own;
}

export function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) * 1024 : 0;
}

/** Measures the CPU share of one core used by `pid` between start() and stop(). */
export function cpuMeter(pid: number): { stop(): number } {
  const t0 = performance.now();
  const c0 = cpuSeconds(pid);
  return {
    stop() {
      return (cpuSeconds(pid) - c0) / ((performance.now() - t0) / 1000);
    },
  };
}

export function percentile(xs: number[], p: number): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
export const mb = (b: number) => `${(b / 1048576).toFixed(1)} MB`;
export const pct = (x: number) => `${(x * 100).toFixed(1)} %`;

/** Daemon tuned for benches: info logging (debug lines per packet would dominate), long menu timeout. */
export function benchDaemon(maxCalls: number, extra: Record<string, unknown> = {}): Promise<DaemonHandle> {
  return startDaemon({
    config: {
      log: { level: "info" },
      demo: { menuTimeoutS: 120 },
      limits: { maxCalls: Math.max(200, maxCalls + 10) },
      ...extra,
    },
    readyTimeoutMs: 30_000,
    rtpPorts: Math.max(200, maxCalls * 2 + 20),
  });
}

export interface Held {
  /** Resolves when sipp is done (all calls hung up). */
  done: Promise<SippResult>;
  /** Seconds from now until sipp starts sending BYEs, for sampling windows. */
  rampS: number;
  holdS: number;
}

/**
 * Starts `n` concurrent sipp calls that each play the g711a pcap (PCMA, 30 ms packets) back to back for about
 * `holdS` seconds, ramped at `rate` calls/s.
 */
export function holdCalls(d: DaemonHandle, n: number, holdS: number, rate = Math.max(25, Math.ceil(n / 8))): Held {
  const loops = Math.max(1, Math.ceil(holdS / 7.1));
  const rampS = n / rate;
  const done = runSipp({
    target: d.sipUdp,
    args: [
      "-sf",
      scenario("uac_pcap_loop.xml", { AUDIO_LOOPS: loops }),
      "-l",
      String(n),
      "-m",
      String(n),
      "-r",
      String(rate),
    ],
    timeoutMs: (rampS + loops * 7.1 + 60) * 1000,
    mediaPorts: true,
  });
  return { done, rampS, holdS: loops * 7.1 };
}

/** Polls /metrics until switchboard_calls_active reaches `n` (or the timeout passes); returns the last value. */
export async function waitActive(d: DaemonHandle, n: number, timeoutMs: number): Promise<number> {
  const until = Date.now() + timeoutMs;
  let active = 0;
  while (Date.now() < until) {
    try {
      active = metric(await d.metrics(), "switchboard_calls_active") ?? 0;
    } catch {
      active = d.calls().filter((r) => r.answered_at !== null && r.ended_at === null).length;
    }
    if (active >= n) break;
    await sleep(250);
  }
  return active;
}

export interface MediaMetrics {
  p50: number | undefined;
  p99: number | undefined;
  max: number | undefined;
  missed: number | undefined;
}

export async function mediaMetrics(d: DaemonHandle): Promise<MediaMetrics> {
  const m = await d.metrics();
  return {
    p50: metric(m, "switchboard_media_lateness_ms", 'quantile="0.5"'),
    p99: metric(m, "switchboard_media_lateness_ms", 'quantile="0.99"'),
    max: metric(m, "switchboard_media_lateness_max_ms"),
    missed: metric(m, "switchboard_media_frames_missed_total"),
  };
}

export const fmt = (v: number | undefined, digits = 2) =>
  v === undefined || Number.isNaN(v) ? "n/a" : v.toFixed(digits);
