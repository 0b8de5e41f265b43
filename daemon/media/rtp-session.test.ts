import assert from "node:assert/strict";
import dgram from "node:dgram";
import { after, test } from "node:test";
import { RtpHeader, RtpPacket } from "werift";
import { mediaSchema } from "../config/schema.ts";
import { createCodec } from "./codec.ts";
import { g711Encode } from "./g711.ts";
import type { SessionEvent } from "./messages.ts";
import { RtpSession } from "./rtp-session.ts";
import { sendPtime } from "./session.ts";
import type { NegotiatedMedia } from "./types.ts";

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
