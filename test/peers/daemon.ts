// Runs the real daemon (daemon/switchboard.mjs) as a child process for peer tests and benches, plus the small process
// helpers they share: tracked spawning (nothing outlives a test), peer-binary checks, a sipp runner, and a
// Prometheus scraper. The daemon is only ever seen from outside: YAML in, SIP/RTP/HTTP/SQLite out.
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import Database from "better-sqlite3";
import { stringify } from "yaml";
import { freePortRange, type PortRange } from "./ports.ts";
import { startSipp } from "./sipp.ts";

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
/** The CLI entry point; SWITCHBOARD_BIN overrides it (e.g. to test an installed build). */
export const daemonBin = process.env.SWITCHBOARD_BIN ?? join(repoRoot, "daemon/switchboard.mjs");

// ---------------------------------------------------------------------------------------------------------------
// Process tracking: every child a test starts is killed by stopAll() (after() hooks) or, at the latest, on exit.

const tracked = new Set<ChildProcess>();

export function spawnTracked(cmd: string, args: string[], opts: Parameters<typeof spawn>[2] = {}): ChildProcess {
  const cp = spawn(cmd, args, { stdio: ["pipe", "pipe", "pipe"], ...opts });
  tracked.add(cp);
  cp.once("exit", () => tracked.delete(cp));
  cp.once("error", () => tracked.delete(cp));
  return cp;
}

process.once("exit", () => {
  for (const cp of tracked) cp.kill("SIGKILL");
});

/** Exit code (or null when killed by a signal) once `cp` has exited; SIGKILL after `killAfterMs`. */
export function waitExit(cp: ChildProcess, killAfterMs?: number): Promise<number | null> {
  if (cp.exitCode !== null || cp.signalCode !== null) return Promise.resolve(cp.exitCode);
  return new Promise((res) => {
    const t = killAfterMs === undefined ? undefined : setTimeout(() => cp.kill("SIGKILL"), killAfterMs);
    cp.once("exit", (code) => {
      if (t) clearTimeout(t);
      res(code);
    });
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Peers: skip locally when a binary is missing, fail in CI (where test/setup.sh must have installed it).

export function hasBinary(bin: string): boolean {
  return spawnSync("sh", ["-c", `command -v ${bin}`], { stdio: "ignore" }).status === 0;
}

/**
 * For `describe(name, { skip: skipUnlessPeers("sipp") })`: a skip message when a peer is missing locally; `false` in
 * CI, so that the test runs and fails loudly on the missing binary instead of silently passing.
 */
export function skipUnlessPeers(...bins: string[]): string | false {
  const missing = bins.filter((b) => !hasBinary(b));
  if (missing.length === 0) return false;
  if (process.env.CI === "true") return false;
  return `peer binaries missing: ${missing.join(", ")} (run test/setup.sh as root to install them)`;
}

/** Directory with sipp's sample pcaps: Debian's sip-tester ships them; the spike copy is the fallback. */
export function pcapDir(): string {
  const candidates = [
    process.env.SWITCHBOARD_PCAP_DIR,
    "/usr/share/sip-tester",
    join(repoRoot, "../shared/notes/spike/peers/sipp/pcap"),
  ].filter((d): d is string => !!d);
  for (const d of candidates) if (existsSync(join(d, "g711a.pcap"))) return d;
  throw new Error(`sipp sample pcaps not found in ${candidates.join(", ")}`);
}

// ---------------------------------------------------------------------------------------------------------------
// Daemon

export interface SipEndpoint {
  address: string;
  port: number;
}

export interface LogLine {
  level?: number;
  time?: number;
  msg?: string;
  [k: string]: unknown;
}

/** A row of the `calls` table, as the schema in daemon/store/migrations.ts defines it (kept separate on purpose). */
export interface CdrRow {
  id: string;
  direction: "inbound" | "outbound";
  trunk: string | null;
  from_uri: string;
  from_number: string | null;
  to_uri: string;
  did: string | null;
  sip_call_id: string;
  transport: string | null;
  remote_address: string | null;
  codec: string | null;
  started_at: number;
  answered_at: number | null;
  ended_at: number | null;
  duration_ms: number | null;
  hangup_cause: string | null;
  hangup_side: "caller" | "box" | "callee" | "system" | null;
  sip_status: number | null;
  recording_path: string | null;
  dtmf_log: string;
  linked_call_id: string | null;
  media_stats: string | null;
  events: string;
}

export interface DaemonHandle {
  pid: number;
  sipUdp: SipEndpoint;
  sipTcp: SipEndpoint;
  /** Present when the config has a tls listener. */
  sipTls?: SipEndpoint;
  metricsUrl: string;
  /** https://127.0.0.1:PORT of the web page. */
  webUrl: string;
  dataDir: string;
  dbPath: string;
  configPath: string;
  rtpPorts: { min: number; max: number };
  logs(): LogLine[];
  /** Raw stdout/stderr tails, for assertion messages. */
  output(): string;
  waitForLog(pred: (l: LogLine) => boolean, timeoutMs: number): Promise<LogLine>;
  calls(): CdrRow[];
  /** Polls the calls table until `pred` holds (the daemon writes the CDR end after the SIP exchange completes). */
  waitForCalls(pred: (rows: CdrRow[]) => boolean, timeoutMs: number): Promise<CdrRow[]>;
  metrics(): Promise<Map<string, number>>;
  /** Sends a signal without waiting (e.g. SIGTERM, then probe the daemon while it shuts down). */
  signal(signal: NodeJS.Signals): void;
  /**
   * Resolves with the exit code (null when it had to be killed); SIGKILL after 10 s. Does not repeat a SIGTERM/SIGINT
   * already sent with signal(): the CLI treats a second one as "force quit".
   */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  readonly exited: Promise<number | null>;
}

export interface StartOptions {
  /** Partial config, deep-merged over the test defaults (arrays replace). */
  config?: Record<string, unknown>;
  dataDir?: string;
  env?: Record<string, string>;
  readyTimeoutMs?: number;
  /** Size of the RTP port range to reserve (two ports per call); default 200. */
  rtpPorts?: number;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

export function deepMerge(base: Obj, over: Obj): Obj {
  const out: Obj = { ...base };
  for (const [k, v] of Object.entries(over)) out[k] = isObj(v) && isObj(out[k]) ? deepMerge(out[k] as Obj, v) : v;
  return out;
}

const daemons = new Set<DaemonHandle>();

export async function startDaemon(opts: StartOptions = {}): Promise<DaemonHandle> {
  if (!existsSync(daemonBin)) throw new Error(`${daemonBin} does not exist yet: the daemon cannot be started`);
  const work = mkdtempSync(join(tmpdir(), "switchboard-daemon-"));
  const dataDir = opts.dataDir ?? join(work, "data");
  mkdirSync(dataDir, { recursive: true });
  // Reuse the range when restarting on the same data dir is not needed: a fresh range per start is simplest.
  const range: PortRange = await freePortRange(opts.rtpPorts ?? 200);
  const defaults: Obj = {
    log: { level: "debug" },
    sip: {
      listen: [
        { transport: "udp", address: "127.0.0.1", port: 0 },
        { transport: "tcp", address: "127.0.0.1", port: 0 },
      ],
    },
    media: { rtpAddress: "127.0.0.1", rtpPortMin: range.min, rtpPortMax: range.max },
    metrics: { enabled: true, address: "127.0.0.1", port: 0 },
    // The web page on loopback and free ports, so daemons of parallel tests never collide.
    web: { address: "127.0.0.1", port: 0, httpPort: 0 },
    // Telephony tests exercise the DTMF line with its WAV prompts whatever this machine has installed (Debian's Pico
    // lingware would switch the demo line to its voice); speech tests turn it on and point at ../shared/models.
    speech: { enabled: false },
  };
  const config = deepMerge(defaults, opts.config ?? {});
  const configPath = join(work, "switchboard.yaml");
  writeFileSync(configPath, stringify(config));

  const cp = spawnTracked(
    process.execPath,
    // SWITCHBOARD_NODE_ARGS: extra node flags for profiling a benchmark's daemon (e.g. "--cpu-prof --cpu-prof-dir=D")
    [
      ...(process.env.SWITCHBOARD_NODE_ARGS?.split(" ").filter(Boolean) ?? []),
      "--import",
      "tsx",
      daemonBin,
      "start",
      "--config",
      configPath,
      "--data",
      dataDir,
    ],
    { cwd: repoRoot, env: { ...process.env, ORT_DISABLE_TELEMETRY: "1", ...opts.env } },
  );
  const lines: LogLine[] = [];
  const listeners = new Set<(l: LogLine) => void>();
  let stdoutTail = "";
  let stderrTail = "";
  let partial = "";
  cp.stdout?.setEncoding("utf8");
  cp.stderr?.setEncoding("utf8");
  cp.stdout?.on("data", (chunk: string) => {
    stdoutTail = (stdoutTail + chunk).slice(-8000);
    partial += chunk;
    const parts = partial.split("\n");
    partial = parts.pop() ?? "";
    for (const raw of parts) {
      if (!raw.trim()) continue;
      let line: LogLine;
      try {
        line = JSON.parse(raw) as LogLine;
      } catch {
        line = { msg: raw, unparsed: true };
      }
      lines.push(line);
      for (const l of listeners) l(line);
    }
  });
  cp.stderr?.on("data", (chunk: string) => {
    stderrTail = (stderrTail + chunk).slice(-8000);
  });
  const exited = waitExit(cp).finally(() => range.release());
  const output = () =>
    `--- stdout (tail) ---\n${stdoutTail.slice(-3000)}\n--- stderr (tail) ---\n${stderrTail.slice(-3000)}`;

  const waitForLog = (pred: (l: LogLine) => boolean, timeoutMs: number): Promise<LogLine> => {
    const found = lines.find(pred);
    if (found) return Promise.resolve(found);
    return new Promise((res, rej) => {
      const done = (err?: Error, l?: LogLine) => {
        clearTimeout(t);
        listeners.delete(on);
        if (err) rej(err);
        else res(l as LogLine);
      };
      const on = (l: LogLine) => {
        if (pred(l)) done(undefined, l);
      };
      const t = setTimeout(() => done(new Error(`log line not seen within ${timeoutMs} ms\n${output()}`)), timeoutMs);
      listeners.add(on);
      void exited.then((code) => {
        if (listeners.has(on)) done(new Error(`daemon exited (code ${code}) before the log line\n${output()}`));
      });
    });
  };

  let ready: LogLine;
  try {
    ready = await waitForLog((l) => l.msg === "ready", opts.readyTimeoutMs ?? 20_000);
  } catch (e) {
    cp.kill("SIGKILL");
    await exited;
    throw e;
  }
  const sip = Array.isArray(ready.sip) ? (ready.sip as { transport: string; address: string; port: number }[]) : [];
  const ep = (t: string): SipEndpoint => {
    const s = sip.find((x) => x.transport === t);
    if (!s) throw new Error(`ready line has no ${t} listener: ${JSON.stringify(ready)}`);
    return { address: s.address, port: s.port };
  };
  const metricsUrl = String(ready.metricsUrl ?? "");
  const webUrl = String(ready.webUrl ?? "");
  const dbPath = join(dataDir, "switchboard.db");

  let signalled = false;
  const handle: DaemonHandle = {
    pid: cp.pid ?? -1,
    sipUdp: ep("udp"),
    sipTcp: ep("tcp"),
    sipTls: sip.some((x) => x.transport === "tls") ? ep("tls") : undefined,
    metricsUrl,
    webUrl,
    dataDir,
    dbPath,
    configPath,
    rtpPorts: { min: range.min, max: range.max },
    logs: () => lines.slice(),
    output,
    waitForLog,
    calls: () => readCalls(dbPath),
    async waitForCalls(pred, timeoutMs) {
      const until = Date.now() + timeoutMs;
      for (;;) {
        const rows = existsSync(dbPath) ? readCalls(dbPath) : [];
        if (pred(rows)) return rows;
        if (Date.now() > until) {
          throw new Error(
            `calls table did not reach the expected state in ${timeoutMs} ms:\n${JSON.stringify(rows, null, 1)}`,
          );
        }
        await new Promise((r) => setTimeout(r, 200));
      }
    },
    metrics: () => scrapeMetrics(metricsUrl),
    signal(signal) {
      // Only a shutdown signal counts: after SIGHUP (reload) stop() must still send its SIGTERM.
      if (signal === "SIGTERM" || signal === "SIGINT") signalled = true;
      cp.kill(signal);
    },
    async stop(signal: NodeJS.Signals = "SIGTERM") {
      const running = cp.exitCode === null && cp.signalCode === null;
      if (running && (signal === "SIGKILL" || !signalled)) cp.kill(signal);
      const t = setTimeout(() => cp.kill("SIGKILL"), 10_000);
      const code = await exited;
      clearTimeout(t);
      daemons.delete(handle);
      return code;
    },
    exited,
  };
  daemons.add(handle);
  workDirs.add(work);
  return handle;
}

const workDirs = new Set<string>();

/** Reads the calls table read-only (works while the daemon writes: WAL readers do not block the writer). */
export function readCalls(dbPath: string): CdrRow[] {
  let db: Database.Database;
  try {
    db = new Database(dbPath, { readonly: true, fileMustExist: true });
  } catch (e) {
    throw new Error(`cannot open ${dbPath} read-only: ${(e as Error).message}`);
  }
  try {
    return db.prepare("SELECT * FROM calls ORDER BY started_at, rowid").all() as CdrRow[];
  } finally {
    db.close();
  }
}

/** Kill every daemon and tracked child; for after() hooks. Temp dirs go too unless KEEP_TEST_DIRS=1. */
export async function stopAll(): Promise<void> {
  await Promise.all([...daemons].map((d) => d.stop("SIGKILL")));
  for (const kill of sippKills) kill();
  await Promise.all(
    [...tracked].map((cp) => {
      cp.kill("SIGKILL");
      return waitExit(cp);
    }),
  );
  if (process.env.KEEP_TEST_DIRS !== "1") for (const d of workDirs) rmSync(d, { recursive: true, force: true });
  workDirs.clear();
}

/** Prometheus text format → `name{labels}` → value (labels exactly as written by the exporter). */
export async function scrapeMetrics(url: string): Promise<Map<string, number>> {
  const res = await fetch(new URL("/metrics", url), { signal: AbortSignal.timeout(5000) });
  if (!res.ok) throw new Error(`GET ${url}/metrics: ${res.status}`);
  return parsePrometheus(await res.text());
}

export function parsePrometheus(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const m = /^([a-zA-Z_:][\w:]*(?:\{[^}]*\})?)\s+(\S+)/.exec(line);
    if (m) out.set(m[1], Number(m[2]));
  }
  return out;
}

/** A metric by name and (optionally) one label, e.g. metric(m, "x_ms", 'quantile="0.99"'). */
export function metric(m: Map<string, number>, name: string, label?: string): number | undefined {
  if (!label) return m.get(name);
  for (const [k, v] of m) if (k.startsWith(`${name}{`) && k.includes(label)) return v;
  return undefined;
}

// ---------------------------------------------------------------------------------------------------------------
// sipp (a minimal runner until/unless test/peers/sipp.ts offers the same)

export interface SippResult {
  code: number | null;
  successful: number;
  failed: number;
  /** Per-call response-time samples (ms) of the `rtd` timer when `rtt: true`. */
  rtts: number[];
  stdout: string;
  errors: string;
  timedOut: boolean;
}

export interface SippOptions {
  /** Extra arguments (scenario, -m, -l, -r, -t ...). The target and local binding are added here. */
  args: string[];
  target?: SipEndpoint;
  timeoutMs: number;
  rtt?: boolean;
  /** Local SIP port (uas mode needs a known one). */
  localPort?: number;
  /** Reserve a port range for sipp's RTP (-mp): concurrent sipp processes would all default to 6000. */
  mediaPorts?: boolean;
  /** Receives a kill function right after sipp starts (e.g. to end a call from the test). */
  onStart?: (kill: () => void) => void;
}

const sippKills = new Set<() => void>();

/**
 * Runs sipp to completion (or kills it at `timeoutMs`) and returns its call counts. Spawning and statistics come from
 * test/peers/sipp.ts (the SIP tests' runner); only `rtt` runs need our own spawn, because that runner deletes its
 * scratch directory (and with it sipp's _rtt.csv) when sipp exits.
 */
/** sipp's counts, errors and screen tail, for assertion messages. */
export function sippDetail(r: SippResult): string {
  const killed = r.timedOut ? " (killed)" : "";
  return `sipp exit ${r.code}, ${r.successful} ok / ${r.failed} failed${killed}\n${r.errors}\n${r.stdout.slice(-1500)}`;
}

export async function runSipp(opts: SippOptions): Promise<SippResult> {
  const media = opts.mediaPorts ? await freePortRange(200) : undefined;
  const args = [
    ...(opts.target ? [`${opts.target.address}:${opts.target.port}`] : []),
    "-i",
    "127.0.0.1",
    ...(opts.localPort ? ["-p", String(opts.localPort)] : []),
    ...(media ? ["-mp", String(media.min)] : []),
    "-timeout",
    `${Math.ceil(opts.timeoutMs / 1000)}s`,
    "-timeout_error",
    ...opts.args,
  ];
  try {
    if (opts.rtt) return await runSippWithRtt(args, opts);
    const p = startSipp(args, { timeoutMs: opts.timeoutMs + 5000 });
    sippKills.add(p.kill);
    opts.onStart?.(p.kill);
    const r = await p.done.finally(() => sippKills.delete(p.kill));
    return {
      code: r.code,
      successful: r.stats?.successful ?? 0,
      failed: r.stats?.failed ?? 0,
      rtts: [],
      stdout: `${r.stdout.slice(-3000)}\n${r.stderr.slice(-1000)}`,
      errors: r.errors,
      timedOut: r.timedOut,
    };
  } finally {
    media?.release();
  }
}

async function runSippWithRtt(args: string[], opts: SippOptions): Promise<SippResult> {
  const dir = mkdtempSync(join(tmpdir(), "switchboard-sipp-"));
  workDirs.add(dir);
  const stat = join(dir, "stat.csv");
  const errFile = join(dir, "errors.log");
  const full = [
    ...args,
    "-nostdin",
    "-trace_stat",
    "-stf",
    stat,
    "-trace_err",
    "-error_file",
    errFile,
    "-trace_rtt",
    "-rtt_freq",
    "1",
  ];
  const cp = spawnTracked("sipp", full, { cwd: dir });
  opts.onStart?.(() => cp.kill("SIGKILL"));
  let out = "";
  cp.stdout?.setEncoding("utf8");
  cp.stderr?.setEncoding("utf8");
  cp.stdout?.on("data", (c: string) => {
    out = (out + c).slice(-20000);
  });
  cp.stderr?.on("data", (c: string) => {
    out = (out + c).slice(-20000);
  });
  let timedOut = false;
  const guard = setTimeout(() => {
    timedOut = true;
    cp.kill("SIGKILL");
  }, opts.timeoutMs + 5000);
  const spawnError = new Promise<never>((_, rej) => cp.once("error", (e) => rej(new Error(`sipp: ${e.message}`))));
  const code = await Promise.race([waitExit(cp), spawnError]).finally(() => clearTimeout(guard));
  const { successful, failed } = parseSippStats(stat);
  const rtts: number[] = [];
  for (const f of listFiles(dir).filter((f) => f.endsWith("_rtt.csv"))) {
    for (const line of readFileSync(join(dir, f), "utf8").split("\n").slice(1)) {
      const v = Number(line.split(";")[1]); // Date_ms;response_time_ms;rtd_no
      if (line && Number.isFinite(v)) rtts.push(v);
    }
  }
  const errors = existsSync(errFile) ? readFileSync(errFile, "utf8").slice(-4000) : "";
  return { code, successful, failed, rtts, stdout: out.slice(-4000), errors, timedOut };
}

function listFiles(dir: string): string[] {
  return spawnSync("ls", [dir], { encoding: "utf8" }).stdout.split("\n").filter(Boolean);
}

/** Last line of sipp's -trace_stat CSV: cumulative (C) counters. */
export function parseSippStats(file: string): { successful: number; failed: number } {
  if (!existsSync(file)) return { successful: 0, failed: 0 };
  const rows = readFileSync(file, "utf8").trim().split("\n");
  if (rows.length < 2) return { successful: 0, failed: 0 };
  const head = rows[0].split(";");
  const last = rows[rows.length - 1].split(";");
  const col = (name: string) => Number(last[head.indexOf(name)] ?? 0);
  return { successful: col("SuccessfulCall(C)"), failed: col("FailedCall(C)") };
}

/** Fills `@NAME@` placeholders of a scenario under test/peers/scenarios and writes it to a temp file. */
export function scenario(name: string, vars: Record<string, string | number> = {}): string {
  const src = join(repoRoot, "test/peers/scenarios", name);
  let xml = readFileSync(src, "utf8");
  const all: Record<string, string | number> = { PCAP_DIR: pcapDir(), ...vars };
  xml = xml.replace(/@([A-Z_]+)@/g, (m, k: string) => (k in all ? String(all[k]) : m));
  const left = /@[A-Z_]+@/.exec(xml);
  if (left) throw new Error(`${name}: placeholder ${left[0]} has no value`);
  const dir = mkdtempSync(join(tmpdir(), "switchboard-scn-"));
  workDirs.add(dir);
  const out = join(dir, name);
  writeFileSync(out, xml);
  return out;
}
