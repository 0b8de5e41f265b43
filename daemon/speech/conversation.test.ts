import assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { before, test } from "node:test";
import type { MediaSession, MediaSessionEvents, PlayResult, PlaySource } from "../media/types.ts";
import { BARGE_IN_VAD } from "./barge-in.ts";
import { type BargeInInfo, type CallerTurn, SpeechChannel } from "./conversation.ts";
import { concatInt16, meanSquare } from "../media/pcm.ts";
import { PICO_VOICES, PicoTts } from "./pico-tts.ts";
import { SileroVad } from "./silero-vad.ts";
import { espeak, frames, haveModel, PICO_DIR, SILERO, speechBounds } from "./testutil.ts";

const PICO = [join(PICO_DIR, PICO_VOICES["en-US"].ta), join(PICO_DIR, PICO_VOICES["en-US"].sg)];
let pico: PicoTts | undefined;
before(async () => {
  if (PICO.every((f) => existsSync(f))) pico = await PicoTts.create({ langDir: PICO_DIR, voices: ["en-US"] });
});

/**
 * TEST DOUBLE for MediaSession. Nothing is sent anywhere. Playback time is tied to the caller audio the test pushes:
 * every pushed 20 ms frame also plays 20 ms of the current prompt, so the test controls both clocks frame by frame.
 * Records every play() and the caller-frame index at which stopPlayback() was called.
 */
class FakeMediaSession extends EventEmitter<MediaSessionEvents> implements MediaSession {
  readonly id = "fake-media";
  readonly localAddress = "127.0.0.1";
  readonly localPort = 0;
  readonly negotiated = undefined;
  listening = false;
  framesPushed = 0;
  plays: { samples: number; outcome?: PlayResult["outcome"]; playedMs?: number }[] = [];
  stopAtFrame: number | undefined;
  private current: { remaining: number; playedMs: number; done: (r: PlayResult) => void } | undefined;
  private playWaiters: (() => void)[] = [];

  /** Push one caller frame (as the media worker would) and advance playback by its duration. */
  pushFrame(frame: Int16Array): void {
    this.framesPushed++;
    if (this.listening) this.emit("audio", frame);
    const c = this.current;
    if (c) {
      c.playedMs += 20;
      c.remaining -= 320;
      if (c.remaining <= 0) this.finish({ outcome: "done", playedMs: c.playedMs });
    }
  }
  get playing(): boolean {
    return this.current !== undefined;
  }
  /** Resolves when a play() starts (or at once if one is active). */
  nextPlay(): Promise<void> {
    return this.current ? Promise.resolve() : new Promise((r) => this.playWaiters.push(r));
  }
  play(source: PlaySource, opts?: { signal?: AbortSignal }): Promise<PlayResult> {
    assert.ok("pcm" in source && source.sampleRate === 16000);
    const rec: (typeof this.plays)[number] = { samples: source.pcm.length };
    this.plays.push(rec);
    if (opts?.signal?.aborted) return Promise.resolve({ outcome: "aborted", playedMs: 0 });
    return new Promise((resolve) => {
      const onAbort = () => this.stopPlayback();
      opts?.signal?.addEventListener("abort", onAbort, { once: true });
      this.current = {
        remaining: source.pcm.length,
        playedMs: 0,
        done: (r) => {
          opts?.signal?.removeEventListener("abort", onAbort);
          rec.outcome = r.outcome;
          rec.playedMs = r.playedMs;
          resolve(r);
        },
      };
      for (const w of this.playWaiters.splice(0)) w();
    });
  }
  stopPlayback(): void {
    if (!this.current) return;
    this.stopAtFrame ??= this.framesPushed;
    this.finish({ outcome: "aborted", playedMs: this.current.playedMs });
  }
  private finish(r: PlayResult): void {
    const c = this.current;
    this.current = undefined;
    c?.done(r);
  }
  listen(on: boolean): void {
    this.listening = on;
  }
  readonly refusal = undefined;
  answer(): null {
    throw new Error("not used by the test double");
  }
  offer(): string {
    throw new Error("not used by the test double");
  }
  applyAnswer(): boolean {
    throw new Error("not used by the test double");
  }
  sendDtmf(): Promise<void> {
    throw new Error("not used by the test double");
  }
  startRecording(): void {}
  stopRecording(): Promise<undefined> {
    return Promise.resolve(undefined);
  }
  bridge(): void {}
  unbridge(): void {}
  stats(): never {
    throw new Error("not used by the test double");
  }
  close(): never {
    throw new Error("not used by the test double");
  }
}

function quietNoise(n: number, seed: number): Int16Array {
  const out = new Int16Array(n);
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    out[i] = ((s >>> 16) % 61) - 30;
  }
  return out;
}

function atDbfs(pcm: Int16Array, dbfs: number): Int16Array {
  const b = speechBounds(pcm);
  const g = Math.sqrt(10 ** (dbfs / 10) / meanSquare(pcm, b.start, b.end));
  return Int16Array.from(pcm, (x) => Math.max(-32768, Math.min(32767, Math.round(x * g))));
}

const tick = () => new Promise<void>((r) => setImmediate(r));

const LONG =
  "Thank you for calling the front desk. Our opening hours are Monday to Friday from eight to six. " +
  "On Saturdays we are open from nine to one. For appointments, please have your customer number ready. " +
  "If you are calling about an invoice, please stay on the line.";

function channel(media: FakeMediaSession, tts: PicoTts) {
  return new SpeechChannel({
    media,
    vad: new SileroVad({ model: SILERO, minSilenceS: 0.3, minSpeechS: 0.25 }),
    bargeInVad: new SileroVad({ model: SILERO, ...BARGE_IN_VAD }),
    tts,
    voice: "en-US",
  });
}

test("barge-in: caller speech over a long interruptible prompt stops playback and say() resolves interrupted", async (t) => {
  if (!haveModel(t, "silero-vad + svox-pico", SILERO, ...PICO) || !pico) return;
  const media = new FakeMediaSession();
  const ch = channel(media, pico);
  const bargeIns: BargeInInfo[] = [];
  const turns: CallerTurn[] = [];
  ch.on("bargeIn", (b) => bargeIns.push(b));
  ch.on("turn", (x) => turns.push(x));
  ch.start();
  assert.equal(media.listening, true);

  const said = ch.say(LONG);
  await media.nextPlay();
  assert.ok(media.plays.length === 1, "first sentence plays before the rest is synthesized");
  // 1 s of caller silence while the box talks, then the caller talks over it.
  const lead = quietNoise(16000, 1);
  const speech = atDbfs(espeak("Sorry, I just want to talk to a person please."), -20);
  const caller = concatInt16([lead, speech, quietNoise(24000, 2)]);
  const onsetFrame = (lead.length + speechBounds(speech).start) / 320; // true onset, in frames (may be fractional)
  for (const f of frames(caller)) {
    media.pushFrame(f);
    await tick(); // let say() start the next sentence and the TTS run
  }
  const r = await said;
  assert.equal(r.outcome, "interrupted");
  assert.equal(bargeIns.length, 1);
  assert.ok(media.stopAtFrame !== undefined);
  // Frame counting, not wall time: stopPlayback() ran in the handler of frame number stopAtFrame (1-based), whose
  // last sample is at stopAtFrame * 20 ms.
  const framesAfterOnset = media.stopAtFrame - onsetFrame;
  const b = bargeIns[0];
  t.diagnostic(
    `barge-in: true onset ${(onsetFrame * 20).toFixed(0)} ms, detector onset ${b.onsetMs} ms, stopPlayback in frame ` +
      `${media.stopAtFrame} (${(media.stopAtFrame * 20).toFixed(0)} ms) → ${(framesAfterOnset * 20).toFixed(0)} ms ` +
      `after true onset; reported bargeInDelayMs ${r.bargeInDelayMs?.toFixed(2)} = audio ${b.audioDelayMs} ms + ` +
      `processing ${b.processingMs.toFixed(3)} ms; played ${r.playedMs} ms in ${media.plays.length} play() calls`,
  );
  assert.ok(framesAfterOnset * 20 <= 200, "stop within 10 frames (200 ms of audio) of the true onset");
  assert.equal(b.triggerMs, media.stopAtFrame * 20);
  assert.equal(r.bargeInDelayMs, b.delayMs);
  assert.ok(r.playedMs > 0 && r.playedMs < (LONG.length / 10) * 1000);
  // the caller's speech still becomes a turn once they stop
  for (let i = 0; i < 60 && turns.length === 0; i++) {
    media.pushFrame(new Int16Array(320));
    await tick();
  }
  assert.equal(turns.length, 1);
  t.diagnostic(`turn ${turns[0].startMs}-${turns[0].endMs} ms, decided at ${turns[0].decidedMs} ms`);
  ch.stop();
  assert.equal(media.listening, false);
});

test("non-interruptible prompts play to the end despite caller speech", async (t) => {
  if (!haveModel(t, "silero-vad + svox-pico", SILERO, ...PICO) || !pico) return;
  const media = new FakeMediaSession();
  const ch = channel(media, pico);
  let bargeIns = 0;
  ch.on("bargeIn", () => bargeIns++);
  ch.start();
  const said = ch.say("This call is recorded. By staying on the line you consent.", { interruptible: false });
  const speech = atDbfs(espeak("No no no, wait, I do not want that."), -20);
  const caller = concatInt16([quietNoise(8000, 3), speech]);
  let settled = false;
  void said.then(() => {
    settled = true;
  });
  const it = frames(caller);
  for (let i = 0; !settled && i < 2000; i++) {
    const f = it.next();
    media.pushFrame(f.done ? quietNoise(320, i) : f.value);
    await tick();
  }
  const r = await said;
  assert.equal(r.outcome, "done");
  assert.equal(bargeIns, 0);
  assert.ok(media.plays.every((p) => p.outcome === "done"));
  ch.stop();
});

test("the call's signal aborts say(); cached prompts play in one piece", async (t) => {
  if (!haveModel(t, "silero-vad + svox-pico", SILERO, ...PICO) || !pico) return;
  const media = new FakeMediaSession();
  const ac = new AbortController();
  const { PromptCache } = await import("./prompt-cache.ts");
  const { mkdtempSync, rmSync } = await import("node:fs");
  const { tmpdir } = await import("node:os");
  const dir = mkdtempSync(join(tmpdir(), "conv-cache-"));
  try {
    const cache = new PromptCache({ dir, tts: pico });
    await cache.warm([{ voice: "en-US", text: "Hello. Welcome. How can I help?" }]);
    const ch = new SpeechChannel({
      media,
      vad: new SileroVad({ model: SILERO }),
      tts: pico,
      cache,
      voice: "en-US",
      signal: ac.signal,
    });
    ch.start();
    const said = ch.say("Hello. Welcome. How can I help?", { cached: true });
    await media.nextPlay();
    assert.equal(media.plays.length, 1);
    media.pushFrame(new Int16Array(320));
    ac.abort();
    const r = await said;
    assert.equal(r.outcome, "aborted");
    assert.equal(r.playedMs, 20);
    assert.equal(media.listening, false, "channel stopped with the call");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
