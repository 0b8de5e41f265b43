import assert from "node:assert/strict";
import { test } from "node:test";
import { type Turn, TurnEndpointer } from "./endpointing.ts";
import type { VadEvent } from "./types.ts";

const start = (ms: number): VadEvent => ({ type: "speechStart", sample: ms * 16, timeMs: ms });
const end = (startMs: number, endMs: number): VadEvent => {
  const n = (endMs - startMs) * 16;
  return {
    type: "speechEnd",
    startSample: startMs * 16,
    endSample: endMs * 16,
    startMs,
    endMs,
    samples: new Float32Array(n),
    pcm: new Int16Array(n),
  };
};

/** Drive the endpointer over audio time in 20 ms ticks; events are [deliverAtMs, event]. */
function run(ep: TurnEndpointer, events: [number, VadEvent][], untilMs: number, pending?: (ms: number) => boolean) {
  const turns: Turn[] = [];
  ep.on("turnEnd", (t) => turns.push(t));
  let i = 0;
  for (let now = 0; now <= untilMs; now += 20) {
    while (i < events.length && events[i][0] <= now) ep.push(events[i++][1], now);
    ep.tick(now, pending?.(now) ?? false);
  }
  return turns;
}

test("turn ends after the default 700 ms of silence, measured from the segment end", () => {
  const ep = new TurnEndpointer();
  // VAD reports speechEnd 400 ms late (its own minSilence): the deadline still counts from endMs.
  const turns = run(
    ep,
    [
      [300, start(100)],
      [1400, end(100, 1000)],
    ],
    3000,
  );
  assert.equal(turns.length, 1);
  assert.equal(turns[0].decidedMs, 1700);
  assert.equal(turns[0].reason, "silence");
  assert.deepEqual([turns[0].startMs, turns[0].endMs], [100, 1000]);
});

test("a new speechStart within the window continues the same turn", () => {
  const ep = new TurnEndpointer();
  const turns = run(
    ep,
    [
      [300, start(100)],
      [1300, end(100, 1000)],
      [1600, start(1500)], // 500 ms pause < 700
      [2600, end(1500, 2300)],
    ],
    4000,
  );
  assert.equal(turns.length, 1);
  assert.equal(turns[0].segments.length, 2);
  assert.deepEqual([turns[0].startMs, turns[0].endMs, turns[0].decidedMs], [100, 2300, 3000]);
});

test("a pause longer than the window gives two turns", () => {
  const ep = new TurnEndpointer();
  const turns = run(
    ep,
    [
      [300, start(100)],
      [1300, end(100, 1000)],
      [2200, start(2000)],
      [3200, end(2000, 2800)],
    ],
    5000,
  );
  assert.deepEqual(
    turns.map((t) => [t.startMs, t.endMs, t.decidedMs]),
    [
      [100, 1000, 1700],
      [2000, 2800, 3500],
    ],
  );
});

test("modes: digits/email/iban wait longer, and a mode change applies to the open turn", () => {
  for (const [mode, silence] of [
    ["digits", 1500],
    ["email", 2000],
    ["iban", 2500],
  ] as const) {
    const ep = new TurnEndpointer();
    ep.setMode(mode);
    // digit groups with 1.2 s pauses stay one turn in these modes
    const turns = run(
      ep,
      [
        [300, start(100)],
        [900, end(100, 600)],
        [2000, start(1800)],
        [2600, end(1800, 2300)],
      ],
      8000,
    );
    assert.equal(turns.length, 1, mode);
    assert.equal(turns[0].decidedMs, 2300 + silence, mode);
    assert.equal(turns[0].mode, mode);
  }
  const late = new TurnEndpointer();
  late.push(start(0), 300);
  late.push(end(0, 1000), 1400);
  late.setMode("iban"); // the flow just asked for the IBAN while the turn is open
  assert.equal(late.tick(1800), undefined);
  assert.equal(late.tick(3500)?.mode, "iban");
  const ep = new TurnEndpointer({ silenceMs: { default: 500 } });
  assert.equal(ep.silenceMs.default, 500);
  assert.equal(ep.silenceMs.digits, 1500);
});

test("speechPending holds the deadline until the VAD confirms or gives up", () => {
  const ep = new TurnEndpointer();
  // the fast stream hears something from 1500 to 1900 ms that the turn VAD never confirms
  const turns = run(
    ep,
    [
      [300, start(100)],
      [1300, end(100, 1000)],
    ],
    4000,
    (ms) => ms >= 1500 && ms < 1900,
  );
  assert.equal(turns.length, 1);
  assert.equal(turns[0].decidedMs, 1900);
});

test("no turn while a segment is open; flush emits; maxTurnMs cuts runaway speech", () => {
  const ep = new TurnEndpointer({ maxTurnMs: 5000 });
  assert.equal(ep.push(start(0), 300), undefined);
  assert.equal(ep.tick(10_000), undefined, "open segment");
  assert.equal(ep.inTurn, true);
  const t = ep.push(end(0, 6000), 6400);
  assert.equal(t?.reason, "maxTurn");
  assert.equal(ep.inTurn, false);
  ep.push(start(7000), 7300);
  ep.push(end(7000, 7500), 7900);
  assert.equal(ep.flush(7900)?.reason, "flush");
  assert.equal(ep.flush(8000), undefined);
});

test("a turn with less speech than minTurnSpeechMs (a cough) is dropped; two short words together make a turn", () => {
  const cough = run(
    new TurnEndpointer({ minTurnSpeechMs: 150 }),
    [
      [0, start(1000)],
      [1200, end(1000, 1100)],
    ],
    3000,
  );
  assert.equal(cough.length, 0);
  const words = run(
    new TurnEndpointer({ minTurnSpeechMs: 150 }),
    [
      [0, start(1000)],
      [1200, end(1000, 1100)],
      [1300, start(1250)],
      [1500, end(1250, 1350)],
    ],
    3000,
  );
  assert.equal(words.length, 1);
  assert.deepEqual([words[0].startMs, words[0].endMs, words[0].segments.length], [1000, 1350, 2]);
});
