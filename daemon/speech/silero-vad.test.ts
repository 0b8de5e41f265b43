import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { concatInt16 } from "../media/pcm.ts";
import { SileroVad } from "./silero-vad.ts";
import { espeak, frames, haveModel, SILERO, speechBounds } from "./testutil.ts";
import { EngineLoadError, type VadEvent } from "./types.ts";

/** Deterministic low-level noise so "silence" is not digital zero. */
function quietNoise(n: number, seed: number): Int16Array {
  const out = new Int16Array(n);
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    out[i] = ((s >>> 16) % 61) - 30; // about -60 dBFS
  }
  return out;
}

function runAll(vad: SileroVad, pcm: Int16Array): VadEvent[] {
  const s = vad.createStream();
  const events: VadEvent[] = [];
  for (const f of frames(pcm)) events.push(...s.push(f));
  events.push(...s.flush());
  return events;
}

test("Silero VAD finds espeak speech between known silences within 100 ms", (t) => {
  if (!haveModel(t, "silero-vad", SILERO)) return;
  const texts = [
    "Hello, this is a test of the voice activity detector.",
    "Please hold the line.",
    "Thank you for calling, goodbye.",
  ];
  const parts: Int16Array[] = [quietNoise(16000, 1)];
  const truth: { start: number; end: number }[] = [];
  let offset = 16000;
  texts.forEach((text, i) => {
    const clip = espeak(text);
    const b = speechBounds(clip);
    truth.push({ start: offset + b.start, end: offset + b.end });
    parts.push(clip, quietNoise(16000, i + 2));
    offset += clip.length + 16000;
  });
  const signal = concatInt16(parts);

  const vad = new SileroVad({ model: SILERO, minSilenceS: 0.3, minSpeechS: 0.1 });
  const events = runAll(vad, signal);
  const ends = events.filter((e) => e.type === "speechEnd");
  const starts = events.filter((e) => e.type === "speechStart");
  t.diagnostic(
    `truth ms: ${truth.map((x) => `${x.start / 16}-${x.end / 16}`).join(" ")}; ` +
      `found ms: ${ends.map((e) => `${e.startMs.toFixed(0)}-${e.endMs.toFixed(0)}`).join(" ")}; ` +
      `starts ms: ${starts.map((e) => e.timeMs.toFixed(0)).join(" ")}`,
  );
  assert.equal(ends.length, truth.length, "one segment per utterance");
  assert.equal(starts.length, truth.length, "one speechStart per utterance");
  ends.forEach((e, i) => {
    assert.ok(
      Math.abs(e.startMs - truth[i].start / 16) <= 100,
      `segment ${i} start ${e.startMs} vs ${truth[i].start / 16}`,
    );
    assert.ok(Math.abs(e.endMs - truth[i].end / 16) <= 100, `segment ${i} end ${e.endMs} vs ${truth[i].end / 16}`);
    assert.equal(e.pcm.length, e.samples.length);
    assert.equal(e.endSample - e.startSample, e.samples.length);
  });
  starts.forEach((s, i) => {
    assert.ok(s.type === "speechStart" && Math.abs(s.timeMs - truth[i].start / 16) <= 150, `start event ${i}`);
  });
});

test("Silero VAD: silence gives no events; reset restarts the clock", (t) => {
  if (!haveModel(t, "silero-vad", SILERO)) return;
  const vad = new SileroVad({ model: SILERO });
  const s = vad.createStream();
  for (const f of frames(quietNoise(32000, 7))) assert.deepEqual(s.push(f), []);
  assert.deepEqual(s.flush(), []);
  s.reset();
  const clip = concatInt16([quietNoise(8000, 3), espeak("One two three four."), quietNoise(16000, 4)]);
  const ev: VadEvent[] = [];
  for (const f of frames(clip)) ev.push(...s.push(f));
  ev.push(...s.flush());
  const end = ev.find((e) => e.type === "speechEnd");
  t.diagnostic(JSON.stringify(ev.map((e) => (e.type === "speechEnd" ? [e.startMs, e.endMs] : e.timeMs))));
  // 2000 ms of audio went in before the reset; the utterance starts about 500 ms after it (Silero may miss "One").
  assert.ok(
    end && end.type === "speechEnd" && end.startMs > 300 && end.startMs < 1200,
    "timestamps count from the reset",
  );
});

test("Silero VAD resamples 8 kHz input", (t) => {
  if (!haveModel(t, "silero-vad", SILERO)) return;
  const clip16 = concatInt16([quietNoise(16000, 5), espeak("Good morning, how can I help you?"), quietNoise(16000, 6)]);
  const clip8 = new Int16Array(clip16.length >> 1);
  for (let i = 0; i < clip8.length; i++) clip8[i] = clip16[2 * i]; // crude decimation is enough for detection
  const vad = new SileroVad({ model: SILERO, inputSampleRate: 8000 });
  const ends = runAll(vad, clip8).filter((e) => e.type === "speechEnd");
  assert.equal(ends.length, 1);
});

test("Silero VAD pre-check rejects a corrupt model before sherpa sees it", () => {
  const dir = mkdtempSync(join(tmpdir(), "vad-bad-"));
  try {
    const bad = join(dir, "silero_vad.onnx");
    writeFileSync(bad, Buffer.from([0x08, 0x07, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x00]));
    assert.throws(() => new SileroVad({ model: bad }), EngineLoadError);
    assert.throws(() => new SileroVad({ model: join(dir, "missing.onnx") }), /missing/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("released streams are reset and reused; prewarm fills the pool in the background", async (t) => {
  if (!haveModel(t, "silero-vad", SILERO)) return;
  const vad = new SileroVad({ model: SILERO, maxIdleStreams: 2 });
  const a = vad.createStream();
  a.push(new Int16Array(16000).fill(8000));
  a.release();
  assert.equal(vad.idleStreams, 1);
  const b = vad.createStream();
  assert.equal(b, a, "the released stream is handed out again");
  assert.equal(b.speaking, false);
  assert.equal(vad.idleStreams, 0);
  vad.prewarm(5);
  for (let i = 0; i < 100 && vad.idleStreams < 2; i++) await new Promise((r) => setTimeout(r, 20));
  assert.equal(vad.idleStreams, 2, "prewarm stops at maxIdleStreams");
  const c = vad.createStream();
  c.release();
  c.release();
  assert.equal(vad.idleStreams, 2, "a double release or a full pool does not grow it");
});
