// Daemon memory: RSS idle and per active call with RTP (N = 0, 50, 100 by default), and after the calls end.
//   node --import tsx bench/daemon-memory.ts [--steps 50,100] [--hold 20]
import { metric, stopAll } from "../test/peers/daemon.ts";
import { argList, argNum, benchDaemon, holdCalls, mb, rssBytes, sleep, waitActive } from "./lib/bench.ts";

const steps = argList("steps", [50, 100]);
const hold = argNum("hold", 20);
const d = await benchDaemon(Math.max(...steps));
try {
  await sleep(3000);
  const idle = rssBytes(d.pid);
  console.log(`N=0 rss=${mb(idle)} (metrics: ${mb(metric(await d.metrics(), "process_resident_memory_bytes") ?? 0)})`);
  for (const n of steps) {
    const held = holdCalls(d, n, hold);
    const active = await waitActive(d, n, (held.rampS + 15) * 1000);
    await sleep(3000);
    const rss = rssBytes(d.pid);
    console.log(
      `N=${n} active=${active} rss=${mb(rss)} per call=${((rss - idle) / Math.max(1, active) / 1024).toFixed(0)} kB`,
    );
    const r = await held.done;
    await sleep(3000);
    console.log(`  after hangup: rss=${mb(rssBytes(d.pid))} (sipp ok=${r.successful} failed=${r.failed})`);
  }
} finally {
  await d.stop();
  await stopAll();
}
