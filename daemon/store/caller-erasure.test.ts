import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { eraseCaller } from "./caller-erasure.ts";
import { CallOutcomes } from "./call-outcomes.ts";
import { CallRecords } from "./calls.ts";
import { type Db, openDb } from "./db.ts";

const dir = mkdtempSync(join(tmpdir(), "sb-erasure-"));
after(() => rmSync(dir, { recursive: true, force: true }));
const T0 = Date.UTC(2025, 0, 15, 9, 0, 0);

function seedCall(
  db: Db,
  s: {
    id: string;
    at: number;
    from: string;
    fromUri?: string;
    direction?: "inbound" | "outbound";
    linkedTo?: string;
    recording?: string;
    running?: boolean;
    outcome?: { actions: { action: string; state: string; key: string }[] } | false;
  },
): void {
  const cdr = new CallRecords(db);
  cdr.start({
    id: s.id,
    direction: s.direction ?? "inbound",
    fromUri: s.fromUri ?? `sip:${s.from}@trunk`,
    fromNumber: s.from,
    toUri: "sip:box@192.0.2.1",
    sipCallId: `sip-${s.id}`,
    startedAt: s.at,
    linkedCallId: s.linkedTo,
  });
  if (s.recording) cdr.recording(s.id, s.recording);
  if (!s.running) cdr.ended(s.id, { endedAt: s.at + 5000, hangupCause: "bye", hangupSide: "caller" });
  if (s.outcome === false) return;
  new CallOutcomes(db).save({
    callId: s.id,
    agents: ["empfang"],
    slots: {},
    outcome: "completed",
    actions: [],
    transcript: [{ atMs: 0, speaker: "caller", text: "Hallo" }],
    summary: "",
    tags: [],
    createdAt: s.at,
    ...s.outcome,
  } as Parameters<CallOutcomes["save"]>[0]);
}

function file(path: string): string {
  mkdirSync(join(path, ".."), { recursive: true });
  writeFileSync(path, "RIFF");
  return path;
}

const count = (db: Db, table: string, where = "1") =>
  (db.prepare(`SELECT count(*) AS n FROM ${table} WHERE ${where}`).get() as { n: number }).n;

function outboxItem(db: Db, key: string, callId: string | null, state: string): void {
  db.prepare(
    `INSERT INTO outbox (kind, payload, idempotency_key, call_id, state, max_attempts, next_attempt_at, created_at,
       updated_at) VALUES ('webhook', '{}', ?, ?, ?, 5, 0, 0, 0)`,
  ).run(key, callId, state);
}

function fixture(name: string) {
  const root = join(dir, name);
  const recordings = join(root, "recordings");
  const voicemailDir = join(root, "voicemail");
  const db = openDb(":memory:");
  // The caller +49 30 123456 in three written forms, one outbound call to them, and a transfer leg of one call.
  seedCall(db, {
    id: "m1",
    at: T0,
    from: "+4930123456",
    recording: file(join(recordings, "m1.wav")),
    outcome: { actions: [{ action: "crm", state: "pending", key: "flow-key-m1" }] },
  });
  seedCall(db, { id: "m2", at: T0 + 1000, from: "030123456", outcome: false });
  seedCall(db, { id: "m3", at: T0 + 2000, from: "0049 30 123456" });
  seedCall(db, {
    id: "m4",
    at: T0 + 3000,
    direction: "outbound",
    fromUri: "sip:box@pbx",
    from: "box",
    outcome: false,
  });
  db.prepare("UPDATE calls SET to_uri = 'sip:030123456@trunk' WHERE id = 'm4'").run();
  seedCall(db, {
    id: "m1-leg",
    at: T0 + 500,
    direction: "outbound",
    from: "box",
    linkedTo: "m1",
    recording: join(recordings, "m1-leg.wav"), // never written: a missing file is fine
    outcome: false,
  });
  file(join(voicemailDir, "m2.wav"));
  // Other callers: a similar number, a different one, an anonymous one.
  seedCall(db, { id: "o1", at: T0, from: "+49301234567", recording: file(join(recordings, "o1.wav")) });
  seedCall(db, { id: "o2", at: T0, from: "+4940123456" });
  seedCall(db, { id: "o3", at: T0, from: "anonymous" });
  file(join(voicemailDir, "o2.wav"));
  // Outbox: one per call by call_id (delivered and pending), one found by the flow's key only, others' items.
  outboxItem(db, "m1:crm:delivered", "m1", "delivered");
  outboxItem(db, "flow-key-m1", null, "pending");
  outboxItem(db, "m3:mail:0", "m3", "dead");
  outboxItem(db, "o1:crm:0", "o1", "pending");
  db.prepare(
    "INSERT INTO unanswered_questions (call_id, agent, language, text, asked_at) VALUES (?, 'faq', 'de', ?, 0)",
  ).run("m1", "Haben Sie sonntags offen?");
  db.prepare(
    "INSERT INTO unanswered_questions (call_id, agent, language, text, asked_at) VALUES (?, 'faq', 'de', ?, 0)",
  ).run("o1", "Parken?");
  db.prepare("INSERT INTO tickets (id, call_id, created_at, fields, state) VALUES ('t1', 'm3', 0, '{}', 'open')").run();
  db.prepare("INSERT INTO tickets (id, call_id, created_at, fields, state) VALUES ('t2', 'o2', 0, '{}', 'open')").run();
  db.prepare(
    `INSERT INTO appointments (id, call_id, created_at, resource, starts_at, ends_at, fields, state)
     VALUES ('a1', 'm2', 0, 'dr', 1, 2, '{}', 'booked')`,
  ).run();
  return { db, recordings, voicemailDir };
}

test("erases exactly the caller's calls, rows and files, in any written form of the number", async () => {
  const { db, recordings, voicemailDir } = fixture("exact");
  const r = await eraseCaller(db, "+49 (30) 123456", { voicemailDir });
  assert.deepEqual(r, {
    calls: 5, // m1, m2, m3, m4 and the leg of m1
    outbox: 3,
    cancelled: 2, // the pending flow item and the dead letter
    questions: 1,
    tickets: 1,
    appointments: 1,
    recordings: 2, // m1's recording and m2's voicemail; the leg's file never existed
    inProgress: 0,
    filesFailed: [],
  });
  const left = (db.prepare("SELECT id FROM calls ORDER BY id").pluck().all() as string[]).join(",");
  assert.equal(left, "o1,o2,o3");
  assert.equal(count(db, "call_outcomes", "call_id LIKE 'm%'"), 0);
  assert.equal(count(db, "call_outcomes"), 3);
  assert.deepEqual(db.prepare("SELECT idempotency_key FROM outbox").pluck().all(), ["o1:crm:0"]);
  assert.equal(count(db, "unanswered_questions"), 1);
  assert.equal(count(db, "tickets"), 1);
  assert.equal(count(db, "appointments"), 0);
  assert.equal(existsSync(join(recordings, "m1.wav")), false);
  assert.equal(existsSync(join(voicemailDir, "m2.wav")), false);
  assert.equal(existsSync(join(recordings, "o1.wav")), true);
  assert.equal(existsSync(join(voicemailDir, "o2.wav")), true);
  // A second run finds nothing.
  const again = await eraseCaller(db, "030123456", { voicemailDir });
  assert.equal(again.calls + again.outbox + again.recordings, 0);
});

test("with the search index (migration 5), the erased calls leave it too", async () => {
  const { db, voicemailDir } = fixture("indexed");
  const indexed = () => (db.prepare("SELECT count(*) AS n FROM chat_search").get() as { n: number }).n;
  assert.equal(indexed(), 5); // the calls with an outcome: m1, m3, o1, o2, o3
  await eraseCaller(db, "030123456", { voicemailDir });
  assert.equal(indexed(), 3);
});

test("a call in progress keeps its rows and is counted", async () => {
  const { db, voicemailDir } = fixture("running");
  seedCall(db, { id: "live", at: T0 + 9000, from: "+4930123456", running: true, outcome: false });
  seedCall(db, { id: "live-leg", at: T0 + 9500, from: "box", linkedTo: "live", direction: "outbound" });
  const r = await eraseCaller(db, "+4930123456", { voicemailDir });
  assert.equal(r.inProgress, 1);
  assert.equal(r.calls, 5);
  assert.deepEqual(db.prepare("SELECT id FROM calls WHERE id LIKE 'live%' ORDER BY id").pluck().all(), [
    "live",
    "live-leg",
  ]);
});

test("a file that cannot be deleted is reported; the rows are gone all the same", async () => {
  const { db, voicemailDir } = fixture("failing");
  const r = await eraseCaller(db, "0049 30 123456", {
    voicemailDir,
    unlink: async (p) => {
      if (p.endsWith("recordings/m1.wav"))
        throw Object.assign(new Error("EACCES: permission denied"), { code: "EACCES" });
      const e = Object.assign(new Error("ENOENT"), { code: "ENOENT" });
      if (!existsSync(p)) throw e;
      rmSync(p);
    },
  });
  assert.equal(r.calls, 5);
  assert.deepEqual(r.filesFailed, [{ path: join(dir, "failing", "recordings", "m1.wav"), error: "EACCES" }]);
  assert.equal(r.recordings, 1);
});

test("empty and anonymous numbers are refused", async () => {
  const { db, voicemailDir } = fixture("refused");
  await assert.rejects(eraseCaller(db, "  ", { voicemailDir }), /names no caller/);
  await assert.rejects(eraseCaller(db, "anonymous", { voicemailDir }), /names no caller/);
  assert.equal(count(db, "calls"), 8);
});
