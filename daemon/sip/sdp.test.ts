import assert from "node:assert/strict";
import { test } from "node:test";
import sdpTransform from "sdp-transform";
import { answerOffer, buildOffer, describeAudio, type LocalSdpParams, parseAnswer } from "./sdp.ts";

const crlf = (s: string) =>
  `${s
    .trim()
    .split("\n")
    .map((l) => l.trim())
    .join("\r\n")}\r\n`;

// sipp -sn uac (uac_pcap style): static PCMA plus telephone-event, no rtpmap for 8
const SIPP = crlf(`
v=0
o=user1 53655765 2353687637 IN IP4 127.0.0.1
s=-
c=IN IP4 127.0.0.1
t=0 0
m=audio 6000 RTP/AVP 8 101
a=rtpmap:8 PCMA/8000
a=rtpmap:101 telephone-event/8000
a=fmtp:101 0-11,16
`);

// baresip 1.0: several codecs, rtcp attribute, IPv4 at media level only
const BARESIP = crlf(`
v=0
o=- 1207359733 2318469329 IN IP4 192.168.1.23
s=-
t=0 0
m=audio 10468 RTP/AVP 9 0 8 101
c=IN IP4 192.168.1.23
b=AS:64
a=rtpmap:9 G722/8000
a=rtpmap:0 PCMU/8000
a=rtpmap:8 PCMA/8000
a=rtpmap:101 telephone-event/8000
a=fmtp:101 0-15
a=rtcp:10469
a=sendrecv
a=label:1
a=ssrc:3018283145 cname:b4c6c4a3
a=ptime:20
`);

// Telekom-like SBC offer: dynamic PT 98 for telephone-event, G.722 not offered, rtcp with address
const TELEKOM = crlf(`
v=0
o=- 2790133585 2790133585 IN IP4 217.0.28.1
s=SBC call
c=IN IP4 217.0.28.1
t=0 0
m=audio 30492 RTP/AVP 8 0 18 98
a=rtpmap:8 PCMA/8000
a=rtpmap:0 PCMU/8000
a=rtpmap:18 G729/8000
a=fmtp:18 annexb=no
a=rtpmap:98 telephone-event/8000
a=fmtp:98 0-15
a=rtcp:30493 IN IP4 217.0.28.1
a=ptime:20
a=maxptime:40
a=sendrecv
`);

// sipgate-like: audio and video, telephone-event at 16000 and 8000, IPv6
const SIPGATE_V6 = crlf(`
v=0
o=sipgate 1 1 IN IP6 2001:db8::10
s=sipgate VoIP
c=IN IP6 2001:db8::10
t=0 0
m=audio 40000 RTP/AVP 9 8 102 101
a=rtpmap:9 G722/8000
a=rtpmap:8 PCMA/8000
a=rtpmap:102 telephone-event/16000
a=rtpmap:101 telephone-event/8000
a=ptime:20
m=video 40002 RTP/AVP 96
a=rtpmap:96 H264/90000
`);

const OPUS_ONLY = crlf(`
v=0
o=- 1 1 IN IP4 10.0.0.5
s=-
c=IN IP4 10.0.0.5
t=0 0
m=audio 5004 RTP/AVP 111
a=rtpmap:111 opus/48000/2
`);

function local(over: Partial<LocalSdpParams> = {}): LocalSdpParams {
  return {
    address: "198.51.100.7",
    port: 20000,
    codecs: ["PCMA", "PCMU", "G722"],
    origin: { sessionId: "4242", version: 1 },
    ...over,
  };
}

function ok(r: ReturnType<typeof answerOffer>) {
  if (!r.ok) throw new Error(`rejected: ${r.reason}`);
  return r;
}

test("sipp offer: static PCMA without rtpmap is accepted, telephone-event PT kept", () => {
  const r = ok(answerOffer(SIPP.replace("a=rtpmap:8 PCMA/8000\r\n", ""), local()));
  assert.equal(r.media.codec, "PCMA");
  assert.equal(r.media.payloadType, 8);
  assert.equal(r.media.dtmfPayloadType, 101);
  assert.equal(r.media.remoteAddress, "127.0.0.1");
  assert.equal(r.media.remotePort, 6000);
  assert.equal(r.media.remoteRtcpPort, 6001);
  const a = sdpTransform.parse(r.sdp);
  assert.equal(a.media[0].payloads, "8 101");
  assert.equal(a.media[0].port, 20000);
  assert.equal(a.media[0].ptime, 20);
  assert.equal(a.media[0].direction, "sendrecv");
  assert.equal(a.connection?.ip, "198.51.100.7");
  assert.match(r.sdp, /a=fmtp:101 0-16/);
  assert.equal(a.origin.sessionVersion, 1);
});

test("baresip offer: our preference wins, media-level c= and a=rtcp honoured", () => {
  const r = ok(answerOffer(BARESIP, local()));
  assert.equal(r.media.codec, "PCMA");
  assert.equal(r.media.remoteAddress, "192.168.1.23");
  assert.equal(r.media.remoteRtcpPort, 10469);
  const g = ok(answerOffer(BARESIP, local({ codecs: ["G722", "PCMA"] })));
  assert.equal(g.media.codec, "G722");
  assert.equal(g.media.clockRate, 8000);
  assert.match(g.sdp, /a=rtpmap:9 G722\/8000/);
});

test("Telekom-like offer: dynamic telephone-event, unknown codecs skipped", () => {
  const r = ok(answerOffer(TELEKOM, local({ codecs: ["PCMU", "PCMA"] })));
  assert.equal(r.media.codec, "PCMU");
  assert.equal(r.media.dtmfPayloadType, 98);
  assert.equal(r.media.remoteRtcpPort, 30493);
  assert.equal(sdpTransform.parse(r.sdp).media[0].payloads, "0 98");
});

test("sipgate-like IPv6 offer with video: video refused with port 0, 8 kHz telephone-event chosen", () => {
  const r = ok(answerOffer(SIPGATE_V6, local({ address: "2001:db8::1", codecs: ["G722", "PCMA"] })));
  assert.equal(r.media.codec, "G722");
  assert.equal(r.media.dtmfPayloadType, 101);
  assert.equal(r.media.remoteAddress, "2001:db8::10");
  const a = sdpTransform.parse(r.sdp);
  assert.equal(a.media.length, 2);
  assert.equal(a.media[1].type, "video");
  assert.equal(a.media[1].port, 0);
  assert.match(r.sdp, /c=IN IP6 2001:db8::1/);
  assert.match(r.sdp, /o=- 4242 1 IN IP6 2001:db8::1/);
});

test("no common codec -> 488; garbage -> 400", () => {
  const r = answerOffer(OPUS_ONLY, local());
  assert.ok(!r.ok && r.rejected === 488);
  const g = answerOffer("this is not sdp", local());
  assert.ok(!g.ok && g.rejected === 400);
});

test("hold: sendonly, inactive and 0.0.0.0 re-offers are mirrored, version set by caller", () => {
  const so = ok(
    answerOffer(BARESIP.replace("a=sendrecv", "a=sendonly"), local({ origin: { sessionId: "4242", version: 2 } })),
  );
  assert.equal(so.media.direction, "recvonly");
  assert.match(so.sdp, /a=recvonly/);
  assert.match(so.sdp, /o=- 4242 2 /);
  const ina = ok(answerOffer(BARESIP.replace("a=sendrecv", "a=inactive"), local()));
  assert.equal(ina.media.direction, "inactive");
  const old = ok(answerOffer(SIPP.replace("c=IN IP4 127.0.0.1", "c=IN IP4 0.0.0.0"), local()));
  assert.equal(old.media.direction, "recvonly");
  const sessionLevel = ok(answerOffer(SIPP.replace("t=0 0", "t=0 0\r\na=sendonly"), local()));
  assert.equal(sessionLevel.media.direction, "recvonly");
});

test("buildOffer / parseAnswer round trip, answer picks from what we offered", () => {
  const offer = buildOffer(local({ codecs: ["PCMU", "G722"] }));
  const o = sdpTransform.parse(offer);
  assert.equal(o.media[0].payloads, "0 9 101");
  assert.equal(describeAudio(offer)?.port, 20000);
  // the peer answers with our offer's PCMU
  const answer = ok(answerOffer(offer, { ...local(), address: "203.0.113.9", port: 7078, codecs: ["PCMA", "PCMU"] }));
  const neg = parseAnswer(answer.sdp, ["PCMU", "G722"]);
  assert.equal(neg?.codec, "PCMU");
  assert.equal(neg?.remoteAddress, "203.0.113.9");
  assert.equal(neg?.remotePort, 7078);
  assert.equal(neg?.dtmfPayloadType, 101);
  assert.equal(parseAnswer(OPUS_ONLY, ["PCMU"]), undefined);
  const hold = buildOffer(local({ direction: "sendonly" }));
  assert.match(hold, /a=sendonly/);
});
