// The softphone against a real media engine, with werift playing the browser (the Chromium test is
// test/softphone.test.ts): test calls reach the engine both ways, rings reach the right users with their card, the
// first answer wins, hold silences the browser, and every way a ring or call ends ends the leg once, with its cause.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { MediaStreamTrack, RTCPeerConnection, RTCRtpCodecParameters, RtpHeader, RtpPacket } from "werift";
import { memberKey } from "../../calls/call-queue.ts";
import { dialTarget } from "../../calls/ring-human.ts";
import { mediaSchema } from "../../config/schema.ts";
import { transferTargetSchema } from "../../flow/nodes.ts";
import { queueMemberSchema } from "../../flow/queues.ts";
import { MediaEngine } from "../../media/engine.ts";
import type { MediaSession } from "../../media/types.ts";
import { silentLog } from "../../ops/log.ts";
import type { CallFailedError } from "../../sip/endpoint.ts";
import type { LegEndCause } from "../../sip/types.ts";
import { softphoneRoutes } from "../api/softphone.ts";
import { HttpError, type RouteContext } from "../route.ts";
import { OpusDecoder, OpusEncoder } from "./opus-codec.ts";
import { type RingCard, Softphone, SoftphoneError } from "./softphone.ts";
import type { WebRtcInboundLeg } from "./webrtc-legs.ts";
import { until, toneShare } from "../../media/testing.ts";

const media = mediaSchema.parse({
  rtpAddress: "127.0.0.1",
  rtpPortMin: 31400,
  rtpPortMax: 31499,
  rtpTimeoutS: 0,
  codecs: ["G722", "PCMU"],
});
const ICE = { additionalHostAddresses: ["127.0.0.1"] };
let engine: MediaEngine;

before(async () => {
  engine = await MediaEngine.start({ media, log: silentLog });
});
after(async () => {
  await engine.stop();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function rms(x: Int16Array): number {
  let s = 0;
  for (const v of x) s += v * v;
  return Math.sqrt(s / Math.max(1, x.length));
}

function concat(frames: Int16Array[]): Int16Array {
  const out = new Int16Array(frames.reduce((n, f) => n + f.length, 0));
  let o = 0;
  for (const f of frames) {
    out.set(f, o);
    o += f.length;
  }
  return out;
}

/** werift as the browser: sends a sine as Opus every 20 ms, decodes what comes back. */
class FakeBrowser {
  readonly pc = new RTCPeerConnection({
    codecs: {
      audio: [new RTCRtpCodecParameters({ mimeType: "audio/opus", clockRate: 48000, channels: 2, payloadType: 111 })],
    },
    iceAdditionalHostAddresses: ["127.0.0.1"],
    iceUseIpv6: false,
  });
  readonly received: Int16Array[] = [];
  packetsIn = 0;
  private readonly track = new MediaStreamTrack({ kind: "audio" });
  private readonly enc = new OpusEncoder();
  private readonly dec = new OpusDecoder();
  private timer: NodeJS.Timeout | undefined;
  private n = 0;

  constructor(private readonly freq: number) {
    const tr = this.pc.addTransceiver(this.track, { direction: "sendrecv" });
    tr.onTrack.subscribe((t) =>
      t.onReceiveRtp.subscribe((rtp) => {
        this.packetsIn++;
        const pcm = this.dec.decode(rtp.payload);
        if (pcm) this.received.push(pcm);
      }),
    );
  }

  async offer(): Promise<string> {
    await this.pc.setLocalDescription(await this.pc.createOffer());
    await until(() => this.pc.iceGatheringState === "complete", "gathering");
    return this.pc.localDescription?.sdp ?? "";
  }

  async accept(answer: string): Promise<void> {
    await this.pc.setRemoteDescription({ type: "answer", sdp: answer });
    await until(() => this.pc.connectionState === "connected", "browser connected");
    const frame = new Int16Array(320);
    this.timer = setInterval(() => {
      for (let i = 0; i < 320; i++)
        frame[i] = Math.round(8000 * Math.sin((2 * Math.PI * this.freq * (this.n * 320 + i)) / 16000));
      const h = new RtpHeader({ payloadType: 111, sequenceNumber: this.n & 0xffff, timestamp: (this.n * 960) >>> 0 });
      this.track.writeRtp(new RtpPacket(h, this.enc.encode(frame)));
      this.n++;
    }, 20);
  }

  /** What arrived in the last `ms` (after waiting that long). */
  async listen(ms: number): Promise<Int16Array> {
    const from = this.received.length;
    await sleep(ms);
    return concat(this.received.slice(from));
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.pc.close();
  }
}

function newSoftphone(opts: { ringTimeoutMs?: number; maxCalls?: number } = {}) {
  const events: { event: string; data: unknown; user: string }[] = [];
  const softphone = new Softphone({
    publish: (event, data, { user }) => events.push({ event, data, user }),
    log: silentLog,
    engineAddress: "127.0.0.1",
    ice: ICE,
    ...opts,
  });
  return { softphone, events };
}

const card: RingCard = {
  from: "+4930123456",
  context: { caller: "+4930123456", intent: "billing", summary: "asks about invoice 42", slots: { invoice: "42" } },
  whisper: "Caller about an invoice",
};

async function endCause(leg: { once(e: "ended", f: (c: LegEndCause) => void): unknown }): Promise<LegEndCause> {
  return new Promise((resolve) => leg.once("ended", resolve));
}

describe("test call (werift as the browser)", () => {
  test("the browser's audio reaches the engine session and the engine's reaches the browser", async () => {
    const { softphone, events } = newSoftphone();
    const browser = new FakeBrowser(1000);
    let session: MediaSession | undefined;
    const answered = new Promise<WebRtcInboundLeg>((resolve) => {
      softphone.on("call", async (leg, agentId) => {
        assert.equal(agentId, "sales");
        session = await engine.allocate();
        const a = session.answer(leg.remoteSdp);
        assert.ok(a, "the engine accepts the gateway's offer");
        leg.progress();
        await leg.accept(a.sdp);
        resolve(leg);
      });
    });
    try {
      const r = await softphone.testCall("alice", "sales", await browser.offer(), { address: "127.0.0.1" });
      assert.match(r.sdp, /a=rtpmap:\d+ opus\/48000/i);
      await browser.accept(r.sdp);
      const leg = await answered;
      assert.equal(leg.state, "confirmed");
      assert.equal(leg.info.fromUser, "alice");
      assert.ok(session);
      assert.equal(session.negotiated?.codec, "G722");
      assert.ok(events.some((e) => e.event === "softphone" && e.user === "alice"));

      // browser -> engine: the 1 kHz sine is what the engine decodes
      const heard: Int16Array[] = [];
      session.on("audio", (f) => heard.push(f.slice()));
      session.listen(true);
      await until(() => heard.length >= 60, "60 frames at the engine");
      const up = concat(heard.slice(20, 60));
      assert.ok(rms(up) > 1000, `engine heard rms ${rms(up)}`);
      assert.ok(toneShare(up, 1000) > 0.8, `1 kHz share at the engine ${toneShare(up, 1000)}`);

      // engine -> browser: a 600 Hz tone played by the engine is what the browser decodes
      void session.play({ tone: { frequencies: [600], durationMs: 2000 } });
      await sleep(300);
      const down = await browser.listen(800);
      assert.ok(rms(down) > 500, `browser heard rms ${rms(down)}`);
      assert.ok(toneShare(down, 600) > 0.8, `600 Hz share at the browser ${toneShare(down, 600)}`);

      const ended = endCause(leg);
      softphone.hangup("alice", r.callId);
      assert.deepEqual(await ended, { by: "remote", reason: "bye" });
      assert.ok(events.some((e) => e.event === "softphone" && (e.data as { state: string }).state === "ended"));
      assert.throws(() => softphone.hangup("alice", r.callId), SoftphoneError);
    } finally {
      await browser.close();
      await session?.close();
    }
  });

  test("refusals: no handler, unknown agent, bad SDP, too many calls", async () => {
    const { softphone } = newSoftphone({ maxCalls: 1 });
    await assert.rejects(softphone.testCall("a", "x", "v=0"), (e: SoftphoneError) => e.status === 503);
    const strict = new Softphone({
      publish: () => undefined,
      log: silentLog,
      engineAddress: "127.0.0.1",
      hasAgent: (id) => id === "sales",
    });
    strict.on("call", () => undefined);
    await assert.rejects(strict.testCall("a", "nope", "v=0"), (e: SoftphoneError) => e.where === "agent");
    softphone.on("call", () => undefined);
    await assert.rejects(
      softphone.testCall("a", "sales", "hello"),
      (e: SoftphoneError) => e.status === 400 && e.where === "sdp",
    );
    const b1 = new FakeBrowser(440);
    const b2 = new FakeBrowser(440);
    try {
      const first = await softphone.testCall("a", "sales", await b1.offer());
      await assert.rejects(softphone.testCall("a", "sales", await b2.offer()), (e: SoftphoneError) => e.status === 503);
      softphone.hangup("a", first.callId);
    } finally {
      await b1.close();
      await b2.close();
    }
  });
});

describe("ringing staff browsers", () => {
  test("nobody available, busy, not a user: the leg fails with the SIP-like status", async () => {
    const { softphone } = newSoftphone();
    const none = softphone.dial({ target: "browser:*", sdp: "v=0" });
    await assert.rejects(
      none.answered,
      (e: CallFailedError) => e.endCause.by === "failure" && e.endCause.status === 480,
    );
    const bob = softphone.dial({ target: "browser:bob", sdp: "v=0" });
    await assert.rejects(
      bob.answered,
      (e: CallFailedError) => e.endCause.by === "failure" && e.endCause.status === 480,
    );
    const bad = softphone.dial({ target: "browser:../x", sdp: "v=0" });
    await assert.rejects(
      bad.answered,
      (e: CallFailedError) => e.endCause.by === "failure" && e.endCause.status === 404,
    );
  });

  test("ring all: both users get the card; declines end it with 603, ring-cancel is not sent to decliners", async () => {
    const { softphone, events } = newSoftphone();
    softphone.setAvailable("alice", true);
    softphone.setAvailable("bob", true);
    const leg = softphone.dial({ target: "browser:*", sdp: "v=0", card });
    const rings = events.filter((e) => e.event === "ring");
    assert.deepEqual(rings.map((e) => e.user).sort(), ["alice", "bob"]);
    const data = rings[0].data as { callId: string } & RingCard;
    assert.equal(data.callId, leg.info.callId);
    assert.deepEqual(data.context, card.context);
    assert.equal(data.whisper, card.whisper);
    assert.equal(softphone.state("alice").rings.length, 1);
    softphone.decline("alice", data.callId);
    assert.equal(leg.state, "early");
    assert.throws(
      () => softphone.decline("alice", data.callId),
      (e: SoftphoneError) => e.status === 404,
    );
    softphone.hangup("bob", data.callId); // hanging up a ringing call declines it
    await assert.rejects(
      leg.answered,
      (e: CallFailedError) => e.endCause.by === "failure" && e.endCause.status === 603,
    );
    assert.equal(events.filter((e) => e.event === "ring-cancel").length, 0);
  });

  test("ring timeout, the box cancelling, and the user leaving end the ring with ring-cancel", async () => {
    const { softphone, events } = newSoftphone({ ringTimeoutMs: 150 });
    softphone.setAvailable("alice", true);
    const timedOut = softphone.dial({ target: "browser:alice", sdp: "v=0" });
    await assert.rejects(
      timedOut.answered,
      (e: CallFailedError) => e.endCause.by === "failure" && e.endCause.reason === "timeout",
    );
    assert.equal(events.filter((e) => e.event === "ring-cancel" && e.user === "alice").length, 1);

    const cancelled = softphone.dial({ target: "browser:alice", sdp: "v=0", ringTimeoutMs: 10_000 });
    const cause = endCause(cancelled);
    await cancelled.hangup();
    assert.deepEqual(await cause, { by: "local", reason: "hangup" });
    assert.equal(events.filter((e) => e.event === "ring-cancel").length, 2);

    const left = softphone.dial({ target: "browser:alice", sdp: "v=0", ringTimeoutMs: 10_000 });
    softphone.userLeft("alice");
    await assert.rejects(
      left.answered,
      (e: CallFailedError) => e.endCause.by === "failure" && e.endCause.status === 480,
    );
    assert.equal(softphone.isAvailable("alice"), false);
  });

  test("the first answer wins, the other browser gets ring-cancel; hold and hangup from the browser", async () => {
    const { softphone, events } = newSoftphone();
    softphone.setAvailable("alice", true);
    softphone.setAvailable("bob", true);
    const session = await engine.allocate();
    const alice = new FakeBrowser(700);
    const bob = new FakeBrowser(700);
    try {
      const leg = softphone.dial({ target: "browser:*", sdp: session.offer(), card });
      const callId = leg.info.callId;
      const { sdp } = await softphone.answer("alice", callId, await alice.offer());
      await assert.rejects(softphone.answer("bob", callId, await bob.offer()), (e: SoftphoneError) => e.status === 404);
      assert.ok(events.some((e) => e.event === "ring-cancel" && e.user === "bob"));
      assert.ok(!events.some((e) => e.event === "ring-cancel" && e.user === "alice"));
      await alice.accept(sdp);
      const answered = await leg.answered;
      assert.ok(answered.sdp && session.applyAnswer(answered.sdp), "the engine takes the gateway's answer");
      assert.equal(leg.state, "confirmed");
      assert.equal(leg.info.toUri, "browser:alice");
      assert.deepEqual(softphone.freeUsers(), ["bob"]);

      // both ways through the engine session
      const heard: Int16Array[] = [];
      session.on("audio", (f) => heard.push(f.slice()));
      session.listen(true);
      await until(() => heard.length >= 50, "audio at the engine");
      assert.ok(toneShare(concat(heard.slice(10, 50)), 700) > 0.8);
      void session.play({ tone: { frequencies: [500], durationMs: 10_000 } });
      await sleep(300);
      assert.ok(toneShare(await alice.listen(600), 500) > 0.8, "the browser hears the engine");

      // hold: nothing reaches the browser, the engine hears silence; resume brings both back
      softphone.hold("alice", callId, true);
      assert.equal(softphone.state("alice").calls[0].held, true);
      await sleep(200);
      const before = alice.packetsIn;
      const heldFrom = heard.length;
      await sleep(600);
      assert.ok(alice.packetsIn - before <= 2, `packets to a held browser: ${alice.packetsIn - before}`);
      assert.ok(rms(concat(heard.slice(heldFrom + 5))) < 50, "the engine hears silence while held");
      softphone.hold("alice", callId, false);
      await sleep(300);
      assert.ok(rms(await alice.listen(500)) > 500, "audio again after resume");

      const ended = endCause(leg);
      softphone.hangup("alice", callId);
      assert.deepEqual(await ended, { by: "remote", reason: "bye" });
      assert.deepEqual(softphone.state("alice").calls, []);
    } finally {
      await alice.close();
      await bob.close();
      await session.close();
    }
  });
});

describe("browser targets in flows and queues", () => {
  test('{ browser: NAME | "*" } is a transfer target and a queue member, dialled as "browser:..."', () => {
    for (const schema of [transferTargetSchema, queueMemberSchema]) {
      assert.deepEqual(schema.parse({ browser: "alice.m" }), { browser: "alice.m" });
      assert.deepEqual(schema.parse({ browser: "*" }), { browser: "*" });
      assert.equal(schema.safeParse({ browser: "Alice" }).success, false);
      assert.equal(schema.safeParse({ browser: "a b" }).success, false);
      assert.equal(schema.safeParse({ browser: "alice", sip: "sip:a@b" }).success, false);
    }
    assert.equal(dialTarget({ browser: "alice" }), "browser:alice");
    assert.equal(dialTarget({ browser: "*" }), "browser:*");
    assert.equal(dialTarget({ sip: "sip:a@b" }), "sip:a@b");
    assert.equal(memberKey({ browser: "bob" }), "browser:bob");
  });
});

describe("routes", () => {
  const ctx = (body: unknown, user = "alice") =>
    ({ body, user: { name: user, role: "staff", mustChange: false }, remoteAddress: "127.0.0.1" }) as RouteContext;

  test("refusals become HTTP errors naming the field; availability round-trips", async () => {
    const { softphone } = newSoftphone();
    softphone.on("call", () => undefined);
    const routes = softphoneRoutes({ softphone });
    const find = (path: string) => {
      const r = routes.find((x) => x.path === path);
      assert.ok(r, path);
      return r;
    };
    assert.deepEqual(await find("/api/softphone/available").handle(ctx({ available: true })), { available: true });
    assert.equal(softphone.isAvailable("alice"), true);
    await assert.rejects(
      Promise.resolve(find("/api/softphone/test-call").handle(ctx({ agent: "sales", sdp: "not sdp at all" }))),
      (e: HttpError) => e instanceof HttpError && e.status === 400 && e.where === "sdp",
    );
    await assert.rejects(
      Promise.resolve(find("/api/softphone/hold").handle(ctx({ callId: crypto.randomUUID(), hold: true }))),
      (e: HttpError) => e instanceof HttpError && e.status === 404 && e.where === "callId",
    );
    const body = find("/api/softphone/answer").body;
    assert.ok(body);
    assert.equal(body.safeParse({ callId: "x", sdp: "v=0 ......." }).success, false);
    assert.equal(find("/api/softphone").handle(ctx(undefined)) instanceof Object, true);
  });
});
