import assert from "node:assert/strict";
import { test } from "node:test";
import { DiskGuard, diskGuardSchema } from "./disk-guard.ts";
import { HealthMonitor } from "./health.ts";

const GiB = 1024 ** 3;
const total = 100 * GiB;
const free = (gib: number) => ({ diskFreeBytes: gib * GiB, diskTotalBytes: total });

test("recording stops below 2 % free and resumes only above 5 % (hysteresis)", () => {
  const g = new DiskGuard();
  const changes: [boolean, string][] = [];
  g.on("change", (allowed, reason) => changes.push([allowed, reason]));
  assert.equal(g.recordingAllowed, true);
  assert.equal(g.update(free(10)), true);
  assert.equal(g.update(free(2.5)), true, "between the thresholds: still recording");
  assert.equal(g.update(free(1.9)), false);
  assert.equal(g.update(free(3)), false, "between the thresholds: still stopped");
  assert.equal(g.update(free(5)), false, "exactly 5 % is not above 5 %");
  assert.equal(g.update(free(1)), false);
  assert.equal(g.update(free(6)), true);
  assert.equal(g.update(free(4)), true);
  assert.equal(changes.length, 2, "one event per change, none per sample");
  assert.equal(changes[0][0], false);
  assert.match(changes[0][1], /^recording stopped: disk nearly full \(1\.9 GiB \(1\.9 %\) free\)$/);
  assert.equal(changes[1][0], true);
  assert.equal(g.metrics()[0].value, 1);
});

test("the absolute floors count on big disks: 500 MB to stop, 1 GiB to resume", () => {
  const big = 10_000 * GiB;
  // Percentages set to 0 so only the byte figures decide: 600 MB of 10 TB is a tiny share but still enough.
  const g2 = new DiskGuard({ stopBelowPct: 0, resumeAbovePct: 0 });
  assert.equal(g2.update({ diskFreeBytes: 600 * 1000 ** 2, diskTotalBytes: big }), true);
  assert.equal(g2.update({ diskFreeBytes: 499 * 1000 ** 2, diskTotalBytes: big }), false);
  assert.equal(g2.update({ diskFreeBytes: GiB, diskTotalBytes: big }), false, "exactly 1 GiB is not above it");
  assert.equal(g2.update({ diskFreeBytes: GiB + 1, diskTotalBytes: big }), true);
  assert.equal(g2.metrics()[0].value, 1);
});

test("a failed disk probe (total 0) changes nothing", () => {
  const g = new DiskGuard();
  g.update(free(1));
  assert.equal(g.update({ diskFreeBytes: 0, diskTotalBytes: 0 }), false);
  const g2 = new DiskGuard();
  assert.equal(g2.update({ diskFreeBytes: 0, diskTotalBytes: 0 }), true);
});

test("the config schema has defaults, is strict and refuses resume below stop", () => {
  assert.deepEqual(diskGuardSchema.parse({}), {
    stopBelowPct: 2,
    stopBelowBytes: 500_000_000,
    resumeAbovePct: 5,
    resumeAboveBytes: GiB,
  });
  assert.equal(diskGuardSchema.safeParse({ stopBelowPct: 2, extra: 1 }).success, false);
  const r = diskGuardSchema.safeParse({ stopBelowPct: 10, resumeAbovePct: 5 });
  assert.equal(r.success, false);
  assert.match(JSON.stringify(r.error?.issues), /resume thresholds/);
  assert.throws(() => new DiskGuard({ stopBelowBytes: -1 }));
});

test("watch follows a HealthMonitor's reports", () => {
  let sample = { diskFreeBytes: 10 * GiB, diskTotalBytes: total, failures: [] };
  const health = new HealthMonitor({ dataDir: "/", probe: async () => sample });
  const g = new DiskGuard();
  g.watch(health); // no report yet: nothing to judge
  assert.equal(g.recordingAllowed, true);
  g.unwatch();
  sample = { diskFreeBytes: GiB / 10, diskTotalBytes: total, failures: [] };
  health.record(sample);
  g.watch(health); // reads the current report at once
  g.unwatch();
  assert.equal(g.recordingAllowed, false);
});
