import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import dgram from "node:dgram";
import { after, test } from "node:test";
import { RtpHeader, RtpPacket } from "werift";
import { mediaSchema } from "../config/schema.ts";
import { createCodec } from "./codec.ts";
import { g711Encode } from "./g711.ts";
import type { SessionEvent } from "./messages.ts";
import { RtpSession } from "./rtp-session.ts";
import { sendPtime } from "./session.ts";
import { toneShare, until, weriftSrtpPeer } from "./testing.ts";
import type { NegotiatedMedia, SrtpKeys } from "./types.ts";

const cfg = mediaSchema.parse({ rtpAddress: "127.0.0.1", rtpPortMin: 31200, rtpPortMax: 31299, rtpTimeoutS: 0 });
const sockets: dgram.Socket[] = [];
after(() => {
  for (const s of sockets) s.close();
});

async function bound(): Promise<dgram.Socket> {
  const s = dgram.createSocket("udp4");
  sockets.push(s);
  await new Promise<void>((r) => s.bind(0, "127.0.0.1", r));
  return s;
}

/** An RtpSession on real sockets, driven by hand: the test owns the clock (`now`) and the ticks. */
async function setup(extra: Partial<NegotiatedMedia> = {}) {
  const rtp = await bound();
  const rtcp = await bound();
  const peer = await bound();
  const events: SessionEvent[] = [];
  const clock = { now: 0 };
  const s = new RtpSession("t", { port: rtp.address().port, rtp, rtcp }, cfg, {
    emit: (ev) => events.push(ev),
    log: () => undefined,
    now: () => clock.now,
  });
  s.configure({
    codec: "PCMA",
    payloadType: 8,
    clockRate: 8000,
    dtmfPayloadType: 101,
    remoteAddress: "127.0.0.1",
    remotePort: peer.address().port,
    remoteRtcpPort: peer.address().port + 1,
    direction: "sendrecv",
    ...extra,
  });
  const send = (pt: number, ssrc: number, seq: number, ts: number, payload: Uint8Array, marker = false) =>
    new Promise<void>((r) => {
      const h = new RtpHeader({ payloadType: pt, sequenceNumber: seq & 0xffff, timestamp: ts >>> 0, ssrc, marker });
      peer.send(new RtpPacket(h, Buffer.from(payload)).serialize(), rtp.address().port, "127.0.0.1", () => r());
    });
  /** Wait (bounded) until the session has taken in `n` packets: delivery over loopback is asynchronous. */
  const received = async (n: number) => {
    for (let i = 0; i < 500 && s.counters.packetsReceived < n; i++) await new Promise((r) => setTimeout(r, 2));
    assert.equal(s.counters.packetsReceived, n, "packets did not arrive");
  };
  return { s, peer, events, clock, send, received };
}

test("30 ms audio with telephone-events on their own SSRC: continuous audio, digit once, no loss", async () => {
  const { s, events, clock, send, received } = await setup();
  s.listening = true;
  const seconds = 2;
  const tone = Int16Array.from({ length: 8000 * seconds }, (_, i) =>
    Math.round(8000 * Math.sin((2 * Math.PI * 1000 * i) / 8000)),
  );
  const alaw = g711Encode("alaw", tone);
  // like the sipp pcaps: audio SSRC A, events SSRC B with an unrelated sequence space, digit "1" at 0.6 s
  const due: { at: number; pt: number; ssrc: number; seq: number; ts: number; payload: Uint8Array; m?: boolean }[] = [];
  for (let k = 0; k * 240 < alaw.length; k++)
    due.push({
      at: k * 30,
      pt: 8,
      ssrc: 0xdee0ee8f,
      seq: 59133 + k,
      ts: 240 + k * 240,
      payload: alaw.subarray(k * 240, k * 240 + 240),
    });
  for (let k = 0; k < 10; k++) {
    const end = k >= 7;
    const dur = Math.min(k + 1, 7) * 160;
    const payload = Uint8Array.of(1, (end ? 0x80 : 0) | 10, dur >> 8, dur & 0xff);
    due.push({ at: 600 + k * 20, pt: 101, ssrc: 0x0e05384e, seq: 7984 + k, ts: 13280, payload, m: k === 0 });
  }
  due.sort((a, b) => a.at - b.at);
  const frames: (Int16Array | null)[] = [];
  let sent = 0;
  for (let t = 0; t <= seconds * 1000 + 300; t += 20) {
    clock.now = t;
    while (due.length && due[0].at <= t) {
      const d = due.shift() as (typeof due)[number];
      await send(d.pt, d.ssrc, d.seq, d.ts, d.payload, d.m);
      sent++;
    }
    await received(sent);
    s.rxTick(t);
    frames.push(s.rxFrame ? s.rxFrame.slice() : null);
  }
  // reference: the same bytes decoded and taken to 16 kHz 20 ms at a time by a fresh codec
  const ref = createCodec("PCMA");
  const want: Int16Array[] = [];
  const pcm8 = ref.decode(alaw).slice();
  for (let k = 0; k + 160 <= pcm8.length; k += 160) want.push(ref.toInternal(pcm8.subarray(k, k + 160)).slice());
  const first = frames.findIndex((f) => f !== null);
  const got = frames.slice(first, first + want.length);
  assert.ok(
    got.every((f) => f !== null),
    "audio must play without a gap across the DTMF",
  );
  for (const [i, f] of got.entries()) assert.deepEqual(f, want[i], `frame ${i}`);
  const digits = events.filter((e) => e.t === "dtmf");
  assert.deepEqual(
    digits.map((d) => (d.t === "dtmf" ? d.digit : "")),
    ["1"],
  );
  assert.equal(events.filter((e) => e.t === "audio").length, frames.length);
  const st = s.stats();
  assert.equal(st.packetsLost, 0);
  assert.equal(st.framesConcealed, 0);
  assert.equal(st.dtmfReceived, 1);
  await s.close();
});

test("we send at the peer's ptime: 30 ms packets with consecutive timestamps", async () => {
  const { s, peer } = await setup({ ptimeMs: 30 });
  const got: RtpPacket[] = [];
  peer.on("message", (b) => got.push(RtpPacket.deSerialize(b)));
  for (let t = 0; t < 12; t++) s.txTick(t * 20);
  for (let i = 0; i < 500 && got.length < 8; i++) await new Promise((r) => setTimeout(r, 2));
  assert.equal(got.length, 8, "12 ticks of 20 ms are 8 packets of 30 ms");
  for (const [i, p] of got.entries()) {
    assert.equal(p.payload.length, 240);
    if (i > 0) {
      assert.equal((p.header.timestamp - got[i - 1].header.timestamp) >>> 0, 240);
      assert.equal((p.header.sequenceNumber - got[i - 1].header.sequenceNumber) & 0xffff, 1);
    }
  }
  assert.equal(got[0].header.marker, true);
  await s.close();
});

test("send ptime from the remote SDP: a=ptime within a=maxptime, else 20 ms", () => {
  const sdp = (...attrs: string[]) =>
    ["v=0", "o=- 1 1 IN IP4 1.2.3.4", "s=-", "c=IN IP4 1.2.3.4", "t=0 0", "m=audio 4000 RTP/AVP 8", ...attrs].join(
      "\r\n",
    );
  assert.equal(sendPtime(sdp()), 20);
  assert.equal(sendPtime(sdp("a=ptime:30")), 30);
  assert.equal(sendPtime(sdp("a=ptime:10")), 10);
  assert.equal(sendPtime(sdp("a=ptime:40", "a=maxptime:30")), 30);
  assert.equal(sendPtime(sdp("a=ptime:60")), 20);
  assert.equal(sendPtime(sdp("a=maxptime:10")), 10);
  assert.equal(sendPtime(sdp("a=ptime:20", "a=maxptime:40")), 20);
  // session-level ptime (before any m= line) as a fallback
  assert.equal(sendPtime(sdp().replace("t=0 0", "t=0 0\r\na=ptime:30")), 30);
});

// ---- SDES-SRTP ----

const keyA = randomBytes(30);
const keyB = randomBytes(30);
const srtpKeys = (local: Buffer, remote: Buffer): SrtpKeys => ({
  suite: "AES_CM_128_HMAC_SHA1_80",
  localKey: local.toString("base64"),
  remoteKey: remote.toString("base64"),
});

const sendRaw = (from: dgram.Socket, buf: Buffer, port: number) =>
  new Promise<void>((r) => from.send(buf, port, "127.0.0.1", () => r()));
const pcmaHeader = (seq: number, ssrc = 0x5eed) =>
  new RtpHeader({ payloadType: 8, sequenceNumber: seq & 0xffff, timestamp: (seq * 160) >>> 0, ssrc });
/** A minimal receiver report (no blocks) from `ssrc`. */
const rtcpRr = (ssrc: number) => {
  const b = Buffer.alloc(8);
  b[0] = 0x80;
  b[1] = 201;
  b.writeUInt16BE(1, 2);
  b.writeUInt32BE(ssrc, 4);
  return b;
};

test("two sessions talk over SRTP: audio, RFC 4733 DTMF and RTCP both ways", async () => {
  const sock = await Promise.all([bound(), bound(), bound(), bound()]);
  const clock = { now: 0 };
  const events: SessionEvent[] = [];
  const host = { emit: (ev: SessionEvent) => events.push(ev), log: () => undefined, now: () => clock.now };
  const a = new RtpSession("a", { port: sock[0].address().port, rtp: sock[0], rtcp: sock[1] }, cfg, host);
  const b = new RtpSession("b", { port: sock[2].address().port, rtp: sock[2], rtcp: sock[3] }, cfg, host);
  const common = {
    codec: "PCMA",
    payloadType: 8,
    clockRate: 8000,
    dtmfPayloadType: 101,
    direction: "sendrecv",
  } as const;
  const to = (rtp: dgram.Socket, rtcp: dgram.Socket) => ({
    remoteAddress: "127.0.0.1",
    remotePort: rtp.address().port,
    remoteRtcpPort: rtcp.address().port,
  });
  a.configure({ ...common, ...to(sock[2], sock[3]), srtp: srtpKeys(keyA, keyB) });
  b.configure({ ...common, ...to(sock[0], sock[1]), srtp: srtpKeys(keyB, keyA) });
  a.play(
    1,
    Int16Array.from({ length: 16000 }, (_, i) => Math.round(8000 * Math.sin((2 * Math.PI * 1000 * i) / 16000))),
  );
  b.listening = true;
  const frames: Int16Array[] = [];
  for (let t = 0; t < 600; t += 20) {
    clock.now = t;
    if (t === 300) assert.equal(a.sendDigits(7, "5", 100), true);
    a.txTick(t);
    b.txTick(t);
    const sent = a.counters.packetsSent;
    await until(() => b.counters.packetsReceived >= sent, "A's packet at B", 2000);
    b.rxTick(t);
    if (b.rxFrame) frames.push(b.rxFrame.slice());
  }
  assert.ok(frames.length >= 10, "B decoded A's audio");
  assert.ok(toneShare(frames[5], 1000) > 0.9, "and it is A's 1 kHz tone");
  await until(() => events.some((e) => e.t === "dtmf" && e.sid === "b" && e.digit === "5"), "digit 5 at B", 2000);
  await until(() => a.counters.packetsReceived >= b.counters.packetsSent, "B's packets at A", 2000);
  // RTCP is due 2.5..7.5 s after configure: one late tick each sends it
  a.txTick(8000);
  b.txTick(8000);
  await until(() => a.stats().rtcpReceived >= 1 && b.stats().rtcpReceived >= 1, "SRTCP both ways", 2000);
  for (const st of [a.stats(), b.stats()]) {
    assert.equal(st.srtpAuthFailed, 0);
    assert.equal(st.srtpReplayed, 0);
    assert.equal(st.packetsMalformed, 0);
  }
  await a.close();
  await b.close();
});

test("SRTP on the wire; plain RTP, forged and replayed packets are dropped and never latch; rtcp-mux works", async () => {
  const { s, peer } = await setup({ srtp: srtpKeys(keyA, keyB) });
  const port = s.port;
  const w = weriftSrtpPeer(keyB, keyA);
  const wire: Buffer[] = [];
  peer.on("message", (b) => wire.push(b));
  s.txTick(0);
  await until(() => wire.length === 1, "our first packet", 2000);
  assert.equal(wire[0].length, 12 + 160 + 10, "PCMA payload plus the 80-bit tag");
  const plain = RtpPacket.deSerialize(w.rtp.decrypt(wire[0]));
  assert.deepEqual(plain.payload, Buffer.alloc(160, 0xd5), "decrypts to A-law silence");
  assert.notDeepEqual(wire[0].subarray(12, 172), plain.payload, "and was encrypted");

  // an attacker on another port: plain RTP, then SRTP under a wrong key
  const attacker = await bound();
  await sendRaw(attacker, new RtpPacket(pcmaHeader(1), Buffer.alloc(160, 1)).serialize(), port);
  await sendRaw(attacker, weriftSrtpPeer(randomBytes(30), keyA).rtp.encrypt(Buffer.alloc(160, 1), pcmaHeader(2)), port);
  // and plain RTP from the SDP address itself
  await sendRaw(peer, new RtpPacket(pcmaHeader(3), Buffer.alloc(160, 1)).serialize(), port);
  await until(() => s.counters.srtpAuthFailed === 3, "three rejected packets", 2000);
  assert.equal(s.counters.packetsReceived, 0);
  assert.equal(s.stats().remote, `127.0.0.1:${peer.address().port}`, "still sending to the SDP address");

  // the same plain packet would have latched a plain-RTP session (what the check above guards against)
  const plainSession = await setup();
  await sendRaw(attacker, new RtpPacket(pcmaHeader(1), Buffer.alloc(160, 1)).serialize(), plainSession.s.port);
  await plainSession.received(1);
  assert.equal(plainSession.s.stats().remote, `127.0.0.1:${attacker.address().port}`);
  await plainSession.s.close();

  const genuine = w.rtp.encrypt(Buffer.alloc(160, 0x55), pcmaHeader(4));
  await sendRaw(peer, genuine, port);
  await until(() => s.counters.packetsReceived === 1, "the genuine packet", 2000);
  await sendRaw(peer, genuine, port);
  await until(() => s.counters.srtpReplayed === 1, "the replay counted", 2000);
  assert.equal(s.counters.packetsReceived, 1, "replay not taken in");

  // rtcp-mux: SRTCP on the RTP port, genuine then tampered
  const srtcp = w.rtcp.encrypt(rtcpRr(0x5eed));
  await sendRaw(peer, srtcp, port);
  await until(() => s.stats().rtcpReceived === 1, "muxed SRTCP", 2000);
  const bad = Buffer.from(w.rtcp.encrypt(rtcpRr(0x5eed)));
  bad[bad.length - 1] ^= 1;
  await sendRaw(peer, bad, port);
  await until(() => s.counters.srtpAuthFailed === 4, "tampered SRTCP counted", 2000);
  assert.equal(s.stats().rtcpReceived, 1);
  assert.equal(s.stats().srtpAuthFailed, 4);
  await s.close();
});

test("re-configure: same keys keep the rollover counter and replay window, new keys or none replace them", async () => {
  const neg = { srtp: srtpKeys(keyA, keyB) };
  const { s, peer } = await setup(neg);
  const port = s.port;
  const w = weriftSrtpPeer(keyB, keyA);
  const deliver = async (buf: Buffer, field: "packetsReceived" | "srtpAuthFailed" | "srtpReplayed") => {
    const before = s.counters[field];
    await sendRaw(peer, buf, port);
    await until(() => s.counters[field] === before + 1, field, 2000);
  };
  // the peer's sender crosses the wrap: 65534, 65535 arrive, then a re-INVITE (same keys, new object)
  const pkts = [65534, 65535, 0, 1].map((seq) => w.rtp.encrypt(Buffer.alloc(160, seq & 0xff), pcmaHeader(seq)));
  await deliver(pkts[0], "packetsReceived");
  await deliver(pkts[1], "packetsReceived");
  s.configure({ ...(s.negotiated as NegotiatedMedia), direction: "sendrecv", srtp: srtpKeys(keyA, keyB) });
  await deliver(pkts[2], "packetsReceived"); // index 65536 only authenticates with the kept ROC state
  await deliver(pkts[0], "srtpReplayed");

  // new keys: the old key's packets fail, the new key's pass
  const keyC = randomBytes(30);
  s.configure({ ...(s.negotiated as NegotiatedMedia), srtp: srtpKeys(keyA, keyC) });
  await deliver(pkts[3], "srtpAuthFailed");
  await deliver(weriftSrtpPeer(keyC, keyA).rtp.encrypt(Buffer.alloc(160), pcmaHeader(9)), "packetsReceived");

  // SRTP removed: plain RTP again, sent and received
  const { srtp: _, ...plainNeg } = s.negotiated as NegotiatedMedia;
  s.configure(plainNeg);
  await deliver(new RtpPacket(pcmaHeader(10), Buffer.alloc(160)).serialize(), "packetsReceived");
  const wire: Buffer[] = [];
  peer.on("message", (b) => wire.push(b));
  s.txTick(0);
  await until(() => wire.length === 1, "plain packet", 2000);
  assert.equal(wire[0].length, 12 + 160, "no tag: plain RTP");

  // bad keys are refused without touching the running session
  assert.throws(
    () => s.configure({ ...plainNeg, srtp: { ...srtpKeys(keyA, keyB), remoteKey: "c2hvcnQ=" } }),
    /remoteKey/,
  );
  assert.equal(s.negotiated?.srtp, undefined);
  await s.close();
});
