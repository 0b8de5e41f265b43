import assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import { test } from "node:test";
import { CallRegistry, type RegisteredCall } from "../calls/call-registry.ts";
import { QueueDesk } from "../calls/queue-desk.ts";
import type { RingDeps } from "../calls/ring-human.ts";
import type { QueueConfig } from "../flow/queues.ts";
import { HealthMonitor } from "../ops/health.ts";
import { silentLog } from "../ops/log.ts";
import type { RegistrationEvents, RegistrationState, TrunkRegistration } from "../sip/types.ts";
import { EventHub, type LiveEvent } from "./live-events.ts";
import { wireLiveEvents } from "./live-wiring.ts";
import { TrunkStates } from "../sip/trunk-states.ts";

/** A fake of what the registry reads of a call. */
function fakeCall(id: string): RegisteredCall & { end(): void } {
  let end!: () => void;
  const ended = new Promise<void>((r) => {
    end = r;
  });
  return { id, direction: "inbound", from: "+4930111", did: "+4930999", ended, end, hangup: async () => end() };
}

/** A fake trunk registration: the test moves its state. */
class FakeRegistration extends EventEmitter<RegistrationEvents> implements TrunkRegistration {
  state: RegistrationState = "idle";
  registeredAt: number | undefined;
  constructor(readonly trunkId: string) {
    super();
  }
  move(state: RegistrationState, detail: RegistrationEvents["state"][1] = {}): void {
    this.state = state;
    this.emit("state", state, detail);
  }
}

const queue: QueueConfig = {
  id: "support",
  members: [{ sip: "sip:anna@pbx" }],
  strategy: "ringall",
  ringTimeoutS: 20,
  wrapUpS: 0,
  announceEveryS: 30,
  callbackAfterS: 60,
  maxWaitS: 60,
  maxWaiting: 5,
};

const flush = () => new Promise((r) => setImmediate(r));

test("wireLiveEvents forwards call, queue, trunk and health changes to the hub, and unwires", async () => {
  const hub = new EventHub();
  const got: LiveEvent[] = [];
  hub.subscribe("anna", (e) => void got.push(e));
  const registry = new CallRegistry<RegisteredCall>(5);
  // Ringing a member fails when the test says so (no media in unit tests).
  let failRing!: (e: Error) => void;
  const ringDeps = {
    log: silentLog,
    config: { trunks: [], sip: { srtp: "optional" } },
    media: { allocate: () => new Promise((_, reject) => (failRing = reject)) },
  } as unknown as RingDeps; // only what CallSession.dial touches before the media allocation fails
  const queues = new QueueDesk(() => ringDeps, silentLog);
  queues.configure([queue]);
  const reg = new FakeRegistration("t1");
  const trunks = new TrunkStates({ trunks: [{ id: "t1", register: true }], registrations: new Map([["t1", reg]]) });
  const health = new HealthMonitor({ dataDir: "/nowhere", probe: async () => ({ failures: [] }) });
  const unwire = wireLiveEvents({ hub, registry, queues, trunks, health });

  const call = fakeCall("c1");
  registry.add(call);
  registry.setAgent("c1", "sales");
  const ticket = queues.join("support", "+4930111", "a caller for support");
  assert.ok(ticket);
  await flush();
  failRing(new Error("no media"));
  await flush();
  await flush();
  ticket.leave();
  await flush();
  reg.move("registered", { status: 200, expiresS: 600 });
  health.record({ cpuLoadPct: 5, memUsedBytes: 95, memTotalBytes: 100, failures: [] });
  call.end();
  await flush();

  const byEvent = (name: string) => got.filter((e) => e.event === name).map((e) => e.data);
  assert.deepEqual(
    byEvent("call").map((d) => (d as { type: string }).type),
    ["started", "agent", "ended"],
  );
  assert.deepEqual(
    byEvent("queue").map((d) => {
      const [q] = (d as { queues: { waiting: unknown[]; members: { state: string }[] }[] }).queues;
      return [q?.waiting.length, q?.members[0]?.state];
    }),
    [
      [1, "ringing"],
      [1, "idle"],
      [0, "idle"],
    ],
    "join (member rung), ring failed, caller left",
  );
  assert.deepEqual(byEvent("trunk"), [{ id: "t1", state: "registered", detail: "200, expires in 600 s" }]);
  assert.deepEqual(
    byEvent("health").map((d) => (d as { warnings: string[] }).warnings),
    [["memory use above 90 %"]],
  );

  unwire();
  const before = got.length;
  registry.add(fakeCall("c2"));
  reg.move("failed", { retryInS: 10 });
  queues.join("support", "+4930222", "again");
  failRing(new Error("no media"));
  await flush();
  assert.equal(got.length, before, "unwired: nothing reaches the hub");
  queues.close();
  trunks.close();
});
