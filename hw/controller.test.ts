import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { listPorts, NotReadyError, SerialController } from "./controller.ts";

test("listPorts without udevadm lists ttyUSB*/ttyACM* itself and never calls SerialPort.list()", async () => {
  const dir = mkdtempSync(join(tmpdir(), "hw-dev-"));
  try {
    for (const n of ["ttyUSB0", "ttyACM1", "ttyS0", "tty", "ttyUSBx"]) writeFileSync(join(dir, n), "");
    assert.deepEqual(await listPorts(dir, false), [join(dir, "ttyACM1"), join(dir, "ttyUSB0")]);
    assert.deepEqual(await listPorts(join(dir, "missing"), false), []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("commands before the device is ready reject with NotReadyError", async () => {
  const c = new SerialController({ path: "/nonexistent/tty-hw-test", pollMs: 20 });
  c.start();
  assert.equal(c.state, "connecting");
  await assert.rejects(c.setLed(0, "red", "on"), NotReadyError);
  await c.stop();
  assert.equal(c.state, "closed");
});
