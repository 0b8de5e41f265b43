// Blind transfer by REFER: the sipfrag parser, the Refer-To rule, and the REFER/NOTIFY exchange against a scripted
// raw UDP peer that calls the endpoint (and against sipp when it is installed).
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { runSipp, scenario, sippDetail, skipUnlessPeers, stopAll } from "../../test/peers/daemon.ts";
import { parseSipfrag, referPeerUri, referTargetUri } from "./refer.ts";
import { UdpPeer, callIdOf, liveEndpoint, statusOf } from "./testkit.ts";
import type { InboundCall, LegEndCause, ReferResult } from "./types.ts";

const SDP = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 9 RTP/AVP 0\r\n";
const DID = "+4930123";

let ep: Awaited<ReturnType<typeof liveEndpoint>>;
let onCall: (c: InboundCall) => void = () => {};

before(async () => {
  ep = await liveEndpoint();
  ep.ep.on("call", (c) => onCall(c));
});
after(async () => {
  await ep.ep.stop();
  await stopAll();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const header = (text: string, name: string): string | undefined =>
  new RegExp(`^${name}[ \\t]*:[ \\t]*(.*?)\\r?$`, "im").exec(text)?.[1];
const message = (startLine: string, headers: string[], body = ""): string =>
  [startLine, ...headers, `Content-Length: ${Buffer.byteLength(body)}`, "", body].join("\r\n");
const ended = (leg: InboundCall) => new Promise<LegEndCause>((resolve) => leg.once("ended", resolve));

/** A caller scripted message by message over UDP: it calls the endpoint, then plays the transferee. */
class RawCaller {
  readonly peer = new UdpPeer();
  leg!: InboundCall;
  private port = 0;
  private readonly callId = `refer-${Math.random().toString(36).slice(2)}@test`;
  private readonly from = `"Peer" <sip:+4930111@127.0.0.1:PORT>;tag=peer${Math.random().toString(36).slice(2, 8)}`;
  private to = "";
  private cseq = 1;
  private branches = 0;
  /** Requests from the endpoint already handed out (by "CSeq"), so retransmissions are not seen twice. */
  private handled = new Set<string>();

  static async call(): Promise<RawCaller> {
    const c = new RawCaller();
    await c.invite();
    return c;
  }

  private get fromHeader(): string {
    return this.from.replace("PORT", String(this.port));
  }

  private via(): string {
    return `Via: SIP/2.0/UDP 127.0.0.1:${this.port};branch=z9hG4bK-raw-${this.callId.slice(6, 14)}-${++this.branches};rport`;
  }

  private dialogHeaders(method: string, seq = ++this.cseq): string[] {
    return [
      this.via(),
      "Max-Forwards: 70",
      `From: ${this.fromHeader}`,
      `To: ${this.to}`,
      `Call-ID: ${this.callId}`,
      `CSeq: ${seq} ${method}`,
      `Contact: <sip:peer@127.0.0.1:${this.port}>`,
    ];
  }

  private async invite(): Promise<void> {
    this.port = await this.peer.open();
    const incoming = new Promise<InboundCall>((resolve) => {
      onCall = resolve;
    });
    this.to = `<sip:${DID}@127.0.0.1:${ep.udp}>`;
    const headers = this.dialogHeaders("INVITE", 1);
    this.peer.send(
      message(`INVITE sip:${DID}@127.0.0.1:${ep.udp} SIP/2.0`, [...headers, "Content-Type: application/sdp"], SDP),
      ep.udp,
    );
    this.leg = await incoming;
    const accepted = this.leg.accept(SDP);
    const ok = await this.response("1 INVITE");
    this.to = header(ok, "To") ?? "";
    this.peer.send(message(`ACK sip:${DID}@127.0.0.1:${ep.udp} SIP/2.0`, this.dialogHeaders("ACK", 1)), ep.udp);
    await accepted;
  }

  private async waitFor(pick: () => string | undefined, what: string, ms = 3000): Promise<string> {
    const deadline = Date.now() + ms;
    for (;;) {
      const got = pick();
      if (got !== undefined) return got;
      if (Date.now() > deadline) throw new Error(`no ${what} from the endpoint`);
      await sleep(5);
    }
  }

  /** The final response to our request with this CSeq. */
  response(cseq: string): Promise<string> {
    return this.waitFor(
      () =>
        this.peer.received.find((t) => callIdOf(t) === this.callId && statusOf(t) >= 200 && header(t, "CSeq") === cseq),
      `final response to ${cseq}`,
    );
  }

  /** The next request of `method` from the endpoint in this dialog. */
  request(method: string): Promise<string> {
    return this.waitFor(() => {
      const t = this.peer.received.find(
        (m) => m.startsWith(`${method} `) && callIdOf(m) === this.callId && !this.handled.has(header(m, "CSeq") ?? ""),
      );
      if (t) this.handled.add(header(t, "CSeq") ?? "");
      return t;
    }, method);
  }

  reply(req: string, status: string): void {
    const copied = req.split("\r\n").filter((l) => /^(Via|From|To|Call-ID|CSeq)[ \t]*:/i.test(l));
    this.peer.send(message(`SIP/2.0 ${status}`, [...copied, `Contact: <sip:peer@127.0.0.1:${this.port}>`]), ep.udp);
  }

  /** Send a NOTIFY and return the status of the endpoint's answer. */
  async notify(opts: {
    state?: string;
    frag?: string;
    body?: string;
    contentType?: string;
    event?: string;
    referCseq?: number;
  }): Promise<number> {
    const seq = ++this.cseq;
    const event = opts.event ?? `refer${opts.referCseq === undefined ? "" : `;id=${opts.referCseq}`}`;
    const body = opts.body ?? (opts.frag === undefined ? "" : `${opts.frag}\r\n`);
    const headers = [
      ...this.dialogHeaders("NOTIFY", seq),
      `Event: ${event}`,
      ...(opts.state === undefined ? [] : [`Subscription-State: ${opts.state}`]),
      ...(body === "" ? [] : [`Content-Type: ${opts.contentType ?? "message/sipfrag;version=2.0"}`]),
    ];
    this.peer.send(message(`NOTIFY sip:switchboard@127.0.0.1:${ep.udp} SIP/2.0`, headers, body), ep.udp);
    return statusOf(await this.response(`${seq} NOTIFY`));
  }

  async bye(): Promise<number> {
    const seq = ++this.cseq;
    this.peer.send(message(`BYE sip:switchboard@127.0.0.1:${ep.udp} SIP/2.0`, this.dialogHeaders("BYE", seq)), ep.udp);
    return statusOf(await this.response(`${seq} BYE`));
  }

  /** Hang up from the endpoint's side and answer its BYE (when the call is still up). */
  async close(): Promise<void> {
    if (this.leg.state !== "ended") {
      const done = this.leg.hangup();
      this.reply(await this.request("BYE"), "200 OK");
      await done;
    }
    this.peer.close();
  }

  get peerPort(): number {
    return this.port;
  }
}

const referCseq = (req: string): number => Number(/^(\d+)/.exec(header(req, "CSeq") ?? "")?.[1]);

// ---- pure parts ------------------------------------------------------------------------------------------------

test("parseSipfrag reads the status line of a message/sipfrag body", () => {
  assert.deepEqual(parseSipfrag("SIP/2.0 180 Ringing"), { status: 180, reason: "Ringing" });
  assert.deepEqual(parseSipfrag("SIP/2.0 200 OK\r\nContact: <sip:x@y>\r\n"), { status: 200, reason: "OK" });
  assert.deepEqual(parseSipfrag("\r\nSIP/2.0 486 Busy Here\r\n"), { status: 486, reason: "Busy Here" });
  assert.deepEqual(parseSipfrag("sip/2.0 603 Decline"), { status: 603, reason: "Decline" });
  assert.deepEqual(parseSipfrag("SIP/2.0 100"), { status: 100, reason: "" });
  for (const bad of [
    "",
    "garbage",
    "INVITE sip:a@b SIP/2.0",
    "SIP/2.0 99 Low",
    "SIP/2.0 700 High",
    "SIP/2.0 2000 OK",
  ]) {
    assert.equal(parseSipfrag(bad), undefined, bad);
  }
  assert.equal(parseSipfrag("SIP/3.0 200 OK"), undefined);
  assert.equal(parseSipfrag("SIP/2.0 200OK"), undefined);
});

test("referTargetUri keeps SIP URIs and puts numbers at the peer's host", () => {
  assert.equal(referTargetUri(" sip:desk@pbx.example ", "sip:a@b"), "sip:desk@pbx.example");
  assert.equal(referTargetUri("+49 (30) 1234-56", "sip:+4930111@trunk.example"), "sip:+4930123456@trunk.example");
  assert.equal(referTargetUri("0301234", "sip:peer@10.0.0.1:5070;transport=tcp"), "sip:0301234@10.0.0.1:5070");
  assert.equal(referTargetUri("*12#", "sips:x@secure.example"), "sips:*12%23@secure.example");
  assert.throws(() => referTargetUri("desk", "sip:a@b"), /"desk" is neither a sip: URI nor a number/);
  assert.throws(() => referTargetUri("tel:+4930", "sip:a@b"), /neither/);
  assert.throws(() => referTargetUri("sip:a@b>\r\nEvil: 1", "sip:a@b"), /not a sip: URI/);
  assert.throws(
    () => referTargetUri("sip:user:secret@b", "sip:a@b"),
    (e: Error) => !e.message.includes("secret"),
  );
  assert.equal(
    referPeerUri({ remote: "<sip:+4930111@trunk.example>;tag=1", remoteTarget: "sip:x@10.0.0.9" }),
    "sip:+4930111@trunk.example",
  );
  assert.equal(
    referPeerUri({ remote: '"Anonymous" <sip:anonymous@anonymous.invalid>;tag=1', remoteTarget: "sip:x@10.0.0.9" }),
    "sip:x@10.0.0.9",
  );
});

// ---- REFER/NOTIFY against a raw peer ---------------------------------------------------------------------------

test("202, NOTIFY 100 Trying then 200 OK: transferred; the REFER names target, referrer and contact", async () => {
  const c = await RawCaller.call();
  try {
    const result = c.leg.refer("+49 30 999");
    const refer = await c.request("REFER");
    assert.match(refer, /^REFER sip:peer@127\.0\.0\.1:\d+ SIP\/2\.0\r\n/);
    assert.equal(header(refer, "Refer-To"), `<sip:+4930999@127.0.0.1:${c.peerPort}>`);
    assert.equal(header(refer, "Referred-By"), `<sip:${DID}@127.0.0.1:${ep.udp}>`);
    assert.match(header(refer, "Contact") ?? "", /^<sip:switchboard@127\.0\.0\.1:\d+>$/);
    c.reply(refer, "202 Accepted");
    const id = referCseq(refer);
    assert.equal(await c.notify({ state: "active;expires=60", frag: "SIP/2.0 100 Trying", referCseq: id }), 200);
    assert.equal(await c.notify({ state: "terminated;reason=noresource", frag: "SIP/2.0 200 OK", referCseq: id }), 200);
    assert.deepEqual(await result, { outcome: "transferred", status: 200, reason: "target answered: 200 OK" });
    assert.equal(c.leg.state, "confirmed", "the caller of refer() decides when to hang up");
  } finally {
    await c.close();
  }
  await assert.rejects(c.leg.refer("sip:desk@pbx.example"), /cannot transfer a call that is ended/);
});

test("603 to the REFER: rejected; a second REFER while the first runs is refused", async () => {
  const c = await RawCaller.call();
  try {
    const result = c.leg.refer("sip:desk@pbx.example");
    await assert.rejects(c.leg.refer("sip:other@pbx.example"), /already in progress/);
    c.reply(await c.request("REFER"), "603 Decline");
    assert.deepEqual(await result, { outcome: "rejected", status: 603, reason: "REFER rejected: 603 Decline" });
    // The first one is over, so the next may start.
    const again = c.leg.refer("sip:desk@pbx.example", { timeoutMs: 5000 });
    c.reply(await c.request("REFER"), "403 Forbidden");
    assert.equal((await again).status, 403);
  } finally {
    await c.close();
  }
});

test("NOTIFY with a 486 sipfrag: failed with the target's status", async () => {
  const c = await RawCaller.call();
  try {
    const result = c.leg.refer("sip:desk@pbx.example");
    const refer = await c.request("REFER");
    c.reply(refer, "202 Accepted");
    const id = referCseq(refer);
    assert.equal(await c.notify({ state: "active", frag: "SIP/2.0 180 Ringing", referCseq: id }), 200);
    assert.equal(await c.notify({ state: "terminated", frag: "SIP/2.0 486 Busy Here", referCseq: id }), 200);
    assert.deepEqual(await result, { outcome: "failed", status: 486, reason: "target failed: 486 Busy Here" });
    assert.equal(c.leg.state, "confirmed");
  } finally {
    await c.close();
  }
});

test("no NOTIFY within timeoutMs: timeout; a late NOTIFY then gets 481", async () => {
  const c = await RawCaller.call();
  try {
    const result = c.leg.refer("sip:desk@pbx.example", { timeoutMs: 300 });
    const refer = await c.request("REFER");
    c.reply(refer, "202 Accepted");
    const r = await result;
    assert.equal(r.outcome, "timeout");
    assert.match(r.reason, /no final NOTIFY within 300 ms/);
    assert.equal(await c.notify({ state: "terminated", frag: "SIP/2.0 200 OK", referCseq: referCseq(refer) }), 481);
    assert.equal(c.leg.state, "confirmed");
  } finally {
    await c.close();
  }
});

test("bad NOTIFYs get 481/489/400/415 and the call stays up; a good one still completes the transfer", async () => {
  const c = await RawCaller.call();
  try {
    // Nobody asked for a refer subscription yet.
    assert.equal(await c.notify({ state: "active", frag: "SIP/2.0 100 Trying" }), 481);
    const result = c.leg.refer("sip:desk@pbx.example");
    const refer = await c.request("REFER");
    c.reply(refer, "202 Accepted");
    const id = referCseq(refer);
    assert.equal(await c.notify({ state: "active", frag: "SIP/2.0 100 Trying", referCseq: id + 1000 }), 481);
    assert.equal(await c.notify({ state: "active", frag: "SIP/2.0 100 Trying", event: "dialog" }), 489);
    assert.equal(await c.notify({ state: "active", body: "this is not a status line", referCseq: id }), 400);
    assert.equal(await c.notify({ state: "active", referCseq: id }), 400);
    assert.equal(await c.notify({ frag: "SIP/2.0 100 Trying", referCseq: id }), 400);
    assert.equal(await c.notify({ state: "active", body: "{}", contentType: "application/json", referCseq: id }), 415);
    assert.equal(c.leg.state, "confirmed");
    assert.equal(await c.notify({ state: "terminated", frag: "SIP/2.0 200 OK", referCseq: id }), 200);
    assert.equal((await result).outcome, "transferred");
  } finally {
    await c.close();
  }
});

test("subscription terminated without a final sipfrag: failed", async () => {
  const c = await RawCaller.call();
  try {
    const result = c.leg.refer("sip:desk@pbx.example");
    const refer = await c.request("REFER");
    c.reply(refer, "202 Accepted");
    // Without an id: the first REFER of a dialog may be matched that way (RFC 3515 2.4.6).
    assert.equal(await c.notify({ state: "active", frag: "SIP/2.0 180 Ringing" }), 200);
    assert.equal(await c.notify({ state: "terminated;reason=noresource" }), 200);
    const r = await result;
    assert.equal(r.outcome, "failed");
    assert.equal(r.status, undefined);
    assert.equal(r.reason, "subscription terminated (noresource) after 180 Ringing without a final status");
  } finally {
    await c.close();
  }
});

test("the peer hangs up after 202 instead of a final NOTIFY: transferred", async () => {
  const c = await RawCaller.call();
  try {
    const result = c.leg.refer("sip:desk@pbx.example");
    c.reply(await c.request("REFER"), "202 Accepted");
    const legEnded = ended(c.leg);
    // Same socket on loopback: the endpoint reads the 202 before the BYE.
    assert.equal(await c.bye(), 200);
    assert.deepEqual(await result, { outcome: "transferred", reason: "peer hung up after accepting the REFER" });
    assert.deepEqual(await legEnded, { by: "remote", reason: "bye" });
  } finally {
    await c.close();
  }
});

test("an outbound leg sends REFER too; our own endpoint refuses it with 405", async () => {
  const b = await liveEndpoint();
  b.ep.on("call", (call) => void call.accept(SDP).catch(() => {}));
  try {
    const out = ep.ep.invite({ target: `sip:100@127.0.0.1:${b.udp}`, sdp: SDP });
    await out.answered;
    const r = await out.refer("555");
    assert.deepEqual(r, { outcome: "rejected", status: 405, reason: "REFER rejected: 405 Method Not Allowed" });
    await out.hangup();
  } finally {
    await b.ep.stop();
  }
});

// ---- sipp as the transferee ------------------------------------------------------------------------------------

test("sipp uac_refer.xml: 202, terminating NOTIFY 200 OK, then our BYE", {
  skip: skipUnlessPeers("sipp"),
}, async () => {
  const results: Array<ReferResult | string> = [];
  onCall = (call) => {
    void (async () => {
      try {
        await call.accept(SDP);
        const r = await call.refer("sip:+4930555@127.0.0.1", { timeoutMs: 10_000 });
        results.push(r);
        if (r.outcome === "transferred") await call.hangup();
      } catch (e) {
        results.push(String(e));
      }
    })();
  };
  const r = await runSipp({
    target: { address: "127.0.0.1", port: ep.udp },
    args: ["-sf", scenario("uac_refer.xml"), "-s", DID.slice(1), "-m", "1"],
    timeoutMs: 20_000,
    mediaPorts: true,
  });
  assert.equal(r.successful, 1, sippDetail(r));
  assert.deepEqual(results, [{ outcome: "transferred", status: 200, reason: "target answered: 200 OK" }]);
});
