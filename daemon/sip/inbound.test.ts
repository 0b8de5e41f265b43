import assert from "node:assert/strict";
import { test } from "node:test";
import { legInfoFrom } from "./inbound.ts";
import { parseMessage, SipRequest } from "./message.ts";

const invite = (ruri: string, to: string) => {
  const raw = [
    `INVITE ${ruri} SIP/2.0`,
    "Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKabc123",
    'From: "Alice" <sip:+4930111@trunk.example>;tag=1',
    `To: <${to}>`,
    "Call-ID: c1@192.0.2.1",
    "CSeq: 1 INVITE",
    "Max-Forwards: 70",
    "Content-Length: 0",
    "",
    "",
  ].join("\r\n");
  const r = parseMessage(Buffer.from(raw), { stream: false });
  assert.ok(r.ok && r.msg instanceof SipRequest);
  return r.msg;
};
const src = { transport: "udp" as const, address: "192.0.2.1", port: 5060 };

test("the DID is the Request-URI user, whatever number was dialled", () => {
  const info = legInfoFrom(invite("sip:+4930123456@box", "sip:+4930123456@box"), src);
  assert.equal(info.did, "+4930123456");
  assert.equal(info.fromUser, "+4930111");
  assert.equal(info.fromDisplayName, "Alice");
});

test("a registered trunk calling our Contact (account user) carries the DID in To", () => {
  const info = legInfoFrom(invite("sip:1234567e0@10.0.0.5:5060", "sip:+4989555@sipgate.de"), src, "sg", "1234567e0");
  assert.equal(info.did, "+4989555");
  assert.equal(info.trunkId, "sg");
  const direct = legInfoFrom(invite("sip:+4989777@10.0.0.5", "sip:+4989555@sipgate.de"), src, "sg", "1234567e0");
  assert.equal(direct.did, "+4989777");
});
