// The daemon's LEDs on a controller over a REAL pty pair (socat) with the device simulator on the other end: the
// system LED says "running", the line LED pulses while a real sipp call is up and goes dark again after it, and it
// follows a real registrar (Kamailio): green while registered, red when the registration is lost, green again after.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import type { DeviceSimulator } from "../hw/device-simulator.ts";
import { type DaemonHandle, runSipp, sippDetail, skipUnlessPeers, startDaemon } from "./peers/daemon.ts";
import { kamailioSkipReason, startKamailio } from "./peers/kamailio.ts";
import { freePort } from "./peers/ports.ts";
import { closeDevice, openDevice, socatSkipReason, startSocat, stopSocat } from "./peers/serial-device.ts";

const skip = socatSkipReason() ?? skipUnlessPeers("sipp");
const work = mkdtempSync(join(tmpdir(), "sb-hw-daemon-"));
after(() => rmSync(work, { recursive: true, force: true }));

/** Resolves once the simulator's LED `index` shows `colour`/`pattern` (checked now and on every change). */
function led(sim: DeviceSimulator, index: number, colour: string, pattern: string, ms: number): Promise<void> {
  const ok = () => sim.state.leds[index]?.colour === colour && sim.state.leds[index]?.pattern === pattern;
  if (ok()) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      sim.off("change", on);
      reject(new Error(`LED ${index} never showed ${colour} ${pattern}: ${JSON.stringify(sim.state.leds)}`));
    }, ms);
    const on = () => {
      if (!ok()) return;
      clearTimeout(timer);
      sim.off("change", on);
      resolve();
    };
    sim.on("change", on);
  });
}

test("the LEDs follow the daemon: running, a call pulses the line LED, then it goes dark", { skip }, async () => {
  const host = join(work, "controller");
  const socat = await startSocat(host, join(work, "device"));
  const device = await openDevice(join(work, "device"));
  let d: DaemonHandle | undefined;
  try {
    d = await startDaemon({ config: { hw: { port: host } } });
    await led(device.sim, 0, "green", "on", 10_000); // system: running
    await led(device.sim, 1, "white", "off", 5_000); // line: no trunk, no call
    const call = runSipp({ target: d.sipUdp, args: ["-sn", "uac", "-m", "1", "-d", "4000"], timeoutMs: 30_000 });
    await led(device.sim, 1, "green", "pulse", 10_000); // calls active
    const r = await call;
    assert.equal(r.successful, 1, sippDetail(r));
    await led(device.sim, 1, "white", "off", 10_000);
    const hw = d.logs().find((l) => l.part === "hw" && l.msg === "controller" && l.state === "ready");
    assert.ok(hw, "the daemon logged the controller as ready");
  } finally {
    await d?.stop();
    await closeDevice(device);
    await stopSocat(socat);
  }
});

test("the line LED follows the trunk: registered, registration lost, registered again", {
  skip: skip || kamailioSkipReason(),
  timeout: 90_000,
}, async () => {
  const host = join(work, "controller-trunk");
  const socat = await startSocat(host, join(work, "device-trunk"));
  const device = await openDevice(join(work, "device-trunk"));
  const port = await freePort();
  const registrar = { port, user: "agent", password: "secret123", maxExpires: 3 };
  let kam = await startKamailio(registrar);
  let d: DaemonHandle | undefined;
  try {
    d = await startDaemon({
      config: {
        hw: { port: host },
        // TCP: once Kamailio is gone the next refresh fails at once (connection refused), not after Timer F.
        trunks: [
          {
            id: "kam",
            domain: "127.0.0.1",
            registrar: `sip:127.0.0.1:${port}`,
            transport: "tcp",
            username: "agent",
            password: "secret123",
            expiresS: 60,
          },
        ],
      },
    });
    await led(device.sim, 1, "green", "on", 15_000); // trunk registered (Kamailio grants 3 s: refreshes every ~2.4 s)
    await kam.stop();
    await led(device.sim, 1, "red", "blink-slow", 15_000); // registration lost
    kam = await startKamailio(registrar);
    await led(device.sim, 1, "green", "on", 30_000); // the retry (10 s +-20 %) registers again
    const lost = d.logs().find((l) => l.msg === "trunk registration" && l.state === "failed");
    assert.ok(lost, "the daemon logged the failed registration");
  } finally {
    await d?.stop();
    await kam.stop();
    await closeDevice(device);
    await stopSocat(socat);
  }
});
