// The handset service over a fake controller: rings, which call hook-off answers, hook-on, busy, dial-out digits.
import assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import { after, before, describe, test } from "node:test";
import type { SerialController } from "./controller.ts";
import { mediaSchema } from "../daemon/config/schema.ts";
import { MediaEngine } from "../daemon/media/engine.ts";
import { silentLog } from "../daemon/ops/log.ts";
import type { LegEndCause, OutboundCall } from "../daemon/sip/types.ts";
import { cardText, HANDSET_OUT_TARGET, Handset, type HandsetDevice, isHandsetTarget } from "./handset.ts";
import type { KeypadKey } from "./protocol.ts";

// The real driver is what main.ts passes.
const _fits: (c: SerialController) => HandsetDevice = (c) => c;

class FakeDevice extends EventEmitter<{ hook: [{ offHook: boolean }]; key: [KeypadKey] }> implements HandsetDevice {
  ringer = false;
  text = "";
  ring(on: boolean): Promise<void> {
    this.ringer = on;
    return Promise.resolve();
  }
  display(text: string): Promise<void> {
    this.text = text;
    return Promise.resolve();
  }
}

const media = mediaSchema.parse({ rtpAddress: "127.0.0.1", rtpPortMin: 31600, rtpPortMax: 31699, rtpTimeoutS: 0 });
let engine: MediaEngine;
before(async () => {
  engine = await MediaEngine.start({ media, log: silentLog });
});
after(async () => {
  await engine.stop();
});

const card = (from: string) => ({ from, context: { caller: from, summary: "", slots: {} }, whisper: "Rechnung" });
const ended = (leg: OutboundCall) => new Promise<LegEndCause>((r) => leg.once("ended", r));

describe("Handset", () => {
  test("rings, answers the call that rang first on hook-off, fails the others busy, hook-on ends it", async () => {
    const device = new FakeDevice();
    const handset = new Handset({ device, log: silentLog, engineAddress: "127.0.0.1" });
    const a = await engine.allocate();
    const b = await engine.allocate();
    try {
      const first = handset.dial({ target: "handset:", sdp: a.offer(), card: card("0301234") });
      const second = handset.dial({ target: "handset:", sdp: b.offer(), card: card("0409999") });
      assert.equal(device.ringer, true);
      assert.equal(device.text, "0301234: Rechnung", "the display shows the oldest ring");
      const secondEnded = ended(second);
      device.emit("hook", { offHook: true });
      const { sdp } = await first.answered;
      assert.ok(sdp && a.applyAnswer(sdp));
      assert.equal(first.state, "confirmed");
      assert.deepEqual(await secondEnded, { by: "failure", reason: "rejected", status: 486, text: "busy" });
      assert.equal(device.ringer, false);
      assert.deepEqual(handset.state, { offHook: true, ringing: 0, inCall: true, digits: undefined });

      const busy = handset.dial({ target: "handset:", sdp: b.offer() });
      assert.equal(((await ended(busy)) as { status?: number }).status, 486, "one handset, one call");

      const firstEnded = ended(first);
      device.emit("hook", { offHook: false });
      assert.deepEqual(await firstEnded, { by: "remote", reason: "bye" });
      assert.equal(handset.state.inCall, false);
    } finally {
      handset.stop();
      await a.close();
      await b.close();
    }
  });

  test("the box hanging up a ringing call stops the ringer; unknown targets fail 404", async () => {
    const device = new FakeDevice();
    const handset = new Handset({ device, log: silentLog, engineAddress: "127.0.0.1" });
    const a = await engine.allocate();
    try {
      const leg = handset.dial({ target: "handset:", sdp: a.offer() });
      assert.equal(device.ringer, true);
      await leg.hangup();
      assert.equal(device.ringer, false);
      assert.equal(device.text, "");
      const odd = handset.dial({ target: "handset:x", sdp: a.offer() });
      assert.equal(((await ended(odd)) as { status?: number }).status, 404);
      const timedOut = handset.dial({ target: "handset:", sdp: a.offer(), ringTimeoutMs: 50 });
      assert.equal((await ended(timedOut)).by, "failure");
      assert.equal(device.ringer, false);
    } finally {
      handset.stop();
      await a.close();
    }
  });

  test("off hook with nothing ringing dials out: '#' or the pause sends the digits, the call connects", async () => {
    const device = new FakeDevice();
    const dialled: string[] = [];
    let handset!: Handset;
    const a = await engine.allocate();
    let outLeg: OutboundCall | undefined;
    handset = new Handset({
      device,
      log: silentLog,
      engineAddress: "127.0.0.1",
      digitTimeoutMs: 100,
      dialOut: async (number) => {
        dialled.push(number);
        outLeg = handset.dial({ target: HANDSET_OUT_TARGET, sdp: a.offer() });
        await outLeg.answered;
      },
    });
    try {
      const early = handset.dial({ target: HANDSET_OUT_TARGET, sdp: a.offer() });
      assert.equal(((await ended(early)) as { status?: number }).status, 480, "no dial-out in progress");
      device.emit("hook", { offHook: true });
      for (const k of ["0", "3", "0", "*", "0", "8", "9"] as KeypadKey[]) device.emit("key", k);
      assert.equal(handset.state.digits, "089", "'*' clears");
      device.emit("key", "#");
      assert.deepEqual(dialled, ["089"]);
      assert.ok(outLeg);
      await outLeg.answered;
      assert.equal(handset.state.inCall, true);
      const done = ended(outLeg);
      device.emit("hook", { offHook: false });
      assert.deepEqual(await done, { by: "remote", reason: "bye" });

      // the pause dials too
      device.emit("hook", { offHook: true });
      device.emit("key", "4");
      device.emit("key", "2");
      const until = Date.now() + 5000;
      while (dialled.length < 2 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
      assert.deepEqual(dialled, ["089", "42"]);
      device.emit("hook", { offHook: false });
    } finally {
      handset.stop();
      await a.close();
    }
  });

  test("targets and display text", () => {
    assert.equal(isHandsetTarget("handset:"), true);
    assert.equal(isHandsetTarget("browser:*"), false);
    assert.equal(cardText(undefined), "Anruf");
    assert.equal(cardText({ from: "", context: { caller: "", summary: "Termin", slots: {} } }), "Anruf: Termin");
  });
});
