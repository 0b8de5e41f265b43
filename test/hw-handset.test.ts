// The handset on the box, end to end: the REAL daemon with a controller on a socat pty (the device simulator on the
// other end) and a queue whose only member is the handset. A sipp caller enters the queue, the handset rings,
// hook-off answers it (the caller is bridged to the handset's leg, linked in the CDR), hook-on ends the handset's leg
// and with it the bridge: the caller gets the box's BYE.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import type { DeviceSimulator, SimulatorState } from "../hw/device-simulator.ts";
import { type DaemonHandle, runSipp, scenario, sippDetail, skipUnlessPeers, startDaemon } from "./peers/daemon.ts";
import { closeDevice, openDevice, socatSkipReason, startSocat, stopSocat } from "./peers/serial-device.ts";

const skip = socatSkipReason() ?? skipUnlessPeers("sipp");
const work = mkdtempSync(join(tmpdir(), "sb-hw-handset-"));
after(() => rmSync(work, { recursive: true, force: true }));

/** Resolves once the simulator's state satisfies `ok` (checked now and on every change). */
function simState(sim: DeviceSimulator, ok: (s: SimulatorState) => boolean, what: string, ms: number): Promise<void> {
  if (ok(sim.state)) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      sim.off("change", on);
      reject(new Error(`the device never showed ${what}: ${JSON.stringify(sim.state)}`));
    }, ms);
    const on = () => {
      if (!ok(sim.state)) return;
      clearTimeout(timer);
      sim.off("change", on);
      resolve();
    };
    sim.on("change", on);
  });
}

test("handset off-hook answers a queued sipp caller; hook-on ends the handset's leg", { skip }, async () => {
  const host = join(work, "controller");
  const socat = await startSocat(host, join(work, "device"));
  const device = await openDevice(join(work, "device"));
  let d: DaemonHandle | undefined;
  try {
    d = await startDaemon({
      config: {
        hw: { port: host },
        routing: { timeZone: "Europe/Berlin", windows: [{ id: "immer", agent: "empfang", always: true }] },
        agents: [
          {
            id: "empfang",
            template: "human",
            recording: "off",
            flow: [{ type: "transfer", to: { queue: "schalter" }, timeoutS: 60 }],
          },
        ],
        queues: [
          {
            id: "schalter",
            members: [{ handset: true }],
            ringTimeoutS: 30,
            announceEveryS: 0,
            callbackAfterS: 0,
            maxWaitS: 120,
          },
        ],
      },
    });
    const daemon = d;
    await simState(device.sim, (s) => s.leds[0]?.colour === "green", "the system LED (controller ready)", 10_000);
    const call = runSipp({
      target: daemon.sipUdp,
      args: [
        "-sf",
        scenario("uac_wait_bye.xml", { WAIT_MS: 60_000, REPLY_DELAY_MS: 0, MARK: join(work, "bye") }),
        "-m",
        "1",
      ],
      timeoutMs: 90_000,
      mediaPorts: true,
    });
    call.catch(() => undefined);
    await simState(device.sim, (s) => s.ringer, "the ringer on", 30_000);
    assert.match(device.sim.state.display, /sipp/, "the display names the caller");
    // The attention LED says a caller waits for a human, and the line LED that a call is up.
    await simState(
      device.sim,
      (st) => st.leds[2]?.colour === "red" && st.leds[2]?.pattern === "blink-fast",
      "the attention LED (human needed)",
      10_000,
    );
    assert.deepEqual(device.sim.state.leds[1], { colour: "green", pattern: "pulse" }, "calls active");

    await device.sim.hookOff();
    await simState(device.sim, (s) => !s.ringer, "the ringer off after hook-off", 10_000);
    await simState(device.sim, (st) => st.leds[2]?.pattern === "off", "the attention LED off once answered", 10_000);
    const bridged = await daemon.waitForCalls(
      (rows) => rows.some((r) => r.direction === "inbound" && /bridged to /.test(r.events)),
      20_000,
    );
    assert.equal(bridged.filter((r) => r.direction === "inbound").length, 1, "one caller");
    const caller = bridged.find((r) => r.direction === "inbound");
    assert.ok(caller);
    const leg = bridged.find((r) => r.direction === "outbound" && caller.events.includes(`bridged to ${r.id}`));
    assert.ok(leg, `the caller is bridged to an outbound leg: ${JSON.stringify(bridged, null, 1)}`);
    assert.equal(leg.linked_call_id, caller.id, "the handset's leg is linked to the caller's call");
    assert.equal(leg.to_uri, "handset:");
    assert.ok(leg.answered_at, "the handset leg was answered");

    await device.sim.hookOn();
    const r = await call;
    assert.equal(r.successful, 1, `the caller got the box's BYE after hook-on: ${sippDetail(r)}`);
    const done = await daemon.waitForCalls(
      (rows) => rows.length >= 2 && rows.every((x) => x.ended_at !== null),
      15_000,
    );
    const handsetRow = done.find((x) => x.id === leg.id);
    assert.equal(handsetRow?.hangup_side, "callee", `the handset hung up: ${JSON.stringify(handsetRow)}`);
    assert.ok(
      daemon.logs().some((l) => l.msg === "handset call ended"),
      "the daemon logged the handset's hang-up",
    );
  } finally {
    await d?.stop();
    await closeDevice(device);
    await stopSocat(socat);
  }
});
