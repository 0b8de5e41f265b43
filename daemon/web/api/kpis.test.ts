import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { CallRecords } from "../../store/calls.ts";
import { startTestWeb, type TestClient, type TestWeb } from "../testkit.ts";
import { kpisRoutes } from "./kpis.ts";

describe("KPIs API", () => {
  let web: TestWeb;
  let staff: TestClient;
  const now = Date.parse("2025-03-30T21:30:00Z"); // 23:30 on 2025-03-30 in Berlin

  before(async () => {
    web = await startTestWeb({
      routes: (deps) => kpisRoutes({ db: deps.db, timeZone: () => "Europe/Berlin", now: () => now }),
    });
    const cdr = new CallRecords(web.db);
    // 00:30 Berlin on the 31st is still the 30th in UTC: it belongs to the 31st here.
    for (const [id, iso, answered] of [
      ["a", "2025-03-29T23:10:00Z", true],
      ["b", "2025-03-30T12:00:00Z", false],
      ["c", "2025-03-30T22:30:00Z", true],
    ] as const) {
      const at = Date.parse(iso);
      cdr.start({
        id,
        direction: "inbound",
        fromUri: "sip:+4930@t",
        fromNumber: `+4930${id}`,
        toUri: "sip:b@x",
        sipCallId: id,
        startedAt: at,
      });
      if (answered) cdr.answered(id, at + 1000, "PCMA");
      cdr.ended(id, { endedAt: at + 11_000, hangupCause: "bye", hangupSide: "caller" });
    }
    staff = await web.login("staff");
  });
  after(() => web.close());

  test("a given day, and today by default, in the box's time zone", async () => {
    const day = (await staff.get("/api/kpis?day=2025-03-30")).json();
    assert.equal(day.day, "2025-03-30");
    assert.equal(day.calls, 2);
    assert.equal(day.answered, 1);
    assert.equal(day.abandoned, 1);
    assert.equal(day.avgHandleMs, 10_000);
    const today = (await staff.get("/api/kpis")).json();
    assert.deepEqual(today, day);
    assert.equal((await staff.get("/api/kpis?day=2025-03-31")).json().calls, 1);
  });

  test("a bad day is 400 naming it; no session is 401", async () => {
    const bad = await staff.get("/api/kpis?day=2025-13-01");
    assert.equal(bad.status, 400);
    assert.equal(bad.json().where, "query.day");
    assert.equal((await web.anonymous().get("/api/kpis")).status, 401);
  });
});
