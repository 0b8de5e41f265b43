import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { type CallOutcome, CallOutcomes } from "./call-outcomes.ts";
import { CallRecords, type CallStart } from "./calls.ts";
import {
  callerForms,
  callerKey,
  type ChatFilter,
  Chats,
  decodeCursor,
  encodeCursor,
  isoInZone,
  localDayRange,
  localDayStart,
  rebuildChatSearch,
  searchTerms,
  uriUser,
} from "./chats.ts";
import { type Db, openDb } from "./db.ts";

interface Seed {
  id: string;
  at: number;
  from?: string;
  fromUri?: string;
  did?: string;
  answered?: boolean;
  durationMs?: number;
  hangupSide?: "caller" | "box" | "callee" | "system";
  linkedTo?: string;
  direction?: "inbound" | "outbound";
  outcome?: Partial<Omit<CallOutcome, "status" | "callId">> | false;
  recording?: string;
  running?: boolean;
}

export function seedCall(db: Db, s: Seed): void {
  const cdr = new CallRecords(db);
  const start: CallStart = {
    id: s.id,
    direction: s.direction ?? "inbound",
    fromUri: s.fromUri ?? `sip:${s.from ?? "anonymous"}@trunk.example`,
    fromNumber: s.from,
    toUri: "sip:box@192.0.2.1",
    did: s.did ?? "+4930999",
    sipCallId: `sip-${s.id}`,
    startedAt: s.at,
    linkedCallId: s.linkedTo,
  };
  cdr.start(start);
  const answered = s.answered ?? true;
  if (answered) cdr.answered(s.id, s.at + 1000, "PCMA");
  if (s.recording) cdr.recording(s.id, s.recording);
  if (!s.running)
    cdr.ended(s.id, {
      endedAt: s.at + 1000 + (s.durationMs ?? 60_000),
      hangupCause: "bye",
      hangupSide: s.hangupSide ?? "caller",
    });
  if (s.outcome === false) return;
  new CallOutcomes(db).save({
    callId: s.id,
    agents: ["empfang"],
    slots: {},
    outcome: "completed",
    actions: [],
    transcript: [
      { atMs: 0, speaker: "agent", text: "Guten Tag, hier ist die Praxis." },
      { atMs: 3000, speaker: "caller", text: "Ich brauche einen Termin." },
    ],
    summary: "Anrufer möchte einen Termin.",
    tags: ["termin"],
    createdAt: s.at,
    ...s.outcome,
  });
}

const T0 = Date.UTC(2025, 0, 15, 9, 0, 0);

function pageThrough(chats: Chats, filter: ChatFilter, limit: number): { ids: string[]; totals: number[] } {
  const ids: string[] = [];
  const totals: number[] = [];
  let cursor: string | undefined;
  for (let i = 0; i < 100; i++) {
    const page = chats.list(filter, { limit, cursor: cursor ? decodeCursor(cursor) : undefined });
    ids.push(...page.items.map((c) => c.id));
    totals.push(page.total);
    cursor = page.nextCursor;
    if (!cursor) break;
  }
  return { ids, totals };
}

describe("chat list paging", () => {
  test("keyset pages cover every call once, newest first, ties by id, with equal timestamps", () => {
    const db = openDb(":memory:");
    const expected: { id: string; at: number }[] = [];
    // 23 calls on 7 distinct instants: many share a started_at, so the id must break ties.
    for (let i = 0; i < 23; i++) {
      const c = { id: `call-${String((i * 7) % 23).padStart(2, "0")}`, at: T0 + Math.floor(i / 4) * 60_000 };
      expected.push(c);
      seedCall(db, { ...c, from: `+49301000${i}` });
    }
    // A linked leg is part of its call, never its own card.
    seedCall(db, { id: "leg-1", at: T0 + 999_000, linkedTo: "call-00", direction: "outbound", outcome: false });
    expected.sort((a, b) => b.at - a.at || (a.id < b.id ? 1 : -1));
    const chats = new Chats(db);
    for (const limit of [1, 4, 5, 23, 50]) {
      const { ids, totals } = pageThrough(chats, {}, limit);
      assert.deepEqual(
        ids,
        expected.map((e) => e.id),
        `limit ${limit}`,
      );
      assert.ok(totals.every((t) => t === 23));
    }
    const last = chats.list({}, { limit: 23 });
    assert.equal(last.nextCursor, undefined);
  });

  test("cursor text round-trips and rejects foreign strings", () => {
    const c = { startedAt: 1_736_931_600_000, id: "a~b/c" };
    assert.deepEqual(decodeCursor(encodeCursor(c)), c);
    assert.equal(decodeCursor("not a cursor!"), undefined);
    assert.equal(decodeCursor(Buffer.from("abc~x").toString("base64url")), undefined);
    assert.equal(decodeCursor(Buffer.from("123~").toString("base64url")), undefined);
  });
});

const DROP_SEARCH_INDEX =
  "DROP TRIGGER chat_search_outcome; DROP TRIGGER chat_search_call_gone; DROP TABLE chat_search;";

function filterFixture(indexed: boolean): Chats {
  const db = openDb(":memory:");
  // Without the search index (a database before migration 5): every term goes through the LIKE scans.
  if (!indexed) db.exec(DROP_SEARCH_INDEX);
  seedCall(db, {
    id: "a",
    at: T0,
    from: "+4930111222",
    outcome: {
      agents: ["empfang", "faq"],
      summary: "Frage zur Stromrechnung",
      tags: ["rechnung"],
      transcript: [
        { atMs: 0, speaker: "caller", text: "Meine Zählernummer ist 4711, Herr Müller." },
        { atMs: 2500, speaker: "human", text: "Ich schaue nach.", agent: "Bettina" },
      ],
    },
  });
  seedCall(db, {
    id: "b",
    at: T0 + 3_600_000,
    from: "0301234567",
    outcome: { agents: ["empfang"], summary: "Terminwunsch", tags: ["termin", "neukunde"] },
  });
  seedCall(db, {
    id: "c",
    at: T0 + 7_200_000,
    from: "004930111222",
    outcome: {
      agents: ["faq"],
      summary: 'Sagte "100% sicher" und_so',
      tags: ["beschwerde"],
      transcript: [{ atMs: 0, speaker: "caller", text: "Die Heizung ist kaputt." }],
    },
  });
  seedCall(db, { id: "d", at: T0 + 86_400_000, from: "alice", fromUri: '"Alice" <sip:alice@pbx>', outcome: false });
  return new Chats(db);
}

for (const indexed of [false, true]) {
  describe(`chat filters (${indexed ? "FTS index" : "LIKE scan"})`, () => {
    const chats = filterFixture(indexed);
    const ids = (f: ChatFilter) => chats.list(f, { limit: 50 }).items.map((c) => c.id);
    const total = (f: ChatFilter) => chats.list(f, { limit: 1 }).total;

    test("the index is used when present", () => assert.equal(chats.indexed, indexed));
    test("time range: from inclusive, to exclusive", () => {
      assert.deepEqual(ids({ from: T0 + 3_600_000 }), ["d", "c", "b"]);
      assert.deepEqual(ids({ from: T0, to: T0 + 7_200_000 }), ["b", "a"]);
      assert.equal(total({ from: T0, to: T0 + 7_200_000 }), 2);
    });
    test("status: calls without an outcome are new", () => {
      assert.equal(chats.setStatus("b", "done")?.status, "done");
      assert.deepEqual(ids({ status: "done" }), ["b"]);
      assert.deepEqual(ids({ status: "new" }), ["d", "c", "a"]);
      assert.deepEqual(ids({ status: "in_progress" }), []);
    });
    test("agent: any agent of the call's path, exactly", () => {
      assert.deepEqual(ids({ agent: "faq" }), ["c", "a"]);
      assert.deepEqual(ids({ agent: "empfang" }), ["b", "a"]);
      assert.deepEqual(ids({ agent: "fa" }), []);
    });
    test("caller: the same number in +49, 0049 and 0 forms", () => {
      assert.deepEqual(ids({ caller: "+49 30 111222" }), ["c", "a"]);
      assert.deepEqual(ids({ caller: "030111222" }), ["c", "a"]);
      assert.deepEqual(ids({ caller: "+49301234567" }), ["b"]);
      assert.deepEqual(ids({ caller: "alice" }), ["d"]);
      assert.deepEqual(ids({ caller: "+4930999999" }), []);
    });
    test("q: transcript text, case-insensitive, not the JSON keys", () => {
      assert.deepEqual(ids({ q: "zählernummer" }), ["a"]);
      assert.deepEqual(ids({ q: "HEIZUNG" }), ["c"]);
      assert.deepEqual(ids({ q: "speaker" }), []);
      assert.deepEqual(ids({ q: "atMs" }), []);
      assert.deepEqual(ids({ q: "aller" }), []); // inside the speaker "caller" only
      assert.deepEqual(ids({ q: "3000" }), []); // an atMs value of call b
      assert.deepEqual(ids({ q: "4711" }), ["a"]);
      assert.deepEqual(ids({ q: "bettina" }), ["a"]); // who spoke
      assert.deepEqual(ids({ q: "ist 4711," }), ["a"]);
    });
    test("q: summary, tags, caller, DID; every word must match", () => {
      assert.deepEqual(ids({ q: "rechnung" }), ["a"]);
      assert.deepEqual(ids({ q: "neukunde" }), ["b"]);
      assert.deepEqual(ids({ q: "1234567" }), ["b"]);
      assert.deepEqual(ids({ q: "0301112" }), ["a"]); // national form finds +49...
      assert.deepEqual(ids({ q: "30999" }), ["d", "c", "b", "a"]);
      assert.deepEqual(ids({ q: "termin neukunde" }), ["b"]);
      assert.deepEqual(ids({ q: "termin heizung" }), []);
      assert.deepEqual(ids({ q: '"herr müller"' }), ["a"]);
    });
    test("q: LIKE wildcards and quotes in the text are literal", () => {
      assert.deepEqual(ids({ q: "100%" }), ["c"]);
      assert.deepEqual(ids({ q: "und_so" }), ["c"]);
      assert.deepEqual(ids({ q: "%" }), ["c"]);
      assert.deepEqual(ids({ q: "_" }), ["c"]);
      assert.deepEqual(ids({ q: '"sicher"' }), ["c"]);
    });
    test("filters combine", () => {
      assert.deepEqual(ids({ agent: "faq", q: "rechnung", from: T0 }), ["a"]);
      assert.deepEqual(ids({ agent: "faq", caller: "0049 30 111222", to: T0 + 1 }), ["a"]);
    });
    test("the card carries the outcome; a call without one has defaults", () => {
      const [d, , , a] = chats.list({}, { limit: 10 }).items;
      assert.equal(d!.caller, "alice");
      assert.equal(d!.status, "new");
      assert.deepEqual(d!.agents, []);
      assert.equal(d!.lastAgent, undefined);
      assert.equal(a!.lastAgent, "faq");
      assert.equal(a!.outcome, "completed");
      assert.deepEqual(a!.tags, ["rechnung"]);
      assert.equal(a!.durationMs, 60_000);
    });
  });
}

describe("search index upkeep", () => {
  test("a replaced outcome replaces its index entry; a deleted call leaves the index", () => {
    const db = openDb(":memory:");
    seedCall(db, { id: "x", at: T0, from: "+491", outcome: { summary: "alpha gamma" } });
    const chats = new Chats(db);
    assert.deepEqual(
      chats.list({ q: "alpha" }, { limit: 5 }).items.map((c) => c.id),
      ["x"],
    );
    new CallOutcomes(db).save({ ...new CallOutcomes(db).get("x")!, summary: "beta gamma" });
    assert.equal(chats.list({ q: "alpha" }, { limit: 5 }).total, 0);
    assert.equal(chats.list({ q: "beta" }, { limit: 5 }).total, 1);
    db.prepare("DELETE FROM calls WHERE id = 'x'").run();
    assert.equal((db.prepare("SELECT count(*) AS n FROM chat_search").get() as { n: number }).n, 0);
    seedCall(db, { id: "y", at: T0, from: "+492", outcome: { summary: "delta" } });
    db.exec("INSERT INTO chat_search (chat_search) VALUES ('delete-all')");
    assert.equal(chats.list({ q: "delta" }, { limit: 5 }).total, 0);
    assert.equal(rebuildChatSearch(db), true);
    assert.equal(chats.list({ q: "delta" }, { limit: 5 }).total, 1);
  });
});

describe("status", () => {
  test("persists, rejects unknown values, and creates a holder row for a call without outcome", () => {
    const db = openDb(":memory:");
    seedCall(db, { id: "a", at: T0 });
    seedCall(db, { id: "b", at: T0, outcome: false });
    const chats = new Chats(db);
    assert.equal(chats.setStatus("a", "in_progress")?.status, "in_progress");
    assert.equal(new Chats(db).card("a")?.status, "in_progress");
    assert.equal(new CallOutcomes(db).get("a")?.summary, "Anrufer möchte einen Termin.");
    assert.throws(() => chats.setStatus("a", "closed" as "done"), /status must be one of new, in_progress, done/);
    assert.equal(chats.card("a")?.status, "in_progress");
    const b = chats.setStatus("b", "done");
    assert.equal(b?.status, "done");
    assert.equal(b?.outcome, undefined);
    assert.equal(b?.lastAgent, undefined);
    assert.equal(chats.setStatus("nope", "done"), undefined);
  });
});

describe("detail", () => {
  test("transcript, slots, consent and each action's outbox state", () => {
    const db = openDb(":memory:");
    seedCall(db, {
      id: "a",
      at: T0,
      recording: "/data/recordings/a.wav",
      outcome: {
        slots: { name: "Anna" },
        consent: { recording: true, via: "dtmf", atMs: 4000 },
        window: { id: "office", reason: "Mon 09:00" },
        actions: [
          { action: "crm", state: "pending", key: "a:crm:0" },
          { action: "mail", state: "delivered", key: "a:mail:0" },
        ],
        transcript: [{ atMs: 65_000, speaker: "agent", text: "Gern.", latencyMs: 420 }],
      },
    });
    const insert = db.prepare(
      `INSERT INTO outbox (kind, payload, idempotency_key, call_id, state, attempts, max_attempts, last_error,
         next_attempt_at, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, 5, ?, 0, 0, 0)`,
    );
    insert.run("webhook", '{"target":"crm"}', "a:crm:0", "a", "dead", 5, "HTTP 500");
    insert.run("webhook", '{"target":"crm-end"}', "a:disconnect:crm-end", "a", "delivered", 1, null);
    const d = new Chats(db).detail("a")!;
    assert.equal(d.card.hasRecording, true);
    assert.deepEqual(d.slots, { name: "Anna" });
    assert.deepEqual(d.consent, { recording: true, via: "dtmf", atMs: 4000 });
    assert.deepEqual(d.window, { id: "office", reason: "Mon 09:00" });
    assert.equal(d.transcript[0]!.latencyMs, 420);
    assert.equal(d.codec, "PCMA");
    assert.equal(d.hangupSide, "caller");
    assert.deepEqual(d.actions, [
      { action: "crm", state: "dead", key: "a:crm:0", attempts: 5, lastError: "HTTP 500" },
      { action: "mail", state: "delivered", key: "a:mail:0" },
      { action: "crm-end", state: "delivered", key: "a:disconnect:crm-end", attempts: 1, lastError: undefined },
    ]);
    assert.equal(new Chats(db).detail("nope"), undefined);
  });

  test("a voicemail counts as a recording", () => {
    const db = openDb(":memory:");
    seedCall(db, { id: "v", at: T0, outcome: { outcome: "voicemail" } });
    seedCall(db, { id: "w", at: T0 });
    new CallRecords(db).event("v", T0 + 5000, "voicemail /data/voicemail/v.wav 5000 ms (silence)");
    const chats = new Chats(db);
    assert.equal(chats.card("v")?.hasRecording, true);
    assert.equal(chats.card("w")?.hasRecording, false);
    assert.deepEqual(chats.recordingOf("v"), { recordingPath: undefined, voicemail: true });
  });
});

describe("export rows", () => {
  test("stream in batches, in list order, without holding the connection between rows", () => {
    const db = openDb(":memory:");
    for (let i = 0; i < 10; i++) seedCall(db, { id: `e${i}`, at: T0 + (i % 3) * 1000, from: `+49${i}` });
    const chats = new Chats(db);
    const got: string[] = [];
    for (const r of chats.exportRows({}, 3)) {
      got.push(r.id);
      // Another statement mid-iteration: would throw "connection is busy" with an open iterator.
      chats.setStatus(r.id, "done");
      assert.equal(r.hangupCause, "bye");
    }
    assert.deepEqual(
      got,
      chats.list({}, { limit: 50 }).items.map((c) => c.id),
    );
    assert.equal(chats.list({ status: "done" }, { limit: 1 }).total, 10);
    assert.deepEqual(
      [...chats.exportRows({ caller: "+491" }, 3)].map((r) => r.id),
      ["e1"],
    );
  });
});

describe("numbers and time", () => {
  test("caller keys and forms", () => {
    assert.equal(callerKey("+49 30 123-45"), "+493012345");
    assert.equal(callerKey("0049 (30) 12345"), "+493012345");
    assert.equal(callerKey("03012345"), "+493012345");
    assert.equal(callerKey("493012345"), "493012345");
    assert.equal(callerKey("201"), "201");
    assert.equal(callerKey("Anonymous"), undefined);
    assert.equal(callerKey("  "), undefined);
    assert.equal(callerKey("Alice"), "alice");
    assert.deepEqual(callerForms("030 12345"), ["+493012345", "00493012345", "03012345"]);
    assert.deepEqual(callerForms("+43 1 234"), ["+431234", "00431234"]);
    assert.deepEqual(callerForms("201"), ["201"]);
  });

  test("the user of a URI", () => {
    assert.equal(uriUser("sip:+4930123@host;user=phone"), "+4930123");
    assert.equal(uriUser('"Anna Schmidt" <sips:anna%40x@host>;tag=1'), "anna@x");
    assert.equal(uriUser("tel:+4930123"), "+4930123");
    assert.equal(uriUser("sip:host.example"), undefined);
  });

  test("search words", () => {
    assert.deepEqual(searchTerms('  termin "herr müller"  x '), ["termin", "herr müller", "x"]);
    assert.equal(searchTerms("a b c d e f g h i j").length, 8);
  });

  test("local days in Europe/Berlin, including DST days", () => {
    assert.equal(localDayStart("2025-01-15", "Europe/Berlin"), Date.parse("2025-01-14T23:00:00Z"));
    assert.equal(localDayStart("2025-07-15", "Europe/Berlin"), Date.parse("2025-07-14T22:00:00Z"));
    const spring = localDayRange("2025-03-30", "Europe/Berlin");
    assert.equal(spring.start, Date.parse("2025-03-29T23:00:00Z"));
    assert.equal(spring.end - spring.start, 23 * 3_600_000);
    const autumn = localDayRange("2025-10-26", "Europe/Berlin");
    assert.equal(autumn.end - autumn.start, 25 * 3_600_000);
    assert.equal(localDayStart("2025-01-15", "UTC"), Date.parse("2025-01-15T00:00:00Z"));
    assert.throws(() => localDayStart("2025-02-30", "UTC"), /not a day/);
  });

  test("a day whose midnight falls in a DST gap starts at its first existing instant", () => {
    // Chile moved from 00:00 (-04) to 01:00 (-03) on 2024-09-08.
    assert.equal(localDayStart("2024-09-08", "America/Santiago"), Date.parse("2024-09-08T04:00:00Z"));
  });

  test("ISO times with the zone's offset", () => {
    assert.equal(isoInZone(Date.parse("2025-03-30T00:59:59Z"), "Europe/Berlin"), "2025-03-30T01:59:59+01:00");
    assert.equal(isoInZone(Date.parse("2025-03-30T01:00:00Z"), "Europe/Berlin"), "2025-03-30T03:00:00+02:00");
    assert.equal(isoInZone(Date.parse("2025-01-01T12:00:00Z"), "Asia/Kolkata"), "2025-01-01T17:30:00+05:30");
    assert.equal(isoInZone(Date.parse("2025-01-01T12:00:00Z"), "America/New_York"), "2025-01-01T07:00:00-05:00");
  });
});

describe("KPIs", () => {
  // 2025-03-30 in Europe/Berlin (the spring DST day): 2025-03-29T23:00Z .. 2025-03-30T22:00Z.
  const day = "2025-03-30";
  const at = (iso: string) => Date.parse(iso);

  function kpiFixture(): Db {
    const db = openDb(":memory:");
    // Outside the day, just before and just after it (local 23:59:59 the day before, 00:00 the day after).
    seedCall(db, { id: "before", at: at("2025-03-29T22:59:59Z"), from: "+4930100" });
    seedCall(db, { id: "after", at: at("2025-03-30T22:00:00Z"), from: "+4930101" });
    // Inside: first instant of the day, a repeat caller, a transfer, an abandoned call, an unanswered one, a leg.
    seedCall(db, {
      id: "k1",
      at: at("2025-03-29T23:00:00Z"),
      from: "+4930200",
      durationMs: 60_000,
      outcome: {
        transcript: [
          { atMs: 1000, speaker: "agent", text: "a", latencyMs: 300 },
          { atMs: 2000, speaker: "agent", text: "b", latencyMs: 500 },
        ],
      },
    });
    seedCall(db, {
      id: "k2",
      at: at("2025-03-30T08:00:00Z"),
      from: "0304711",
      durationMs: 120_000,
      outcome: { outcome: "transferred", transferredTo: "sip:anna@pbx" },
    });
    seedCall(db, { id: "k2-leg", at: at("2025-03-30T08:01:00Z"), linkedTo: "k2", direction: "outbound" });
    seedCall(db, {
      id: "k3",
      at: at("2025-03-30T09:00:00Z"),
      from: "+494711",
      durationMs: 30_000,
      outcome: { outcome: "abandoned", transcript: [{ atMs: 0, speaker: "agent", text: "c", latencyMs: 400 }] },
    });
    seedCall(db, { id: "k4", at: at("2025-03-30T10:00:00Z"), from: "+4930300", answered: false, outcome: false });
    // Called two days earlier: today's call is a repeat.
    seedCall(db, { id: "old", at: at("2025-03-27T10:00:00Z"), from: "+4930400" });
    seedCall(db, { id: "k5", at: at("2025-03-30T21:59:59Z"), from: "004930400", durationMs: 90_000, outcome: false });
    // Anonymous: counts as a call but not for first-call resolution.
    seedCall(db, { id: "k6", at: at("2025-03-30T12:00:00Z"), from: "anonymous", durationMs: 0 });
    return db;
  }

  test("a hand-made day, bounded by local midnight", () => {
    const k = new Chats(kpiFixture()).kpis(day, "Europe/Berlin");
    assert.deepEqual(k, {
      day,
      calls: 6, // k1..k6 (not the leg, not before/after)
      answered: 5,
      handledByAi: 3, // k1, k5 (no outcome), k6
      transferred: 1,
      abandoned: 2, // k3 (flow), k4 (hung up ringing)
      avgHandleMs: Math.round((60_000 + 120_000 + 30_000 + 90_000 + 0) / 5),
      // Answered callers: +4930200 (k1) and +49304711 (k2) settled in one call; +494711 (k3) abandoned; +4930400
      // (k5) had called two days before. Anonymous k6 is not a caller one can follow.
      firstCallResolution: 2 / 4,
      avgResponseLatencyMs: 400,
    });
  });

  test("the same calls seen from UTC fall on other days", () => {
    const chats = new Chats(kpiFixture());
    assert.equal(chats.kpis("2025-03-29", "UTC").calls, 2); // before, k1
    assert.equal(chats.kpis("2025-03-29", "Europe/Berlin").calls, 1); // before
    assert.equal(chats.kpis("2025-03-31", "Europe/Berlin").calls, 1); // after
  });

  test("an empty day", () => {
    assert.deepEqual(new Chats(openDb(":memory:")).kpis("2025-01-01", "Europe/Berlin"), {
      day: "2025-01-01",
      calls: 0,
      answered: 0,
      handledByAi: 0,
      transferred: 0,
      abandoned: 0,
      avgHandleMs: null,
      firstCallResolution: null,
      avgResponseLatencyMs: null,
    });
  });
});
