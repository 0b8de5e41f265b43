import assert from "node:assert/strict";
import { test } from "node:test";
import { JitterBuffer } from "./jitter-buffer.ts";
import { Concealer } from "./plc.ts";

function rng(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s * 1103515245 + 12345) & 0x7fffffff;
    return s / 0x7fffffff;
  };
}

const opts = { minMs: 40, maxMs: 120, clockRate: 8000 };
const payload = (seq: number) => Uint8Array.of(seq & 0xff, seq >> 8);

test("wrap at 65535 with 5 % loss, 10 % reorder, 3 % duplicates plays in order", () => {
  const r = rng(7);
  const start = 65400;
  const sent: number[] = [];
  for (let i = 0; i < 500; i++) sent.push(i);
  const arrivals: number[] = [];
  let never = 0;
  for (const i of sent) {
    if (r() < 0.05) {
      never++;
      continue;
    }
    arrivals.push(i);
    if (r() < 0.03) arrivals.push(i);
  }
  for (let i = 0; i + 1 < arrivals.length; i++)
    if (r() < 0.1) [arrivals[i], arrivals[i + 1]] = [arrivals[i + 1], arrivals[i]];
  const jb = new JitterBuffer(opts);
  const played: number[] = [];
  let lostSlots = 0;
  let t = 0;
  for (let tick = 0; tick < 700; tick++, t += 20) {
    const i = arrivals[tick];
    if (i !== undefined)
      jb.push({ ssrc: 1, seq: (start + i) & 0xffff, ts: (i * 160) >>> 0, payload: payload(start + i) }, t);
    const f = jb.pop();
    if (f.kind === "audio") played.push(f.ts / 160);
    if (f.kind === "lost") lostSlots++;
  }
  for (let k = 1; k < played.length; k++) assert.ok(played[k] > played[k - 1], "out of order");
  const s = jb.stats;
  assert.ok(s.duplicate > 0 && s.duplicate <= 20);
  // every sent packet is accounted for exactly once
  assert.equal(played.length + s.lost + s.dropped + s.late, 500, JSON.stringify({ played: played.length, ...s }));
  assert.ok(s.lost >= never - 2 && s.lost <= never + s.late, JSON.stringify({ never, ...s }));
  assert.equal(lostSlots, s.lost);
});

test("telephone-event packets in the same sequence space are not loss", () => {
  const jb = new JitterBuffer(opts);
  let seq = 100;
  let lost = 0;
  for (let i = 0; i < 200; i++) {
    const dtmf = i >= 50 && i < 58; // 5 event packets + 3 End packets
    jb.push({ ssrc: 9, seq: seq++ & 0xffff, ts: dtmf ? 50 * 160 : i * 160, payload: dtmf ? null : payload(i) }, i * 20);
    if (jb.pop().kind === "lost") lost++;
  }
  assert.equal(lost, 0);
  assert.equal(jb.stats.lost, 0);
});

test("SSRC change resets the sequence space without counting loss", () => {
  const jb = new JitterBuffer(opts);
  const played: number[] = [];
  for (let i = 0; i < 100; i++) {
    const second = i >= 50;
    jb.push({ ssrc: second ? 2 : 1, seq: second ? 3000 + i : 60000 + i, ts: i * 160, payload: payload(i) }, i * 20);
    const f = jb.pop();
    if (f.kind === "audio") played.push(f.ts / 160);
  }
  assert.equal(jb.stats.lost, 0);
  assert.equal(jb.stats.resets, 1);
  assert.ok(played.includes(60) && played.includes(40));
});

test("target depth adapts to jitter within 40..120 ms", () => {
  const jb = new JitterBuffer(opts);
  const r = rng(3);
  assert.equal(jb.stats.targetMs, 40);
  for (let i = 0; i < 300; i++) {
    jb.push({ ssrc: 1, seq: i, ts: i * 160, payload: payload(i) }, i * 20 + r() * 60);
    jb.pop();
  }
  assert.ok(jb.stats.jitterMs > 10, `jitter ${jb.stats.jitterMs}`);
  assert.ok(jb.stats.targetMs > 40 && jb.stats.targetMs <= 120, `target ${jb.stats.targetMs}`);
  for (let i = 300; i < 900; i++) {
    jb.push({ ssrc: 1, seq: i, ts: i * 160, payload: payload(i) }, i * 20);
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
  c.conceal();
  c.conceal();
  assert.equal(e(c.conceal()), 0, "silent after 60 ms");
  const back = f(9);
  c.good(back);
  assert.ok(Math.abs(back[0]) <= 8000);
});
