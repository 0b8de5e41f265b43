// The SIP endpoint against a real peer: sipp as caller (UDP, TCP, 10 % loss, 50 concurrent) and as callee.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { sipSchema } from "../daemon/config/schema.ts";
import { silentLog } from "../daemon/ops/log.ts";
import { SipEndpoint } from "../daemon/sip/endpoint.ts";
import type { InboundCall, LegEndCause } from "../daemon/sip/types.ts";
import { describe, freePort, runSipp, sippSkipReason, startSipp } from "./peers/sipp.ts";

const skip = sippSkipReason();

const ANSWER = [
  "v=0",
  "o=switchboard 1 1 IN IP4 127.0.0.1",
  "s=-",
  "c=IN IP4 127.0.0.1",
  "t=0 0",
  "m=audio 9 RTP/AVP 0",
  "a=rtpmap:0 PCMU/8000",
  "",
].join("\r\n");

interface Harness {
  ep: SipEndpoint;
  udp: number;
  tcp: number;
  answered: number;
  ended: LegEndCause[];
  maxConcurrent: number;
}

async function startEndpoint(t1Ms = 500): Promise<Harness> {
  const sip = sipSchema.parse({
    listen: [
      { transport: "udp", address: "127.0.0.1", port: 0 },
      { transport: "tcp", address: "127.0.0.1", port: 0 },
    ],
    timers: { t1Ms, t2Ms: 4000, t4Ms: 5000 },
  });
  const ep = new SipEndpoint({ sip, trunks: [], log: silentLog });
  const bound = await ep.start();
  const h: Harness = {
    ep,
    udp: bound.find((b) => b.transport === "udp")?.port ?? 0,
    tcp: bound.find((b) => b.transport === "tcp")?.port ?? 0,
    answered: 0,
    ended: [],
    maxConcurrent: 0,
  };
  let live = 0;
  // The tiny consumer: ring, answer with a static SDP (media is not under test), count.
  ep.on("call", (call: InboundCall) => {
    live++;
    h.maxConcurrent = Math.max(h.maxConcurrent, live);
    call.on("ended", (cause) => {
      live--;
      h.ended.push(cause);
    });
    call.progress({ code: 180 });
    call.accept(ANSWER).then(
      () => h.answered++,
      () => {},
    );
  });
  return h;
}

let h: Harness;
before(async () => {
  if (!skip) h = await startEndpoint();
});
after(async () => {
  await h?.ep.stop();
});

test("sipp uac over UDP: 5 calls", { skip, timeout: 60_000 }, async () => {
  const before = h.answered;
  const r = await runSipp(
    ["-sn", "uac", `127.0.0.1:${h.udp}`, "-m", "5", "-r", "5", "-timeout", "30s", "-timeout_error"],
    {
      timeoutMs: 40_000,
    },
  );
  assert.equal(r.code, 0, describe(r));
  assert.equal(r.stats?.successful, 5, describe(r));
  assert.equal(r.stats?.failed, 0);
  assert.equal(h.answered - before, 5);
});

test("sipp uac over TCP: 5 calls", { skip, timeout: 60_000 }, async () => {
  const before = h.answered;
  const r = await runSipp(
    ["-sn", "uac", `127.0.0.1:${h.tcp}`, "-t", "t1", "-m", "5", "-r", "5", "-timeout", "30s", "-timeout_error"],
    { timeoutMs: 40_000 },
  );
  assert.equal(r.code, 0, describe(r));
  assert.equal(r.stats?.successful, 5, describe(r));
  assert.equal(h.answered - before, 5);
});

test("sipp uac with 10 % packet loss: 20 of 20 calls", { skip, timeout: 150_000 }, async (t) => {
  const txBefore = { ...h.ep.stats.transactions };
  const r = await runSipp(
    ["-sn", "uac", `127.0.0.1:${h.udp}`, "-lost", "10", "-m", "20", "-r", "10", "-timeout", "120s", "-timeout_error"],
    { timeoutMs: 130_000 },
  );
  assert.equal(r.code, 0, describe(r));
  assert.equal(r.stats?.successful, 20, describe(r));
  const tx = h.ep.stats.transactions;
  const ours = tx.retransmittedResponses - txBefore.retransmittedResponses;
  const absorbed = tx.absorbedRequests - txBefore.absorbedRequests;
  // With 10 % loss each way over 20 calls, both sides must have retransmitted something.
  assert.ok((r.stats?.retransmissions ?? 0) + ours > 0, "no retransmissions at all under loss");
  t.diagnostic(`sipp retransmissions=${r.stats?.retransmissions} ours=${ours} absorbed=${absorbed}`);
});

test("sipp uac 50 concurrent calls", { skip, timeout: 90_000 }, async (t) => {
  const before = h.answered;
  h.maxConcurrent = 0;
  const r = await runSipp(
    [
      "-sn",
      "uac",
      `127.0.0.1:${h.udp}`,
      "-l",
      "50",
      "-m",
      "50",
      "-r",
      "50",
      "-d",
      "2000",
      "-timeout",
      "60s",
      "-timeout_error",
    ],
    { timeoutMs: 70_000 },
  );
  assert.equal(r.code, 0, describe(r));
  assert.equal(r.stats?.successful, 50, describe(r));
  assert.equal(h.answered - before, 50);
  assert.ok(h.maxConcurrent >= 25, `calls overlapped: max ${h.maxConcurrent}`);
  t.diagnostic(`max ${h.maxConcurrent} simultaneous calls`);
});

test("endpoint.invite to sipp uas: answered, our BYE gets 200", { skip, timeout: 60_000 }, async () => {
  const port = await freePort();
  const uas = startSipp(["-sn", "uas", "-i", "127.0.0.1", "-p", String(port), "-m", "1", "-timeout", "30s"], {
    timeoutMs: 40_000,
  });
  try {
    await new Promise((r) => setTimeout(r, 500)); // sipp binding its socket
    const call = h.ep.invite({ target: `sip:service@127.0.0.1:${port}`, sdp: ANSWER, ringTimeoutMs: 10_000 });
    const ended = new Promise<LegEndCause>((resolve) => call.once("ended", resolve));
    const { sdp } = await call.answered;
    assert.equal(call.state, "confirmed");
    assert.match(sdp ?? "", /m=audio/);
    await call.hangup();
    assert.deepEqual(await ended, { by: "local", reason: "hangup" });
    assert.equal(call.signal.aborted, true);
    const r = await uas.done;
    assert.equal(r.code, 0, describe(r));
    assert.equal(r.stats?.successful, 1, describe(r));
  } finally {
    uas.kill();
  }
});
