// RFC 4475 torture messages against a live endpoint over UDP loopback: every invalid request gets its 4xx/505,
// invalid responses are dropped, valid requests are processed (INVITEs become calls), and OPTIONS still works
// after each one.
import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import { after, before, test } from "node:test";
import { SipRequest, parseMessage } from "./message.ts";
import { callIdOf, UdpPeer, liveEndpoint, options } from "./testkit.ts";
import { serverKey } from "./transactions.ts";

const dir = new URL("../../../shared/corpora/rfc4475/", import.meta.url);

/** Expected outcome per file (RFC 4475 and the corpus README). "call" = processed into a `call` event. */
const EXPECT: Record<string, number[] | "drop" | "call" | "call-or-400"> = {
  // Its To carries a tag, so it is a mid-dialog request for a dialog we do not have: processing it means 481.
  "wsinv.dat": [481],
  "intmeth.dat": [501, 405],
  "esc01.dat": "call",
  "escnull.dat": [405],
  "esc02.dat": [501, 405],
  "lwsdisp.dat": [200],
  "longreq.dat": "call",
  "dblreq.dat": [405],
  "semiuri.dat": [200],
  "transports.dat": [200],
  "mpart01.dat": [405],
  "unreason.dat": "drop",
  "noreason.dat": "drop",
  "badinv01.dat": [400],
  "clerr.dat": [400],
  "ncl.dat": [400],
  "scalar02.dat": [400],
  "scalarlg.dat": "drop",
  "quotbal.dat": [400],
  "ltgtruri.dat": [400],
  "lwsruri.dat": [400],
  "lwsstart.dat": [400],
  "trws.dat": [400],
  "escruri.dat": [400],
  "baddate.dat": "call-or-400",
  "regbadct.dat": [400],
  "badaspec.dat": [400],
  "baddn.dat": [400],
  "badvers.dat": [505],
  "mismatch01.dat": [400],
  "mismatch02.dat": [400],
  "bigcode.dat": "drop",
  "badbranch.dat": [200],
  "insuf.dat": [400],
  "unkscm.dat": [416],
  "novelsc.dat": [416],
  "unksm2.dat": [405],
  "bext01.dat": [420],
  "invut.dat": [415],
  "regaut01.dat": [405, 401, 403],
  "multi01.dat": [400],
  "mcl01.dat": [400],
  "bcast.dat": "drop",
  "zeromf.dat": [200],
  "cparam01.dat": [405],
  "cparam02.dat": [405],
  "regescrt.dat": [405],
  "sdp01.dat": [406],
  "inv2543.dat": "call",
};

let live: Awaited<ReturnType<typeof liveEndpoint>>;
const peer = new UdpPeer();
const calls: string[] = [];

before(async () => {
  live = await liveEndpoint();
  await peer.open();
  live.ep.on("call", (c) => {
    calls.push(c.info.callId);
    c.reject(486);
  });
});

after(async () => {
  peer.close();
  await live.ep.stop();
});

test("every RFC 4475 message gets the expected handling and the endpoint keeps answering", async () => {
  const files = readdirSync(dir).filter((f) => f.endsWith(".dat"));
  assert.equal(files.length, 49);
  const problems: string[] = [];
  // The corpus reuses branch z9hG4bKkdjuw with the same sent-by in several files: those are, correctly,
  // retransmissions of an earlier transaction, answered with that transaction's response.
  const seen = new Map<string, string>();
  let absorbed = 0;
  for (const f of files.sort()) {
    const expect = EXPECT[f];
    assert.ok(expect, `no expectation for ${f}`);
    const data = readFileSync(new URL(f, dir));
    const parsed = parseMessage(data, { stream: false });
    const key = parsed.ok && parsed.msg instanceof SipRequest ? serverKey(parsed.msg) : undefined;
    const earlier = key ? seen.get(key) : undefined;
    if (key && !earlier) seen.set(key, callIdOf(data.toString()) ?? "");
    if (earlier !== undefined) {
      const replies = await peer.exchange(data, live.udp, 800, earlier);
      if (!replies.some((r) => r.status >= 200)) problems.push(`${f}: retransmission not answered`);
      absorbed++;
      continue;
    }
    const before = calls.length;
    const replies = await peer.exchange(data, live.udp, expect === "drop" ? 300 : 800);
    const finals = replies.filter((r) => r.status >= 200).map((r) => r.status);
    const gotCall = calls.length > before;
    if (expect === "drop") {
      if (replies.length > 0) problems.push(`${f}: expected drop, got ${replies.map((r) => r.status)}`);
    } else if (expect === "call") {
      if (!gotCall) problems.push(`${f}: expected a call, got ${finals}`);
    } else if (expect === "call-or-400") {
      if (!gotCall && !finals.includes(400)) problems.push(`${f}: expected call or 400, got ${finals}`);
    } else if (!expect.includes(finals[0] ?? -1)) {
      problems.push(`${f}: expected ${expect}, got ${finals.length ? finals : "nothing"}`);
    }
    const ok = await peer.exchange(options(peer.port), live.udp);
    if (!ok.some((r) => r.status === 200)) problems.push(`${f}: OPTIONS afterwards not answered`);
  }
  assert.deepEqual(problems, []);
  assert.ok(absorbed >= 1 && absorbed <= 5, `absorbed ${absorbed}`);
  assert.ok(calls.length >= 3, `calls ${calls.length}`);
});

test("4xx to a malformed request names the problem in a Warning", async () => {
  const msg = readFileSync(new URL("mcl01.dat", dir));
  const replies = await peer.exchange(msg, live.udp);
  const r = replies.find((x) => x.status === 400);
  assert.ok(r);
  assert.match(r.text, /^Warning: 399 \S+ ".*Content-Length.*"/m);
});
