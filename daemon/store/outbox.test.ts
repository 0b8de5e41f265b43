import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { closeDb, openDb } from "./db.ts";
import { type ActionHandler, backoffDelay, Outbox, type OutboxItem, PermanentError, safeErrorText } from "./outbox.ts";
import { until } from "../media/testing.ts";

const dbFile = () => join(mkdtempSync(join(tmpdir(), "sb-outbox-")), "s.db");
const fast = { backoffBaseMs: 5, backoffCapMs: 20 };

/** Polls until cond holds; the bound only keeps a broken build from hanging the suite. */

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve = () => {};
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

test("the outbox migration applies once; the same idempotency key gives the same item, never a second one", () => {
  const file = dbFile();
  const db = openDb(file);
  assert.ok((db.pragma("user_version", { simple: true }) as number) >= 2);
  const outbox = new Outbox(db);
  const a = outbox.enqueue({ kind: "webhook", payload: { n: 1, text: "Grüße" }, idempotencyKey: "k1", callId: "c1" });
  const b = outbox.enqueue({ kind: "webhook", payload: { n: 2 }, idempotencyKey: "k1" });
  const c = outbox.enqueue({ kind: "mail", payload: [], idempotencyKey: "k2" });
  assert.equal(a, b);
  assert.notEqual(a, c);
  const item = outbox.get(a);
  assert.ok(item);
  assert.deepEqual(item.payload, { n: 1, text: "Grüße" }, "the first payload stays");
  assert.equal(item.state, "pending");
  assert.equal(item.attempts, 0);
  assert.equal(item.callId, "c1");
  assert.deepEqual(
    outbox.list().map((i) => i.id),
    [c, a],
  );
  assert.deepEqual(
    outbox.list({ callId: "c1" }).map((i) => i.id),
    [a],
  );
  assert.equal(outbox.list({ state: "dead" }).length, 0);
  assert.throws(() => outbox.enqueue({ kind: "mail", payload: undefined, idempotencyKey: "k3" }), /not JSON/);
  assert.throws(() => outbox.enqueue({ kind: "mail", payload: {}, idempotencyKey: "" }), /idempotency key/);
  assert.throws(
    () => outbox.enqueue({ kind: "mail", payload: {}, idempotencyKey: "k4", maxAttempts: 0 }),
    /maxAttempts/,
  );
  assert.throws(() => new Outbox(db, { backoffBaseMs: 100, backoffCapMs: 10 }), /backoffCapMs/);
  closeDb(db);
  const again = openDb(file);
  assert.equal(new Outbox(again).list().length, 2);
  closeDb(again);
});

test("a failing handler is retried with backoff until it succeeds; the key is the same on every attempt", async () => {
  const db = openDb(dbFile());
  const outbox = new Outbox(db, fast);
  const seen: OutboxItem[] = [];
  outbox.register("webhook", async (item) => {
    seen.push(item);
    if (seen.length < 3) throw new Error(`HTTP 503 from https://crm.example/hook?token=abc${seen.length}`);
  });
  outbox.start();
  const id = outbox.enqueue({ kind: "webhook", payload: {}, idempotencyKey: "ticket:1" });
  await until(() => outbox.get(id)?.state === "delivered", "delivery");
  await outbox.stop();
  const item = outbox.get(id)!;
  assert.equal(item.attempts, 3);
  assert.deepEqual(
    seen.map((s) => [s.attempts, s.idempotencyKey, s.state]),
    [
      [1, "ticket:1", "delivering"],
      [2, "ticket:1", "delivering"],
      [3, "ticket:1", "delivering"],
    ],
  );
  assert.equal(item.lastError, "HTTP 503 from https://crm.example/hook", "the last failure stays, without the token");
  assert.ok(item.deliveredAt);
  closeDb(db);
});

test("a permanent error is a dead letter at once; retryDead sends it round again", async () => {
  const db = openDb(dbFile());
  const outbox = new Outbox(db, fast);
  let accept = false;
  let calls = 0;
  outbox.register("webhook", async () => {
    calls++;
    if (!accept) throw new PermanentError("HTTP 400 from https://crm.example/hook");
  });
  outbox.start();
  const id = outbox.enqueue({ kind: "webhook", payload: {}, idempotencyKey: "k" });
  assert.equal(await outbox.waitFor(id, 10_000), "failed");
  const dead = outbox.get(id)!;
  assert.equal(dead.state, "dead");
  assert.equal(dead.attempts, 1);
  assert.match(dead.lastError ?? "", /HTTP 400/);
  assert.deepEqual(
    outbox.list({ state: "dead" }).map((i) => i.id),
    [id],
  );
  assert.equal(outbox.retryDead(id + 1000), false);
  accept = true;
  assert.equal(outbox.retryDead(id), true);
  assert.equal(await outbox.waitFor(id, 10_000), "delivered");
  assert.equal(outbox.retryDead(id), false, "only dead letters go back");
  assert.equal(calls, 2);
  await outbox.stop();
  closeDb(db);
});

test("maxAttempts exhausted is a dead letter; waitFor reports failed after the first failed attempt", async () => {
  const db = openDb(dbFile());
  const outbox = new Outbox(db, { ...fast, maxAttempts: 3 });
  let calls = 0;
  outbox.register("webhook", async () => {
    calls++;
    throw new Error("connection refused");
  });
  outbox.start();
  const id = outbox.enqueue({ kind: "webhook", payload: {}, idempotencyKey: "k" });
  const one = outbox.enqueue({ kind: "webhook", payload: {}, idempotencyKey: "k1", maxAttempts: 1 });
  assert.equal(await outbox.waitFor(id, 10_000), "failed");
  await until(() => outbox.get(id)?.state === "dead" && outbox.get(one)?.state === "dead", "dead letters");
  await outbox.stop();
  assert.equal(outbox.get(id)!.attempts, 3);
  assert.equal(outbox.get(one)!.attempts, 1);
  assert.equal(calls, 4);
  closeDb(db);
});

test("waitFor says pending while the first attempt has no result, and delivered once it has", async () => {
  const db = openDb(dbFile());
  const outbox = new Outbox(db, fast);
  const gate = deferred();
  outbox.register("webhook", () => gate.promise);
  outbox.start();
  const id = outbox.enqueue({ kind: "webhook", payload: {}, idempotencyKey: "k" });
  await until(() => outbox.get(id)?.state === "delivering", "the attempt to start");
  assert.equal(await outbox.waitFor(id, 30), "pending");
  const waiting = outbox.waitFor(id, 10_000);
  gate.resolve();
  assert.equal(await waiting, "delivered");
  assert.equal(await outbox.waitFor(id, 0), "delivered");
  await assert.rejects(outbox.waitFor(id + 1000, 10), /no item/);
  await outbox.stop();
  closeDb(db);
});

test("an item left delivering by a crash is attempted again after a restart on the same file", async () => {
  const file = dbFile();
  const crashed = openDb(file);
  const first = new Outbox(crashed, fast);
  const hang = deferred();
  first.register("webhook", () => hang.promise);
  first.start();
  const id = first.enqueue({ kind: "webhook", payload: { n: 1 }, idempotencyKey: "k" });
  await until(() => first.get(id)?.state === "delivering", "the attempt to start");
  // The "crashed" process never finishes its attempt; a new process opens the same file.
  const db = openDb(file);
  const second = new Outbox(db, fast);
  const seen: OutboxItem[] = [];
  second.register("webhook", async (item) => {
    seen.push(item);
  });
  second.start();
  await until(() => second.get(id)?.state === "delivered", "the delivery after the restart");
  await second.stop();
  assert.equal(seen.length, 1);
  assert.deepEqual(seen[0].payload, { n: 1 });
  assert.equal(seen[0].attempts, 2, "the interrupted attempt counts");
  assert.match(second.get(id)!.lastError ?? "", /interrupted by a restart during attempt 1/);
  hang.resolve();
  await first.stop();
  closeDb(db);
  closeDb(crashed);
});

test("stop waits for the attempt in flight and starts no new one", async () => {
  const db = openDb(dbFile());
  const outbox = new Outbox(db, { ...fast, concurrency: 1 });
  const gate = deferred();
  let calls = 0;
  outbox.register("webhook", () => {
    calls++;
    return gate.promise;
  });
  outbox.start();
  const a = outbox.enqueue({ kind: "webhook", payload: {}, idempotencyKey: "a" });
  const b = outbox.enqueue({ kind: "webhook", payload: {}, idempotencyKey: "b" });
  await until(() => calls === 1, "the first attempt");
  let stopped = false;
  const stopping = outbox.stop().then(() => {
    stopped = true;
  });
  await sleep(20);
  assert.equal(stopped, false);
  gate.resolve();
  await stopping;
  assert.equal(outbox.get(a)!.state, "delivered");
  await sleep(20);
  assert.equal(outbox.get(b)!.state, "pending");
  assert.equal(calls, 1);
  closeDb(db);
});

test("an attempt that never answers fails after attemptTimeoutMs and its signal aborts", async () => {
  const db = openDb(dbFile());
  const outbox = new Outbox(db, { ...fast, attemptTimeoutMs: 30, maxAttempts: 1 });
  let signal: AbortSignal | undefined;
  const never: ActionHandler = (_item, s) => {
    signal = s;
    return new Promise(() => {});
  };
  outbox.register("webhook", never);
  outbox.start();
  const id = outbox.enqueue({ kind: "webhook", payload: {}, idempotencyKey: "k" });
  assert.equal(await outbox.waitFor(id, 10_000), "failed");
  await outbox.stop();
  assert.equal(signal?.aborted, true);
  assert.match(outbox.get(id)!.lastError ?? "", /no result within 30 ms/);
  closeDb(db);
});

test("items of a kind without a handler wait until one is registered; attempts respect concurrency", async () => {
  const db = openDb(dbFile());
  const outbox = new Outbox(db, { ...fast, concurrency: 2 });
  outbox.start();
  const ids = Array.from({ length: 12 }, (_, i) =>
    outbox.enqueue({ kind: "mail", payload: i, idempotencyKey: `${i}` }),
  );
  await sleep(30);
  assert.equal(outbox.list({ state: "pending" }).length, 12);
  let running = 0;
  let most = 0;
  outbox.register("mail", async () => {
    running++;
    most = Math.max(most, running);
    await sleep(2);
    running--;
  });
  await until(() => outbox.list({ state: "delivered" }).length === 12, "all deliveries");
  await outbox.stop();
  assert.equal(most, 2);
  assert.ok(ids.every((id) => outbox.get(id)!.attempts === 1));
  assert.equal(outbox.deleteDelivered(Date.now() + 1), 12);
  closeDb(db);
});

test("backoff doubles per failure, is capped, and its jitter keeps at least half the delay", () => {
  assert.equal(
    backoffDelay(1, 1000, 60_000, () => 0),
    500,
  );
  assert.equal(
    backoffDelay(1, 1000, 60_000, () => 0.999999),
    1000,
  );
  assert.equal(
    backoffDelay(3, 1000, 60_000, () => 0),
    2000,
  );
  assert.equal(
    backoffDelay(3, 1000, 60_000, () => 0.5),
    3000,
  );
  assert.equal(
    backoffDelay(30, 1000, 60_000, () => 0),
    30_000,
  );
  assert.equal(
    backoffDelay(5000, 1000, 60_000, () => 0.999999),
    60_000,
  );
});

test("error text for the store keeps the reason and drops credentials, tokens and stacks", () => {
  assert.equal(
    safeErrorText(new Error("POST https://bob:hunter2@crm.example/a/b?api_key=XYZ failed: 502")),
    "POST https://crm.example/a/b failed: 502",
  );
  assert.equal(safeErrorText(new Error("login failed, password=hunter2")), "login failed, password=[redacted]");
  assert.equal(safeErrorText("plain"), "plain");
  assert.ok(safeErrorText(new Error("x".repeat(2000))).length <= 500);
  assert.doesNotMatch(safeErrorText(new Error("boom")), /at /);
});
