import assert from "node:assert/strict";
import { test } from "node:test";
import { SipRequest, parseMessage, parseVia, splitList } from "./message.ts";

test("splitList respects quotes, angle brackets and IPv6 brackets", () => {
  assert.deepEqual(
    splitList('SIP/2.0/UDP [2001:db8::1]:5060;branch=z9hG4bK1;x="a,b", SIP/2.0/TCP h2;branch=z9hG4bK2'),
    ['SIP/2.0/UDP [2001:db8::1]:5060;branch=z9hG4bK1;x="a,b"', "SIP/2.0/TCP h2;branch=z9hG4bK2"],
  );
  assert.deepEqual(splitList('"Doe, John" <sip:j@x;a=1,2>, <sip:k@y>'), ['"Doe, John" <sip:j@x;a=1,2>', "<sip:k@y>"]);
  assert.deepEqual(splitList('"a \\" , b" <sip:x@y>'), ['"a \\" , b" <sip:x@y>']);
});

test("comma-joined Via becomes separate entries and the top branch is the first", () => {
  const raw =
    "INVITE sip:123@example.com SIP/2.0\r\nVia: SIP/2.0/UDP p1.example.com;branch=z9hG4bKfirst, SIP/2.0/UDP [::1]:5070;branch=z9hG4bKsecond;rport=5\r\n" +
    "From: <sip:a@b>;tag=1\r\nTo: <sip:123@example.com>\r\nCall-ID: x\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n";
  const r = parseMessage(Buffer.from(raw), { stream: false });
  assert.ok(r.ok);
  assert.ok(r.msg instanceof SipRequest);
  assert.equal(r.msg.getAll("via").length, 2);
  assert.equal(r.msg.branch, "z9hG4bKfirst");
  const second = parseVia(r.msg.getAll("via")[1]);
  assert.equal(second?.host, "[::1]");
  assert.equal(second?.port, 5070);
  assert.equal(second?.params.get("rport"), "5");
});

test("Via parsing rejects garbage and keeps flag params", () => {
  assert.equal(parseVia("SIP/2.0/UDP"), undefined);
  assert.equal(parseVia("SIP/2.0/UDP host;;"), undefined);
  const v = parseVia("SIP/2.0/udp Host.Example:5060;rport;branch=z9hG4bKx");
  assert.equal(v?.transport, "UDP");
  assert.equal(v?.params.get("rport"), null);
});

test("serialisation computes Content-Length and canonical names", () => {
  const r = new SipRequest("OPTIONS", "sip:x@y");
  r.add("call-id", "abc").add("cseq", "1 OPTIONS");
  r.body = "héllo";
  const s = r.toString();
  assert.match(s, /^Call-ID: abc$/m);
  assert.match(s, /^CSeq: 1 OPTIONS$/m);
  assert.match(s, /^Content-Length: 6$/m);
});
