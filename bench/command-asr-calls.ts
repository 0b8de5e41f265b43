// Accuracy of the embedded command recognizer over real G.711 calls into the daemon, on voices never used in
// training (the issue's honest measurement; the offline figures of models/command-asr/evaluate.py are the same
// utterances without the call).
//   npm run bench -- command-asr-calls [--work /work/cmdasr-work] [--n 480] [--per-call 12] [--concurrency 6]
//        [--gap-ms 3500] [--language de-DE]
// Needs sipp, ../shared/models (Silero VAD, Pico lingware), python3 with numpy, and the evaluation utterances of
// models/command-asr (WORK/data/eval.jsonl + wav/, made by run.sh or `synth.py WORK/data --split eval`).
//
// Method. models/command-asr/callers.py turns every evaluation utterance into 8 kHz caller audio (the evaluation's
// noise: clean / 20 / 15 / 10 dB SNR of white, pink or babble noise, 300-3400 Hz band) without coding it. Here the
// utterances are spread over calls (--per-call each, voices and categories interleaved); each call is one pcap:
// a key press "2" as RFC 4733 events (the demo menu's recognizer test), then the utterances with --gap-ms of
// silence after each, G.711 A-law or µ-law (alternating calls) coded here. sipp plays the pcaps (--concurrency
// calls at once) into a daemon with the speech pipeline on and the built-in recognizer. The daemon decodes G.711,
// resamples to 16 kHz, segments turns with Silero VAD and recognizes each turn; its CDR records every turn as
// `turn <start>-<end> ms "<text>" (asr <ms> ms)`. Turns are matched to utterances on the call's audio clock (one
// offset per call, fitted to the utterance onsets) and scored like evaluate.py: command words only, "double d" as
// "d d"; digit strings of 4-10 digits exactly; yes/no class; escalation recall; false alarms = non-command
// sentences that produced any command word. An utterance with no turn counts as recognized as nothing.
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { commandWords } from "../daemon/speech/commands.ts";
import { readWavMono } from "../test/audio/wav.ts";
import { runSipp, stopAll } from "../test/peers/daemon.ts";
import { argNum, argStr } from "./lib/bench.ts";
import {
  benchTempDir,
  type CdrTurn,
  cdrEvents,
  cdrTurns,
  dtmfPackets,
  environment,
  g711Payloads,
  type RtpOut,
  speechScenario,
  startSpeechDaemon,
  writeRtpPackets,
} from "./lib/voice-wire.ts";

const WORK = argStr("work", "/work/cmdasr-work");
const N = argNum("n", 480);
const PER_CALL = argNum("per-call", 12);
const CONCURRENCY = argNum("concurrency", 6);
const GAP_MS = argNum("gap-ms", 3500);
const LANGUAGE = argStr("language", "de-DE");
const LEAD_MS = 300;
/** After the key press: the test's introduction starts, the first utterance cuts it off. */
const AFTER_KEY_MS = 1500;
const HERE = fileURLToPath(new URL(".", import.meta.url));
const PIPELINE = join(HERE, "../models/command-asr");

interface Row {
  id: string;
  voice: string;
  engine: string;
  lang: string;
  category: string;
  text: string;
  caller_wav: string;
  snr: number | null;
}

interface Placed {
  row: Row;
  startMs: number;
  endMs: number;
}

// ---------------------------------------------------------------------------------------------------------------
// Corpus

function callers(): Row[] {
  const data = join(WORK, "data");
  if (!existsSync(join(data, "eval.jsonl")))
    throw new Error(
      `${data}/eval.jsonl missing: run models/command-asr/run.sh ${WORK} or python3 ${PIPELINE}/synth.py ${data} --split eval`,
    );
  if (!existsSync(join(data, "callers.jsonl")))
    execFileSync("/usr/bin/python3", [join(PIPELINE, "callers.py"), data], { stdio: "inherit" });
  const rows = readFileSync(join(data, "callers.jsonl"), "utf8")
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Row);
  // An even spread: every k-th utterance (the file is ordered by voice, categories are mixed within a voice).
  const step = Math.max(1, rows.length / N);
  const picked: Row[] = [];
  for (let i = 0; i < rows.length && picked.length < N; i += step) picked.push(rows[Math.floor(i)] as Row);
  return picked;
}

/** Deal utterances round-robin over calls so each call mixes voices and categories. */
function deal(rows: Row[]): Row[][] {
  const calls: Row[][] = Array.from({ length: Math.ceil(rows.length / PER_CALL) }, () => []);
  for (const [i, r] of rows.entries()) calls[i % calls.length]?.push(r);
  return calls;
}

/** One call's pcap: key "2", then the utterances with gaps; where each utterance's speech lies (ms from start). */
function buildCall(rows: Row[], pt: 0 | 8, dir: string, k: number): { pcap: string; placed: Placed[]; ms: number } {
  const FRAME = 160;
  const pkts: RtpOut[] = [];
  let ts = 0;
  const audio = (samples: Float32Array) => {
    for (const p of g711Payloads(samples, pt)) {
      pkts.push({ payload: p, pt, marker: pkts.length === 0, timestamp: ts });
      ts += FRAME;
    }
  };
  const silence = (ms: number) => audio(new Float32Array((ms * 8000) / 1000));
  silence(LEAD_MS);
  const dtmf = dtmfPackets("2", ts);
  pkts.push(...dtmf);
  ts += dtmf.length * FRAME;
  silence(AFTER_KEY_MS);
  const placed: Placed[] = [];
  for (const row of rows) {
    const s = readWavMono(row.caller_wav).samples;
    const at = (pkts.length * 20) as number;
    const loud = (x: number) => Math.abs(x) > 0.003;
    const first = Math.max(0, s.findIndex(loud));
    const last = Math.max(first, s.findLastIndex(loud));
    placed.push({ row, startMs: at + (first * 1000) / 8000, endMs: at + (last * 1000) / 8000 });
    audio(s);
    silence(GAP_MS);
  }
  const pcap = join(dir, `call-${k}.pcap`);
  writeRtpPackets(pcap, pkts);
  return { pcap, placed, ms: pkts.length * 20 };
}

// ---------------------------------------------------------------------------------------------------------------
// Matching turns to utterances

/** Hypothesis text per utterance: the turns whose start falls in its window, for the offset that explains most. */
function match(placed: Placed[], turns: CdrTurn[]): string[] {
  let best: { hits: number; texts: string[] } = { hits: -1, texts: [] };
  const candidates = turns.flatMap((t) => placed.slice(0, 4).map((p) => t.startMs - p.startMs));
  for (const offset of candidates.length ? candidates : [0]) {
    const texts = placed.map(() => "");
    let hits = 0;
    for (const t of turns) {
      const s = t.startMs - offset;
      const i = placed.findIndex((p) => s >= p.startMs - 400 && s <= p.endMs + 300);
      if (i < 0) continue;
      texts[i] = `${texts[i]} ${t.text ?? ""}`.trim();
      hits++;
    }
    if (hits > best.hits) best = { hits, texts };
  }
  return best.texts;
}

// ---------------------------------------------------------------------------------------------------------------
// Scoring (as models/command-asr/evaluate.py)

const words = (text: string) => commandWords(text).words as string[];

function edit(a: string[], b: string[]): number {
  const d = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = d[0] as number;
    d[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = Math.min((d[j] as number) + 1, (d[j - 1] as number) + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = d[j] as number;
      d[j] = cur;
    }
  }
  return d[b.length] as number;
}

type Counts = Record<string, [number, number]>;

function score(items: { row: Row; hyp: string }[]): Counts & { wordErr: [number, number] } {
  const c: Counts & { wordErr: [number, number] } = { wordErr: [0, 0] };
  const add = (k: string, ok: boolean) => {
    c[k] ??= [0, 0];
    (c[k] as [number, number])[0] += ok ? 1 : 0;
    (c[k] as [number, number])[1] += 1;
  };
  for (const { row, hyp } of items) {
    const ref = words(row.text);
    const h = words(hyp);
    if (ref.length) {
      c.wordErr[0] += edit(ref, h);
      c.wordErr[1] += ref.length;
    }
    const digits = (w: string[]) => w.filter((x) => /^\d$/.test(x)).join("");
    if (row.category === "digits" && digits(ref).length >= 4 && digits(ref).length <= 10)
      add("digit strings 4-10", digits(h) === digits(ref));
    if (row.category === "yes" || row.category === "no") {
      const opp = row.category === "yes" ? "no" : "yes";
      add("yes/no", h.includes(row.category) && !h.includes(opp));
    }
    if (row.category === "agent") add("escalation recall", h.includes("agent"));
    if (row.category === "neg") add("false alarms", h.length > 0);
  }
  return c;
}

function report(title: string, items: { row: Row; hyp: string }[]): string {
  const c = score(items);
  const pct = (k: string) => {
    const v = c[k];
    return v?.[1] ? `${((100 * v[0]) / v[1]).toFixed(1)} % (${v[0]}/${v[1]})` : "n/a";
  };
  const wa = c.wordErr[1] ? `${(100 * (1 - c.wordErr[0] / c.wordErr[1])).toFixed(1)} %` : "n/a";
  return `${title.padEnd(34)} word acc ${wa.padEnd(8)} digits ${pct("digit strings 4-10").padEnd(18)} yes/no ${pct("yes/no").padEnd(18)} escalation ${pct("escalation recall").padEnd(16)} false alarms ${pct("false alarms")}`;
}

// ---------------------------------------------------------------------------------------------------------------

async function main() {
  const rows = callers();
  const calls = deal(rows);
  const dir = benchTempDir("cmdasr-calls");
  const built = calls.map((c, k) => ({
    ...buildCall(c, k % 2 === 0 ? 8 : 0, dir, k),
    pt: (k % 2 === 0 ? 8 : 0) as 0 | 8,
  }));
  console.log(`command recognizer over real calls: ${rows.length} utterances in ${calls.length} calls`);
  console.log(environment());
  const { d, engines } = await startSpeechDaemon({
    silenceMs: 700,
    maxCalls: CONCURRENCY + 2,
    language: LANGUAGE,
    recognizer: "auto",
  });
  console.log(`daemon: ${engines}`);
  if (!/command-asr/.test(engines)) throw new Error(`no command recognizer loaded: ${engines}`);
  const t0 = Date.now();
  let next = 0;
  const failures: string[] = [];
  const worker = async () => {
    while (next < built.length) {
      const k = next++;
      const b = built[k] as (typeof built)[number];
      const r = await runSipp({
        target: d.sipUdp,
        args: [
          "-sf",
          speechScenario(b.pcap, b.ms + 1500, { pt: b.pt, telephoneEvent: true }),
          "-s",
          `77${String(k).padStart(4, "0")}`,
          "-m",
          "1",
        ],
        timeoutMs: b.ms + 30_000,
        mediaPorts: true,
      });
      if (r.successful !== 1) failures.push(`call ${k}: sipp ${r.code} ${r.errors.slice(0, 200)}`);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const rowsDb = await d.waitForCalls((rs) => rs.filter((r) => r.ended_at !== null).length >= built.length, 30_000);
  const wallS = (Date.now() - t0) / 1000;
  const items: { row: Row; hyp: string; call: number }[] = [];
  const asrMs: number[] = [];
  let noTest = 0;
  built.forEach((b, k) => {
    const row = rowsDb.find(
      (r) => r.did === `77${String(k).padStart(4, "0")}` || r.to_uri.includes(`77${String(k).padStart(4, "0")}@`),
    );
    if (!row) {
      failures.push(`call ${k}: no CDR`);
      return;
    }
    if (!cdrEvents(row).some((e) => e.what === "menu: recognizer test")) noTest++;
    if (process.argv.includes("--verbose"))
      console.log(
        `call ${k} (${row.hangup_side} ${row.hangup_cause}):\n  ${cdrEvents(row)
          .map((e) => e.what)
          .join("\n  ")}`,
      );
    const turns = cdrTurns(row);
    for (const t of turns) if (t.asrMs !== undefined) asrMs.push(t.asrMs);
    const hyps = match(b.placed, turns);
    for (const [i, p] of b.placed.entries()) items.push({ row: p.row, hyp: hyps[i] ?? "", call: k });
  });
  await d.stop();
  asrMs.sort((a, b) => a - b);
  const q = (p: number) => asrMs[Math.min(asrMs.length - 1, Math.floor(p * asrMs.length))]?.toFixed(1) ?? "n/a";
  console.log(
    `\n${items.length} utterances scored, ${wallS.toFixed(0)} s wall; calls without the recognizer test: ${noTest}`,
  );
  if (failures.length) console.log(`failures:\n  ${failures.join("\n  ")}`);
  console.log(
    `recognition time per turn in the daemon: p50 ${q(0.5)} ms, p95 ${q(0.95)} ms, max ${q(1)} ms (n=${asrMs.length})\n`,
  );
  const nc = (r: Row) => r.engine === "mbrola" || r.voice === "rhvoice-nc-en";
  console.log(report("all held-out", items));
  console.log(
    report(
      "licensed held-out voices",
      items.filter((i) => !nc(i.row)),
    ),
  );
  console.log(
    report(
      "eval-only voices (non-commercial)",
      items.filter((i) => nc(i.row)),
    ),
  );
  for (const lang of ["de", "en"])
    console.log(
      report(
        `language ${lang}`,
        items.filter((i) => i.row.lang === lang),
      ),
    );
  for (const v of [...new Set(items.map((i) => i.row.voice))].sort())
    console.log(
      report(
        `voice ${v}`,
        items.filter((i) => i.row.voice === v),
      ),
    );
  for (const snr of [null, 20, 15, 10])
    console.log(
      report(
        `snr ${snr ?? "clean"}`,
        items.filter((i) => i.row.snr === snr),
      ),
    );
  const wrong = items.filter((i) => words(i.row.text).join(" ") !== words(i.hyp).join(" ")).slice(0, 25);
  console.log(
    `\nexamples of errors:\n${wrong.map((w) => `  ${w.row.voice}: "${w.row.text}" -> "${w.hyp}"`).join("\n")}`,
  );
}

main()
  .catch((e) => {
    console.error(e);
    process.exitCode = 1;
  })
  .finally(() => stopAll());
