// Response latency on a real SIP call: end of the caller's speech to the first RTP packet of the box's reply,
// measured on the wire, for a reply from the prompt cache ("cached") and for a reply synthesized per turn ("fresh").
//   node --import tsx bench/response-latency.ts [--turns 10] [--turns-per-call 5] [--variants cached,fresh]
//        [--silence-ms 700] [--lead-ms 10500] [--gap-ms 8500] [--speech-dbfs -45] [--reply-dbfs -60]
//        [--cached-reply "static text"] [--fresh-reply "text with {seconds}"]
// Needs root (tshark on lo), sipp, espeak-ng, sox, and ../shared/models (Silero VAD, Pico lingware).
//
// Method. Per variant a fresh daemon (speech.language en-US, models.searchPaths ../shared/models, barge-in on) is
// started and its prompt cache warmed. sipp calls it `--turns / --turns-per-call` times, one call after the other,
// and plays a pcap built in bench/lib/voice-wire.ts: `--lead-ms` of silence while the box says its greeting and
// menu, then espeak-ng sentences each followed by `--gap-ms` of silence (room for the reply, so the caller does not
// barge in on it). tshark captures the daemon's RTP port range on loopback; the G.711 payloads are decoded in the
// bench. For every caller utterance: E = last caller packet above --speech-dbfs, R = first daemon packet above
// --reply-dbfs after E (the daemon sends digital silence, -72 dBFS, while it is quiet).
//   wire gap          = R - E
//   response latency  = wire gap - endpointing silence. The VAD cannot decide that the turn is over before that much
//                       silence has passed, so this is the time from the end-of-turn decision to the first reply
//                       packet (it also carries the jitter buffer and the VAD's end estimate, see below).
//   CDR cross-check   = R - t(CDR event "turn <start>-<end> ms"), the daemon's own decision time (Date.now() when
//                       the turn was emitted, same clock as the capture); t(event) - E = endpointing delay.
// Cached: demo.speechReply unset, so the reply is the built-in sentence, synthesized into the prompt cache at start
// (a configured speechReply without {seconds} is NOT warmed at start: pass --cached-reply to see its first turn).
// Fresh: demo.speechReply with {seconds}: Pico synthesizes each reply, first sentence first.
// Dead-air filler and idle prompts are pushed out (speech.deadAir) so they are not taken for the reply.
import { runSipp, stopAll } from "../test/peers/daemon.ts";
import { argNum, argStr } from "./lib/bench.ts";
import {
  buildCallerPcap,
  type CallerFixture,
  callFlows,
  cdrEvents,
  type Dist,
  dist,
  environment,
  fmtDist,
  greetingMargins,
  loadMeter,
  mainThreadWaitS,
  type MeasuredTurn,
  measureTurns,
  ms,
  speechScenario,
  startCapture,
  startSpeechDaemon,
  type WireThresholds,
} from "./lib/voice-wire.ts";

const turnsTotal = argNum("turns", 10);
const perCall = Math.min(11, argNum("turns-per-call", 5)); // the demo line answers at most 12 turns per call
const calls = Math.max(1, Math.ceil(turnsTotal / perCall));
const silenceMs = argNum("silence-ms", 700);
const leadMs = argNum("lead-ms", 10_500);
const gapMs = argNum("gap-ms", 8500);
const variants = (argStr("variants", "cached,fresh") ?? "")
  .split(",")
  .filter(Boolean)
  .map((v) => {
    if (v !== "cached" && v !== "fresh") throw new Error(`--variants: "${v}" is neither cached nor fresh`);
    return v;
  });
const cachedReply = argStr("cached-reply", undefined);
const freshReply = argStr("fresh-reply", "You spoke for {seconds} seconds. Please use the keypad.");
const th: WireThresholds = {
  speechDbfs: argNum("speech-dbfs", -45),
  replyDbfs: argNum("reply-dbfs", -60),
  mergeGapMs: silenceMs,
  overlapMs: 1000,
};
const TARGET = { cached: 250, fresh: 400 };

interface VariantResult {
  variant: "cached" | "fresh";
  reply: string;
  expected: number;
  turns: MeasuredTurn[];
  sippOk: number;
  sippFailed: number;
  bargeIns: number;
  greetingMarginMs: number[];
  jitterBufferMs: number[];
  captureDropped: number;
  ambiguous: number;
  load: { machine: number; foreign: number };
  /** Share of the call time the daemon's main thread waited in the run queue for a core. */
  mainWait: number;
  engines: string;
}

async function runVariant(variant: "cached" | "fresh", fixture: CallerFixture): Promise<VariantResult> {
  const reply = variant === "fresh" ? freshReply : cachedReply;
  if (variant === "fresh" && !reply?.includes("{seconds}")) throw new Error("--fresh-reply needs {seconds}");
  if (variant === "cached" && reply?.includes("{seconds}")) throw new Error("--cached-reply must not have {seconds}");
  const { d, engines } = await startSpeechDaemon({ silenceMs, reply, maxCalls: 1 });
  try {
    const cap = await startCapture(d.rtpPorts);
    const holdMs = fixture.durationMs + 500;
    const meter = loadMeter();
    const w0 = { wait: mainThreadWaitS(d.pid), t: performance.now() };
    const sipp = await runSipp({
      target: d.sipUdp,
      args: ["-sf", speechScenario(fixture.pcap, holdMs), "-m", String(calls), "-l", "1", "-r", "1"],
      timeoutMs: calls * (holdMs + 20_000),
      mediaPorts: true,
    });
    const load = meter.stop();
    const mainWait = (mainThreadWaitS(d.pid) - w0.wait) / ((performance.now() - w0.t) / 1000);
    const { packets, dropped } = await cap.stop();
    const rows = await d
      .waitForCalls((rs) => rs.filter((r) => r.ended_at !== null).length >= calls, 15_000)
      .catch(() => d.calls());
    const { flows, ambiguous } = callFlows(packets, d.rtpPorts);
    const turns = measureTurns(flows, rows, th);
    const greetingMarginMs = greetingMargins(flows, th);
    let bargeIns = 0;
    const jitterBufferMs: number[] = [];
    for (const r of rows) {
      bargeIns += cdrEvents(r).filter((e) => e.what.startsWith("barge-in")).length;
      const s = JSON.parse(r.media_stats ?? "{}") as { jitterBufferMs?: number };
      if (s.jitterBufferMs !== undefined) jitterBufferMs.push(s.jitterBufferMs);
    }
    if (sipp.failed > 0 || sipp.successful < calls) console.log(`sipp: ${sipp.stdout.slice(-1500)}\n${sipp.errors}`);
    return {
      variant,
      reply: reply ?? "(built-in reply sentence)",
      expected: calls * perCall,
      turns,
      sippOk: sipp.successful,
      sippFailed: sipp.failed,
      bargeIns,
      greetingMarginMs,
      jitterBufferMs,
      captureDropped: dropped,
      ambiguous,
      load,
      mainWait,
      engines,
    };
  } finally {
    await d.stop();
  }
}

interface Summary {
  n: number;
  expected: number;
  wireGap: Dist;
  latency: Dist;
  cdrDecisionToReply: Dist;
  endpointDelay: Dist;
}

function summarize(r: VariantResult): Summary {
  const ok = r.turns.filter((t) => t.status === "ok" && t.gapMs !== undefined);
  const withCdr = ok.filter((t) => t.cdr !== undefined && t.replyMs !== undefined);
  return {
    n: ok.length,
    expected: r.expected,
    wireGap: dist(ok.map((t) => t.gapMs as number)),
    latency: dist(ok.map((t) => (t.gapMs as number) - silenceMs)),
    cdrDecisionToReply: dist(withCdr.map((t) => (t.replyMs as number) - (t.cdr?.t as number))),
    endpointDelay: dist(withCdr.map((t) => (t.cdr?.t as number) - t.callerEndMs)),
  };
}

function printTurns(r: VariantResult): void {
  console.log(
    `\n${r.variant}: reply "${r.reply}"\n` +
      "call turn | caller speech ms (wire / CDR turn) | wire gap | latency = gap - silence | CDR decision->reply | endpoint delay | status",
  );
  for (const t of r.turns) {
    const cdrLen = t.cdr ? `${t.cdr.endMs - t.cdr.startMs}` : "-";
    const dec = t.cdr && t.replyMs !== undefined ? ms(t.replyMs - t.cdr.t) : "-";
    const ep = t.cdr ? ms(t.cdr.t - t.callerEndMs) : "-";
    console.log(
      [
        `${String(t.call).padStart(4)} ${String(t.turn).padStart(4)}`,
        `${ms(t.callerEndMs - t.callerStartMs).padStart(5)} / ${cdrLen.padStart(5)}`,
        `${(t.gapMs === undefined ? "-" : ms(t.gapMs)).padStart(8)}`,
        `${(t.gapMs === undefined ? "-" : ms(t.gapMs - silenceMs)).padStart(23)}`,
        `${dec.padStart(19)}`,
        `${ep.padStart(14)}`,
        t.status,
      ].join(" | "),
    );
  }
}

console.log(`response-latency: ${environment()}`);
console.log(
  `${calls} call(s) x ${perCall} turns per variant, endpoint silence ${silenceMs} ms, lead ${leadMs} ms, gap ${gapMs} ms, ` +
    `speech > ${th.speechDbfs} dBFS, reply > ${th.replyDbfs} dBFS`,
);
const fixture = buildCallerPcap({ turns: perCall, leadMs, gapMs });
console.log(
  `caller pcap: ${(fixture.durationMs / 1000).toFixed(1)} s, utterances ${fixture.utterances
    .map((u) => `${((u.endMs - u.startMs) / 1000).toFixed(2)} s`)
    .join(", ")}`,
);

const results: VariantResult[] = [];
try {
  for (const v of variants) {
    const t0 = performance.now();
    const r = await runVariant(v, fixture);
    results.push(r);
    printTurns(r);
    console.log(
      `(${r.variant}: ${((performance.now() - t0) / 1000).toFixed(0)} s; sipp ok=${r.sippOk} failed=${r.sippFailed}; ` +
        `greeting+menu ended ${r.greetingMarginMs.map(ms).join("/")} ms before the first utterance; ` +
        `barge-ins ${r.bargeIns}; jitter buffer at hangup ${r.jitterBufferMs.join("/")} ms; capture dropped ` +
        `${r.captureDropped}; ambiguous packets ${r.ambiguous}; machine busy ${r.load.machine.toFixed(2)} cores, ` +
        `${r.load.foreign.toFixed(2)} of them not this benchmark; daemon main thread waited for a core ` +
        `${(r.mainWait * 100).toFixed(1)} % of the time; engines ${r.engines})`,
    );
  }
} finally {
  await stopAll();
}

console.log(
  "\nvariant | turns ok/expected | wire gap p50/p95/max | response latency p50/p95/max (target p50) | " +
    "CDR decision->reply p50/p95/max | endpoint delay p50/p95/max (ms)",
);
const json: Record<string, unknown> = {};
for (const r of results) {
  const s = summarize(r);
  const target = TARGET[r.variant];
  const verdict = Number.isFinite(s.latency.p50) ? (s.latency.p50 <= target ? "meets" : "misses") : "n/a";
  console.log(
    [
      r.variant.padEnd(7),
      `${s.n}/${s.expected}`.padStart(17),
      fmtDist(s.wireGap).padStart(20),
      `${fmtDist(s.latency)} (<= ${target}: ${verdict})`.padStart(42),
      fmtDist(s.cdrDecisionToReply).padStart(31),
      fmtDist(s.endpointDelay),
    ].join(" | "),
  );
  json[r.variant] = {
    ...s,
    targetP50: target,
    reply: r.reply,
    sippFailed: r.sippFailed,
    foreignLoadCores: r.load.foreign,
    mainThreadRunQueueWait: r.mainWait,
  };
}
console.log(
  `\nresponse latency = wire gap - ${silenceMs} ms endpoint silence: the VAD can only decide that the caller finished ` +
    `after ${silenceMs} ms of silence, so that part of the gap is the turn-taking policy, not processing. ` +
    "The CDR column measures from the daemon's own end-of-turn timestamp; endpoint delay (decision - speech end) " +
    "exceeds the silence by the jitter buffer depth, the VAD's frame/window granularity and its end estimate. " +
    `Wire times are packet times (20 ms packets); a daemon packet counts as the reply once it exceeds ` +
    `${th.replyDbfs} dBFS, so a prompt that starts with quiet audio is counted from its first audible packet.`,
);
console.log(JSON.stringify({ bench: "response-latency", silenceMs, turnsPerCall: perCall, calls, ...json }));
