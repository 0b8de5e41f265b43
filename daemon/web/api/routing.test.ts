import assert from "node:assert/strict";
import { test } from "node:test";
import { loadConfig, parseConfig } from "../../config/load.ts";
import { entryAgent } from "../../flow/routing.ts";
import { startTestWeb } from "../testkit.ts";
import { routingRoutes, weekSegments } from "./routing.ts";

const config = loadConfig(new URL("../../../examples/receptionist.yaml", import.meta.url).pathname);

test("explain: which window and agent take a call at a time, per number; bad times are 400 at the field", async () => {
  const web = await startTestWeb({ routes: routingRoutes({ current: () => config }) });
  try {
    const staff = await web.login("staff");
    const monday = "2026-03-23T10:00:00+01:00";
    const r = await staff.get(`/api/routing/explain?at=${encodeURIComponent(monday)}`);
    assert.equal(r.status, 200, r.text);
    const body = r.json<{ window: string; agent: string; reason: string; local: string; at: number }>();
    assert.equal(body.window, "business-hours");
    assert.equal(body.agent, "empfang");
    assert.equal(body.at, Date.parse(monday));
    assert.equal(body.local, "Mon 2026-03-23 10:00 Europe/Berlin");
    assert.match(body.reason, /within mon 08:00-12:00/);

    const saturday = Date.parse("2026-03-28T10:00:00+01:00");
    const closed = (await staff.get(`/api/routing/explain?at=${saturday}`)).json<{ window: string; agent: string }>();
    assert.deepEqual([closed.window, closed.agent], ["closed", "nachricht"]);

    const en = await staff.get(
      `/api/routing/explain?did=${encodeURIComponent("+4930555001")}&at=${Date.parse(monday)}`,
    );
    assert.deepEqual(
      [en.json<{ window: string }>().window, en.json<{ agent: string }>().agent],
      ["en-hours", "reception"],
    );

    const bad = await staff.get("/api/routing/explain?at=yesterday");
    assert.equal(bad.status, 400);
    assert.equal(bad.json<{ where: string }>().where, "query.at");
  } finally {
    await web.close();
  }
});

test("explain without routing says the demo line takes calls", async () => {
  const web = await startTestWeb({ routes: routingRoutes({ current: () => parseConfig("name: bare\n") }) });
  try {
    const staff = await web.login("staff");
    const r = (await staff.get("/api/routing/explain")).json<{ window: null; reason: string }>();
    assert.equal(r.window, null);
    assert.match(r.reason, /demo line/);
    assert.equal((await staff.get("/api/routing/week")).status, 404);
  } finally {
    await web.close();
  }
});

test("week: segments match the choice at every minute, across the spring DST night", () => {
  const from = Date.parse("2026-03-23T00:00:00+01:00"); // the week ends on the night clocks go forward
  for (const did of ["", "+4930555001"]) {
    const segments = weekSegments(config, did, from);
    assert.equal(segments[0]!.from, from);
    assert.equal(segments[segments.length - 1]!.to, from + 7 * 86_400_000);
    for (let k = 1; k < segments.length; k++) assert.equal(segments[k]!.from, segments[k - 1]!.to);
    for (let t = from; t < from + 7 * 86_400_000; t += 60_000) {
      const s = segments.find((x) => x.from <= t && t < x.to)!;
      assert.equal(s.window, entryAgent(config, did, new Date(t)).window, new Date(t).toISOString());
    }
  }
  const general = weekSegments(config, "", from);
  // Mon-Thu two blocks a day, Fri one: 9 business-hours segments.
  assert.equal(general.filter((s) => s.window === "business-hours").length, 9);
  assert.deepEqual(
    general.filter((s) => s.window === "business-hours").map((s) => new Date(s.from).toISOString())[8],
    "2026-03-27T07:00:00.000Z",
  );
});
