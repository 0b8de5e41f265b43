import assert from "node:assert/strict";
import { test } from "node:test";
import { DigitQueue } from "./digit-queue.ts";

test("digits typed ahead are returned in order, a waiting reader gets the next digit", async () => {
  const q = new DigitQueue();
  q.push("1");
  q.push("2");
  assert.equal(await q.next(10), "1");
  assert.equal(await q.next(10), "2");
  const p = q.next(1000);
  q.push("#");
  assert.equal(await p, "#");
});

test("timeout and abort resolve undefined and leave later digits queued", async () => {
  const q = new DigitQueue();
  assert.equal(await q.next(5), undefined);
  const ac = new AbortController();
  const p = q.next(10_000, ac.signal);
  ac.abort();
  assert.equal(await p, undefined);
  q.push("5");
  assert.equal(q.pending, 1);
  q.clear();
  assert.equal(q.pending, 0);
});
