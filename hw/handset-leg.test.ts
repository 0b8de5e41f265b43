// The handset leg against a REAL media engine: the engine's offer is answered with G.711 on the leg's own socket,
// a tone the engine plays reaches the (fake) earpiece, the (fake) microphone's tone reaches the engine, and the
// leg ends the way calls/ expects (hook-on = remote BYE, box hangup = local).
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { mediaSchema } from "../daemon/config/schema.ts";
import { MediaEngine } from "../daemon/media/engine.ts";
import type { MediaSession } from "../daemon/media/types.ts";
import { silentLog } from "../daemon/ops/log.ts";
import type { LegEndCause } from "../daemon/sip/types.ts";
import { alsaPresent, type HandsetAudio, HandsetLeg } from "./handset-leg.ts";
import { until, toneShare } from "../daemon/media/testing.ts";

const media = mediaSchema.parse({
  rtpAddress: "127.0.0.1",
  rtpPortMin: 31500,
  rtpPortMax: 31599,
  rtpTimeoutS: 0,
  codecs: ["G722", "PCMU", "PCMA"],
});
let engine: MediaEngine;
before(async () => {
  engine = await MediaEngine.start({ media, log: silentLog });
});
after(async () => {
  await engine.stop();
});

function concat(frames: Int16Array[]): Int16Array {
  const out = new Int16Array(frames.reduce((n, f) => n + f.length, 0));
  let at = 0;
  for (const f of frames) {
    out.set(f, at);
    at += f.length;
  }
  return out;
}

/** An earpiece that keeps what it hears and a microphone that says a 500 Hz tone. */
class FakeAudio implements HandsetAudio {
  heard: Int16Array[] = [];
  closed = false;
  private phase = 0;
  play(pcm: Int16Array): void {
    this.heard.push(pcm.slice());
  }
  capture(samples: number): Int16Array {
    const out = new Int16Array(samples);
    for (let i = 0; i < samples; i++) out[i] = Math.round(8000 * Math.sin((2 * Math.PI * 500 * this.phase++) / 8000));
    return out;
  }
  close(): void {
    this.closed = true;
  }
}

const info = {
  callId: "h-1",
  fromUri: "sip:switchboard@handset.invalid",
  toUri: "handset:",
  requestUri: "handset:",
  did: "handset",
  transport: "udp" as const,
  source: { address: "", port: 0 },
};

describe("HandsetLeg", () => {
  test("answers the engine's offer with G.711 and carries audio both ways, paced by the engine", async () => {
    const session: MediaSession = await engine.allocate();
    const audio = new FakeAudio();
    const leg = new HandsetLeg(info, session.offer(), {
      engineAddress: "127.0.0.1",
      audio: () => audio,
      log: silentLog,
    });
    try {
      assert.equal(leg.state, "early");
      assert.equal(await leg.pickUp(), true);
      const { sdp } = await leg.answered;
      assert.ok(sdp);
      assert.match(sdp, /a=rtpmap:8 PCMA\/8000/, "G.711 (the engine's first G.711 codec), not G.722");
      assert.equal(leg.state, "confirmed");
      assert.ok(session.applyAnswer(sdp), "the engine takes the handset's answer");

      // engine -> earpiece: a 1 kHz tone played by the engine is what the fake earpiece gets (8 kHz PCM)
      void session.play({ tone: { frequencies: [1000], durationMs: 3000 } });
      await until(() => audio.heard.length >= 40, "40 packets at the earpiece");
      const down = concat(audio.heard.slice(10, 40));
      assert.ok(toneShare(down, 1000, 8000) > 0.8, `1 kHz share at the earpiece ${toneShare(down, 1000, 8000)}`);

      // microphone -> engine: one packet out per packet in carries the 500 Hz tone
      const heard: Int16Array[] = [];
      session.on("audio", (f) => heard.push(f.slice()));
      session.listen(true);
      await until(() => heard.length >= 40, "40 frames at the engine");
      const up = concat(heard.slice(10, 40));
      assert.ok(toneShare(up, 500, 16000) > 0.8, `500 Hz share at the engine ${toneShare(up, 500, 16000)}`);
      assert.ok(leg.packetsIn >= 40);

      const ended = new Promise<LegEndCause>((r) => leg.once("ended", r));
      leg.hookOn();
      assert.deepEqual(await ended, { by: "remote", reason: "bye" });
      assert.equal(leg.state, "ended");
      assert.ok(leg.signal.aborted);
      assert.ok(audio.closed, "the sound device is released");
    } finally {
      await session.close();
    }
  });

  test("without a sound device the engine gets silence and the leg still answers", async () => {
    const session = await engine.allocate();
    const leg = new HandsetLeg(info, session.offer(), { engineAddress: "127.0.0.1", log: silentLog });
    try {
      assert.ok(await leg.pickUp());
      const { sdp } = await leg.answered;
      assert.ok(sdp && session.applyAnswer(sdp));
      await until(() => leg.packetsIn >= 10, "10 packets answered");
      const stats = await session.stats();
      assert.ok(
        (stats.packetsReceived ?? 0) > 0,
        `the engine received the handset's packets: ${JSON.stringify(stats)}`,
      );
      await leg.hangup();
      assert.deepEqual(leg.cause, { by: "local", reason: "hangup" });
    } finally {
      await session.close();
    }
  });

  test("keys pressed during the call reach the engine as RFC 4733 digits, in order", async () => {
    const session = await engine.allocate();
    const leg = new HandsetLeg(info, session.offer(), { engineAddress: "127.0.0.1", log: silentLog });
    try {
      assert.equal(leg.sendDigit("1"), false, "not before the call is up");
      assert.ok(await leg.pickUp());
      const { sdp } = await leg.answered;
      assert.ok(sdp && session.applyAnswer(sdp));
      const digits: string[] = [];
      session.on("dtmf", (d: string, source: string) => digits.push(`${d}/${source}`));
      await until(() => leg.packetsIn >= 5, "the call is paced");
      for (const k of "47#") assert.ok(leg.sendDigit(k));
      assert.equal(leg.sendDigit("x"), false, "not a DTMF key");
      await until(() => digits.length >= 3, "three digits at the engine");
      assert.deepEqual(digits, ["4/rfc4733", "7/rfc4733", "#/rfc4733"]);
      await leg.hangup();
    } finally {
      await session.close();
    }
  });

  test("an offer without G.711 fails with 488; a leg hung up while ringing rejects `answered`", async () => {
    const g722Only = (await engine.allocate())
      .offer()
      .replace(/m=audio (\d+) RTP\/AVP [0-9 ]+/, "m=audio $1 RTP/AVP 9");
    const leg = new HandsetLeg(info, g722Only, { engineAddress: "127.0.0.1", log: silentLog });
    assert.equal(await leg.pickUp(), false);
    await assert.rejects(leg.answered, (e: { endCause?: LegEndCause }) => e.endCause?.by === "failure");
    assert.equal(leg.cause?.by === "failure" && leg.cause.status, 488);

    const ringing = new HandsetLeg(info, g722Only, { engineAddress: "127.0.0.1", log: silentLog });
    await ringing.hangup();
    await assert.rejects(ringing.answered);
    assert.equal(await ringing.pickUp(), false, "an ended leg cannot be picked up");
  });
});

describe("alsaPresent", () => {
  const dir = mkdtempSync(join(tmpdir(), "sb-asound-"));
  after(() => rmSync(dir, { recursive: true, force: true }));

  test("finds cards by index, by name, or any card for other names", () => {
    assert.equal(alsaPresent("default", dir), false, "no /proc/asound/cards: no ALSA");
    writeFileSync(join(dir, "cards"), "--- no soundcards ---\n");
    assert.equal(alsaPresent("default", dir), false);
    writeFileSync(join(dir, "cards"), " 1 [Set            ]: USB-Audio - USB Handset\n");
    mkdirSync(join(dir, "card1"));
    mkdirSync(join(dir, "Set"));
    assert.equal(alsaPresent("default", dir), true);
    assert.equal(alsaPresent("plughw:1,0", dir), true);
    assert.equal(alsaPresent("hw:2,0", dir), false);
    assert.equal(alsaPresent("hw:CARD=Set,DEV=0", dir), true);
    assert.equal(alsaPresent("hw:CARD=Other,DEV=0", dir), false);
  });
});
