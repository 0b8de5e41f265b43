// Two live endpoints on loopback calling each other: UAC and UAS behaviour end to end.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { trunkSchema } from "../config/schema.ts";
import type { Dialog } from "./dialog.ts";
import { digestResponse, parseChallenge, parseAuthParams } from "./digest.ts";
import { CallFailedError } from "./endpoint.ts";
import type { SipStack } from "./stack.ts";
import { UdpPeer, callIdOf, liveEndpoint } from "./testkit.ts";
import type { InboundCall, LegEndCause } from "./types.ts";

const SDP = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 9 RTP/AVP 0\r\n";
let a: Awaited<ReturnType<typeof liveEndpoint>>;
let b: Awaited<ReturnType<typeof liveEndpoint>>;
let onCall: (c: InboundCall) => void = () => {};

before(async () => {
  a = await liveEndpoint();
  b = await liveEndpoint();
  b.ep.on("call", (c) => onCall(c));
});
after(async () => {
  await a.ep.stop();
  await b.ep.stop();
});

/** Send an in-dialog request from a leg (the public API has no INFO/re-INVITE sender; calls/ does not need one). */
async function sendInDialog(legObj: unknown, method: string, body: string, contentType: string): Promise<number> {
  const leg = legObj as {
    dialog: Dialog;
    stack: SipStack;
  };
  const { req, hop } = leg.dialog.build(leg.stack, method, { contact: method === "INVITE" });
  req.add("content-type", contentType);
  req.body = body;
  const target = await leg.dialog.target(leg.stack, hop);
  return await new Promise<number>((resolve) => {
    leg.stack.sendRequest(req, target, {
      response: (r) => {
        if (r.status >= 200) resolve(r.status);
      },
      timeout: () => resolve(408),
      transportError: () => resolve(503),
    });
  });
}

const nextCall = () =>
  new Promise<InboundCall>((resolve) => {
    onCall = resolve;
  });
const ended = (x: { once(e: "ended", f: (c: LegEndCause) => void): unknown }) =>
  new Promise<LegEndCause>((resolve) => x.once("ended", resolve));

test("call with DID, early media, answer, INFO DTMF, re-INVITE 488 without responder, BYE", async () => {
  const incoming = nextCall();
  const out = a.ep.invite({
    target: `sip:+4930123@127.0.0.1:${b.udp}`,
    sdp: SDP,
    callerId: "555",
    displayName: "Front, Desk",
  });
  const call = await incoming;
  assert.equal(call.info.did, "+4930123");
  assert.equal(call.info.fromUser, "555");
  assert.equal(call.info.fromDisplayName, "Front, Desk");
  assert.equal(call.remoteSdp, SDP);
  call.progress({ code: 183, sdp: SDP });
  const accepted = call.accept(SDP);
  const { sdp } = await out.answered;
  await accepted;
  assert.equal(sdp, SDP);
  assert.equal(call.state, "confirmed");
  assert.equal(out.state, "confirmed");

  const digits: string[] = [];
  call.on("infoDtmf", (d, ms) => digits.push(`${d}:${ms}`));
  assert.equal(await sendInDialog(out, "INFO", "Signal=5\r\nDuration=160\r\n", "application/dtmf-relay"), 200);
  assert.equal(await sendInDialog(out, "INFO", "#", "application/dtmf"), 200);
  assert.equal(await sendInDialog(out, "INFO", "<xml/>", "application/xml"), 415);
  assert.deepEqual(digits, ["5:160", "#:250"]);
  // No responder on the callee yet: a re-INVITE is refused with 488 and the call stays up.
  assert.equal(await sendInDialog(out, "INVITE", SDP, "application/sdp"), 488);
  assert.equal(call.state, "confirmed");
  const outEnded = ended(out);
  const inEnded = ended(call);
  await call.hangup();
  assert.deepEqual(await outEnded, { by: "remote", reason: "bye" });
  assert.deepEqual(await inEnded, { by: "local", reason: "hangup" });
  assert.equal(out.signal.aborted, true);
});

test("caller CANCEL while ringing: callee ends with remote cancel, caller's answered rejects", async () => {
  const incoming = nextCall();
  const out = a.ep.invite({ target: `sip:100@127.0.0.1:${b.udp}`, sdp: SDP });
  const call = await incoming;
  call.progress();
  await new Promise((r) => setTimeout(r, 50));
  const inEnded = ended(call);
  await out.hangup();
  assert.deepEqual(await inEnded, { by: "remote", reason: "cancel" });
  await assert.rejects(out.answered, (e: unknown) => e instanceof CallFailedError && e.endCause.by === "local");
});

test("ring timeout CANCELs; reject gives the caller a failure with the status", async () => {
  const incoming = nextCall();
  const out = a.ep.invite({ target: `sip:101@127.0.0.1:${b.udp}`, sdp: SDP, ringTimeoutMs: 150 });
  (await incoming).progress();
  assert.deepEqual(await ended(out), { by: "failure", reason: "timeout", text: "ring timeout" });

  const incoming2 = nextCall();
  const out2 = a.ep.invite({ target: `sip:102@127.0.0.1:${b.udp}`, sdp: SDP });
  (await incoming2).reject(486);
  const cause = await ended(out2);
  assert.equal(cause.by, "failure");
  assert.equal(cause.by === "failure" && cause.status, 486);
});

test("re-INVITE goes through the SdpResponder; null answer gives 488 and the call stays up", async () => {
  const incoming = nextCall();
  const out = a.ep.invite({ target: `sip:103@127.0.0.1:${b.udp}`, sdp: SDP });
  const call = await incoming;
  await Promise.all([call.accept(SDP), out.answered]);
  // Drive a re-INVITE from b's side towards a (a has no responder yet → 488).
  const offers: string[] = [];
  out.setSdpResponder({
    answer: (o) => {
      offers.push(o);
      return offers.length === 1 ? null : SDP.replace("1 1", "1 2");
    },
    offer: () => SDP,
    applyAnswer: () => true,
  });
  const send = () => sendInDialog(call, "INVITE", SDP, "application/sdp");
  assert.equal(await send(), 488);
  assert.equal(out.state, "confirmed");
  assert.equal(await send(), 200);
  assert.equal(offers.length, 2);
  await out.hangup();
  assert.equal(call.state, "ended");
});

test("INVITE through a trunk: 407 with SHA-256 is answered with the trunk credentials", async () => {
  const peer = new UdpPeer();
  const port = await peer.open();
  const trunk = trunkSchema.parse({
    id: "t",
    domain: "example.test",
    registrar: `sip:127.0.0.1:${port}`,
    username: "acct",
    authUsername: "authuser",
    password: "pw",
    register: false,
  });
  const ep = await liveEndpoint({ trunks: [trunk] });
  try {
    const out = ep.ep.invite({ target: "+49 30 555", trunkId: "t", sdp: SDP });
    const waitFor = async (n: number) => {
      for (let i = 0; i < 100 && peer.received.filter((t) => t.startsWith("INVITE ")).length < n; i++) {
        await new Promise((r) => setTimeout(r, 20));
      }
      return peer.received.filter((t) => t.startsWith("INVITE "))[n - 1];
    };
    const first = await waitFor(1);
    assert.ok(first);
    assert.match(first, /^INVITE sip:\+4930555@example\.test SIP\/2\.0/);
    const hdr = (t: string, h: string) => new RegExp(`^${h}: (.*)$`, "im").exec(t)?.[1] ?? "";
    const challenge = 'Digest realm="example.test", nonce="abc123", qop="auth", algorithm=SHA-256';
    const reply = (req: string, status: string, extra: string[]) =>
      [
        `SIP/2.0 ${status}`,
        ...req.split("\r\n").filter((l) => /^(Via|From|Call-ID|CSeq):/i.test(l)),
        `To: ${hdr(req, "To")};tag=peer`,
        ...extra,
        "Content-Length: 0",
        "",
        "",
      ].join("\r\n");
    peer.send(reply(first, "407 Proxy Authentication Required", [`Proxy-Authenticate: ${challenge}`]), ep.udp);
    const second = await waitFor(2);
    assert.ok(second, "INVITE retried");
    assert.equal(callIdOf(second), callIdOf(first));
    assert.match(hdr(second, "CSeq"), /^2 INVITE$/);
    const auth = hdr(second, "Proxy-Authorization");
    const p = parseAuthParams(auth.replace(/^Digest\s+/, ""));
    assert.equal(p.get("username"), "authuser");
    assert.equal(p.get("algorithm"), "SHA-256");
    const c = parseChallenge(challenge, true);
    assert.ok(c);
    const expected = digestResponse(
      c,
      { username: "authuser", password: "pw", method: "INVITE", uri: p.get("uri") ?? "" },
      "auth",
      p.get("cnonce") ?? "",
      p.get("nc") ?? "",
    );
    assert.equal(p.get("response"), expected);
    peer.send(reply(second, "486 Busy Here", []), ep.udp);
    const cause = await ended(out);
    assert.equal(cause.by === "failure" && cause.status, 486);
  } finally {
    peer.close();
    await ep.ep.stop();
  }
});

test("setAccepting(false) gives 503; stop() rejects a pending call with 503", async () => {
  b.ep.setAccepting(false);
  const out = a.ep.invite({ target: `sip:104@127.0.0.1:${b.udp}`, sdp: SDP });
  const c = await ended(out);
  assert.equal(c.by === "failure" && c.status, 503);
  b.ep.setAccepting(true);

  const c2 = await liveEndpoint();
  let pending: InboundCall | undefined;
  c2.ep.on("call", (x) => {
    pending = x;
  });
  const out2 = a.ep.invite({ target: `sip:105@127.0.0.1:${c2.udp}`, sdp: SDP });
  const out2Ended = ended(out2);
  for (let i = 0; i < 200 && !pending; i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(pending, "call arrived");
  await c2.ep.stop();
  const cause = await out2Ended;
  assert.equal(cause.by === "failure" && cause.status, 503);
  assert.equal(pending.state, "ended");
});
