import assert from "node:assert/strict";
import { test } from "node:test";
import { loadConfig } from "../config/load.ts";
import { loadScript, simulate } from "../flow/simulator.ts";
import { CallOutcomes } from "../store/call-outcomes.ts";
import { CallRecords } from "../store/calls.ts";
import { openDb } from "../store/db.ts";
import { callOutcome, disconnectPayload } from "./post-call.ts";

const root = new URL("../../", import.meta.url).pathname;

test("a finished flow is stored beside its CDR with transcript, summary, tags, consent and lead grade", async () => {
  const config = loadConfig(`${root}examples/receptionist.yaml`);
  const { ctx } = await simulate(config, loadScript(`${root}examples/sim/de-termin.yaml`));
  const db = openDb(":memory:");
  new CallRecords(db).start({
    id: ctx.callId,
    direction: "inbound",
    fromUri: "sip:+4917612345678@trunk",
    toUri: "sip:+4930555000@box",
    sipCallId: "c1",
    startedAt: 1,
  });
  const outcomes = new CallOutcomes(db);
  outcomes.save(callOutcome(ctx, { now: 1000 }));
  const o = outcomes.get(ctx.callId);
  assert.ok(o);
  assert.deepEqual(o.agents, ["empfang", "termine"]);
  assert.equal(o.intent, "termin");
  assert.equal(o.slots.name, "Anna Schmidt");
  assert.equal(o.consent?.recording, true);
  assert.equal(o.status, "new");
  assert.equal(o.outcome, "completed");
  assert.match(o.summary, /Anna Schmidt/);
  assert.ok(o.tags.includes("intent:termin"), o.tags.join());
  assert.ok(o.transcript.length > 10);
  assert.match(o.leadGrade ?? "", /^[A-E]$/);
  assert.equal(o.window?.id, "business-hours");
  // Each answer of the box carries its decision latency (caller input in -> prompt out); the first prompt has none.
  const answers = o.transcript.filter((t, i) => t.speaker === "agent" && o.transcript[i - 1]?.speaker === "caller");
  assert.ok(answers.length >= 3);
  for (const a of answers) assert.ok(typeof a.latencyMs === "number" && a.latencyMs >= 0, JSON.stringify(a));
  assert.equal(o.transcript[0]?.latencyMs, undefined);
});

test("a disconnect action carries the call's result and slots, never the transcript", async () => {
  const config = loadConfig(`${root}examples/receptionist.yaml`);
  const { ctx } = await simulate(config, loadScript(`${root}examples/sim/de-termin.yaml`));
  const p = disconnectPayload(callOutcome(ctx, { now: 1000 }), ctx.caller);
  assert.equal(p.outcome, "completed");
  assert.equal(p.agent, "termine");
  assert.equal(p.name, "Anna Schmidt");
  assert.equal(p.intent, "termin");
  assert.match(p.summary ?? "", /Anna Schmidt/);
  assert.equal(p.call_id, ctx.callId);
  assert.ok(!Object.keys(p).includes("transcript"));
  assert.ok(!Object.values(p).some((v) => v.includes("KI-Assistent")), "no transcript line leaks into the payload");
});
