// The speech pipeline of the demo line over real SIP calls: baresip is the caller (it plays a WAV as its microphone
// and dumps what it sent and heard), the daemon runs as its own process with the shared models (Silero VAD, SVOX Pico)
// and no recognizer. What the box decided is read from the CDR (`turn <start>-<end> ms`, `barge-in <delay> ms after
// speech onset at <onset> ms`, in audio ms of the call's SpeechChannel); what it said is read from baresip's dump.
//
// Clocks. Four time bases meet here and none is shared by construction:
//   source WAV  — what baresip plays; baresip's enc dump is the same audio, shifted by a few ms;
//   recording   — the daemon's stereo recording (left = caller as received, right = box), one 20 ms frame per media
//                 tick from the ACK on;
//   channel     — the SpeechChannel's audio clock: the same media ticks as the recording, counted from listen(true);
//   dec dump    — what baresip decoded from the box, written as packets leave its jitter buffer.
// source → recording: waveform cross-correlation of the source with the recording's left channel (G.711 keeps the
//   waveform; sox resamples 8 → 16 kHz without delay), exact to a sample.
// recording → channel: a constant number of frames Δ (the channel starts listening after the recording started: 180–360
//   ms measured, the SpeechChannel's two Silero sessions are created in between; both count the same frames). Δ is not guessed: every barge-in event reports its onset on the channel clock, and that
//   onset is the first frame of an energy run (barge-in pre-gate) — recomputed from the recording's left channel it
//   lands at onset + Δ. All barge-ins of a call must agree on one Δ, which the test checks.
// enc dump ↔ dec dump: both are written in real time until baresip tears the call down, so they end together:
//   dec start = enc start + (enc length − dec length). Residual error: about one packet (20 ms).
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it, type TestContext } from "node:test";
import { demoText } from "../daemon/calls/demo-texts.ts";
import { PicoTts } from "../daemon/speech/pico-tts.ts";
import { SileroVad } from "../daemon/speech/silero-vad.ts";
import { needModel, sharedModelsDir } from "../models/testing/shared-models.ts";
import { generateSpeechWav, resampleWav } from "./audio/fixtures.ts";
import { bestCorrelation } from "./audio/signal.ts";
import {
  activeSpans,
  composeWav,
  energyRunOnsets,
  innerPauses,
  type Span,
  speechBounds,
} from "./audio/speech-timing.ts";
import { finishedWav, readWav, readWavMono, type WavData } from "./audio/wav.ts";
import { type BaresipHandle, startBaresip } from "./peers/baresip.ts";
import { type CdrRow, type DaemonHandle, skipUnlessPeers, startDaemon, stopAll } from "./peers/daemon.ts";

const skip = skipUnlessPeers("baresip", "espeak-ng", "sox");
const SILERO = join(sharedModelsDir, "silero-vad/silero_vad.onnx");
const PICO_DIR = join(sharedModelsDir, "svox-pico");
/** Defaults of daemon/config/schema.ts that the assertions depend on. */
const ENDPOINT_SILENCE_MS = 700;
const BARGE_IN_GATE_DBFS = -38 - 10; // bargeIn.minDbfs − 10: the pre-gate that marks the onset
const BARGE_IN_MIN_SPEECH_MS = 120;
/** "Is the box talking": 10 ms windows at or above this level in baresip's decoded dump. */
const BOX_DBFS = -45;
const RATE = 8000;

type Lang = "de-DE" | "en-US";

function needModels(t: TestContext): boolean {
  return needModel(t, "silero-vad", SILERO) && needModel(t, "svox-pico", join(PICO_DIR, "en-US_ta.bin"));
}

// ---------------------------------------------------------------------------------------------------------------
// Daemons (one per language, started on first use so a missing model skips before anything starts) and Pico
// in-process (the same engine and lingware as the daemon: the expected prompts).

const daemons = new Map<string, Promise<DaemonHandle>>();
function daemon(language: Lang, speech: Record<string, unknown> = {}): Promise<DaemonHandle> {
  const key = JSON.stringify([language, speech]);
  let d = daemons.get(key);
  if (!d) {
    d = startDaemon({
      // Without a recognizer: this file is about hearing (turns, barge-in, dead air); test/command-asr.test.ts is
      // about understanding.
      config: {
        models: { searchPaths: [sharedModelsDir] },
        speech: { enabled: true, language, recognizer: "off", ...speech },
      },
    });
    daemons.set(key, d);
  }
  return d;
}

let pico: Promise<PicoTts> | undefined;
const spoken = new Map<string, Float32Array>();
/** `text` as the daemon's Pico voice says it (16 kHz), synthesized in this process. */
async function picoSays(language: Lang, text: string): Promise<Float32Array> {
  const key = `${language}|${text}`;
  const had = spoken.get(key);
  if (had) return had;
  pico ??= PicoTts.create({ langDir: PICO_DIR, voices: ["de-DE", "en-US"] });
  const parts: Int16Array[] = [];
  for await (const c of (await pico).synthesize(text, { voice: language })) parts.push(c.pcm);
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) for (const v of p) out[o++] = v / 32768;
  spoken.set(key, out);
  return out;
}

/** What a played prompt looks like: active span, inner pauses, leading and trailing silence (ms). */
async function promptShape(language: Lang, what: Parameters<typeof demoText>[1]) {
  const pcm = await picoSays(language, demoText(language, what));
  const b = speechBounds(pcm, 16000, { thresholdDbfs: BOX_DBFS }) as Span;
  return {
    spanMs: b.endMs - b.startMs,
    leadMs: b.startMs,
    trailMs: (pcm.length / 16000) * 1000 - b.endMs,
    pauses: innerPauses(pcm, 16000, { thresholdDbfs: BOX_DBFS }),
    totalMs: (pcm.length / 16000) * 1000,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Caller audio

let work: string | undefined;
function workDir(): string {
  work ??= mkdtempSync(join(tmpdir(), "switchboard-speech-calls-"));
  return work;
}

/** mbrola voices make the caller sound unlike espeak's own formant voice; they are optional (Debian contrib/non-free). */
function haveVoice(voice: string): boolean {
  try {
    return execFileSync("espeak-ng", ["--voices=mb"], { encoding: "utf8" }).includes(` mb/${voice} `);
  } catch {
    return false;
  }
}

interface Utterance {
  text: string;
  voice: string;
  samples: Float32Array;
}

function utterance(text: string, voice: string): Utterance {
  return { text, voice, samples: readWavMono(generateSpeechWav(text, { rate: RATE, voice })).samples };
}

/** Placed clip with its true speech bounds on the source clock (energy: 5 ms windows ≥ −50 dBFS). */
interface Placed {
  atMs: number;
  bounds: Span;
  label: string;
}

function place(u: Utterance, atMs: number): Placed {
  const b = speechBounds(u.samples, RATE, { thresholdDbfs: -50, windowMs: 5 }) as Span;
  return { atMs, bounds: { startMs: atMs + b.startMs, endMs: atMs + b.endMs }, label: `${u.voice}: ${u.text}` };
}

const lenMs = (x: Float32Array) => (x.length / RATE) * 1000;

// ---------------------------------------------------------------------------------------------------------------
// One call and what came out of it

interface Ev {
  t: number;
  what: string;
}

interface CallResult {
  row: CdrRow;
  events: Ev[];
  turns: Span[];
  bargeIns: { delayMs: number; onsetMs: number }[];
  /** baresip's dumps (8 kHz) and the daemon's recording (16 kHz stereo). */
  enc: Float32Array;
  dec: Float32Array;
  rec: WavData;
  /** dec dump start − enc dump start, real time (end alignment). */
  decStartMs: number;
}

/** baresip on fresh ports; a port another process took between probe and bind is retried (shared test machines). */
async function baresip(src: string): Promise<BaresipHandle> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startBaresip({ sourceWav: src, codecs: ["PCMA"] });
    } catch (e) {
      if (attempt >= 3 || !/Address already in use/.test((e as Error).message)) throw e;
    }
  }
}

async function call(d: DaemonHandle, src: string): Promise<CallResult> {
  const before = new Set(d.calls().map((r) => r.id));
  const b = await baresip(src);
  try {
    b.dial(`sip:+4912345@${d.sipUdp.address}:${d.sipUdp.port}`);
    await b.waitFor(/Call established/, 10_000);
    await b.waitFor(/terminated/, 60_000); // baresip hangs up at the end of its source
  } finally {
    await b.stop();
  }
  const rows = await d.waitForCalls((rs) => rs.some((r) => !before.has(r.id) && r.ended_at !== null), 10_000);
  const row = rows.find((r) => !before.has(r.id)) as CdrRow;
  assert.equal(row.codec, "PCMA");
  assert.ok(row.recording_path && existsSync(row.recording_path), `recording_path=${row.recording_path}`);
  const dumps = b.dumps();
  assert.ok(dumps.dec.length === 1 && dumps.enc.length === 1, `baresip dumps: ${JSON.stringify(dumps)}`);
  const dec = readWavMono(dumps.dec[0]);
  const enc = readWavMono(dumps.enc[0]);
  assert.equal(dec.rate, RATE);
  assert.equal(enc.rate, RATE);
  const events = JSON.parse(row.events) as Ev[];
  const turns: Span[] = [];
  const bargeIns: CallResult["bargeIns"] = [];
  for (const e of events) {
    const t = /^turn (\d+)-(\d+) ms/.exec(e.what);
    if (t) turns.push({ startMs: Number(t[1]), endMs: Number(t[2]) });
    const bi = /^barge-in (\d+) ms after speech onset at (\d+) ms/.exec(e.what);
    if (bi) bargeIns.push({ delayMs: Number(bi[1]), onsetMs: Number(bi[2]) });
  }
  return {
    row,
    events,
    turns,
    bargeIns,
    enc: enc.samples,
    dec: dec.samples,
    rec: readWav(await finishedWav(row.recording_path)),
    decStartMs: lenMs(enc.samples) - lenMs(dec.samples),
  };
}

/** Source → recording lag (ms): waveform correlation of the source (sox-resampled to 16 kHz) with the left channel. */
function sourceToRecordingMs(src: string, rec: WavData): number {
  const s = readWavMono(resampleWav(src, rec.rate)).samples;
  const c = bestCorrelation(s, rec.channels[0], rec.rate);
  assert.ok(c.r > 0.9, `source vs recording left channel: r=${c.r.toFixed(3)} (the caller audio did not arrive)`);
  return (c.lag * 1000) / rec.rate;
}

/** Source → enc dump lag (ms). */
function sourceToEncMs(src: string, enc: Float32Array): number {
  const c = bestCorrelation(readWavMono(src).samples, enc, RATE);
  assert.ok(c.r > 0.9, `source vs baresip's enc dump: r=${c.r.toFixed(3)}`);
  return (c.lag * 1000) / RATE;
}

/**
 * Δ = recording clock − channel clock (ms), from the barge-in onsets: the Δ (in whole frames) under which every
 * reported onset is an energy-run onset of the recording's left channel. Throws when the onsets do not agree on one.
 */
function channelOffsetMs(r: CallResult): number {
  assert.ok(r.bargeIns.length > 0, `no barge-in event to calibrate the channel clock: ${JSON.stringify(r.events)}`);
  const onsets = new Set(energyRunOnsets(r.rec.channels[0], r.rec.rate, { gateDbfs: BARGE_IN_GATE_DBFS }));
  let best = { delta: 0, hits: -1 };
  for (let delta = -1000; delta <= 3000; delta += 20) {
    const hits = r.bargeIns.filter((b) => onsets.has(b.onsetMs + delta)).length;
    if (hits > best.hits) best = { delta, hits };
  }
  assert.equal(
    best.hits,
    r.bargeIns.length,
    `barge-in onsets ${JSON.stringify(r.bargeIns)} do not match the recording's energy runs with one frame offset ` +
      `(best Δ=${best.delta} ms matches ${best.hits}); run onsets: ${[...onsets].join(" ")}`,
  );
  return best.delta;
}

/** Spans of box audio in baresip's decoded dump. */
const boxSpans = (dec: Float32Array, bridgeMs = 0) =>
  activeSpans(dec, RATE, { thresholdDbfs: BOX_DBFS, bridgeMs, minMs: 30 });

/** The first silence of at least `minMs` in `spans` that starts at or after `fromMs` (its start: where sound stops). */
function firstSilenceAfter(spans: Span[], fromMs: number, minMs: number, endMs: number): Span | undefined {
  for (let i = 0; i < spans.length; i++) {
    const s = spans[i];
    if (s.endMs < fromMs) continue;
    const next = spans[i + 1]?.startMs ?? endMs;
    if (next - s.endMs >= minMs) return { startMs: s.endMs, endMs: next };
  }
  return undefined;
}

const f0 = (x: number) => x.toFixed(0);

// ---------------------------------------------------------------------------------------------------------------

describe("speech over real calls (baresip → daemon with Silero VAD and Pico)", { skip, timeout: 240_000 }, () => {
  after(async () => {
    await stopAll();
    if (work && process.env.KEEP_TEST_DIRS !== "1") rmSync(work, { recursive: true, force: true });
  });

  it("VAD: every utterance of a G.711 caller is one turn, its bounds within 100 ms of the true speech bounds", async (t) => {
    if (!needModels(t)) return;
    const mbUs = haveVoice("mb-us1");
    const mbDe = haveVoice("mb-de1");
    if (!mbUs || !mbDe) t.diagnostic("mbrola voices mb-us1/mb-de1 missing: espeak-ng voices only");
    const utts = [
      utterance("Hello, I would like to talk about my order.", mbUs ? "mb-us1" : "en-us"),
      utterance("My customer number is four five six seven.", "en-us"),
      utterance("Guten Tag, ich habe eine Frage zu meiner Rechnung.", mbDe ? "mb-de1" : "de"),
      utterance("Können Sie mich bitte zurückrufen?", "de"),
    ];
    // The first utterance starts while the menu plays (it barges in: the calibration of the channel clock); each
    // later one starts 1.8 s after the previous ended (well above the 700 ms endpointing silence) and usually
    // barges into the box's reply to the previous turn.
    const gapMs = 1800;
    const placed: Placed[] = [];
    let at = 4500;
    for (const u of utts) {
      placed.push(place(u, at));
      at += lenMs(u.samples) + gapMs;
    }
    const totalMs = at - gapMs + 2500; // the last turn ends by silence, not by the hangup
    const src = composeWav(
      join(workDir(), "vad-source.wav"),
      RATE,
      totalMs,
      utts.map((u, i) => ({ samples: u.samples, atMs: placed[i].atMs })),
    );

    const r = await call(await daemon("en-US"), src);
    t.diagnostic(`events: ${r.events.map((e) => e.what).join(" | ")}`);
    assert.equal(r.turns.length, utts.length, `turns ${JSON.stringify(r.turns)} for ${utts.length} utterances`);

    const lag = sourceToRecordingMs(src, r.rec);
    const delta = channelOffsetMs(r);
    t.diagnostic(
      `clocks: recording = source + ${lag.toFixed(1)} ms; channel = recording − ${delta} ms ` +
        `(${r.bargeIns.length} barge-in onsets agree)`,
    );
    // The VAD's bounds depend on where its 512-sample windows fall in the speech (the phase is set per call by Δ):
    // replaying the recording through the same SileroVad settings offline reproduces the CDR's turns to the ms.
    const errors: string[] = [];
    const toChannel = (sourceMs: number) => sourceMs + lag - delta;
    for (let i = 0; i < utts.length; i++) {
      const truth = placed[i].bounds;
      const turn = r.turns[i];
      const ds = turn.startMs - toChannel(truth.startMs);
      const de = turn.endMs - toChannel(truth.endMs);
      t.diagnostic(
        `turn ${i + 1} (${placed[i].label}): true ${f0(toChannel(truth.startMs))}-${f0(toChannel(truth.endMs))} ms, ` +
          `turn ${turn.startMs}-${turn.endMs} ms: start ${ds >= 0 ? "+" : ""}${f0(ds)} ms, end ${de >= 0 ? "+" : ""}${f0(de)} ms`,
      );
      if (Math.abs(ds) > 100 || Math.abs(de) > 100) errors.push(`turn ${i + 1}: start ${f0(ds)} ms, end ${f0(de)} ms`);
    }
    assert.deepEqual(errors, [], "turn bounds off by more than 100 ms");
  });

  for (const language of ["de-DE", "en-US"] as const) {
    it(`Pico ${language}: the caller hears the greeting soon after answer, as long as in-process synthesis`, async (t) => {
      if (!needModels(t)) return;
      const greeting = await promptShape(language, "greeting");
      const menu = await promptShape(language, "menu");
      // The greeting ends at the first pause longer than any pause inside it: the silence between greeting and menu
      // (the greeting's trailing silence + the menu's leading silence, both in the cached audio).
      const innerMax = Math.max(0, ...greeting.pauses);
      const between = greeting.trailMs + menu.leadMs;
      assert.ok(innerMax + 100 < between, `greeting pauses ${greeting.pauses} vs ${between} ms before the menu`);
      const bridgeMs = (innerMax + between) / 2;

      const src = composeWav(join(workDir(), "silence-7s.wav"), RATE, 7000, []);
      const r = await call(await daemon(language), src);
      const spans = boxSpans(r.dec, bridgeMs);
      assert.ok(spans.length > 0, "baresip heard nothing from the box");
      const heard = spans[0];
      const heardMs = heard.endMs - heard.startMs;
      const recBox = speechBounds(r.rec.channels[1], r.rec.rate, { thresholdDbfs: BOX_DBFS });
      t.diagnostic(
        `${language}: greeting heard ${f0(heardMs)} ms vs ${f0(greeting.spanMs)} ms in-process ` +
          `(${(((heardMs - greeting.spanMs) / greeting.spanMs) * 100).toFixed(1)} %); first box audio at ` +
          `${heard.startMs} ms of baresip's dump, ${recBox?.startMs} ms after the ACK on the recording's right channel`,
      );
      assert.ok(
        Math.abs(heardMs - greeting.spanMs) <= Math.max(0.15 * greeting.spanMs, 300),
        `greeting heard for ${heardMs} ms, in-process ${greeting.spanMs} ms`,
      );
      assert.ok(heard.startMs < 1000, `first box audio ${heard.startMs} ms into baresip's dump`);
      assert.ok(recBox && recBox.startMs < 1000, `first box audio ${recBox?.startMs} ms after the ACK`);

      // The real Silero VAD (the daemon's wrapper, its own stream here) on the dump, sox-resampled to 16 kHz: the
      // greeting is speech, not a tone or noise of the right length.
      const up = readWavMono(resampleWav(writeTmp(r.dec, "dec"), 16000)).samples;
      const vad = new SileroVad({ model: SILERO, minSilenceS: 0.3 }).createStream();
      const segs: Span[] = [];
      const pcm = Int16Array.from(up, (v) => Math.max(-32768, Math.min(32767, Math.round(v * 32768))));
      for (let i = 0; i + 320 <= pcm.length; i += 320) {
        for (const e of vad.push(pcm.subarray(i, i + 320)))
          if (e.type === "speechEnd") segs.push({ startMs: e.startMs, endMs: e.endMs });
      }
      for (const e of vad.flush()) if (e.type === "speechEnd") segs.push({ startMs: e.startMs, endMs: e.endMs });
      const overlap = segs.reduce(
        (n, s) => n + Math.max(0, Math.min(s.endMs, heard.endMs) - Math.max(s.startMs, heard.startMs)),
        0,
      );
      t.diagnostic(`${language}: Silero marks ${f0(overlap)} ms of the ${f0(heardMs)} ms greeting as speech`);
      assert.ok(overlap >= 0.6 * heardMs, `Silero found ${overlap} ms of speech in the ${heardMs} ms greeting`);
    });
  }

  it("barge-in: caller speech cuts the greeting off and the box stays silent while the caller talks", async (t) => {
    if (!needModels(t)) return;
    const u = utterance("Hello, I would like to talk about my order.", haveVoice("mb-us1") ? "mb-us1" : "en-us");
    const p = place(u, 2500); // mid-greeting
    const src = composeWav(join(workDir(), "barge-in.wav"), RATE, 2500 + lenMs(u.samples) + 5000, [
      { samples: u.samples, atMs: 2500 },
    ]);
    // Natural pauses in what the box would have said had it not been cut off (measured in-process): a silence longer
    // than all of them is the box having stopped, not a breath in the prompt.
    const greeting = await promptShape("en-US", "greeting");
    const menu = await promptShape("en-US", "menu");
    const longestPause = Math.max(...greeting.pauses, ...menu.pauses, greeting.trailMs + menu.leadMs);
    const needSilenceMs = Math.max(300, longestPause + 200);

    const r = await call(await daemon("en-US"), src);
    t.diagnostic(`events: ${r.events.map((e) => e.what).join(" | ")}`);
    assert.equal(r.bargeIns.length, 1, `expected exactly one barge-in: ${JSON.stringify(r.events)}`);

    // Caller side, baresip's own clocks: onset in the enc dump → where the box's audio stops in the dec dump.
    const onEnc = p.bounds.startMs + sourceToEncMs(src, r.enc);
    const onDec = onEnc - r.decStartMs;
    const silence = firstSilenceAfter(boxSpans(r.dec), onDec - 100, needSilenceMs, lenMs(r.dec));
    assert.ok(silence, `the box never went silent for ${needSilenceMs} ms after the caller started talking`);
    const heardDelay = silence.startMs - onDec;

    // Box side, the daemon's recording (one clock for both directions): caller onset as the box received it (the
    // barge-in pre-gate's energy run) → the box's audio stops on the right channel.
    const recOn = energyRunOnsets(r.rec.channels[0], r.rec.rate, { gateDbfs: BARGE_IN_GATE_DBFS })[0];
    const recStop = firstSilenceAfter(
      activeSpans(r.rec.channels[1], r.rec.rate, { thresholdDbfs: BOX_DBFS, minMs: 30 }),
      recOn - 100,
      needSilenceMs,
      (r.rec.channels[1].length / r.rec.rate) * 1000,
    );
    assert.ok(recStop, "the recording's right channel never went silent");
    const boxDelay = recStop.startMs - recOn;
    const recLenMs = (r.rec.channels[0].length / r.rec.rate) * 1000;
    const inPath = lenMs(r.enc) - recLenMs + recOn - onEnc;
    const outPath = recLenMs - lenMs(r.dec) + silence.startMs - recStop.startMs;
    t.diagnostic(
      `barge-in: caller hears the box stop ${f0(heardDelay)} ms after starting to talk (= in ${f0(inPath)} + box ` +
        `${f0(boxDelay)} + out ${f0(outPath)} ms); CDR: ${r.bargeIns[0].delayMs} ms; silence after the cut ` +
        `${f0(silence.endMs - silence.startMs)} ms (needed ${f0(needSilenceMs)})`,
    );
    assert.ok(heardDelay >= 0 && heardDelay <= 600, `box stopped ${heardDelay} ms after the caller's onset`);
  });

  it("speech.bargeIn.enabled false: caller speech over the greeting does not cut it, the turn is still heard", async (t) => {
    if (!needModels(t)) return;
    const u = utterance("Hello, I would like to talk about my order.", haveVoice("mb-us1") ? "mb-us1" : "en-us");
    const greeting = await promptShape("en-US", "greeting");
    const menu = await promptShape("en-US", "menu");
    const src = composeWav(join(workDir(), "barge-in-off.wav"), RATE, greeting.totalMs + menu.totalMs + 2500, [
      { samples: u.samples, atMs: 2500 },
    ]);
    const r = await call(await daemon("en-US", { bargeIn: { enabled: false } }), src);
    t.diagnostic(`events: ${r.events.map((e) => e.what).join(" | ")}`);
    assert.equal(r.bargeIns.length, 0, `barge-in is off but the prompt was cut: ${JSON.stringify(r.events)}`);
    assert.equal(r.turns.length, 1, `the caller's turn: ${JSON.stringify(r.events)}`);
    // Greeting and menu were heard in full (from the first box audio to the end of the menu).
    const spans = boxSpans(r.dec);
    const menuEnd = spans.filter((s) => s.startMs < spans[0].startMs + greeting.totalMs + menu.totalMs).at(-1)!;
    const heard = menuEnd.endMs - spans[0].startMs;
    const expected = greeting.totalMs - greeting.leadMs + menu.leadMs + menu.spanMs;
    t.diagnostic(`greeting + menu heard for ${f0(heard)} ms, in-process ${f0(expected)} ms`);
    assert.ok(
      Math.abs(heard - expected) <= Math.max(0.15 * expected, 300),
      `greeting + menu heard for ${heard} ms, expected ${expected} ms`,
    );
  });

  it("no recognizer: a turn gets the spoken reply after it ends; a click and a short 'mm' do not cut the prompt", async (t) => {
    if (!needModels(t)) return;
    const greeting = await promptShape("en-US", "greeting");
    const menu = await promptShape("en-US", "menu");
    const reply = await promptShape("en-US", "reply");
    const promptsMs = greeting.totalMs + menu.totalMs; // greeting + menu, back to back from the cache
    const click = noiseBurst(60, -12);
    const mm = hum(80, -15);
    assert.ok(lenMs(click) < BARGE_IN_MIN_SPEECH_MS && lenMs(mm) < BARGE_IN_MIN_SPEECH_MS);
    const u = utterance("I need help with my invoice please.", haveVoice("mb-us1") ? "mb-us1" : "en-us");
    const uttAt = Math.ceil((promptsMs + 1500) / 100) * 100; // after the menu, with room for a slow start
    const p = place(u, uttAt);
    const src = composeWav(
      join(workDir(), "reply.wav"),
      RATE,
      uttAt + lenMs(u.samples) + ENDPOINT_SILENCE_MS + reply.totalMs + 2000,
      [
        { samples: click, atMs: 1500 }, // during the greeting
        { samples: mm, atMs: greeting.totalMs + 1500 }, // during the menu
        { samples: u.samples, atMs: uttAt },
      ],
    );
    const r = await call(await daemon("en-US"), src);
    t.diagnostic(`events: ${r.events.map((e) => e.what).join(" | ")}`);
    assert.equal(r.bargeIns.length, 0, `the click or the 'mm' cut the prompt: ${JSON.stringify(r.events)}`);
    assert.equal(r.turns.length, 1, `expected one turn (the utterance): ${JSON.stringify(r.events)}`);
    const turnMs = r.turns[0].endMs - r.turns[0].startMs;
    const trueMs = p.bounds.endMs - p.bounds.startMs;
    t.diagnostic(`turn ${f0(turnMs)} ms for ${f0(trueMs)} ms of speech`);
    assert.ok(Math.abs(turnMs - trueMs) <= 200, `turn lasts ${turnMs} ms, the speech ${trueMs} ms`);

    const encLag = sourceToEncMs(src, r.enc);
    const toDec = (sourceMs: number) => sourceMs + encLag - r.decStartMs;
    const spans = boxSpans(r.dec);
    // Greeting and menu played to the end: the box audio before the caller's turn spans both prompts.
    const beforeTurn = spans.filter((s) => s.startMs < toDec(p.bounds.startMs));
    assert.ok(beforeTurn.length > 0, "no prompt before the caller spoke");
    const promptHeard = beforeTurn.at(-1)!.endMs - beforeTurn[0].startMs;
    const promptExpected = greeting.totalMs - greeting.leadMs + menu.leadMs + menu.spanMs;
    t.diagnostic(`greeting + menu heard for ${f0(promptHeard)} ms, in-process ${f0(promptExpected)} ms`);
    assert.ok(
      Math.abs(promptHeard - promptExpected) <= Math.max(0.15 * promptExpected, 300),
      `greeting + menu heard for ${promptHeard} ms, expected ${promptExpected} ms (cut off?)`,
    );

    // The reply: nothing from the box while the caller speaks, then the reply sentence, after the turn ended.
    const uttEndDec = toDec(p.bounds.endMs);
    const during = spans.filter((s) => s.endMs > toDec(p.bounds.startMs) && s.startMs < uttEndDec);
    assert.deepEqual(during, [], "the box spoke while the caller was speaking");
    const after = spans.filter((s) => s.startMs >= uttEndDec);
    assert.ok(after.length > 0, "no reply after the caller's turn");
    const replyAfterMs = after[0].startMs - uttEndDec;
    const replyHeard = after.at(-1)!.endMs - after[0].startMs;
    t.diagnostic(
      `reply heard ${f0(replyAfterMs)} ms after the caller stopped (endpointing ${ENDPOINT_SILENCE_MS} ms), ` +
        `${f0(replyHeard)} ms long vs ${f0(reply.spanMs)} ms in-process`,
    );
    assert.ok(
      replyAfterMs >= ENDPOINT_SILENCE_MS / 2 && replyAfterMs <= 3000,
      `reply began ${replyAfterMs} ms after the caller stopped`,
    );
    assert.ok(
      Math.abs(replyHeard - reply.spanMs) <= Math.max(0.15 * reply.spanMs, 300),
      `reply heard for ${replyHeard} ms, "${demoText("en-US", "reply")}" is ${reply.spanMs} ms`,
    );
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Short non-speech sounds (deterministic)

/** White noise burst (a click / rustle), `ms` long at `dbfs` RMS. */
function noiseBurst(ms: number, dbfs: number): Float32Array {
  const n = Math.round((RATE * ms) / 1000);
  const out = new Float32Array(n);
  let seed = 12345;
  const amp = 10 ** (dbfs / 20) * Math.sqrt(3); // uniform noise: RMS = amp / √3
  for (let i = 0; i < n; i++) {
    seed = (seed * 1103515245 + 12345) >>> 0;
    out[i] = amp * ((seed / 2 ** 32) * 2 - 1);
  }
  return out;
}

/** A voiced "mm": 150 Hz with harmonics, 10 ms fades, `ms` long at about `dbfs` RMS. */
function hum(ms: number, dbfs: number): Float32Array {
  const n = Math.round((RATE * ms) / 1000);
  const out = new Float32Array(n);
  const fade = Math.round(RATE * 0.01);
  for (let i = 0; i < n; i++) {
    let v = 0;
    for (let h = 1; h <= 5; h++) v += Math.sin((2 * Math.PI * 150 * h * i) / RATE) / h;
    const env = Math.min(1, i / fade, (n - 1 - i) / fade);
    out[i] = v * env;
  }
  let s = 0;
  for (const v of out) s += v * v;
  const gain = 10 ** (dbfs / 20) / Math.sqrt(s / n);
  return out.map((v) => v * gain);
}

function writeTmp(samples: Float32Array, name: string): string {
  return composeWav(join(workDir(), `${name}-${Date.now()}.wav`), RATE, lenMs(samples), [{ samples, atMs: 0 }]);
}
