import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, it } from "node:test";
import { RtpHeader, RtpPacket } from "werift";
import { packetIndex, REPLAY_WINDOW, SrtpContext } from "./srtp.ts";
import { weriftSrtpPeer } from "./testing.ts";
import type { SrtpKeys } from "./types.ts";

const SUITE = "AES_CM_128_HMAC_SHA1_80";
const ours = randomBytes(30);
const theirs = randomBytes(30);
const keys: SrtpKeys = { suite: SUITE, localKey: ours.toString("base64"), remoteKey: theirs.toString("base64") };

/** An independent werift SRTP/SRTCP pair configured as the peer: it encrypts with its key, decrypts with ours. */
function peer(mine = theirs, other = ours) {
  return weriftSrtpPeer(mine, other);
}

const payloadOf = (seq: number) => Buffer.alloc(160, seq & 0xff);
const header = (seq: number, ssrc = 0x11223344) =>
  new RtpHeader({ payloadType: 8, sequenceNumber: seq & 0xffff, timestamp: (seq * 160) >>> 0, ssrc });
const plainRtp = (seq: number, ssrc?: number) => new RtpPacket(header(seq, ssrc), payloadOf(seq)).serialize();
/** A receiver report with no blocks plus an SDES-sized tail: enough bytes to encrypt. */
const plainRtcp = (ssrc: number) => {
  const b = Buffer.alloc(16);
  b[0] = 0x80;
  b[1] = 201;
  b.writeUInt16BE(3, 2);
  b.writeUInt32BE(ssrc, 4);
  b.writeUInt32BE(0xdeadbeef, 8);
  return b;
};

describe("SrtpContext", () => {
  it("round-trips RTP both ways with an independent werift peer", () => {
    const ctx = new SrtpContext(keys);
    const p = peer();
    for (let seq = 1000; seq < 1010; seq++) {
      const wire = ctx.protectRtp(plainRtp(seq));
      assert.equal(wire.length, 12 + 160 + 10, "header + payload + 80-bit tag");
      assert.notDeepEqual(wire.subarray(12, 172), payloadOf(seq), "payload is encrypted");
      const back = RtpPacket.deSerialize(p.rtp.decrypt(wire));
      assert.equal(back.header.sequenceNumber, seq);
      assert.deepEqual(back.payload, payloadOf(seq));

      const fromPeer = p.rtp.encrypt(payloadOf(seq), header(seq, 0x55667788));
      const plain = ctx.unprotectRtp(fromPeer);
      assert.ok(plain, `packet ${seq} authenticates`);
      assert.deepEqual(RtpPacket.deSerialize(plain).payload, payloadOf(seq));
    }
    assert.deepEqual(ctx.counters, { srtpAuthFailed: 0, srtpReplayed: 0 });
  });

  it("drops tampered, truncated and wrongly keyed packets without losing the stream", () => {
    const ctx = new SrtpContext(keys);
    const p = peer();
    assert.ok(ctx.unprotectRtp(p.rtp.encrypt(payloadOf(1), header(1))));
    for (const at of [5, 12, 100, 181]) {
      // header byte (seq), first payload byte, mid payload, last tag byte
      const bad = Buffer.from(p.rtp.encrypt(payloadOf(2), header(2)));
      bad[at] ^= 0x01;
      assert.equal(ctx.unprotectRtp(bad), undefined, `flipped byte ${at}`);
    }
    assert.equal(ctx.unprotectRtp(Buffer.alloc(15, 0x80)), undefined, "shorter than header + tag");
    const stranger = peer(randomBytes(30));
    assert.equal(ctx.unprotectRtp(stranger.rtp.encrypt(payloadOf(3), header(3))), undefined, "other key");
    assert.equal(ctx.counters.srtpAuthFailed, 6);
    // the genuine packet 2 (never accepted above) and the next ones still authenticate
    assert.ok(ctx.unprotectRtp(p.rtp.encrypt(payloadOf(2), header(2))));
    assert.ok(ctx.unprotectRtp(p.rtp.encrypt(payloadOf(4), header(4))));
    assert.equal(ctx.counters.srtpReplayed, 0);
  });

  it("drops replays and packets older than the window, accepts reordering within it", () => {
    const ctx = new SrtpContext(keys);
    const p = peer();
    const wire = new Map<number, Buffer>();
    for (let seq = 100; seq < 300; seq++) wire.set(seq, p.rtp.encrypt(payloadOf(seq), header(seq)));
    const take = (seq: number) => ctx.unprotectRtp(wire.get(seq) as Buffer) !== undefined;
    assert.ok(take(100));
    assert.equal(take(100), false, "same packet again");
    assert.ok(take(102));
    assert.ok(take(101), "late but within the window and unseen");
    assert.equal(take(101), false);
    assert.ok(take(250));
    assert.equal(take(250 - REPLAY_WINDOW), false, "64 behind the highest: outside the window");
    assert.ok(take(250 - REPLAY_WINDOW + 1), "63 behind: inside");
    assert.equal(take(102), false);
    assert.deepEqual(ctx.counters, { srtpAuthFailed: 0, srtpReplayed: 4 });
  });

  it("keeps decrypting across the 65535 -> 0 wrap, also after a burst of loss across it", () => {
    const ctx = new SrtpContext(keys);
    const p = peer();
    const back = peer();
    // the peer encrypts every packet (its ROC advances); we receive up to the wrap, then lose 300 packets
    const got: number[] = [];
    for (let n = 0; n < 1000; n++) {
      const seq = 65000 + n;
      const wire = p.rtp.encrypt(payloadOf(seq), header(seq));
      if (n >= 536 && n < 836) continue; // 65536 = seq 0 is n 536: seqs 0..299 of ROC 1 are lost
      const plain = ctx.unprotectRtp(wire);
      if (plain) got.push(RtpPacket.deSerialize(plain).header.sequenceNumber);
    }
    assert.equal(got.length, 700);
    assert.equal(got.at(-1), (65000 + 999) & 0xffff);
    assert.deepEqual(ctx.counters, { srtpAuthFailed: 0, srtpReplayed: 0 });
    // and our own send side rolls over: the independent peer decrypts every packet across the wrap
    for (let seq = 65530; seq < 65550; seq++) {
      const plain = RtpPacket.deSerialize(back.rtp.decrypt(ctx.protectRtp(plainRtp(seq))));
      assert.deepEqual(plain.payload, payloadOf(seq));
    }
  });

  it("round-trips SRTCP both ways and drops RTCP replays and forgeries", () => {
    const ctx = new SrtpContext(keys);
    const p = peer();
    const ours1 = ctx.protectRtcp(plainRtcp(0x01020304));
    assert.equal(ours1.length, 16 + 4 + 10, "packet + E|index + tag");
    assert.deepEqual(p.rtcp.decrypt(ours1), plainRtcp(0x01020304));
    const theirs1 = p.rtcp.encrypt(plainRtcp(0x0a0b0c0d));
    assert.notDeepEqual(theirs1.subarray(8, 16), plainRtcp(0x0a0b0c0d).subarray(8), "encrypted after the header");
    assert.deepEqual(ctx.unprotectRtcp(theirs1), plainRtcp(0x0a0b0c0d));
    assert.equal(ctx.unprotectRtcp(theirs1), undefined, "replayed");
    const theirs2 = Buffer.from(p.rtcp.encrypt(plainRtcp(0x0a0b0c0d)));
    theirs2[9] ^= 0x40;
    assert.equal(ctx.unprotectRtcp(theirs2), undefined, "tampered");
    assert.ok(ctx.unprotectRtcp(p.rtcp.encrypt(plainRtcp(0x0a0b0c0d))), "next one is fine");
    assert.deepEqual(ctx.counters, { srtpAuthFailed: 1, srtpReplayed: 1 });
  });

  it("rejects bad key material with a message that names the field and never the key", () => {
    const short = randomBytes(29).toString("base64");
    const cases: [SrtpKeys, RegExp, string][] = [
      [{ ...keys, localKey: short }, /localKey decodes to 29 bytes.*needs 30/, short],
      [{ ...keys, remoteKey: randomBytes(46).toString("base64") }, /remoteKey decodes to 46 bytes/, ""],
      [{ ...keys, remoteKey: `${keys.remoteKey}|2^31` }, /remoteKey is not base64/, keys.remoteKey],
      [{ ...keys, localKey: "" }, /localKey is not base64/, ""],
      [{ ...keys, suite: "AES_CM_128_HMAC_SHA1_32" as SrtpKeys["suite"] }, /suite .* not supported/, ""],
    ];
    for (const [k, msg, secret] of cases)
      assert.throws(
        () => new SrtpContext(k),
        (e: Error) => msg.test(e.message) && (secret === "" || !e.message.includes(secret)),
      );
  });
});

describe("packetIndex (RFC 3711 3.3.1)", () => {
  it("picks the index nearest the highest one seen", () => {
    assert.equal(packetIndex(7, -1), 7, "first packet: ROC 0");
    assert.equal(packetIndex(11, 10), 11);
    assert.equal(packetIndex(2, 65530), 65536 + 2, "just after the wrap");
    assert.equal(packetIndex(300, 65530), 65536 + 300, "after a loss burst across the wrap");
    assert.equal(packetIndex(65530, 65536 + 3), 65530, "late packet from before the wrap");
    assert.equal(packetIndex(65530, 3), -1, "before index 0");
    assert.equal(packetIndex(40000, 3 * 65536 + 100), 2 * 65536 + 40000);
  });
});
