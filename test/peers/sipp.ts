// Launching sipp (Debian package sip-tester) for peer tests: free ports, bounded runs, output and statistics.
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import dgram from "node:dgram";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** Why peer tests must be skipped, or undefined when sipp is usable. On CI a missing sipp is a failure. */
export function sippSkipReason(): string | undefined {
  const r = spawnSync("sipp", ["-v"], { encoding: "utf8" });
  if (!r.error) return undefined;
  if (process.env.CI === "true") throw new Error("sipp is required on CI (apt-get install sip-tester)");
  return "sipp not on PATH (install Debian package sip-tester)";
}

/** A port free for both UDP and TCP on 127.0.0.1 (sipp binds the same number on both for -t t1). */
export async function freePort(): Promise<number> {
  for (let i = 0; i < 20; i++) {
    const port = await new Promise<number>((resolve, reject) => {
      const s = net.createServer();
      s.once("error", reject);
      s.listen(0, "127.0.0.1", () => {
        const a = s.address();
        s.close(() => resolve(typeof a === "object" && a ? a.port : 0));
      });
    });
    const udpFree = await new Promise<boolean>((resolve) => {
      const u = dgram.createSocket("udp4");
      u.once("error", () => resolve(false));
      u.bind(port, "127.0.0.1", () => u.close(() => resolve(true)));
    });
    if (udpFree) return port;
  }
  throw new Error("no free port");
}

export interface SippStats {
  successful: number;
  failed: number;
  retransmissions: number;
  /** All columns of the last row of the -trace_stat CSV. */
  raw: Record<string, string>;
}

export interface SippResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  stdout: string;
  stderr: string;
  stats: SippStats | undefined;
  /** Contents of -trace_err logs, for failure messages. */
  errors: string;
}

export interface SippProcess {
  readonly done: Promise<SippResult>;
  kill(): void;
}

/**
 * Start sipp with `args` in a scratch directory. -trace_stat is added so the result carries counts; the process is
 * killed after `timeoutMs` whatever happens.
 */
export function startSipp(args: string[], opts: { timeoutMs: number }): SippProcess {
  const dir = mkdtempSync(join(tmpdir(), "sipp-"));
  const statFile = join(dir, "stat.csv");
  const full = [...args, "-trace_stat", "-stf", statFile, "-fd", "1", "-trace_err", "-nostdin"];
  const child: ChildProcess = spawn("sipp", full, { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (d: Buffer) => {
    if (stdout.length < 200_000) stdout += d.toString();
  });
  child.stderr?.on("data", (d: Buffer) => {
    if (stderr.length < 200_000) stderr += d.toString();
  });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill("SIGKILL");
  }, opts.timeoutMs);
  const done = new Promise<SippResult>((resolve) => {
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      let errors = "";
      try {
        for (const f of readdirSync(dir)) if (f.endsWith("_errors.log")) errors += readFileSync(join(dir, f), "utf8");
      } catch {
        /* none */
      }
      const stats = readStats(statFile);
      rmSync(dir, { recursive: true, force: true });
      resolve({ code, signal, timedOut, stdout, stderr, stats, errors: errors.slice(0, 4000) });
    });
    child.on("error", (e) => {
      clearTimeout(timer);
      resolve({ code: null, signal: null, timedOut, stdout, stderr: String(e), stats: undefined, errors: "" });
    });
  });
  return {
    done,
    kill: () => {
      if (child.exitCode === null) child.kill("SIGKILL");
    },
  };
}

export function runSipp(args: string[], opts: { timeoutMs: number }): Promise<SippResult> {
  return startSipp(args, opts).done;
}

function readStats(file: string): SippStats | undefined {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch {
    return undefined;
  }
  const rows = text.split(/\r?\n/).filter((l) => l.trim() !== "");
  if (rows.length < 2) return undefined;
  const head = rows[0].split(";");
  const last = rows[rows.length - 1].split(";");
  const raw: Record<string, string> = {};
  head.forEach((h, i) => {
    if (h) raw[h] = last[i] ?? "";
  });
  const n = (k: string) => Number(raw[k] ?? "0");
  return {
    successful: n("SuccessfulCall(C)"),
    failed: n("FailedCall(C)"),
    retransmissions: n("Retransmissions(C)"),
    raw,
  };
}

/** One-line summary for assertion messages. */
export function describe(r: SippResult): string {
  return `code=${r.code} signal=${r.signal} timedOut=${r.timedOut} stats=${JSON.stringify(
    r.stats ? { ok: r.stats.successful, failed: r.stats.failed, retrans: r.stats.retransmissions } : null,
  )}\nstderr: ${r.stderr.slice(0, 1500)}\nerrors: ${r.errors.slice(0, 1500)}`;
}
