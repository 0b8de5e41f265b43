import assert from "node:assert/strict";
import { test } from "node:test";
import { createCodec } from "./codec.ts";
import { g711Decode } from "./g711.ts";
import { type JitterOptions, JitterBuffer } from "./jitter-buffer.ts";
import { Concealer } from "./plc.ts";

function rng(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s * 1103515245 + 12345) & 0x7fffffff;
    return s / 0x7fffffff;
  };
}

const opts = (): JitterOptions => ({
  minMs: 40,
  maxMs: 120,
  clockRate: 8000,
  decoder: createCodec("PCMA"),
  plc: new Concealer(8000, 160),
});

interface Pkt {
  seq: number;
  ts: number;
  payload: Uint8Array;
  /** Send time, ms. */
  at: number;
}

/** A PCMA stream of packets with the given durations (ms), from random bytes. */
function stream(ptimes: number[], seq0 = 1000, ts0 = 12345, seed = 1): { pkts: Pkt[]; bytes: Uint8Array } {
  const r = rng(seed);
  const total = ptimes.reduce((a, p) => a + p * 8, 0);
  const bytes = Uint8Array.from({ length: total }, () => Math.floor(r() * 256));
  const pkts: Pkt[] = [];
  let off = 0;
  let at = 0;
  ptimes.forEach((p, i) => {
    pkts.push({ seq: (seq0 + i) & 0xffff, ts: (ts0 + off) >>> 0, payload: bytes.subarray(off, off + p * 8), at });
    off += p * 8;
    at += p;
  });
  return { pkts, bytes };
}

/** Feed packets at their arrival times (send time + jitter) and pop one frame per 20 ms tick until drained. */
function run(
  jb: JitterBuffer,
  arrivals: { p: Pkt; arrive: number; ssrc?: number; placeholder?: boolean }[],
): (Int16Array | null)[] {
  const q = [...arrivals].sort((a, b) => a.arrive - b.arrive);
  const out: (Int16Array | null)[] = [];
  const end = (q.at(-1)?.arrive ?? 0) + 1000;
  for (let t = 0; t <= end; t += 20) {
    while (q.length && q[0].arrive <= t) {
      const a = q.shift() as (typeof q)[number];
      jb.push({ ssrc: a.ssrc ?? 7, seq: a.p.seq, ts: a.p.ts, payload: a.placeholder ? null : a.p.payload }, a.arrive);
    }
    const f = jb.pop();
    out.push(f ? f.slice() : null);
  }
  return out;
}

/** Frames from the first non-null one up to the last: playout must be continuous in between. */
function played(frames: (Int16Array | null)[]): Int16Array {
  const first = frames.findIndex((f) => f !== null);
  let last = frames.length - 1;
  while (last >= 0 && frames[last] === null) last--;
  const mid = frames.slice(first, last + 1);
  assert.ok(
    mid.every((f) => f !== null && f.length === 160),
    "a gap in playout",
  );
  const all = new Int16Array(mid.length * 160);
  for (const [i, f] of mid.entries()) all.set(f as Int16Array, i * 160);
  return all;
}

function assertSampleExact(ptimes: number[]): void {
  const { pkts, bytes } = stream(ptimes);
  const jb = new JitterBuffer(opts());
  const out = played(
    run(
      jb,
      pkts.map((p) => ({ p, arrive: p.at })),
    ),
  );
  const want = g711Decode("alaw", bytes);
  // the last frame may be padded with zeros; everything before it is the input, sample for sample
  assert.ok(out.length >= want.length && out.length < want.length + 160, `${out.length} vs ${want.length}`);
  assert.deepEqual(out.subarray(0, want.length), want);
  assert.equal(jb.stats.lost, 0);
  assert.equal(jb.stats.concealedMs, 0);
  assert.equal(jb.stats.dropped, 0);
}

for (const ptime of [10, 20, 30, 60])
  test(`${ptime} ms packets play out as continuous 20 ms frames, sample-exact`, () => {
    assertSampleExact(Array.from({ length: Math.round(3000 / ptime) }, () => ptime));
  });

test("packet size switching 20 -> 30 ms (and back) mid-stream stays sample-exact", () => {
  assertSampleExact([...Array(50).fill(20), ...Array(40).fill(30), ...Array(5).fill(20), 10, 10, 40]);
});

test("30 ms packets with 5 % loss and reorder: timeline kept, loss concealed for exactly its duration", () => {
  const r = rng(11);
  // start just below both wraps: 16-bit sequence numbers and 32-bit timestamps
  const { pkts, bytes } = stream(Array(300).fill(30), 65500, 2 ** 32 - 240 * 100);
  const lostIdx = new Set<number>();
  const arrivals = pkts.flatMap((p, i) => {
    if (i > 2 && i < 290 && r() < 0.05) {
      lostIdx.add(i);
      return [];
    }
    // every tenth packet overtaken by its successor
    return [{ p, arrive: p.at + (i % 10 === 3 ? 35 : 0) }];
  });
  // and a few duplicates
  for (const i of [20, 100, 200]) if (!lostIdx.has(i)) arrivals.push({ p: pkts[i], arrive: pkts[i].at + 5 });
  assert.ok(lostIdx.size >= 5);
  // a deployment whose jitterMinMs covers that reordering from the first packet on
  const jb = new JitterBuffer({ ...opts(), minMs: 100 });
  const out = played(run(jb, arrivals));
  const want = g711Decode("alaw", bytes);
  assert.ok(out.length >= want.length && out.length < want.length + 160, `${out.length} vs ${want.length}`);
  assert.equal(jb.stats.lost, lostIdx.size, JSON.stringify({ ...jb.stats, lost: [...lostIdx] }));
  assert.equal(jb.stats.late, 0);
  assert.ok(jb.stats.duplicate >= 1);
  assert.equal(jb.stats.concealedMs, lostIdx.size * 30);
  // every received packet is where its timestamp says (bar the 2 ms crossfade after a concealed gap)
  for (let i = 0; i < pkts.length; i++) {
    if (lostIdx.has(i)) continue;
    const from = i * 240 + (lostIdx.has(i - 1) ? 16 : 0);
    assert.deepEqual(out.subarray(from, i * 240 + 240), want.subarray(from, i * 240 + 240), `packet ${i}`);
  }
});

test("telephone-event placeholders: same SSRC is silence, not loss; another SSRC neither resets nor plays", () => {
  const { pkts } = stream(Array(100).fill(30));
  // same SSRC: events replace audio packets 40..45 (the audio timestamps jump over the event)
  const same = pkts.map((p, i) => ({ p, arrive: p.at, placeholder: i >= 40 && i < 46 }));
  const jb = new JitterBuffer(opts());
  const frames = run(jb, same);
  assert.equal(jb.stats.lost, 0);
  assert.equal(jb.stats.concealedMs, 0);
  // the audio stops for the event (silence, no concealment) and resumes where its timestamps say
  const all = new Int16Array(frames.filter((f) => f !== null).length * 160);
  for (const [i, f] of frames.filter((f) => f !== null).entries()) all.set(f, i * 160);
  const { bytes: b1 } = stream(Array(100).fill(30));
  const want1 = g711Decode("alaw", b1);
  assert.deepEqual(all.subarray(0, 40 * 240), want1.subarray(0, 40 * 240));
  const tail = want1.subarray(46 * 240);
  let at = -1;
  for (let k = 40 * 240; k + tail.length <= all.length && at < 0; k++)
    if (all[k] === tail[0] && all.subarray(k, k + tail.length).every((v, i) => v === tail[i])) at = k;
  assert.ok(at >= 40 * 240, "audio after the event is played intact");
  assert.equal(
    all.subarray(40 * 240, at).reduce((a, v) => a + Math.abs(v), 0),
    0,
    "event time is silent",
  );

  // own SSRC and sequence numbers, interleaved with the audio
  const { pkts: ev } = stream(Array(10).fill(20), 7984, 13280, 5);
  const jb2 = new JitterBuffer(opts());
  const mixed = [
    ...pkts.map((p) => ({ p, arrive: p.at })),
    ...ev.map((p) => ({ p, arrive: 900 + p.at, ssrc: 99, placeholder: true })),
  ];
  const { bytes } = stream(Array(100).fill(30));
  const out2 = played(run(jb2, mixed));
  assert.deepEqual(out2.subarray(0, bytes.length), g711Decode("alaw", bytes));
  assert.equal(jb2.stats.resets, 0);
  assert.equal(jb2.remoteSsrc, 7);
});

test("SSRC change of the audio resets the sequence space without counting loss", () => {
  const a = stream(Array(50).fill(20), 60000, 5000).pkts;
  const b = stream(Array(50).fill(20), 3000, 999999, 2).pkts.map((p) => ({ ...p, at: p.at + 1000 }));
  const jb = new JitterBuffer(opts());
  const frames = run(jb, [
    ...a.map((p) => ({ p, arrive: p.at, ssrc: 1 })),
    ...b.map((p) => ({ p, arrive: p.at, ssrc: 2 })),
  ]);
  assert.equal(jb.stats.lost, 0);
  assert.equal(jb.stats.resets, 1);
  assert.ok(frames.filter((f) => f !== null).length >= 95);
});

test("target depth adapts to jitter within 40..120 ms", () => {
  const jb = new JitterBuffer(opts());
  const r = rng(3);
  const payload = new Uint8Array(160);
  assert.equal(jb.stats.targetMs, 40);
  for (let i = 0; i < 300; i++) {
    jb.push({ ssrc: 1, seq: i, ts: i * 160, payload }, i * 20 + r() * 60);
    jb.pop();
  }
  assert.ok(jb.stats.jitterMs > 10, `jitter ${jb.stats.jitterMs}`);
  assert.ok(jb.stats.targetMs > 40 && jb.stats.targetMs <= 120, `target ${jb.stats.targetMs}`);
  for (let i = 300; i < 900; i++) {
    jb.push({ ssrc: 1, seq: i, ts: i * 160, payload }, i * 20);
    jb.pop();
  }
  assert.equal(jb.stats.targetMs, 40);
});

test("concealment repeats the signal, fades to silence and crossfades back", () => {
  const c = new Concealer(8000, 160);
  const f = (k: number) =>
    Int16Array.from({ length: 160 }, (_, i) => Math.round(8000 * Math.sin((2 * Math.PI * 200 * (k * 160 + i)) / 8000)));
  for (let k = 0; k < 5; k++) c.good(f(k));
  const e = (x: Int16Array) => x.reduce((a, v) => a + v * v, 0);
  const first = c.conceal();
  assert.ok(e(first) > 0.5 * e(f(5)), "first concealed frame should carry the signal");
  c.conceal(new Int16Array(80));
  c.conceal(new Int16Array(240));
  assert.equal(e(c.conceal()), 0, "silent after 60 ms");
  const back = f(9);
  c.good(back);
  assert.ok(Math.abs(back[0]) <= 8000);
});
