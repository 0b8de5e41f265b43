import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { migrate } from "./migrations.ts";
import { CallRecords } from "./calls.ts";
import { closeDb, openDb } from "./db.ts";

const start = (id: string, startedAt: number) => ({
  id,
  direction: "inbound" as const,
  fromUri: "sip:+4930111@trunk.example",
  fromNumber: "+4930111",
  toUri: "sip:+4930222@box",
  did: "+4930222",
  sipCallId: `cid-${id}`,
  startedAt,
});

test("the store opens in WAL mode with synchronous=FULL and a migrated schema", () => {
  const dir = mkdtempSync(join(tmpdir(), "sb-store-"));
  const db = openDb(join(dir, "s.db"));
  assert.equal(db.pragma("journal_mode", { simple: true }), "wal");
  assert.equal(db.pragma("synchronous", { simple: true }), 2);
  assert.equal(db.pragma("user_version", { simple: true }), migrate(db));
  closeDb(db);
  const again = openDb(join(dir, "s.db")); // re-opening runs no migration twice
  assert.equal(again.pragma("user_version", { simple: true }), migrate(again));
  closeDb(again);
});

test("a call record follows the call: start, answer, dtmf, events, end with duration", () => {
  const db = openDb(":memory:");
  const cdr = new CallRecords(db);
  cdr.start(start("a", 1000));
  cdr.answered("a", 1500, "PCMA");
  cdr.dtmf("a", "1");
  cdr.dtmf("a", "#");
  cdr.event("a", 1600, "menu: voicemail");
  cdr.recording("a", "/data/recordings/a.wav");
  cdr.ended("a", { endedAt: 4500, hangupCause: "bye", hangupSide: "caller", mediaStats: { packetsLost: 0 } });
  cdr.ended("a", { endedAt: 9999, hangupCause: "late", hangupSide: "box" }); // the first end wins
  const r = cdr.get("a");
  assert.ok(r);
  assert.equal(r.codec, "PCMA");
  assert.equal(r.durationMs, 3000);
  assert.equal(r.dtmfLog, "1#");
  assert.equal(r.hangupSide, "caller");
  assert.deepEqual(r.events, [{ t: 1600, what: "menu: voicemail" }]);
  assert.deepEqual(r.mediaStats, { packetsLost: 0 });
  assert.equal(r.did, "+4930222");
});

test("unanswered calls have zero duration; orphans from a crash are closed at start-up", () => {
  const db = openDb(":memory:");
  const cdr = new CallRecords(db);
  cdr.start(start("x", 1000));
  cdr.ended("x", { endedAt: 2000, hangupCause: "cancel", hangupSide: "caller", sipStatus: 487 });
  cdr.start(start("y", 3000));
  cdr.answered("y", 3100, "PCMU");
  assert.equal(cdr.closeOrphans(5100), 1);
  assert.equal(cdr.get("x")?.durationMs, 0);
  assert.equal(cdr.get("y")?.hangupCause, "daemon restart");
  assert.equal(cdr.get("y")?.durationMs, 2000);
  assert.deepEqual(
    cdr.list().map((c) => c.id),
    ["y", "x"],
  );
});
