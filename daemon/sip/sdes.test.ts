import assert from "node:assert/strict";
import { test } from "node:test";
import sdpTransform from "sdp-transform";
import { answerOffer, buildOffer, type LocalSdpParams, parseAnswer } from "./sdp.ts";
import { SRTP_SUITE } from "../media/srtp.ts";
import { newSrtpKey, pickCrypto } from "./sdes.ts";

const KEY = Buffer.alloc(30, 7).toString("base64");

const offer = (protocol: string, cryptoLines: string[]) =>
  [
    "v=0",
    "o=- 1 1 IN IP4 10.0.0.9",
    "s=-",
    "c=IN IP4 10.0.0.9",
    "t=0 0",
    `m=audio 4000 ${protocol} 8 101`,
    "a=rtpmap:8 PCMA/8000",
    "a=rtpmap:101 telephone-event/8000",
    ...cryptoLines,
    "",
  ].join("\r\n");

const local = (policy: "off" | "optional" | "mandatory"): LocalSdpParams => ({
  address: "192.0.2.1",
  port: 30000,
  codecs: ["PCMA", "PCMU"],
  origin: { sessionId: "1", version: 0 },
  srtp: { policy, localKey: newSrtpKey() },
});

test("pickCrypto takes the first line of our suite with one 30-byte inline key", () => {
  const lines = [
    { id: 1, suite: "AES_256_CM_HMAC_SHA1_80", config: `inline:${Buffer.alloc(46).toString("base64")}` },
    { id: 2, suite: SRTP_SUITE, config: `inline:${KEY}|2^31` },
  ];
  assert.deepEqual(pickCrypto(lines), { tag: 2, key: KEY });
});

test("pickCrypto refuses MKIs, several keys, short keys and transform-changing session parameters", () => {
  const bad = [
    { id: 1, suite: SRTP_SUITE, config: `inline:${KEY}|2^20|1:4` },
    { id: 2, suite: SRTP_SUITE, config: `inline:${KEY};inline:${KEY}` },
    { id: 3, suite: SRTP_SUITE, config: `inline:${Buffer.alloc(16).toString("base64")}` },
    { id: 4, suite: SRTP_SUITE, config: `inline:${KEY}`, sessionConfig: "UNENCRYPTED_SRTP" },
    { id: 5, suite: SRTP_SUITE, config: `inline:${KEY}`, sessionConfig: "KDR=1" },
    { id: 6, suite: SRTP_SUITE, config: "inline:not base64!" },
  ];
  for (const l of bad) assert.equal(pickCrypto([l]), undefined, l.config);
  assert.deepEqual(pickCrypto([{ id: 7, suite: SRTP_SUITE, config: `inline:${KEY}`, sessionConfig: "WSH=64" }]), {
    tag: 7,
    key: KEY,
  });
});

test("newSrtpKey: 30 random bytes, different every time", () => {
  const a = newSrtpKey();
  assert.equal(Buffer.from(a, "base64").length, 30);
  assert.notEqual(a, newSrtpKey());
});

test("an RTP/SAVP offer is answered RTP/SAVP with the offer's tag and our own key", () => {
  const l = local("optional");
  const r = answerOffer(offer("RTP/SAVP", [`a=crypto:3 ${SRTP_SUITE} inline:${KEY}`]), l);
  assert.ok(r.ok);
  const m = sdpTransform.parse(r.sdp).media[0];
  assert.equal(m.protocol, "RTP/SAVP");
  assert.deepEqual(
    m.crypto?.map((c) => [c.id, c.suite, c.config]),
    [[3, SRTP_SUITE, `inline:${l.srtp?.localKey}`]],
  );
  assert.deepEqual(r.media.srtp, { suite: SRTP_SUITE, localKey: l.srtp?.localKey, remoteKey: KEY });
});

test("a best-effort RTP/AVP offer with a crypto line gets SRTP unless SRTP is off", () => {
  const sdp = offer("RTP/AVP", [`a=crypto:1 ${SRTP_SUITE} inline:${KEY}`]);
  const on = answerOffer(sdp, local("optional"));
  assert.ok(on.ok);
  assert.equal(on.media.srtp?.remoteKey, KEY);
  assert.equal(sdpTransform.parse(on.sdp).media[0].protocol, "RTP/AVP");
  const off = answerOffer(sdp, { ...local("off"), srtp: undefined });
  assert.ok(off.ok);
  assert.equal(off.media.srtp, undefined);
  assert.equal(sdpTransform.parse(off.sdp).media[0].crypto, undefined);
});

test("policy decides what is refused, with a reason that says why", () => {
  const plain = offer("RTP/AVP", []);
  const savp = offer("RTP/SAVP", [`a=crypto:1 ${SRTP_SUITE} inline:${KEY}`]);
  const savpUnknownSuite = offer("RTP/SAVP", ["a=crypto:1 AEAD_AES_256_GCM inline:abcd"]);
  const mand = answerOffer(plain, local("mandatory"));
  assert.ok(!mand.ok && mand.rejected === 488 && /mandatory/.test(mand.reason));
  const off = answerOffer(savp, local("off"));
  assert.ok(!off.ok && off.rejected === 488 && /SRTP, which is off/.test(off.reason));
  const suite = answerOffer(savpUnknownSuite, local("mandatory"));
  assert.ok(!suite.ok && /no usable crypto line/.test(suite.reason));
  const optionalPlain = answerOffer(plain, local("optional"));
  assert.ok(optionalPlain.ok && optionalPlain.media.srtp === undefined);
});

test("offers: only a mandatory policy offers RTP/SAVP with a crypto line", () => {
  const mand = local("mandatory");
  const m = sdpTransform.parse(buildOffer(mand)).media[0];
  assert.equal(m.protocol, "RTP/SAVP");
  assert.equal(m.crypto?.[0].config, `inline:${mand.srtp?.localKey}`);
  const opt = sdpTransform.parse(buildOffer(local("optional"))).media[0];
  assert.equal(opt.protocol, "RTP/AVP");
  assert.equal(opt.crypto, undefined);
});

test("parseAnswer: a mandatory offer needs a crypto line in the answer", () => {
  const mand = local("mandatory").srtp;
  const secured = parseAnswer(
    offer("RTP/SAVP", [`a=crypto:1 ${SRTP_SUITE} inline:${KEY}`]),
    ["PCMA"],
    "sendrecv",
    mand,
  );
  assert.deepEqual(secured?.srtp, { suite: SRTP_SUITE, localKey: mand?.localKey, remoteKey: KEY });
  assert.equal(parseAnswer(offer("RTP/SAVP", []), ["PCMA"], "sendrecv", mand), undefined);
  const optional = local("optional").srtp;
  assert.equal(parseAnswer(offer("RTP/AVP", []), ["PCMA"], "sendrecv", optional)?.srtp, undefined);
});
