import assert from "node:assert/strict";
import { test } from "node:test";
import { type HealthReport, HealthMonitor, type HealthSample } from "./health.ts";
import { OffThreadProbe, systemProbe } from "./system-probe.ts";

const GiB = 1024 ** 3;
const calm: HealthSample = {
  cpuLoadPct: 20,
  temperatureC: 50,
  memUsedBytes: 2 * GiB,
  memTotalBytes: 8 * GiB,
  diskFreeBytes: 50 * GiB,
  diskTotalBytes: 100 * GiB,
  failures: [],
};

/** A monitor on a hand-driven clock; samples are injected with record(). */
function monitor() {
  let t = 1_000_000;
  const events: HealthReport[] = [];
  const m = new HealthMonitor({ dataDir: "/nowhere", now: () => t, probe: async () => calm });
  m.on("health", (r) => events.push(r));
  return { m, events, advance: (ms: number) => (t += ms) };
}

test("CPU load is a warning only after it stayed above 90 % for a minute, and clears when it drops", () => {
  const { m, events, advance } = monitor();
  assert.deepEqual(m.record({ ...calm, cpuLoadPct: 95 }).warnings, []);
  advance(30_000);
  assert.deepEqual(m.record({ ...calm, cpuLoadPct: 97 }).warnings, []);
  advance(30_000);
  assert.deepEqual(m.record({ ...calm, cpuLoadPct: 96 }).warnings, ["CPU load above 90 % for over 60 s"]);
  assert.equal(events.length, 1);
  advance(10_000);
  m.record({ ...calm, cpuLoadPct: 99 });
  assert.equal(events.length, 1, "same warnings: no new event");
  advance(10_000);
  assert.deepEqual(m.record({ ...calm, cpuLoadPct: 40 }).warnings, []);
  assert.equal(events.length, 2);
  assert.deepEqual(events[1]?.warnings, []);
  // A dip resets the minute.
  m.record({ ...calm, cpuLoadPct: 95 });
  advance(59_000);
  assert.deepEqual(m.record({ ...calm, cpuLoadPct: 95 }).warnings, []);
});

test("temperature, memory and disk thresholds raise and clear their warnings", () => {
  const { m, events } = monitor();
  let r = m.record({ ...calm, temperatureC: 85, memUsedBytes: 7.5 * GiB });
  assert.deepEqual(r.warnings, ["CPU temperature above 80 °C", "memory use above 90 %"]);
  assert.equal(r.temperatureC, 85);
  r = m.record({ ...calm, diskFreeBytes: 4 * GiB });
  assert.deepEqual(r.warnings, ["data disk almost full: less than 5 % or 1 GiB free"], "under 5 % of 100 GiB");
  r = m.record({ ...calm, diskFreeBytes: 0.5 * GiB, diskTotalBytes: 4 * GiB });
  assert.equal(r.warnings.length, 1, "12 % free but under 1 GiB");
  r = m.record(calm);
  assert.deepEqual(r.warnings, []);
  assert.equal(
    events.length,
    3,
    "raised, changed (disk replaced temperature+memory), cleared; the same disk warning twice is one",
  );
});

test("no temperature (containers) is no warning; a failed probe is a warning and keeps the last figures", async () => {
  const { m } = monitor();
  const { temperatureC: _, ...noTemp } = calm;
  let r = m.record(noTemp);
  assert.equal(r.temperatureC, undefined);
  assert.deepEqual(r.warnings, []);
  r = m.record({ failures: ["memory: ENOMEM"] });
  assert.deepEqual(r.warnings, ["memory: ENOMEM"]);
  assert.equal(r.memTotalBytes, 8 * GiB);
  const failing = new HealthMonitor({ dataDir: "/nowhere", probe: () => Promise.reject(new Error("exploded")) });
  r = await failing.sample();
  assert.deepEqual(r.warnings, ["health probe: exploded"]);
});

test("the real probe reads this machine without throwing", async () => {
  const s = await systemProbe(process.cwd());
  assert.ok(Array.isArray(s.failures));
  assert.ok((s.memTotalBytes ?? 0) > 0, `memory read: ${s.failures.join("; ")}`);
  assert.ok((s.diskTotalBytes ?? 0) > 0, `disk read: ${s.failures.join("; ")}`);
  assert.ok(s.temperatureC === undefined || s.temperatureC > 0);
});

test("the off-thread probe answers from a worker thread, and close() ends it", async () => {
  const probe = new OffThreadProbe(process.cwd());
  try {
    const s = await probe.sample();
    assert.ok((s.memTotalBytes ?? 0) > 0, `memory read: ${s.failures.join("; ")}`);
    await assert.rejects(Promise.all([probe.sample(), probe.sample()]), /already being taken/);
  } finally {
    probe.close();
  }
  const again = new OffThreadProbe(process.cwd());
  const pending = again.sample();
  again.close();
  await assert.rejects(pending, /closed/);
});
