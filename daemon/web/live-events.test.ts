import assert from "node:assert/strict";
import { test } from "node:test";
import { EventHub, hubMetrics, type LiveEvent } from "./live-events.ts";

test("fan-out: every subscriber gets each event in order, with increasing ids", () => {
  const hub = new EventHub();
  const a: LiveEvent[] = [];
  const b: LiveEvent[] = [];
  hub.subscribe("anna", (e) => void a.push(e));
  hub.subscribe("ben", (e) => void b.push(e));
  hub.publish("call", { n: 1 });
  hub.publish("queue", { n: 2 });
  assert.deepEqual(a, [
    { id: 1, event: "call", data: { n: 1 } },
    { id: 2, event: "queue", data: { n: 2 } },
  ]);
  assert.deepEqual(b, a);
});

test("per-user delivery: a ring goes only to the streams of the user being rung", () => {
  const hub = new EventHub();
  const got: string[] = [];
  hub.subscribe("anna", (e) => void got.push(`anna tab1 ${e.event}`));
  hub.subscribe("anna", (e) => void got.push(`anna tab2 ${e.event}`));
  hub.subscribe("ben", (e) => void got.push(`ben ${e.event}`));
  hub.publish("ring", { callId: "c1" }, { user: "anna" });
  hub.publish("call", {});
  assert.deepEqual(got, ["anna tab1 ring", "anna tab2 ring", "anna tab1 call", "anna tab2 call", "ben call"]);
});

test("first event, unsubscribe, and close(user)", () => {
  const hub = new EventHub();
  hub.publish("call", {});
  const got: string[] = [];
  const drops: string[] = [];
  const off = hub.subscribe("anna", (e) => void got.push(`${e.id}:${e.event}`), {
    first: { event: "snapshot", data: {} },
  });
  hub.subscribe("ben", () => undefined, { onDrop: (why) => drops.push(`ben: ${why}`) });
  hub.publish("queue", {});
  off();
  hub.publish("trunk", {});
  assert.deepEqual(got, ["1:snapshot", "2:queue"]);
  hub.close("ben", "logged out");
  assert.deepEqual(drops, ["ben: logged out"]);
  assert.equal(hub.stats().subscribers, 0);
});

test("a slow subscriber is dropped once its backlog is full; the others keep getting events", async () => {
  const hub = new EventHub({ maxBacklog: 3 });
  const fast: number[] = [];
  hub.subscribe("anna", (e) => void fast.push(e.id));
  // Never drains: every send says "busy" forever.
  let sent = 0;
  const drops: string[] = [];
  hub.subscribe(
    "ben",
    () => {
      sent++;
      return new Promise<void>(() => undefined);
    },
    { onDrop: (why) => drops.push(why) },
  );
  for (let i = 0; i < 10; i++) hub.publish("call", { i });
  assert.equal(sent, 1, "only the first event reached the stuck client");
  assert.equal(drops.length, 1);
  assert.match(drops[0] ?? "", /too slow/);
  assert.equal(fast.length, 10);
  assert.equal(hub.stats().subscribers, 1);
  assert.equal(hub.stats().dropped, 1);
  const m = hubMetrics(hub);
  assert.equal(m.find((s) => s.name === "switchboard_live_subscribers")?.value, 1);
  assert.equal(m.find((s) => s.name === "switchboard_live_events_total")?.value, 10);
});

test("a subscriber that catches up gets its backlog in order; a failing send drops it", async () => {
  const hub = new EventHub({ maxBacklog: 10 });
  const got: number[] = [];
  let release: (() => void) | undefined;
  hub.subscribe("anna", (e) => {
    got.push(e.id);
    if (e.id === 1) return new Promise<void>((r) => (release = r));
  });
  for (let i = 0; i < 4; i++) hub.publish("call", {});
  assert.deepEqual(got, [1]);
  release?.();
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(got, [1, 2, 3, 4]);

  const drops: string[] = [];
  hub.subscribe(
    "ben",
    () => {
      throw new Error("socket gone");
    },
    { onDrop: (why) => drops.push(why) },
  );
  hub.publish("call", {});
  assert.deepEqual(drops, ["send failed: socket gone"]);
  assert.equal(hub.stats().subscribers, 1);
});

test("a user opening too many streams loses the oldest", () => {
  const hub = new EventHub({ maxPerUser: 2 });
  const drops: number[] = [];
  for (let i = 0; i < 3; i++) hub.subscribe("anna", () => undefined, { onDrop: () => drops.push(i) });
  assert.deepEqual(drops, [0]);
  assert.equal(hub.stats().subscribers, 2);
});

test("a user's last closed stream is reported once: the softphone stops ringing a closed page", () => {
  const gone: string[] = [];
  const hub = new EventHub({ userGone: (u) => gone.push(u) });
  const a1 = hub.subscribe("anna", () => {});
  const a2 = hub.subscribe("anna", () => {});
  hub.subscribe("ben", () => {});
  a1();
  assert.deepEqual(gone, [], "anna still has a stream");
  assert.equal(hub.online("anna"), true);
  a2();
  a2();
  assert.deepEqual(gone, ["anna"]);
  assert.equal(hub.online("anna"), false);
  hub.close("ben", "logged out");
  assert.deepEqual(gone, ["anna", "ben"]);
});
