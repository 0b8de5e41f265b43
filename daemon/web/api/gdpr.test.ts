import assert from "node:assert/strict";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { CallRecords } from "../../store/calls.ts";
import { startTestWeb, type TestClient, type TestWeb } from "../testkit.ts";
import { gdprRoutes } from "./gdpr.ts";

describe("GDPR API", () => {
  let web: TestWeb;
  let admin: TestClient;
  let staff: TestClient;
  let voicemailDir: string;

  before(async () => {
    web = await startTestWeb({
      routes: (deps) => {
        voicemailDir = join(deps.dataDir, "voicemail");
        return gdprRoutes({ db: deps.db, voicemailDir });
      },
    });
    mkdirSync(voicemailDir, { recursive: true });
    const cdr = new CallRecords(web.db);
    for (const [id, from] of [
      ["a", "+4930123456"],
      ["b", "030123456"],
      ["c", "+4930999"],
    ] as const) {
      cdr.start({
        id,
        direction: "inbound",
        fromUri: `sip:${from}@t`,
        fromNumber: from,
        toUri: "sip:box@x",
        sipCallId: id,
        startedAt: 1,
      });
      cdr.ended(id, { endedAt: 2, hangupCause: "bye", hangupSide: "caller" });
      writeFileSync(join(voicemailDir, `${id}.wav`), "RIFF");
    }
    admin = await web.login("admin");
    staff = await web.login("staff");
  });
  after(() => web.close());

  test("admins only, with the number confirmed", async () => {
    const body = { number: "+49 30 123456", confirm: "+49 30 123456" };
    assert.equal((await staff.post("/api/gdpr/delete-caller", body)).status, 403);
    const mismatch = await admin.post("/api/gdpr/delete-caller", { number: "+49 30 123456", confirm: "030123456" });
    assert.equal(mismatch.status, 400);
    assert.equal(mismatch.json().where, "body.confirm");
    const wild = await admin.post("/api/gdpr/delete-caller", { number: "%", confirm: "%" });
    assert.equal(wild.status, 400);
    assert.equal(wild.json().where, "body.number");
    const anon = await admin.post("/api/gdpr/delete-caller", { number: "anonymous", confirm: "anonymous" });
    assert.equal(anon.status, 400);
    assert.equal(anon.json().where, "body.number");
    assert.equal((await admin.post("/api/gdpr/delete-caller", { number: "1" })).status, 400);
    assert.equal(new CallRecords(web.db).list().length, 3);
  });

  test("erases the caller's calls and files, counts them, and audits the deletion", async () => {
    const r = await admin.post("/api/gdpr/delete-caller", { number: "+49 30 123456", confirm: " +49 30 123456 " });
    assert.equal(r.status, 200);
    assert.deepEqual(r.json(), {
      calls: 2,
      recordings: 2,
      outbox: 0,
      cancelled: 0,
      questions: 0,
      tickets: 0,
      appointments: 0,
      inProgress: 0,
      filesFailed: [],
    });
    assert.deepEqual(
      new CallRecords(web.db).list().map((c) => c.id),
      ["c"],
    );
    assert.equal(existsSync(join(voicemailDir, "a.wav")), false);
    assert.equal(existsSync(join(voicemailDir, "c.wav")), true);
    const audit = web.db
      .prepare("SELECT user_name, target, detail FROM audit_log WHERE action = 'calls.delete-caller'")
      .all() as { user_name: string; target: string; detail: string }[];
    assert.equal(audit.length, 1);
    assert.equal(audit[0]!.user_name, "admin");
    assert.equal(audit[0]!.target, "+49 30 123456");
    assert.deepEqual(JSON.parse(audit[0]!.detail), {
      calls: 2,
      recordings: 2,
      outbox: 0,
      cancelled: 0,
      questions: 0,
      tickets: 0,
      appointments: 0,
      inProgress: 0,
      filesFailed: 0,
    });
  });
});
