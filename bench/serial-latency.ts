// Benchmark (not a test): serial command latency to the LED/handset controller. The driver (hw/controller.ts) and the
// device simulator talk over a REAL pty pair (socat) at 115200 baud; each LED command is timed from setLed() to its
// ack, and each simulated key press from the device's write to the driver's "key" event.
//   npm run bench -- serial-latency [--n 500]
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SerialController } from "../hw/controller.ts";
import { closeDevice, openDevice, startSocat, stopSocat } from "../test/peers/serial-device.ts";
import { argNum, percentile } from "./lib/bench.ts";

const N = argNum("n", 500);

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "sb-bench-serial-"));
  const socat = await startSocat(join(dir, "host"), join(dir, "device"));
  const device = await openDevice(join(dir, "device"));
  const controller = new SerialController({ path: join(dir, "host") });
  try {
    controller.start();
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error("controller not ready in 10 s")), 10_000);
      const on = (s: string) => {
        if (s !== "ready") return;
        clearTimeout(t);
        controller.off("state", on);
        resolve();
      };
      if (controller.state === "ready") on("ready");
      else controller.on("state", on);
    });
    const led: number[] = [];
    for (let i = 0; i < N; i++) {
      const t0 = performance.now();
      await controller.setLed(i % 3, i % 2 ? "green" : "red", i % 2 ? "on" : "blink-slow");
      led.push(performance.now() - t0);
    }
    const key: number[] = [];
    for (let i = 0; i < N; i++) {
      const t0 = performance.now();
      const heard = new Promise<void>((resolve) => controller.once("key", () => resolve()));
      const sent = device.sim.pressKey(String(i % 10) as "0");
      await heard;
      key.push(performance.now() - t0);
      await sent; // the device's copy is acked before the next key (and before shutdown)
    }
    const row = (name: string, xs: number[]) =>
      `${name.padEnd(34)} ${percentile(xs, 50).toFixed(2).padStart(7)} ${percentile(xs, 99).toFixed(2).padStart(7)} ${Math.max(
        ...xs,
      )
        .toFixed(2)
        .padStart(7)}`;
    console.log(`${N} of each over a socat pty pair at 115200 baud; ms`);
    console.log(`${"".padEnd(34)}     p50     p99     max`);
    console.log(row("LED command -> ack (host side)", led));
    console.log(row("key press -> driver event", key));
    console.log(`counters: ${JSON.stringify(controller.counters())}`);
  } finally {
    await controller.stop();
    await closeDevice(device);
    await stopSocat(socat);
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
