// The LED/handset driver against the device simulator over a REAL pty pair from socat: handshake, commands acked,
// handset events, corrupt frames, a silent device and a vanished pty (unplugged) that comes back on the same path.
import assert from "node:assert/strict";
import type { EventEmitter } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { type ControllerState, SerialController } from "../hw/controller.ts";
import type { DeviceSimulator } from "../hw/device-simulator.ts";
import { closeDevice, openDevice, socatSkipReason, startSocat, stopSocat } from "./peers/serial-device.ts";

const skip = socatSkipReason();

/** Resolves with the arguments of the first `event` that passes `pred`; rejects after `ms`. */
function waitFor<A extends unknown[]>(
  em: EventEmitter,
  event: string,
  pred: (...args: A) => boolean,
  ms: number,
  what: string,
): Promise<A> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      em.off(event, on);
      reject(new Error(`timed out waiting for ${what}`));
    }, ms);
    const on = (...args: unknown[]) => {
      if (!pred(...(args as A))) return;
      clearTimeout(timer);
      em.off(event, on);
      resolve(args as A);
    };
    em.on(event, on);
  });
}

/** Waits until the simulator's state passes `pred` (checked now, then on every change). */
const simUntil = (sim: DeviceSimulator, pred: () => boolean, what: string) =>
  pred() ? Promise.resolve() : waitFor(sim, "change", pred, 3000, what);

const waitState = (c: SerialController, s: ControllerState, ms = 8000) =>
  c.state === s ? Promise.resolve() : waitFor<[ControllerState]>(c, "state", (x) => x === s, ms, `state ${s}`);

test("controller and simulator over a socat pty pair", { skip, timeout: 60_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "hw-serial-"));
  const hostPath = join(dir, "host");
  const devicePath = join(dir, "device");
  let socat = await startSocat(hostPath, devicePath);
  assert.equal(socat.ptys.length, 2, "socat reported two ptys");
  let device = await openDevice(devicePath);
  const controller = new SerialController({
    path: hostPath,
    heartbeatMs: 150,
    silenceMs: 700,
    handshakeMs: 800,
    backoffMinMs: 100,
    backoffMaxMs: 400,
    pollMs: 100,
    retryMs: 100,
    tries: 3,
  });
  const states: string[] = [];
  controller.on("state", (s) => states.push(s));
  after(async () => {
    await controller.stop();
    await closeDevice(device);
    await stopSocat(socat);
    rmSync(dir, { recursive: true, force: true });
  });

  await t.test("handshake: hello with the device's identity and capabilities", async () => {
    controller.start();
    await waitState(controller, "ready");
    assert.equal(controller.device?.deviceId, "sim-pty");
    assert.equal(controller.device?.caps.leds, 3);
  });

  await t.test("an LED command resolves on ack and the simulator shows it", async () => {
    await controller.setLed(1, "red", "blink-fast");
    assert.deepEqual(device.sim.state.leds[1], { colour: "red", pattern: "blink-fast" });
    await controller.ring(true);
    await controller.display("Anruf wartet");
    assert.equal(device.sim.state.ringer, true);
    assert.equal(device.sim.state.display, "Anruf wartet");
    await assert.rejects(controller.setLed(7, "red", "on"), RangeError);
  });

  await t.test("hook-off and keypad events arrive as typed events", async () => {
    const hook = waitFor<[{ offHook: boolean }]>(controller, "hook", () => true, 3000, "hook");
    await device.sim.hookOff();
    assert.deepEqual((await hook)[0], { offHook: true });
    const keys: string[] = [];
    controller.on("key", (k) => keys.push(k));
    for (const k of ["0", "4", "*", "#"] as const) await device.sim.pressKey(k);
    assert.deepEqual(keys, ["0", "4", "*", "#"]);
    const button = waitFor<[number]>(controller, "button", () => true, 3000, "button");
    await device.sim.pressButton(2);
    assert.equal((await button)[0], 2);
  });

  await t.test("corrupt frames and line noise are counted and the link recovers", async () => {
    const before = controller.counters();
    device.sim.corrupt(2);
    device.sim.sendGarbage(Buffer.from([0x13, 0x37, 0x00, 0xff, 0xfe, 0x00]));
    const key = waitFor<[string]>(controller, "key", (k) => k === "9", 3000, "key 9");
    await device.sim.pressKey("9"); // first two tries fail the CRC, the third gets through
    await key;
    const c = controller.counters();
    assert.ok(c.crcErrors >= before.crcErrors + 1, `crc errors counted (${c.crcErrors})`);
    assert.ok(c.malformed >= before.malformed + 1, `noise counted as malformed (${c.malformed})`);
    await controller.setLed(0, "green", "on");
    assert.deepEqual(device.sim.state.leds[0], { colour: "green", pattern: "on" });
    assert.equal(controller.state, "ready");
  });

  await t.test("a silent device is reported lost, and reconnected when it talks again", async () => {
    device.sim.silent(true);
    await waitState(controller, "lost");
    await assert.rejects(controller.setLed(2, "amber", "pulse"), /lost/);
    device.sim.silent(false);
    await waitState(controller, "ready");
    assert.equal(controller.counters().reconnects, 1);
    // The LED set while lost is replayed after the reconnect.
    await simUntil(device.sim, () => device.sim.state.leds[2].colour === "amber", "replayed led 2");
  });

  await t.test("the pty vanishes: lost; the same path comes back: reconnected, LEDs replayed", async () => {
    await stopSocat(socat);
    await waitState(controller, "lost");
    await closeDevice(device);
    socat = await startSocat(hostPath, devicePath);
    device = await openDevice(devicePath);
    await waitState(controller, "ready", 15_000);
    assert.equal(controller.counters().reconnects, 2);
    // A fresh device knows nothing; the controller replays what the daemon last asked for.
    const sim = device.sim;
    await simUntil(sim, () => sim.state.leds[1].colour === "red" && sim.state.display === "Anruf wartet", "replay");
    assert.deepEqual(device.sim.state.leds[1], { colour: "red", pattern: "blink-fast" });
    await controller.setLed(0, "blue", "pulse");
    assert.deepEqual(device.sim.state.leds[0], { colour: "blue", pattern: "pulse" });
    assert.deepEqual(states.filter((s) => s === "lost").length, 2);
  });
});
