// How many concurrent speech calls the box carries on its cores with p95 response latency <= 1 s.
//   node --import tsx bench/speech-concurrency.ts [--steps 1,4,8,16,24,32] [--turns-per-call 4] [--silence-ms 700]
//        [--lead-ms 10500] [--gap-ms 8500] [--p95-limit-ms 1000] [--budget-s 560] [--speech-dbfs -45] [--reply-dbfs -60]
// Needs root (tshark on lo), sipp, espeak-ng, sox, and ../shared/models (Silero VAD, Pico lingware).
//
// Method. For each K a fresh daemon (speech on, en-US Pico voice, barge-in on, demo.speechReply with {seconds} so
// that every reply is synthesized fresh by Pico, sentence by sentence) is started and its prompt cache warmed. One
// sipp process places K calls (-m K -l K), spread evenly over one turn period (-r K -rp <period>) so that the
// callers' turns do not all end in the same instant, as on a real line. Each call plays the caller pcap of
// bench/lib/voice-wire.ts (greeting lead, then --turns-per-call espeak-ng sentences with --gap-ms of silence after
// each). tshark captures the daemon's RTP port range; response latency per turn is measured on the wire exactly as
// in bench/response-latency.ts (wire gap from the caller's last speech packet to the daemon's first reply packet,
// minus the endpointing silence), cross-checked against the CDR turn events.
// While all K calls are up, the daemon's CPU (all threads, and its main thread alone: VAD, endpointing, TTS, SIP and
// SQLite all run there; RTP has its own worker thread) and RSS are sampled from /proc once a second; sipp's CPU is
// shown too, because the load generator shares the two cores.
// The sweep stops at the first K where p95 > --p95-limit-ms, a turn got no reply, or sipp failed a call, then bisects
// between the last passing and the first failing K while steps fit in --budget-s (no step starts that would not).
// ASR: there is no recognizer model on this machine (../shared/models/MANIFEST.md), so each turn runs VAD (turn VAD
// and the barge-in VAD stream) and TTS, no ASR. The embedded command recognizer of the next issue will be added here.
// Engine RTF and memory in-process: bench/speech-engines.ts (not repeated here).
import { metric, runSipp, stopAll } from "../test/peers/daemon.ts";
import { argList, argNum, mb, mediaMetrics, rssBytes, sleep } from "./lib/bench.ts";
import {
  buildCallerPcap,
  CALLER_SENTENCES,
  callFlows,
  childrenCpu,
  type Dist,
  dist,
  environment,
  fmtDist,
  loadMeter,
  mainThreadWaitS,
  measureTurns,
  speechScenario,
  startCapture,
  startSpeechDaemon,
  threadCpu,
  type WireThresholds,
} from "./lib/voice-wire.ts";

const steps = argList("steps", [1, 4, 8, 16, 24, 32]);
const perCall = Math.min(11, argNum("turns-per-call", 4));
const silenceMs = argNum("silence-ms", 700);
const leadMs = argNum("lead-ms", 10_500);
const gapMs = argNum("gap-ms", 8500);
const p95Limit = argNum("p95-limit-ms", 1000);
const budgetS = argNum("budget-s", 560);
const REPLY = "You spoke for {seconds} seconds. Please use the keypad.";
const th: WireThresholds = {
  speechDbfs: argNum("speech-dbfs", -45),
  replyDbfs: argNum("reply-dbfs", -60),
  mergeGapMs: silenceMs,
  overlapMs: 1000,
};

interface Step {
  k: number;
  expected: number;
  ok: number;
  noReply: number;
  overlap: number;
  latency: Dist;
  wireGap: Dist;
  cdrDecisionToReply: Dist;
  cpuTotal: number;
  cpuMain: number;
  /** Share of wall time the main thread sat runnable in the run queue (waiting for a core). */
  mainWait: number;
  windowS: number;
  sippCpu: number;
  rssIdle: number;
  rssPeak: number;
  lateP99: number | undefined;
  lateMax: number | undefined;
  missedFrames: number | undefined;
  sippOk: number;
  sippFailed: number;
  captureDropped: number;
  /** Cores kept busy by processes outside this benchmark during the window. */
  foreignLoad: number;
  wallS: number;
}

interface Sample {
  t: number;
  active: number;
  main: number;
  total: number;
  wait: number;
  sipp: number;
  rss: number;
}

async function runStep(k: number, pcap: string, callMs: number, periodMs: number): Promise<Step> {
  const t0 = performance.now();
  const { d } = await startSpeechDaemon({ silenceMs, reply: REPLY, maxCalls: k });
  try {
    await sleep(1000);
    const rssIdle = rssBytes(d.pid);
    const cap = await startCapture(d.rtpPorts);
    const holdMs = callMs + 500;
    const done = runSipp({
      target: d.sipUdp,
      args: [
        "-sf",
        speechScenario(pcap, holdMs),
        "-m",
        String(k),
        "-l",
        String(k),
        "-r",
        String(k),
        "-rp",
        String(Math.round(periodMs)),
      ],
      timeoutMs: periodMs + holdMs + 60_000,
      mediaPorts: true,
    });
    let finished = false;
    void done.finally(() => {
      finished = true;
    });
    const samples: Sample[] = [];
    let before: Awaited<ReturnType<typeof mediaMetrics>> | undefined;
    let after: typeof before;
    let meter: ReturnType<typeof loadMeter> | undefined;
    let load = { machine: Number.NaN, foreign: Number.NaN };
    while (!finished) {
      await sleep(1000);
      let active = 0;
      try {
        active = metric(await d.metrics(), "switchboard_calls_active") ?? 0;
      } catch {
        /* daemon busy: count it as not all up */
      }
      const c = threadCpu(d.pid);
      samples.push({
        t: performance.now(),
        active,
        main: c.main,
        total: c.total,
        wait: mainThreadWaitS(d.pid),
        sipp: childrenCpu(["sipp"]),
        rss: rssBytes(d.pid),
      });
      if (active >= k && !before) before = await mediaMetrics(d).catch(() => undefined);
      if (active >= k) after = await mediaMetrics(d).catch(() => after);
      if (active >= k && !meter) meter = loadMeter();
      else if (active >= k && meter) load = meter.stop();
    }
    const sipp = await done;
    const { packets, dropped } = await cap.stop();
    const rows = await d
      .waitForCalls((rs) => rs.filter((r) => r.ended_at !== null).length >= k, 20_000)
      .catch(() => d.calls());
    const turns = measureTurns(callFlows(packets, d.rtpPorts).flows, rows, th);
    const ok = turns.filter((t) => t.status === "ok" && t.gapMs !== undefined && t.replyMs !== undefined);
    const withCdr = ok.filter((t) => t.cdr !== undefined);
    const full = samples.filter((s) => s.active >= k);
    const first = full[0];
    const last = full.at(-1);
    const windowS = first && last ? (last.t - first.t) / 1000 : 0;
    const rate = (pick: (s: Sample) => number) =>
      first && last && windowS > 0 ? (pick(last) - pick(first)) / windowS : Number.NaN;
    if (sipp.failed > 0 || sipp.successful < k) console.log(`sipp: ${sipp.stdout.slice(-1500)}\n${sipp.errors}`);
    return {
      k,
      expected: k * perCall,
      ok: ok.length,
      noReply: turns.filter((t) => t.status === "no reply").length,
      overlap: turns.filter((t) => t.status === "overlap").length,
      latency: dist(ok.map((t) => (t.gapMs as number) - silenceMs)),
      wireGap: dist(ok.map((t) => t.gapMs as number)),
      cdrDecisionToReply: dist(withCdr.map((t) => (t.replyMs as number) - (t.cdr?.t as number))),
      cpuTotal: rate((s) => s.total),
      cpuMain: rate((s) => s.main),
      mainWait: rate((s) => s.wait),
      windowS,
      sippCpu: rate((s) => s.sipp),
      rssIdle,
      rssPeak: Math.max(rssIdle, ...full.map((s) => s.rss)),
      lateP99: after?.p99,
      lateMax: after?.max,
      missedFrames:
        after?.missed !== undefined && before?.missed !== undefined ? after.missed - before.missed : undefined,
      sippOk: sipp.successful,
      sippFailed: sipp.failed,
      captureDropped: dropped,
      foreignLoad: load.foreign,
      wallS: (performance.now() - t0) / 1000,
    };
  } finally {
    await d.stop();
  }
}

const pctOf = (x: number) => (Number.isFinite(x) ? `${(x * 100).toFixed(0)} %` : "n/a");
const f1 = (x: number | undefined) => (x === undefined || !Number.isFinite(x) ? "n/a" : x.toFixed(1));

function row(s: Step): string {
  const perCallRss = s.k > 0 ? (s.rssPeak - s.rssIdle) / s.k : Number.NaN;
  return [
    String(s.k).padStart(3),
    `${s.ok}/${s.expected}${s.noReply ? ` (${s.noReply} no reply)` : ""}${s.overlap ? ` (${s.overlap} overlap)` : ""}`.padEnd(
      13,
    ),
    fmtDist(s.latency).padStart(17),
    fmtDist(s.wireGap).padStart(17),
    fmtDist(s.cdrDecisionToReply).padStart(17),
    `${pctOf(s.cpuTotal)} (main ${pctOf(s.cpuMain)}, waits ${pctOf(s.mainWait)})`.padStart(30),
    `${mb(s.rssIdle)} -> ${mb(s.rssPeak)} (${mb(perCallRss)}/call)`.padStart(34),
    `${f1(s.lateP99)} / ${f1(s.lateMax)} ms, ${s.missedFrames ?? "n/a"} missed`.padStart(26),
    pctOf(s.sippCpu).padStart(6),
    `${s.sippOk}/${s.k}`.padStart(6),
    f1(s.foreignLoad).padStart(10),
  ].join(" | ");
}

console.log(`speech-concurrency: ${environment()}`);
const fixture = buildCallerPcap({ turns: perCall, leadMs, gapMs });
const meanUtterance =
  fixture.utterances.reduce((a, u) => a + (u.endMs - u.startMs), 0) / Math.max(1, fixture.utterances.length);
const periodMs = meanUtterance + gapMs;
console.log(
  `per call: ${(fixture.durationMs / 1000).toFixed(1)} s caller pcap (lead ${leadMs} ms, ${perCall} turns of ` +
    `${(meanUtterance / 1000).toFixed(1)} s speech + ${gapMs} ms pause, sentences from "${CALLER_SENTENCES[0]}"...), ` +
    `calls spread over ${(periodMs / 1000).toFixed(1)} s; reply "${REPLY}" (fresh Pico synthesis per turn); ` +
    `endpoint silence ${silenceMs} ms`,
);
console.log(
  "ASR: none. No recognizer model exists on this machine (../shared/models/MANIFEST.md), so these figures are " +
    "VAD (turn + barge-in streams) + endpointing + TTS per turn; the embedded command recognizer of the next " +
    "issue will be added to this benchmark.",
);
console.log(
  "\n  K | turns ok/exp  | latency p50/p95/max | wire gap p50/p95/max | CDR dec->reply p50/p95/max | daemon CPU of one core (main thread, its run-queue wait) | " +
    "RSS idle -> peak (per call) | media late p99/max, missed frames | sipp CPU | sipp ok | other load (cores)",
);

const results: Step[] = [];
/** Smallest K that failed, and why. */
let limit: { k: number; why: string } | undefined;
let skipped: number[] = [];
const started = performance.now();
const stepEstimateS = (periodMs + fixture.durationMs) / 1000 + 20;
const fits = () => (performance.now() - started) / 1000 + stepEstimateS <= budgetS;

function failure(s: Step): string | undefined {
  if (s.sippFailed > 0 || s.sippOk < s.k) return `sipp failed ${s.k - s.sippOk} call(s)`;
  if (s.noReply > 0) return `${s.noReply} turn(s) got no reply before the next utterance`;
  if (!(s.latency.p95 <= p95Limit)) return `p95 ${Math.round(s.latency.p95)} ms > ${p95Limit} ms`;
  return undefined;
}

async function step(k: number): Promise<string | undefined> {
  const s = await runStep(k, fixture.pcap, fixture.durationMs, periodMs);
  results.push(s);
  console.log(row(s));
  return failure(s);
}

try {
  for (const [i, k] of steps.entries()) {
    if (!fits()) {
      skipped = steps.slice(i);
      break;
    }
    const why = await step(k);
    if (why) {
      limit = { k, why };
      skipped = steps.slice(i + 1);
      break;
    }
  }
  // Narrow the bracket between the last K that passed and the first that failed while the budget allows.
  for (;;) {
    const passed = results.filter((r) => !failure(r) && (!limit || r.k < limit.k)).at(-1)?.k;
    if (!limit || passed === undefined || limit.k - passed <= 2 || !fits()) break;
    const mid = Math.round((passed + limit.k) / 2);
    const why = await step(mid);
    if (why) limit = { k: mid, why };
  }
} finally {
  await stopAll();
}

const best = results
  .filter((r) => !failure(r) && (!limit || r.k < limit.k))
  .sort((a, b) => a.k - b.k)
  .at(-1);
console.log(
  `\nlatency = wire gap - ${silenceMs} ms endpoint silence (the VAD cannot decide the turn is over before that silence); ` +
    "CDR dec->reply = first reply packet - the daemon's end-of-turn timestamp. CPU and RSS are sampled while all K " +
    "calls were up; per-call RSS = (peak - idle) / K.",
);
console.log(
  limit
    ? `limit: first over at K=${limit.k} (${limit.why}); last K within p95 <= ${p95Limit} ms: ${best?.k ?? "none"}`
    : `no limit reached up to K=${results.at(-1)?.k ?? 0}${skipped.length ? ` (not run within --budget-s ${budgetS}: ${skipped.join(",")})` : ""}`,
);
if (limit && skipped.length) console.log(`not run: K=${skipped.join(",")}`);
console.log("per-engine real-time factor and memory: node --expose-gc --import tsx bench/speech-engines.ts");
console.log(
  JSON.stringify({
    bench: "speech-concurrency",
    asr: "none",
    silenceMs,
    p95LimitMs: p95Limit,
    turnsPerCall: perCall,
    maxK: best?.k ?? 0,
    limit,
    steps: results.map((s) => ({
      k: s.k,
      turnsOk: s.ok,
      turnsExpected: s.expected,
      noReply: s.noReply,
      overlap: s.overlap,
      latency: s.latency,
      wireGap: s.wireGap,
      cdrDecisionToReply: s.cdrDecisionToReply,
      cpuTotal: s.cpuTotal,
      cpuMain: s.cpuMain,
      mainThreadRunQueueWait: s.mainWait,
      windowS: s.windowS,
      sippCpu: s.sippCpu,
      rssIdleMb: s.rssIdle / 1048576,
      rssPeakMb: s.rssPeak / 1048576,
      rssPerCallMb: (s.rssPeak - s.rssIdle) / s.k / 1048576,
      mediaLatenessP99Ms: s.lateP99,
      mediaLatenessMaxMs: s.lateMax,
      framesMissed: s.missedFrames,
      sippOk: s.sippOk,
      sippFailed: s.sippFailed,
      captureDropped: s.captureDropped,
      foreignLoadCores: s.foreignLoad,
      wallS: s.wallS,
    })),
  }),
);
