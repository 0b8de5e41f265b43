import assert from "node:assert/strict";
import { test } from "node:test";
import { parseVia } from "./message.ts";
import { nextHop, responseTarget, stampVia } from "./routing.ts";

const udp = { transport: "udp" as const, address: "198.51.100.7", port: 40000 };

test("received is added when sent-by differs; rport is filled (RFC 3261 18.2.1, RFC 3581)", () => {
  const v = stampVia("SIP/2.0/UDP 10.0.0.2:5060;branch=z9hG4bKa;rport", udp, false);
  assert.match(v, /;rport=40000/);
  assert.match(v, /;received=198\.51\.100\.7/);
  const t = responseTarget(parseVia(v)!, udp);
  assert.deepEqual(t, { transport: "udp", address: "198.51.100.7", port: 40000 });
});

test("without rport the response goes to received and the sent-by port; forceRport overrides", () => {
  const v = stampVia("SIP/2.0/UDP 10.0.0.2:5062;branch=z9hG4bKa", udp, false);
  assert.doesNotMatch(v, /rport/);
  assert.deepEqual(responseTarget(parseVia(v)!, udp), { transport: "udp", address: "198.51.100.7", port: 5062 });
  const f = stampVia("SIP/2.0/UDP 10.0.0.2:5062;branch=z9hG4bKa", udp, true);
  assert.equal(responseTarget(parseVia(f)!, udp).port, 40000);
});

test("same host: no received parameter", () => {
  const v = stampVia("SIP/2.0/UDP 198.51.100.7:5060;branch=z9hG4bKa", udp, false);
  assert.doesNotMatch(v, /received/);
});

test("stream responses reuse the connection", () => {
  const tcp = { transport: "tcp" as const, address: "192.0.2.1", port: 33333, connId: "tcp#4" };
  const v = stampVia("SIP/2.0/TCP client.example;branch=z9hG4bKa", tcp, false);
  assert.equal(responseTarget(parseVia(v)!, tcp).connId, "tcp#4");
});

test("next hop: loose route, strict route, Request-URI, transport param", () => {
  const loose = nextHop("sip:bob@b.example", ["<sip:p1.example:5070;lr>", "<sip:p2.example;lr>"], "udp");
  assert.equal(loose?.host, "p1.example");
  assert.equal(loose?.port, 5070);
  assert.equal(loose?.requestUri, "sip:bob@b.example");
  assert.equal(loose?.routes.length, 2);
  const strict = nextHop("sip:bob@b.example", ["<sip:strict.example>", "<sip:p2.example;lr>"], "udp");
  assert.equal(strict?.requestUri, "sip:strict.example");
  assert.deepEqual(strict?.routes, ["<sip:p2.example;lr>", "<sip:bob@b.example>"]);
  const direct = nextHop("sip:bob@b.example;transport=tcp", [], "udp");
  assert.equal(direct?.transport, "tcp");
  assert.equal(direct?.host, "b.example");
  assert.equal(direct?.port, undefined);
});
