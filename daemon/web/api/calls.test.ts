import assert from "node:assert/strict";
import { mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { encodeWav } from "../../media/wav.ts";
import { type CallOutcome, CallOutcomes } from "../../store/call-outcomes.ts";
import { CallRecords } from "../../store/calls.ts";
import type { Db } from "../../store/db.ts";
import { startTestWeb, type TestClient, type TestWeb } from "../testkit.ts";
import { callsRoutes, parseRange } from "./calls.ts";

const at = (iso: string) => Date.parse(iso);

function seed(
  db: Db,
  id: string,
  startedAt: number,
  o: { from?: string; recording?: string; outcome?: Partial<Omit<CallOutcome, "status" | "callId">> | false } = {},
) {
  const cdr = new CallRecords(db);
  cdr.start({
    id,
    direction: "inbound",
    fromUri: `sip:${o.from ?? "+4930111"}@trunk`,
    fromNumber: o.from ?? "+4930111",
    toUri: "sip:box@192.0.2.1",
    did: "+4930999",
    sipCallId: `s-${id}`,
    startedAt,
  });
  cdr.answered(id, startedAt + 500, "PCMA");
  if (o.recording) cdr.recording(id, o.recording);
  cdr.ended(id, { endedAt: startedAt + 60_500, hangupCause: "bye", hangupSide: "caller" });
  if (o.outcome === false) return;
  new CallOutcomes(db).save({
    callId: id,
    agents: ["empfang"],
    slots: { name: "Anna" },
    outcome: "completed",
    actions: [],
    transcript: [
      { atMs: 0, speaker: "agent", text: "Guten Tag.", agent: "empfang" },
      { atMs: 3200, speaker: "caller", text: "Ich möchte\neinen Termin.", dtmf: "1" },
      { atMs: 65_000, speaker: "agent", text: "Gern.", agent: "empfang", latencyMs: 400 },
    ],
    summary: "Terminwunsch",
    tags: ["termin"],
    createdAt: startedAt,
    ...o.outcome,
  });
}

describe("calls API", () => {
  let web: TestWeb;
  let staff: TestClient;
  let recordingsDir: string;
  let voicemailDir: string;
  const wav = encodeWav(
    Int16Array.from({ length: 800 }, (_, i) => (i * 37) % 2000),
    8000,
  );

  before(async () => {
    web = await startTestWeb({
      routes: (deps) => {
        recordingsDir = join(deps.dataDir, "recordings");
        voicemailDir = join(deps.dataDir, "voicemail");
        return callsRoutes({ db: deps.db, timeZone: () => "Europe/Berlin", recordingsDir, voicemailDir });
      },
    });
    mkdirSync(join(recordingsDir, "2025-01-15"), { recursive: true });
    mkdirSync(voicemailDir, { recursive: true });
    const rec = join(recordingsDir, "2025-01-15", "rec.wav");
    writeFileSync(rec, wav);
    writeFileSync(join(voicemailDir, "vm.wav"), wav.subarray(0, 100));
    writeFileSync(join(web.dataDir, "outside.wav"), wav);
    symlinkSync(join(web.dataDir, "outside.wav"), join(recordingsDir, "link.wav"));
    // Local 2025-01-15 in Berlin starts at 2025-01-14T23:00Z: "early" belongs to the 15th.
    seed(web.db, "early", at("2025-01-14T23:30:00Z"), { recording: rec });
    seed(web.db, "mid", at("2025-01-15T10:00:00Z"), { from: "+4930222", outcome: { agents: ["faq"] } });
    seed(web.db, "late", at("2025-01-15T23:30:00Z"), { outcome: false });
    seed(web.db, "vm", at("2025-01-13T10:00:00Z"), { outcome: { outcome: "voicemail" } });
    new CallRecords(web.db).event("vm", 0, `voicemail ${join(voicemailDir, "vm.wav")} 1000 ms (silence)`);
    seed(web.db, "outside", at("2025-01-12T10:00:00Z"), { recording: join(web.dataDir, "outside.wav") });
    seed(web.db, "link", at("2025-01-12T09:00:00Z"), { recording: join(recordingsDir, "link.wav") });
    seed(web.db, "gone", at("2025-01-12T08:00:00Z"), { recording: join(recordingsDir, "gone.wav") });
    staff = await web.login("staff");
  });
  after(() => web.close());

  test("the list needs a session", async () => {
    assert.equal((await web.anonymous().get("/api/calls")).status, 401);
  });

  test("pages newest first with a cursor, and a total", async () => {
    const seen: string[] = [];
    let cursor = "";
    for (let i = 0; i < 10; i++) {
      const r = await staff.get(`/api/calls?limit=3${cursor ? `&cursor=${cursor}` : ""}`);
      assert.equal(r.status, 200);
      const page = r.json<{ items: { id: string }[]; nextCursor?: string; total: number }>();
      assert.equal(page.total, 7);
      seen.push(...page.items.map((c) => c.id));
      if (!page.nextCursor) break;
      cursor = encodeURIComponent(page.nextCursor);
    }
    assert.deepEqual(seen, ["late", "mid", "early", "vm", "outside", "link", "gone"]);
  });

  test("a day filter is a local day in the box's time zone; ms bounds work too", async () => {
    const ids = async (q: string) =>
      (await staff.get(`/api/calls?${q}`)).json<{ items: { id: string }[] }>().items.map((c) => c.id);
    assert.deepEqual(await ids("from=2025-01-15&to=2025-01-15"), ["mid", "early"]);
    assert.deepEqual(await ids(`from=${at("2025-01-15T10:00:00Z")}`), ["late", "mid"]);
    assert.deepEqual(await ids("agent=faq"), ["mid"]);
    assert.deepEqual(await ids("caller=030222"), ["mid"]);
    assert.deepEqual(await ids(`q=${encodeURIComponent("möchte")}&from=2025-01-13&to=2025-01-13`), ["vm"]);
    assert.deepEqual(await ids("q=terminwunsch&from=2025-01-15"), ["mid", "early"]);
  });

  test("bad parameters are 400 naming the parameter", async () => {
    const where = async (q: string) => {
      const r = await staff.get(`/api/calls?${q}`);
      assert.equal(r.status, 400, q);
      return r.json<{ where: string }>().where;
    };
    assert.equal(await where("from=yesterday"), "query.from");
    assert.equal(await where("to=2025-02-30"), "query.to");
    assert.equal(await where("from=2025-01-16&to=2025-01-15"), "query.to");
    assert.equal(await where("limit=500"), "query.limit");
    assert.equal(await where("limit=abc"), "query.limit");
    assert.equal(await where("status=open"), "query.status");
    assert.equal(await where("cursor=xyz"), "query.cursor");
  });

  test("detail carries the transcript, slots and record", async () => {
    const r = await staff.get("/api/calls/early");
    assert.equal(r.status, 200);
    const d = r.json<{
      card: { id: string; hasRecording: boolean; caller: string };
      transcript: { text: string }[];
      slots: Record<string, string>;
      codec: string;
    }>();
    assert.equal(d.card.hasRecording, true);
    assert.equal(d.card.caller, "+4930111");
    assert.equal(d.transcript.length, 3);
    assert.deepEqual(d.slots, { name: "Anna" });
    assert.equal(d.codec, "PCMA");
    const missing = await staff.get("/api/calls/nope");
    assert.equal(missing.status, 404);
    assert.equal(missing.json().where, "id");
  });

  test("status: persists, rejects bad values", async () => {
    const r = await staff.patch("/api/calls/mid", { status: "in_progress" });
    assert.equal(r.status, 200);
    assert.equal(r.json().status, "in_progress");
    assert.equal((await staff.get("/api/calls/mid")).json<{ card: { status: string } }>().card.status, "in_progress");
    const late = await staff.patch("/api/calls/late", { status: "done" });
    assert.equal(late.json().status, "done");
    const bad = await staff.patch("/api/calls/mid", { status: "closed" });
    assert.equal(bad.status, 400);
    assert.equal(bad.json().where, "body.status");
    const extra = await staff.patch("/api/calls/mid", { status: "done", summary: "x" });
    assert.equal(extra.status, 400);
    assert.equal((await staff.patch("/api/calls/nope", { status: "done" })).status, 404);
    assert.equal((await staff.patch("/api/calls/mid", { status: "done" }, { csrf: false })).status, 403);
    assert.equal((await staff.get("/api/calls/mid")).json<{ card: { status: string } }>().card.status, "in_progress");
  });

  test("recording: whole file, byte ranges, 416", async () => {
    const full = await staff.get("/api/calls/early/recording");
    assert.equal(full.status, 200);
    assert.equal(full.headers["content-type"], "audio/wav");
    assert.equal(full.headers["accept-ranges"], "bytes");
    assert.deepEqual(full.body, wav);
    const head = await staff.get("/api/calls/early/recording", { headers: { range: "bytes=0-43" } });
    assert.equal(head.status, 206);
    assert.equal(head.headers["content-range"], `bytes 0-43/${wav.length}`);
    assert.equal(head.body.subarray(0, 4).toString("ascii"), "RIFF");
    assert.deepEqual(head.body, wav.subarray(0, 44));
    const tail = await staff.get("/api/calls/early/recording", { headers: { range: "bytes=-10" } });
    assert.equal(tail.status, 206);
    assert.deepEqual(tail.body, wav.subarray(wav.length - 10));
    const open = await staff.get("/api/calls/early/recording", { headers: { range: "bytes=1000-" } });
    assert.equal(open.headers["content-range"], `bytes 1000-${wav.length - 1}/${wav.length}`);
    assert.deepEqual(open.body, wav.subarray(1000));
    const beyond = await staff.get("/api/calls/early/recording", { headers: { range: `bytes=${wav.length}-` } });
    assert.equal(beyond.status, 416);
    assert.equal(beyond.headers["content-range"], `bytes */${wav.length}`);
    const several = await staff.get("/api/calls/early/recording", { headers: { range: "bytes=0-1,5-6" } });
    assert.equal(several.status, 200);
    assert.equal(several.body.length, wav.length);
    const stale = await staff.get("/api/calls/early/recording", {
      headers: { range: "bytes=0-1", "if-range": '"other"' },
    });
    assert.equal(stale.status, 200);
  });

  test("recording: voicemail, none, gone, and paths outside the directories", async () => {
    const vm = await staff.get("/api/calls/vm/recording");
    assert.equal(vm.status, 200);
    assert.equal(vm.body.length, 100);
    const none = await staff.get("/api/calls/mid/recording");
    assert.equal(none.status, 404);
    assert.equal((await staff.get("/api/calls/early/recording?kind=voicemail")).status, 404);
    assert.equal((await staff.get("/api/calls/nope/recording")).status, 404);
    assert.equal((await staff.get("/api/calls/gone/recording")).status, 404);
    const outside = await staff.get("/api/calls/outside/recording");
    assert.equal(outside.status, 403);
    assert.match(outside.json<{ error: string }>().error, /outside the recording directories/);
    assert.equal((await staff.get("/api/calls/link/recording")).status, 403);
  });

  test("transcript as text (audited) and as JSON", async () => {
    const r = await staff.get("/api/calls/early/transcript");
    assert.equal(r.status, 200);
    assert.match(String(r.headers["content-disposition"]), /^attachment; filename="call-early-transcript.txt"$/);
    const lines = r.text.split("\n");
    assert.ok(lines.includes("Started: 2025-01-15T00:30:00+01:00 (Europe/Berlin)"));
    assert.ok(lines.includes("[00:00] agent (empfang): Guten Tag."));
    assert.ok(lines.includes("[00:03] caller: Ich möchte einen Termin. [keys 1]"));
    assert.ok(lines.includes("[01:05] agent (empfang): Gern."));
    const j = await staff.get("/api/calls/early/transcript?format=json");
    assert.equal(j.json<{ transcript: unknown[] }>().transcript.length, 3);
    const audits = web.db
      .prepare("SELECT user_name, target, detail FROM audit_log WHERE action = 'calls.export' ORDER BY id")
      .all() as { user_name: string; target: string; detail: string }[];
    assert.deepEqual(
      audits.map((a) => [a.user_name, a.target, JSON.parse(a.detail).format]),
      [
        ["staff", "early", "txt"],
        ["staff", "early", "json"],
      ],
    );
    assert.equal((await staff.get("/api/calls/early/transcript?format=pdf")).status, 400);
  });
});

test("parseRange", () => {
  assert.deepEqual(parseRange("bytes=0-9", 100), { start: 0, end: 9 });
  assert.deepEqual(parseRange("bytes=90-200", 100), { start: 90, end: 99 });
  assert.deepEqual(parseRange("bytes=-200", 100), { start: 0, end: 99 });
  assert.equal(parseRange("bytes=100-", 100), "unsatisfiable");
  assert.equal(parseRange("bytes=-0", 100), "unsatisfiable");
  assert.equal(parseRange("bytes=0-", 0), "unsatisfiable");
  assert.equal(parseRange("bytes=5-3", 100), undefined);
  assert.equal(parseRange("items=0-3", 100), undefined);
  assert.equal(parseRange("bytes=-", 100), undefined);
  assert.equal(parseRange(undefined, 100), undefined);
});
