import assert from "node:assert/strict";
import { test } from "node:test";
import { type CallEvent, CallRegistry, type RegisteredCall } from "./call-registry.ts";

/** A fake of the CallSession fields the registry reads; `end()` plays the call's end (CDR written). */
class FakeCall implements RegisteredCall {
  readonly ended: Promise<void>;
  end!: () => void;
  hangups: string[] = [];
  constructor(
    readonly id: string,
    readonly from: string | undefined,
    readonly did = "+4930999",
    readonly direction: "inbound" | "outbound" = "inbound",
  ) {
    this.ended = new Promise((r) => {
      this.end = r;
    });
  }
  async hangup(side: string, cause: string): Promise<void> {
    this.hangups.push(`${side}: ${cause}`);
    this.end();
  }
}

function registry(max = 5) {
  let t = 1000;
  const r = new CallRegistry<FakeCall>(max, () => t);
  const events: CallEvent[] = [];
  r.on("call", (e) => events.push(e));
  return { r, events, advance: (ms: number) => (t += ms) };
}

const flush = () => new Promise((r) => setImmediate(r));

test("a call's live view: started (answered), agent, queued, talking, ended when call.ended resolves", async () => {
  const { r, events, advance } = registry();
  const call = new FakeCall("c1", "+491701234");
  r.add(call, { startedAt: 900, agent: "reception" });
  assert.deepEqual(r.live(), [
    {
      id: "c1",
      direction: "inbound",
      caller: "+491701234",
      did: "+4930999",
      agent: "reception",
      startedAt: 900,
      answeredAt: 1000,
      state: "talking",
    },
  ]);
  assert.equal(r.answered, 1);
  advance(5000);
  r.setAgent("c1", "sales");
  r.setAgent("c1", "sales"); // unchanged: no event
  r.setState("c1", "queued");
  r.setState("c1", "talking");
  assert.deepEqual(
    events.map((e) => [e.type, e.call.agent, e.call.state]),
    [
      ["started", "reception", "talking"],
      ["agent", "sales", "talking"],
      ["state", "sales", "queued"],
      ["state", "sales", "talking"],
    ],
  );
  assert.equal(r.size, 1);
  call.end();
  await flush();
  assert.equal(r.size, 0);
  assert.deepEqual(r.live(), []);
  const last = events.at(-1);
  assert.equal(last?.type, "ended");
  assert.equal(last?.call.id, "c1");
  assert.equal(last?.call.agent, "sales");
  // Updates after the end are ignored.
  r.setAgent("c1", "late");
  assert.equal(events.length, 5);
});

test("a ringing call is answered by its first state change; anonymous callers are named so", () => {
  const { r, events, advance } = registry();
  r.add(new FakeCall("c2", undefined), { state: "ringing" });
  assert.equal(r.answered, 0);
  assert.equal(r.live()[0]?.answeredAt, undefined);
  assert.equal(r.live()[0]?.caller, "anonymous");
  advance(3000);
  r.setState("c2", "talking");
  assert.equal(r.answered, 1);
  assert.deepEqual(
    events.map((e) => [e.type, e.call.state, e.call.answeredAt]),
    [
      ["started", "ringing", undefined],
      ["answered", "talking", 4000],
    ],
  );
});

test("events carry copies: a listener changing them does not change the registry", () => {
  const { r, events } = registry();
  r.add(new FakeCall("c3", "+4911"));
  const first = events[0];
  assert.ok(first);
  first.call.state = "transferred";
  assert.equal(r.live()[0]?.state, "talking");
});

test("admission and drain still work: busy at the limit, 503 while draining, every call hung up", async () => {
  const { r, events } = registry(1);
  const call = new FakeCall("c4", "+4912");
  r.add(call);
  assert.deepEqual(r.admission(), { status: 486, reason: "Busy Here" });
  await r.drain(1000);
  assert.deepEqual(call.hangups, ["system: shutdown"]);
  assert.deepEqual(r.admission(), { status: 503, reason: "Service Unavailable" });
  await flush();
  assert.equal(r.size, 0);
  assert.deepEqual(
    events.map((e) => e.type),
    ["started", "ended"],
  );
});
