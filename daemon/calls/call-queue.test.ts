import assert from "node:assert/strict";
import { test } from "node:test";
import type { QueueConfig, QueueMember } from "../flow/queues.ts";
import { type Answered, CallQueue, memberKey, type QueueEntry } from "./call-queue.ts";

const cfg = (over: Partial<QueueConfig> = {}): QueueConfig => ({
  id: "support",
  members: [{ sip: "sip:a@h" }, { sip: "sip:b@h" }],
  strategy: "ringall",
  ringTimeoutS: 5,
  wrapUpS: 0,
  announceEveryS: 30,
  callbackAfterS: 60,
  maxWaitS: 60,
  maxWaiting: 5,
  ...over,
});

/** Members that answer when the test says so; every ring is logged. */
function switchboard() {
  const rings: { member: string; entry: string }[] = [];
  const pending = new Map<string, { answer(): void; signal: AbortSignal }>();
  const calls = new Map<string, () => void>();
  const dropped: string[] = [];
  const callbacks: { entry: QueueEntry; member: string }[] = [];
  const ring = (member: QueueMember, entry: QueueEntry, signal: AbortSignal) =>
    new Promise<Answered<string> | undefined>((resolve) => {
      const key = memberKey(member);
      rings.push({ member: key, entry: entry.id });
      if (signal.aborted) return resolve(undefined);
      signal.addEventListener("abort", () => resolve(undefined), { once: true });
      pending.set(key, {
        signal,
        answer: () => {
          const ended = new Promise<void>((r) => calls.set(key, r));
          resolve({ leg: key, ended });
        },
      });
    });
  return { rings, pending, calls, dropped, callbacks, ring };
}

const tick = () => new Promise((r) => setTimeout(r, 5));

test("ring-all: every free member rings for the head; the first to answer takes it and the others stop", async () => {
  const s = switchboard();
  const q = new CallQueue<string>(cfg(), {
    ring: s.ring,
    drop: (a) => s.dropped.push(a.leg),
    callback: () => undefined,
  });
  const t = q.join("+4930111", "Anruf von 111");
  assert.ok(t);
  assert.equal(t.position(), 1);
  await tick();
  assert.deepEqual(
    s.rings.map((r) => r.member),
    ["sip:a@h", "sip:b@h"],
  );
  s.pending.get("sip:b@h")?.answer();
  const o = await t.done;
  assert.equal(o.kind, "connected");
  assert.equal(o.kind === "connected" && o.answered.leg, "sip:b@h");
  assert.equal(s.pending.get("sip:a@h")?.signal.aborted, true);
  assert.equal(t.position(), 0);
  assert.deepEqual(
    q.snapshot().members.map((m) => m.state),
    ["idle", "busy"],
  );
  q.close();
});

test("first come, first served: the second caller waits at position 2 and moves up when the first is taken", async () => {
  const s = switchboard();
  const q = new CallQueue<string>(cfg({ members: [{ sip: "sip:a@h" }] }), {
    ring: s.ring,
    drop: () => undefined,
    callback: () => undefined,
  });
  const first = q.join("111", "w1");
  const second = q.join("222", "w2");
  assert.ok(first && second);
  await tick();
  assert.equal(second.position(), 2);
  assert.deepEqual(
    s.rings.map((r) => r.entry),
    [first.entry.id],
  );
  s.pending.get("sip:a@h")?.answer();
  assert.equal((await first.done).kind, "connected");
  assert.equal(second.position(), 1);
  // The member is busy until their call ends; then the second caller is offered to them.
  await tick();
  assert.equal(s.rings.length, 1);
  s.calls.get("sip:a@h")?.();
  await tick();
  assert.deepEqual(
    s.rings.map((r) => r.entry),
    [first.entry.id, second.entry.id],
  );
  q.close();
  assert.equal((await second.done).kind, "left");
});

test("round robin rings one member at a time, in turn", async () => {
  const s = switchboard();
  const q = new CallQueue<string>(cfg({ strategy: "roundrobin", members: [{ sip: "sip:a@h" }, { sip: "sip:b@h" }] }), {
    ring: s.ring,
    drop: () => undefined,
    callback: () => undefined,
  });
  const t1 = q.join("111", "w1");
  const t2 = q.join("222", "w2");
  assert.ok(t1 && t2);
  await tick();
  // Two callers, two free members: each caller rings one member.
  assert.deepEqual(
    s.rings.map((r) => `${r.entry}>${r.member}`),
    [`${t1.entry.id}>sip:a@h`, `${t2.entry.id}>sip:b@h`],
  );
  q.close();
});

test("a full queue refuses, a caller who hangs up leaves and stops the ringing, the wait times out", async () => {
  const s = switchboard();
  const q = new CallQueue<string>(cfg({ maxWaiting: 1, maxWaitS: 0.05 }), {
    ring: s.ring,
    drop: () => undefined,
    callback: () => undefined,
  });
  const t = q.join("111", "w");
  assert.ok(t);
  assert.equal(q.join("222", "w"), undefined);
  await tick();
  assert.equal((await t.done).kind, "timeout");
  assert.equal(s.pending.get("sip:a@h")?.signal.aborted, true);
  const t2 = q.join("333", "w");
  assert.ok(t2);
  t2.leave();
  assert.equal((await t2.done).kind, "left");
  assert.equal(q.size, 0);
  q.close();
});

test("a call back keeps the place: when a member answers, the queue hands both to the callback", async () => {
  const s = switchboard();
  const q = new CallQueue<string>(cfg({ members: [{ sip: "sip:a@h" }], maxWaitS: 0.05 }), {
    ring: s.ring,
    drop: () => undefined,
    callback: (entry, a) => s.callbacks.push({ entry, member: a.leg }),
  });
  // The member is on another call when the caller chooses the call back.
  const busy = q.join("000", "w0");
  assert.ok(busy);
  await tick();
  s.pending.get("sip:a@h")?.answer();
  await busy.done;
  const t = q.join("+4917612345", "w");
  assert.ok(t);
  t.callback("+4917612345");
  assert.equal((await t.done).kind, "callback");
  await new Promise((r) => setTimeout(r, 80)); // longer than maxWaitS: a call back does not time out
  assert.equal(q.snapshot().waiting[0]?.callback, true);
  s.calls.get("sip:a@h")?.();
  await tick();
  s.pending.get("sip:a@h")?.answer();
  await tick();
  assert.equal(s.callbacks.length, 1);
  assert.equal(s.callbacks[0]?.entry.callbackTo, "+4917612345");
  q.close();
});

test("an answer that comes after the caller left is dropped, and a reload keeps a busy member busy", async () => {
  const s = switchboard();
  let answerLate: (() => void) | undefined;
  const q = new CallQueue<string>(cfg({ members: [{ sip: "sip:a@h" }] }), {
    ring: (_m, _e, _signal) =>
      new Promise((resolve) => {
        answerLate = () => resolve({ leg: "late", ended: Promise.resolve() });
      }),
    drop: (a) => s.dropped.push(a.leg),
    callback: () => undefined,
  });
  const t = q.join("111", "w");
  assert.ok(t);
  t.leave();
  answerLate?.();
  await tick();
  assert.deepEqual(s.dropped, ["late"]);
  q.close();

  const s2 = switchboard();
  const q2 = new CallQueue<string>(cfg({ members: [{ sip: "sip:a@h" }] }), {
    ring: s2.ring,
    drop: () => undefined,
    callback: () => undefined,
  });
  const t2 = q2.join("111", "w");
  await tick();
  s2.pending.get("sip:a@h")?.answer();
  await t2?.done;
  q2.configure(cfg({ members: [{ sip: "sip:a@h" }, { sip: "sip:c@h" }] }));
  assert.deepEqual(q2.snapshot().members, [
    { member: "sip:a@h", state: "busy" },
    { member: "sip:c@h", state: "idle" },
  ]);
  q2.close();
});
