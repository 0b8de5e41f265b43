// Hostile and malformed input over UDP and TCP: the endpoint answers what it can, drops what it cannot, and keeps
// serving OPTIONS afterwards.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { UdpPeer, liveEndpoint, options, tcpPeer } from "./testkit.ts";

let live: Awaited<ReturnType<typeof liveEndpoint>>;
const peer = new UdpPeer();

before(async () => {
  live = await liveEndpoint({ incompleteTimeoutMs: 500 }, 100, 16384);
  await peer.open();
});
after(async () => {
  peer.close();
  await live.ep.stop();
});

async function stillAlive(): Promise<void> {
  const r = await peer.exchange(options(peer.port), live.udp);
  assert.ok(
    r.some((x) => x.status === 200),
    "OPTIONS answered",
  );
}

function req(method: string, extra: string[] = [], opts: { omit?: string[]; body?: string } = {}): string {
  const n = Math.random().toString(36).slice(2);
  const headers = [
    `Via: SIP/2.0/UDP 127.0.0.1:${peer.port};branch=z9hG4bK${n};rport`,
    "Max-Forwards: 70",
    `From: <sip:a@127.0.0.1>;tag=${n}`,
    "To: <sip:b@127.0.0.1>",
    `Call-ID: ${n}@test`,
    `CSeq: 1 ${method}`,
    ...extra,
  ].filter((h) => !(opts.omit ?? []).some((o) => h.toLowerCase().startsWith(o.toLowerCase())));
  const body = opts.body ?? "";
  return `${method} sip:b@127.0.0.1 SIP/2.0\r\n${headers.join("\r\n")}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
}

test("unknown method FOO gets 501 with Allow", async () => {
  const r = await peer.exchange(req("FOO"), live.udp);
  assert.equal(r[0]?.status, 501);
  assert.match(r[0].text, /^Allow: .*INVITE/m);
});

test("known but unsupported method gets 405 with Allow", async () => {
  const r = await peer.exchange(req("SUBSCRIBE", ["Event: presence"]), live.udp);
  assert.equal(r[0]?.status, 405);
  assert.match(r[0].text, /^Allow: /m);
});

test("missing Call-ID or CSeq gets 400 naming the header", async () => {
  for (const h of ["Call-ID", "CSeq"]) {
    // Without Call-ID the reply cannot be matched by Call-ID: collect by branch instead.
    const msg = req("OPTIONS", [], { omit: [h] });
    const before = peer.received.length;
    peer.send(msg, live.udp);
    await new Promise((r) => setTimeout(r, 300));
    const got = peer.received.slice(before).find((t) => t.startsWith("SIP/2.0 400"));
    assert.ok(got, `400 for missing ${h}`);
    assert.match(got, new RegExp(`Warning: 399 .*${h}`));
  }
  await stillAlive();
});

test("truncated message, garbage bytes and an oversized datagram are dropped", async () => {
  const full = req("INVITE", ["Contact: <sip:a@127.0.0.1>", "Content-Type: application/sdp"], { body: "v=0\r\n" });
  peer.send(full.slice(0, 60), live.udp);
  peer.send(Buffer.from([0xff, 0x00, 0x13, 0x37, 0xde, 0xad, 0xbe, 0xef, 0x0d, 0x0a]), live.udp);
  peer.send(`${"x".repeat(5000)}\r\n\r\n`, live.udp);
  // Loopback UDP carries at most ~64 KB, so the oversized datagram is 40 KB against a 16 KB limit.
  const big = req("OPTIONS", [`X-Pad: ${"A".repeat(40 * 1024)}`]);
  const dropped = live.ep.stats.transport.dropped;
  peer.send(big, live.udp);
  await stillAlive();
  assert.equal(live.ep.stats.transport.dropped, dropped + 1, "oversized datagram dropped");
});

test("TCP: a Content-Length that lies short is framed, the rest rejected; the connection survives", async () => {
  const c = await tcpPeer(live.tcp);
  // Claims 2 bytes of body but carries 10: the extra 8 bytes start a "message" that is not SIP.
  const msg = req("OPTIONS", [], { body: "" }).replace("Content-Length: 0", "Content-Length: 2");
  c.sock.write(`${msg}abcdefgh\r\n\r\n`);
  assert.ok(await c.waitFor(() => /SIP\/2\.0 200/.test(c.data), 2000), c.data);
  c.sock.write(req("OPTIONS").replace(/UDP/, "TCP"));
  assert.ok(await c.waitFor(() => (c.data.match(/SIP\/2\.0 200/g) ?? []).length >= 2, 2000), c.data);
  c.sock.destroy();
});

test("TCP: a Content-Length that lies long times out and the connection is closed", async () => {
  const c = await tcpPeer(live.tcp);
  c.sock.write(req("OPTIONS").replace(/UDP/, "TCP").replace("Content-Length: 0", "Content-Length: 500"));
  assert.ok(await c.waitFor(() => c.closed, 3000), "closed after the incomplete-message timeout");
  await stillAlive();
});

test("TCP: Content-Length over the limit gets 513 and the connection closes", async () => {
  const c = await tcpPeer(live.tcp);
  c.sock.write(req("OPTIONS").replace(/UDP/, "TCP").replace("Content-Length: 0", "Content-Length: 900000"));
  assert.ok(await c.waitFor(() => c.closed, 2000));
  assert.match(c.data, /^SIP\/2\.0 513/);
});

test("TCP: a bad Content-Length gets 400 and the connection closes", async () => {
  const c = await tcpPeer(live.tcp);
  c.sock.write(req("OPTIONS").replace(/UDP/, "TCP").replace("Content-Length: 0", "Content-Length: -5"));
  assert.ok(await c.waitFor(() => c.closed, 2000));
  assert.match(c.data, /^SIP\/2\.0 400/);
  await stillAlive();
});

test("TCP: a 70 KB message is refused and the connection closed", async () => {
  const c = await tcpPeer(live.tcp);
  const body = "B".repeat(70 * 1024);
  c.sock.write(req("MESSAGE", ["Content-Type: text/plain"], { body }).replace(/UDP/, "TCP"));
  assert.ok(await c.waitFor(() => c.closed, 2000));
  assert.match(c.data, /^SIP\/2\.0 513/);
  const h = await tcpPeer(live.tcp);
  h.sock.write(`${req("OPTIONS", [`X-Pad: ${"A".repeat(70 * 1024)}`]).replace(/UDP/, "TCP")}`);
  assert.ok(await h.waitFor(() => h.closed, 2000), "header block over the limit closes the connection");
  await stillAlive();
});

test("responses matching nothing are dropped silently", async () => {
  const before = peer.received.length;
  peer.send(
    `SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1:1;branch=z9hG4bKnothing\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:c@d>;tag=2\r\nCall-ID: stray\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n`,
    live.udp,
  );
  await stillAlive();
  assert.equal(peer.received.slice(before).filter((t) => /Call-ID: stray/.test(t)).length, 0);
});
