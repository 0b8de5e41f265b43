import assert from "node:assert/strict";
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { CallRecords } from "./calls.ts";
import { openDb } from "./db.ts";
import { applyRetention } from "./retention.ts";

test("records and recordings older than the retention are deleted, newer and open ones are kept", async () => {
  const dir = mkdtempSync(join(tmpdir(), "sb-ret-"));
  const db = openDb(":memory:");
  const cdr = new CallRecords(db);
  const day = 86_400_000;
  const now = 100 * day;
  const mk = (id: string, startedAt: number, ended: boolean) => {
    cdr.start({ id, direction: "inbound", fromUri: "sip:a@b", toUri: "sip:c@d", sipCallId: id, startedAt });
    const file = join(dir, `${id}.wav`);
    writeFileSync(file, "RIFF");
    cdr.recording(id, file);
    if (ended) cdr.ended(id, { endedAt: startedAt + 1000, hangupCause: "bye", hangupSide: "caller" });
    return file;
  };
  const old = mk("old", now - 40 * day, true);
  writeFileSync(join(dir, "old.vm.wav"), "RIFF");
  const recent = mk("recent", now - 5 * day, true);
  const open = mk("open", now - 40 * day, false);
  assert.deepEqual(await applyRetention(db, 30, { now, filesOf: (id) => [join(dir, `${id}.vm.wav`)] }), {
    deleted: 1,
    failed: 0,
  });
  assert.equal(cdr.get("old"), undefined);
  assert.equal(existsSync(old), false);
  assert.equal(existsSync(join(dir, "old.vm.wav")), false);
  assert.ok(cdr.get("recent") && existsSync(recent));
  assert.ok(cdr.get("open") && existsSync(open));
  assert.deepEqual(await applyRetention(db, 0, { now }), { deleted: 0, failed: 0 });
});
