// N concurrent calls with RTP against the daemon: CPU per call, media clock lateness and missed frames.
//   node --import tsx bench/calls-load.ts [--calls 200] [--hold 20] [--sweep] [--steps 50,100,200,300,400]
// --sweep runs each N on a fresh daemon and reports the first N where p99 lateness > 5 ms or frames are missed.
import { stopAll } from "../test/peers/daemon.ts";
import {
  argFlag,
  argList,
  argNum,
  benchDaemon,
  cpuMeter,
  fmt,
  holdCalls,
  type MediaMetrics,
  mediaMetrics,
  pct,
  sleep,
  waitActive,
} from "./lib/bench.ts";

interface Run {
  n: number;
  active: number;
  cpu: number;
  before: MediaMetrics;
  after: MediaMetrics;
  sippOk: number;
  sippFailed: number;
  cdrLost: number;
  cdrReceived: number;
}

async function runOnce(n: number, holdS: number): Promise<Run> {
  const d = await benchDaemon(n);
  try {
    const held = holdCalls(d, n, holdS);
    const active = await waitActive(d, n, (held.rampS + 15) * 1000);
    await sleep(1000); // let set-up traffic settle before sampling the steady state
    const before = await mediaMetrics(d);
    const cpu = cpuMeter(d.pid);
    const window = Math.max(2, held.holdS - held.rampS - 3);
    await sleep(window * 1000);
    const share = cpu.stop();
    const after = await mediaMetrics(d);
    const r = await held.done;
    const rows = await d
      .waitForCalls((rs) => rs.filter((x) => x.ended_at !== null).length >= r.successful, 30_000)
      .catch(() => d.calls());
    let cdrLost = 0;
    let cdrReceived = 0;
    for (const row of rows) {
      const s = JSON.parse(row.media_stats ?? "{}") as { packetsLost?: number; packetsReceived?: number };
      cdrLost += s.packetsLost ?? 0;
      cdrReceived += s.packetsReceived ?? 0;
    }
    return { n, active, cpu: share, before, after, sippOk: r.successful, sippFailed: r.failed, cdrLost, cdrReceived };
  } finally {
    await d.stop();
  }
}

function report(r: Run): string {
  const missed =
    r.after.missed !== undefined && r.before.missed !== undefined ? r.after.missed - r.before.missed : undefined;
  return [
    `N=${r.n}`,
    `active=${r.active}`,
    `cpu=${pct(r.cpu)} of a core (${pct(r.cpu / r.n)} per call)`,
    `lateness p50=${fmt(r.after.p50)} p99=${fmt(r.after.p99)} max=${fmt(r.after.max)} ms`,
    `frames missed in window=${fmt(missed, 0)} (total ${fmt(r.after.missed, 0)})`,
    `sipp ok=${r.sippOk} failed=${r.sippFailed}`,
    `rtp in=${r.cdrReceived} lost=${r.cdrLost}`,
  ].join("  ");
}

const hold = argNum("hold", 20);
if (argFlag("sweep")) {
  const steps = argList("steps", [50, 100, 200, 300, 400]);
  let limit: number | undefined;
  for (const n of steps) {
    const r = await runOnce(n, hold);
    console.log(report(r));
    const missed = (r.after.missed ?? 0) - (r.before.missed ?? 0);
    if (limit === undefined && ((r.after.p99 ?? 0) > 5 || missed > 0 || r.sippFailed > 0)) limit = n;
  }
  console.log(
    limit === undefined ? `no limit reached up to ${steps.at(-1)} calls` : `limit: first degraded at N=${limit}`,
  );
} else {
  console.log(report(await runOnce(argNum("calls", 200), hold)));
}
await stopAll();
