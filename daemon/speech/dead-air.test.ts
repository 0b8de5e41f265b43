import assert from "node:assert/strict";
import { test } from "node:test";
import { type Clock, DeadAirMonitor } from "./dead-air.ts";

/** Test double: a manual clock; advance() runs due timers in order. */
class FakeClock implements Clock {
  private t = 0;
  private seq = 0;
  private timers = new Map<number, { at: number; fn: () => void }>();
  now(): number {
    return this.t;
  }
  setTimeout(fn: () => void, ms: number): number {
    this.seq++;
    this.timers.set(this.seq, { at: this.t + ms, fn });
    return this.seq;
  }
  clearTimeout(h: unknown): void {
    this.timers.delete(h as number);
  }
  get pending(): number {
    return this.timers.size;
  }
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      let next: [number, { at: number; fn: () => void }] | undefined;
      for (const e of this.timers) if (e[1].at <= end && (!next || e[1].at < next[1].at)) next = e;
      if (!next) break;
      this.timers.delete(next[0]);
      this.t = next[1].at;
      next[1].fn();
    }
    this.t = end;
  }
}

function setup(opts: ConstructorParameters<typeof DeadAirMonitor>[0] = {}) {
  const clock = new FakeClock();
  const m = new DeadAirMonitor({ idlePromptAfterMs: 8000, hangupAfterMs: 6000, ...opts, clock });
  const log: string[] = [];
  m.on("filler", (n) => log.push(`filler${n}@${clock.now()}`));
  m.on("areYouThere", () => log.push(`areYouThere@${clock.now()}`));
  m.on("hangup", (r) => log.push(`hangup:${r}@${clock.now()}`));
  return { clock, m, log };
}

test("filler 800 ms after the caller's turn when the box says nothing; none when it answers in time", () => {
  const { clock, m, log } = setup({ fillerRepeatMs: 0 });
  m.start();
  m.callerStartedSpeaking();
  clock.advance(2000);
  m.callerTurnEnded();
  clock.advance(799);
  assert.deepEqual(log, []);
  clock.advance(1);
  assert.deepEqual(log, ["filler1@2800"]);
  m.boxStartedSpeaking({ filler: true });
  clock.advance(500);
  m.boxStoppedSpeaking();
  clock.advance(20_000);
  assert.deepEqual(log, ["filler1@2800"], "single filler, still awaiting the answer: no idle prompt");
  m.boxStartedSpeaking();
  m.boxStoppedSpeaking();
  m.callerStartedSpeaking();
  clock.advance(1000);
  m.callerTurnEnded();
  clock.advance(700);
  m.boxStartedSpeaking(); // the answer came in time
  clock.advance(3000);
  assert.deepEqual(log, ["filler1@2800"]);
});

test("fillers repeat while the answer is still owed", () => {
  const { clock, m, log } = setup({ fillerRepeatMs: 3000 });
  m.start();
  m.callerStartedSpeaking();
  m.callerTurnEnded();
  clock.advance(800);
  m.boxStartedSpeaking({ filler: true });
  clock.advance(1000);
  m.boxStoppedSpeaking();
  clock.advance(3000);
  assert.deepEqual(log, ["filler1@800", "filler2@4800"]);
});

test("are you still there? after the idle timeout, then a polite hangup", () => {
  const { clock, m, log } = setup();
  m.start();
  m.boxStartedSpeaking(); // greeting
  clock.advance(3000);
  m.boxStoppedSpeaking();
  clock.advance(8000);
  assert.deepEqual(log, ["areYouThere@11000"]);
  m.boxStartedSpeaking(); // the app plays the prompt; this must not restart the idle cycle
  clock.advance(1500);
  m.boxStoppedSpeaking();
  clock.advance(5999);
  assert.deepEqual(log, ["areYouThere@11000"]);
  clock.advance(1);
  assert.deepEqual(log, ["areYouThere@11000", "hangup:idle@18500"]);
  assert.equal(m.state, "stopped");
  assert.equal(clock.pending, 0);
});

test("the caller answering the prompt re-arms everything", () => {
  const { clock, m, log } = setup({ fillerRepeatMs: 0 });
  m.start();
  clock.advance(8000);
  assert.deepEqual(log, ["areYouThere@8000"]);
  clock.advance(2000);
  m.callerStartedSpeaking();
  clock.advance(10_000);
  assert.deepEqual(log, ["areYouThere@8000"], "no timers while the caller talks");
  m.callerTurnEnded();
  m.boxStartedSpeaking();
  m.boxStoppedSpeaking();
  clock.advance(8000);
  assert.deepEqual(log, ["areYouThere@8000", "areYouThere@28000"]);
});

test("maximum call length hangs up regardless of state; stop() clears timers", () => {
  const { clock, m, log } = setup({ maxCallMs: 60_000, idlePromptAfterMs: 1e9 });
  m.start();
  m.callerStartedSpeaking();
  clock.advance(60_000);
  assert.deepEqual(log, ["hangup:maxDuration@60000"]);
  assert.equal(clock.pending, 0);
  const b = setup({ maxCallMs: 60_000 });
  b.m.start();
  b.m.stop();
  assert.equal(b.clock.pending, 0);
  b.m.callerTurnEnded();
  b.clock.advance(100_000);
  assert.deepEqual(b.log, []);
});
