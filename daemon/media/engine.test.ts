import assert from "node:assert/strict";
import dgram from "node:dgram";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { mediaSchema } from "../config/schema.ts";
import { silentLog } from "../ops/log.ts";
import { MediaEngine } from "./engine.ts";
import type { MediaSession } from "./types.ts";
import { g711Encode } from "./g711.ts";
import { encodeWav, readWav } from "./wav.ts";

const media = mediaSchema.parse({ rtpAddress: "127.0.0.1", rtpPortMin: 31000, rtpPortMax: 31099, rtpTimeoutS: 0 });
let engine: MediaEngine;
let dir: string;

before(async () => {
  engine = await MediaEngine.start({ media, log: silentLog });
  dir = await mkdtemp(join(tmpdir(), "media-engine-"));
});
after(async () => {
  await engine.stop();
  await rm(dir, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(cond: () => boolean | Promise<boolean>, limitMs = 8000): Promise<void> {
  const end = Date.now() + limitMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error("condition not met in time");
    await sleep(20);
  }
}

function toneFile(freq: number, rate: number, seconds: number): Int16Array {
  return Int16Array.from({ length: rate * seconds }, (_, i) =>
    Math.round(9000 * Math.sin((2 * Math.PI * freq * i) / rate)),
  );
}

/** Normalised power of `freq` in a mono 16 kHz signal, from a single DFT bin. */
function toneShare(x: Int16Array, freq: number): number {
  let re = 0;
  let im = 0;
  let e = 0;
  for (let i = 0; i < x.length; i++) {
    re += x[i] * Math.cos((2 * Math.PI * freq * i) / 16000);
    im += x[i] * Math.sin((2 * Math.PI * freq * i) / 16000);
    e += x[i] * x[i];
  }
  return e === 0 ? 0 : (2 * (re * re + im * im)) / (x.length * e);
}

function channel(samples: Int16Array, ch: number): Int16Array {
  return samples.filter((_, i) => i % 2 === ch);
}

async function pair(a: MediaSession, b: MediaSession): Promise<void> {
  const answer = b.answer(a.offer());
  assert.ok(answer, "answer");
  assert.ok(a.applyAnswer(answer.sdp));
}

test("two sessions: tone file A->B is recorded on B, DTMF 159# arrives", async () => {
  const a = await engine.allocate();
  const b = await engine.allocate();
  assert.equal(a.localPort % 2, 0);
  await pair(a, b);
  assert.equal(b.negotiated?.codec, "PCMA");
  const digits: string[] = [];
  b.on("dtmf", (d, source) => {
    assert.equal(source, "rfc4733");
    digits.push(d);
  });
  const wav = join(dir, "tone22k.wav");
  await writeFile(wav, encodeWav(toneFile(1000, 22050, 1), 22050));
  const rec = join(dir, "b.wav");
  b.startRecording(rec);
  const played = await a.play({ file: wav });
  assert.equal(played.outcome, "done");
  assert.ok(played.playedMs >= 990, `played ${played.playedMs}`);
  await a.sendDtmf("159#", { durationMs: 80 });
  await until(() => digits.length >= 4);
  assert.deepEqual(digits, ["1", "5", "9", "#"]);
  await sleep(200);
  const r = await b.stopRecording();
  assert.equal(r?.path, rec);
  const { samples, channels, sampleRate } = await readWav(rec);
  assert.equal(channels, 2);
  assert.equal(sampleRate, 16000);
  const left = channel(samples, 0);
  // find the loudest 0.5 s window and check that it is the 1 kHz tone
  let best = 0;
  for (let off = 0; off + 8000 <= left.length; off += 800)
    best = Math.max(best, toneShare(left.subarray(off, off + 8000), 1000));
  assert.ok(best > 0.8, `1 kHz share ${best.toFixed(2)}`);
  const sa = await a.stats();
  const sb = await b.stats();
  assert.ok(sa.packetsSent > 50 && sb.packetsReceived > 50);
  assert.equal(sb.dtmfReceived, 4);
  assert.equal(sb.packetsLost, 0);
  await a.close();
  await b.close();
});

test("bridge: caller -> X=bridge=Y -> callee carries audio and DTMF", async () => {
  const caller = await engine.allocate();
  const x = await engine.allocate();
  const y = await engine.allocate();
  const callee = await engine.allocate();
  await pair(caller, x);
  await pair(y, callee);
  x.bridge(y);
  const got: string[] = [];
  callee.on("dtmf", (d) => got.push(d));
  const rec = join(dir, "callee.wav");
  callee.startRecording(rec);
  await caller.play({ tone: { frequencies: [600], durationMs: 800 } });
  await caller.sendDtmf("7");
  await until(() => got.length >= 1);
  assert.deepEqual(got, ["7"]);
  await callee.stopRecording();
  const left = channel((await readWav(rec)).samples, 0);
  let best = 0;
  for (let off = 0; off + 4000 <= left.length; off += 800)
    best = Math.max(best, toneShare(left.subarray(off, off + 4000), 600));
  assert.ok(best > 0.7, `600 Hz share ${best.toFixed(2)}`);
  x.unbridge();
  for (const s of [caller, x, y, callee]) await s.close();
});

test("malformed RTP/RTCP is counted and dropped; hold keeps the session; injection is ignored", async () => {
  const a = await engine.allocate();
  const b = await engine.allocate();
  await pair(a, b);
  await until(async () => (await b.stats()).packetsReceived > 5);
  const sock = dgram.createSocket("udp4");
  await new Promise<void>((r) => sock.bind(0, "127.0.0.1", r));
  const send = (buf: Buffer, port: number) => new Promise<void>((r) => sock.send(buf, port, "127.0.0.1", () => r()));
  const junk = [
    Buffer.from([0x80, 0x08]),
    Buffer.alloc(20, 0x40), // version 1
    Buffer.from("random bytes that are not rtp at all"),
    Buffer.from([0x8f, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1]), // 15 CSRCs announced, none present
    Buffer.from([0x90, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0xbe, 0xde, 0xff, 0xff]), // extension longer than packet
  ];
  for (const j of junk) await send(j, b.localPort);
  await send(Buffer.from([0x80, 200, 0xff, 0xff, 1, 2, 3, 4]), b.localPort + 1);
  // a well-formed packet from a stranger while the latched source is active: ignored
  const forged = Buffer.alloc(172);
  forged[0] = 0x80;
  forged[1] = 8;
  await send(forged, b.localPort);
  await until(async () => {
    const s = await b.stats();
    return (s.packetsMalformed ?? 0) >= junk.length && (s.packetsIgnored ?? 0) >= 1;
  });
  sock.close();
  // hold: a re-offer with sendonly; B answers recvonly and stops sending, but stays alive
  const reOffer = a.offer({ direction: "sendonly" });
  const ans = b.answer(reOffer);
  assert.equal(ans?.media.direction, "recvonly");
  assert.ok(a.applyAnswer(ans?.sdp ?? ""));
  await sleep(100);
  const before = (await b.stats()).packetsSent;
  await sleep(200);
  assert.equal((await b.stats()).packetsSent, before);
  // resume
  const resumed = b.answer(a.offer());
  assert.equal(resumed?.media.direction, "sendrecv");
  await until(async () => (await b.stats()).packetsSent > before);
  const es = await engine.stats();
  assert.ok(es.ticks > 0 && es.sessions >= 2);
  await a.close();
  await b.close();
});

test("listen forwards 16 kHz frames; ports are even and reused after close", async () => {
  const a = await engine.allocate();
  const b = await engine.allocate();
  await pair(a, b);
  let frames = 0;
  b.on("audio", (f) => {
    assert.equal(f.length, 320);
    frames++;
  });
  b.listen(true);
  await until(() => frames >= 5);
  b.listen(false);
  const used = new Set([a.localPort, b.localPort]);
  await a.close();
  await b.close();
  const seen = new Set<number>();
  for (let i = 0; i < 60; i++) {
    const s = await engine.allocate();
    assert.equal(s.localPort % 2, 0);
    assert.ok(s.localPort >= 31000 && s.localPort + 1 <= 31099);
    seen.add(s.localPort);
    await s.close();
  }
  assert.ok(
    [...used].every((p) => seen.has(p)),
    "closed ports come round again",
  );
});

test("30 ms PCMA from a raw peer is recorded on the left; DTMF on its own SSRC is reported", async () => {
  const s = await engine.allocate();
  const sock = dgram.createSocket("udp4");
  await new Promise<void>((r) => sock.bind(0, "127.0.0.1", r));
  const port = sock.address().port;
  const offer = [
    "v=0",
    "o=sipp 1 1 IN IP4 127.0.0.1",
    "s=-",
    "c=IN IP4 127.0.0.1",
    "t=0 0",
    `m=audio ${port} RTP/AVP 8 101`,
    "a=rtpmap:8 PCMA/8000",
    "a=rtpmap:101 telephone-event/8000",
    "a=fmtp:101 0-15",
    "a=ptime:30",
    "",
  ].join("\r\n");
  const ans = s.answer(offer);
  assert.equal(ans?.media.codec, "PCMA");
  assert.equal(ans?.media.ptimeMs, 30);
  const digits: string[] = [];
  s.on("dtmf", (d) => digits.push(d));
  const rec = join(dir, "raw30.wav");
  s.startRecording(rec);
  const send = (pt: number, ssrc: number, seq: number, ts: number, payload: Uint8Array, marker = false) => {
    const b = Buffer.alloc(12 + payload.length);
    b[0] = 0x80;
    b[1] = (marker ? 0x80 : 0) | pt;
    b.writeUInt16BE(seq & 0xffff, 2);
    b.writeUInt32BE(ts >>> 0, 4);
    b.writeUInt32BE(ssrc, 8);
    b.set(payload, 12);
    return new Promise<void>((r) => sock.send(b, s.localPort, "127.0.0.1", () => r()));
  };
  const tone = g711Encode("alaw", toneFile(1000, 8000, 1.5));
  // paced like a real peer (the playout needs real time), not asserted on
  for (let k = 0; (k + 1) * 240 <= tone.length; k++) {
    await send(8, 0xdee0ee8f, 59133 + k, 240 + k * 240, tone.subarray(k * 240, k * 240 + 240), k === 0);
    await sleep(30);
  }
  for (let k = 0; k < 10; k++) {
    const end = k >= 7;
    const dur = Math.min(k + 1, 7) * 160;
    await send(
      101,
      0x0e05384e,
      7984 + k,
      13280,
      Uint8Array.of(1, (end ? 0x80 : 0) | 10, dur >> 8, dur & 0xff),
      k === 0,
    );
    await sleep(20);
  }
  await until(() => digits.length >= 1);
  await sleep(100);
  await s.stopRecording();
  assert.deepEqual(digits, ["1"]);
  const left = channel((await readWav(rec)).samples, 0);
  let best = 0;
  for (let off = 0; off + 8000 <= left.length; off += 800)
    best = Math.max(best, toneShare(left.subarray(off, off + 8000), 1000));
  assert.ok(best > 0.8, `1 kHz share on the left ${best.toFixed(2)}`);
  const st = await s.stats();
  assert.equal(st.packetsLost, 0);
  assert.equal(st.dtmfReceived, 1);
  sock.close();
  await s.close();
});
