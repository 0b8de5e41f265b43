// SDES key exchange for SRTP (RFC 4568): the a=crypto lines of an SDP. Only AES_CM_128_HMAC_SHA1_80 is supported,
// the suite every SIP trunk and phone that does SRTP offers; keys are 30 bytes (16 key + 14 salt) in base64.
import { randomBytes } from "node:crypto";
import { SRTP_SUITE } from "../media/srtp.ts";
const KEY_BYTES = 30;

/** a=crypto as sdp-transform parses and writes it. */
export interface CryptoLine {
  id: number;
  suite: string;
  config: string;
  sessionConfig?: string;
}

/** A fresh master key and salt for one media session. */
export function newSrtpKey(): string {
  return randomBytes(KEY_BYTES).toString("base64");
}

export function offerCrypto(tag: number, key: string): CryptoLine {
  return { id: tag, suite: SRTP_SUITE, config: `inline:${key}` };
}

/**
 * The first crypto line we can honour: our suite, exactly one inline key of 30 bytes without an MKI (we send none
 * and cannot demultiplex several keys), and no session parameter that changes the transform (RFC 4568 6.3: an
 * unknown one makes the line unusable; only the window size hint is harmless).
 */
export function pickCrypto(lines: CryptoLine[] | undefined): { tag: number; key: string } | undefined {
  for (const l of lines ?? []) {
    if (l.suite.toUpperCase() !== SRTP_SUITE) continue;
    if (!Number.isInteger(l.id) || l.id < 0 || l.id > 999_999_999) continue;
    const params = (l.sessionConfig ?? "").trim();
    if (params !== "" && !params.split(/\s+/).every((p) => /^WSH=\d+$/i.test(p))) continue;
    const keyParams = l.config.split(";");
    if (keyParams.length !== 1) continue;
    const m = /^inline:([A-Za-z0-9+/]+={0,2})(?:\|(2\^\d+|\d+))?$/.exec(keyParams[0].trim());
    if (!m) continue;
    if (Buffer.from(m[1], "base64").length !== KEY_BYTES) continue;
    return { tag: l.id, key: m[1] };
  }
  return undefined;
}
