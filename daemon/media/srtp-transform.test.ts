import assert from "node:assert/strict";
import { test } from "node:test";
import { RtpHeader, RtpPacket } from "werift";
import { deriveKey, rtpHeaderLength, SrtpTransform } from "./srtp-transform.ts";
import { weriftSrtpPeer } from "./testing.ts";

const hex = (s: string) => Buffer.from(s, "hex");

test("key derivation matches RFC 3711 appendix B.3", () => {
  const key = hex("E1F97A0D3E018BE0D64FA32C06DE4139");
  const salt = hex("0EC675AD498AFEEBB6960B3AABE6");
  assert.equal(deriveKey(key, salt, 0, 16).toString("hex"), "c61e7a93744f39ee10734afe3ff7a087");
  assert.equal(deriveKey(key, salt, 2, 14).toString("hex"), "30cbbc08863d8c85d49db34a9ae1");
  assert.equal(
    deriveKey(key, salt, 1, 32).toString("hex"),
    "cebe321f6ff7716b6fd4ab49af256a156d38baa48f0a0acf3c34e2359e6cdbce",
  );
});

test("packets protected here decrypt in werift and back, across ROC 0 and 1, with CSRCs and an extension", () => {
  const key = hex("00112233445566778899aabbccddeeff");
  const salt = hex("0102030405060708090a0b0c0d0e");
  const ours = new SrtpTransform(key, salt);
  const werift = weriftSrtpPeer(Buffer.concat([key, salt]), Buffer.concat([key, salt])).rtp;
  for (const [seq, roc] of [
    [100, 0],
    [65535, 0],
    [3, 1],
  ] as const) {
    const header = new RtpHeader({ payloadType: 8, sequenceNumber: seq, timestamp: 1234, ssrc: 0xdeadbeef });
    const plain = new RtpPacket(header, Buffer.alloc(160, seq & 0xff)).serialize();
    const index = roc * 0x10000 + seq;
    const srtp = ours.protect(plain, 12, index);
    assert.equal(srtp.length, plain.length + 10);
    assert.notDeepEqual(srtp.subarray(12, 172), plain.subarray(12));
    // werift with the same rollover counter (it tracks ROC from what it has seen; feed it in order)
    const back = werift.remoteContext.cipher.decryptRtp(srtp, roc)[0];
    assert.deepEqual(back, plain);
    const fromWerift = werift.localContext.cipher.encryptRtp(header, plain.subarray(12), roc);
    assert.deepEqual(ours.unprotect(fromWerift, 12, index), plain);
  }
  // a header with two CSRCs stays clear and is authenticated
  const withCsrc = Buffer.concat([
    Buffer.from([0x82, 8, 0, 7, 0, 0, 0, 1, 1, 2, 3, 4]),
    Buffer.alloc(8, 9),
    Buffer.alloc(20, 5),
  ]);
  assert.equal(rtpHeaderLength(withCsrc), 20);
  const sealed = ours.protect(withCsrc, 20, 7);
  assert.deepEqual(sealed.subarray(0, 20), withCsrc.subarray(0, 20));
  assert.deepEqual(ours.unprotect(sealed, 20, 7), withCsrc);
  const forged = Buffer.from(sealed);
  forged[1] ^= 0x01; // payload type changed in the clear header
  assert.equal(ours.unprotect(forged, 20, 7), undefined);
  assert.equal(ours.unprotect(sealed, 20, 7 + 0x10000), undefined, "a wrong ROC does not authenticate");
});

test("rtpHeaderLength: CSRCs, extension, and packets too short for them", () => {
  assert.equal(rtpHeaderLength(Buffer.alloc(11)), undefined);
  const ext = Buffer.concat([Buffer.from([0x90, 8, 0, 1, 0, 0, 0, 1, 1, 2, 3, 4, 0xbe, 0xde, 0, 2]), Buffer.alloc(8)]);
  assert.equal(rtpHeaderLength(ext), 24);
  assert.equal(rtpHeaderLength(ext.subarray(0, 20)), undefined);
  assert.equal(rtpHeaderLength(Buffer.from([0x8f, 8, 0, 1, 0, 0, 0, 1, 1, 2, 3, 4])), undefined, "15 CSRCs missing");
});
