import assert from "node:assert/strict";
import { test } from "node:test";
import { silentLog } from "../ops/log.ts";
import { SipRequest, SipResponse, makeResponse } from "./message.ts";
import { TransactionLayer } from "./transactions.ts";
import type { SendTarget } from "./transport.ts";

const udp: SendTarget = { transport: "udp", address: "127.0.0.1", port: 9 };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function request(method: string, branch: string): SipRequest {
  const r = new SipRequest(method, "sip:x@127.0.0.1");
  r.add("via", `SIP/2.0/UDP 127.0.0.1:5060;branch=${branch}`)
    .add("from", "<sip:a@b>;tag=1")
    .add("to", "<sip:x@127.0.0.1>")
    .add("call-id", `c-${branch}`)
    .add("cseq", `1 ${method}`);
  return r;
}

function layer(t1 = 20) {
  const sent: Array<{ data: string; at: number }> = [];
  const l = new TransactionLayer(
    async (data) => {
      sent.push({ data, at: Date.now() });
    },
    { t1, t2: 80, t4: 100 },
    silentLog,
  );
  return { l, sent };
}

test("Timer A doubles and Timer B times out an unanswered INVITE at 64*T1", async (t) => {
  // A mocked clock: the schedule itself is under test, not how late a busy machine runs its timers.
  t.mock.timers.enable({ apis: ["setTimeout", "Date"], now: 1_000_000 });
  const { l, sent } = layer(20);
  let timedOut = 0;
  const t0 = Date.now();
  l.sendRequest(request("INVITE", "z9hG4bKa"), udp, {
    response: () => {},
    timeout: () => timedOut++,
    transportError: () => {},
  });
  for (let ms = 0; ms < 64 * 20 + 200; ms += 5) {
    t.mock.timers.tick(5);
    await Promise.resolve(); // let the async send of a retransmission record itself
  }
  assert.equal(timedOut, 1);
  // Sends at 0, 20, 60, 140, 300, 620, 1260 ms: 7 in 64*T1.
  assert.equal(sent.length, 7);
  const gaps = sent.slice(1).map((s, i) => s.at - sent[i].at);
  assert.ok(gaps[2] > gaps[0] * 2, `doubling: ${gaps}`);
  assert.ok(Date.now() - t0 >= 64 * 20);
  assert.equal(l.size.clients, 0);
});

test("Timer E caps at T2; a provisional keeps it at T2; a final stops it (non-INVITE)", async () => {
  const { l, sent } = layer(20);
  const req = request("OPTIONS", "z9hG4bKe");
  const got: number[] = [];
  l.sendRequest(req, udp, {
    response: (r) => got.push(r.status),
    timeout: () => got.push(-1),
    transportError: () => {},
  });
  await sleep(400);
  const gaps = sent.slice(1).map((s, i) => s.at - sent[i].at);
  assert.ok(
    gaps.every((g) => g <= 80 + 25),
    `capped at T2: ${gaps}`,
  );
  l.receiveResponse(makeResponse(req, 200));
  const n = sent.length;
  await sleep(200);
  assert.equal(sent.length, n, "no retransmission after the final response");
  assert.deepEqual(got, [200]);
  l.stop();
});

test("non-2xx final to INVITE: ACK from the transaction, retransmitted final re-ACKed, not passed up twice", async () => {
  const { l, sent } = layer(20);
  const req = request("INVITE", "z9hG4bKn");
  const got: number[] = [];
  l.sendRequest(req, udp, { response: (r) => got.push(r.status), timeout: () => {}, transportError: () => {} });
  const res = makeResponse(req, 486, undefined, "tt");
  l.receiveResponse(res);
  l.receiveResponse(res);
  await sleep(10);
  const acks = sent.filter((s) => s.data.startsWith("ACK "));
  assert.equal(acks.length, 2);
  assert.match(acks[0].data, /branch=z9hG4bKn/);
  assert.match(acks[0].data, /CSeq: 1 ACK/);
  assert.deepEqual(got, [486]);
  l.stop();
});

test("server: request retransmissions are absorbed and answered with the last response (Timer J)", async () => {
  const { l, sent } = layer(20);
  const req = request("BYE", "z9hG4bKs");
  const m = l.receiveRequest(req, udp);
  assert.equal(m.kind, "new");
  if (m.kind !== "new") return;
  m.tx.respond(m.tx.response(200));
  assert.equal(l.receiveRequest(request("BYE", "z9hG4bKs"), udp).kind, "retransmission");
  await sleep(5);
  assert.equal(sent.filter((s) => s.data.startsWith("SIP/2.0 200")).length, 2);
  await sleep(64 * 20 + 100);
  assert.equal(l.receiveRequest(request("BYE", "z9hG4bKs"), udp).kind, "new", "after Timer J the key is free");
  l.stop();
});

test("server INVITE: Timer G retransmits a non-2xx until ACK, 2xx until the dialog reports the ACK", async () => {
  const { l, sent } = layer(20);
  const inv = request("INVITE", "z9hG4bKg");
  const m = l.receiveRequest(inv, udp);
  if (m.kind !== "new") throw new Error("expected new");
  m.tx.toTag = "x";
  m.tx.respond(m.tx.response(486));
  await sleep(150);
  const before = sent.length;
  assert.ok(before >= 3, `retransmitted: ${before}`);
  assert.equal(l.receiveRequest(request("ACK", "z9hG4bKg"), udp).kind, "ack-absorbed");
  await sleep(150);
  assert.equal(sent.length, before, "stopped by ACK");

  const inv2 = request("INVITE", "z9hG4bKok");
  const m2 = l.receiveRequest(inv2, udp);
  if (m2.kind !== "new") throw new Error("expected new");
  let ackTimeout = 0;
  m2.tx.respond(m2.tx.response(200), () => ackTimeout++);
  await sleep(64 * 20 + 100);
  assert.equal(ackTimeout, 1, "Timer H equivalent for 2xx");
  assert.ok(sent.filter((s) => s.data.startsWith("SIP/2.0 200")).length >= 5);
  l.stop();
});

test("responses route by branch and method", () => {
  const { l } = layer();
  const req = request("OPTIONS", "z9hG4bKr");
  let n = 0;
  l.sendRequest(
    req,
    { ...udp, transport: "tcp" },
    { response: () => n++, timeout: () => {}, transportError: () => {} },
  );
  const other = new SipResponse(200, "OK");
  other.add("via", "SIP/2.0/UDP 127.0.0.1;branch=z9hG4bKother").add("cseq", "1 OPTIONS");
  assert.equal(l.receiveResponse(other), false);
  assert.equal(l.receiveResponse(makeResponse(req, 200)), true);
  assert.equal(n, 1);
  l.stop();
});
