// Call set-up rate: ramps sipp's -r until calls fail; reports INVITE→200 p50/p99 per rate (sipp rtd, 1 ms steps).
//   node --import tsx bench/call-setup.ts [--rates 10,20,50,100,150,200] [--seconds 5]
import { runSipp, stopAll } from "../test/peers/daemon.ts";
import { argList, argNum, benchDaemon, cpuMeter, fmt, pct, percentile } from "./lib/bench.ts";

const rates = argList("rates", [10, 20, 50, 100, 150, 200]);
const seconds = argNum("seconds", 5);
const d = await benchDaemon(500);
let best = 0;
try {
  for (const rate of rates) {
    const calls = rate * seconds;
    const cpu = cpuMeter(d.pid);
    // Built-in uac: INVITE, 200, ACK, 1 s pause, BYE. No RTP: this measures signalling and call set-up.
    const r = await runSipp({
      target: d.sipUdp,
      args: ["-sn", "uac", "-r", String(rate), "-m", String(calls), "-l", String(rate * 4), "-d", "1000"],
      timeoutMs: (seconds + 40) * 1000,
      rtt: true,
    });
    const share = cpu.stop();
    const ok = r.failed === 0 && r.successful === calls;
    console.log(
      `rate=${rate}/s calls=${calls} ok=${r.successful} failed=${r.failed} INVITE->200 p50=${fmt(percentile(r.rtts, 50), 0)} ms p99=${fmt(percentile(r.rtts, 99), 0)} ms max=${fmt(Math.max(...r.rtts), 0)} ms daemon cpu=${pct(share)}`,
    );
    if (!ok) break;
    best = rate;
  }
  console.log(`highest rate with zero failures: ${best} calls/s`);
} finally {
  await d.stop();
  await stopAll();
}
