// SDES-SRTP for one RTP session (RFC 3711, AES_CM_128_HMAC_SHA1_80 only): RTP packets go through our own transform
// (srtp-transform.ts, made for the media thread's packet rate), RTCP through werift's SrtcpSession (one packet in
// seconds); the packet index and the replay window are ours.
// werift guesses the receive rollover counter from the previous sequence number within +-100, so a burst of loss
// across a 65535 -> 0 wrap would make every later packet fail authentication for good; RFC 3711 3.3.1's estimate
// (nearest index within 2^15) does not. werift also keeps no replay list, for SRTP or SRTCP.
import { ProtectionProfileAes128CmHmacSha1_80, SrtcpSession } from "werift";
import { AUTH_TAG_BYTES, rtpHeaderLength, SrtpTransform } from "./srtp-transform.ts";
import type { SrtpKeys } from "./types.ts";

export const SRTP_SUITE = "AES_CM_128_HMAC_SHA1_80";
const MASTER_KEY_BYTES = 16;
const MASTER_SALT_BYTES = 14;
/** SRTCP trailer: E flag + 31-bit index, then the tag. */
const SRTCP_TRAILER_BYTES = 4 + AUTH_TAG_BYTES;
/** RFC 3711 3.3.2: at least 64 packets. */
export const REPLAY_WINDOW = 64;
/** SSRCs whose receive state we keep; states exist only for authenticated packets, so only the peer can add them. */
const MAX_SSRCS = 16;

/** Where dropped packets are counted; RtpSession passes its own counters so they survive a re-key. */
export interface SrtpDropCounters {
  /** Packets that failed authentication (wrong key, tampered, forged, too short to carry a tag). */
  srtpAuthFailed: number;
  /** Authentic packets received again, or too old for the replay window. */
  srtpReplayed: number;
}

/**
 * RFC 3711 3.3.2 sliding window over one SSRC's packet indices: `top` is the highest authenticated index, bit i of
 * `seen` says whether index top - i was received.
 */
class ReplayWindow {
  top = -1;
  private seen = 0n;

  fresh(index: number): boolean {
    if (index > this.top) return true;
    const back = this.top - index;
    return back < REPLAY_WINDOW && ((this.seen >> BigInt(back)) & 1n) === 0n;
  }

  /** Record an authenticated index (call only after fresh() and authentication both passed). */
  accept(index: number): void {
    if (index > this.top) {
      const shift = index - this.top;
      this.seen = shift >= REPLAY_WINDOW ? 1n : BigInt.asUintN(REPLAY_WINDOW, (this.seen << BigInt(shift)) | 1n);
      this.top = index;
    } else this.seen |= 1n << BigInt(this.top - index);
  }
}

/**
 * RFC 3711 3.3.1: the 48-bit packet index (ROC * 2^16 + SEQ) nearest to the highest index seen so far, -1 when
 * it would fall before index 0. `top` < 0 means nothing seen yet: the stream starts with ROC 0 (RFC 4568 has no
 * way to signal another).
 */
export function packetIndex(seq: number, top: number): number {
  if (top < 0) return seq;
  const roc = Math.floor(top / 0x10000);
  const sl = top % 0x10000;
  let v = roc;
  if (sl < 0x8000) {
    if (seq - sl > 0x8000) v = roc - 1;
  } else if (sl - 0x8000 > seq) v = roc + 1;
  return v < 0 ? -1 : v * 0x10000 + seq;
}

/** Master key and salt from the a=crypto inline form; the error names the field and the problem, never the key. */
export function decodeSrtpKey(b64: string, field: string): { key: Buffer; salt: Buffer } {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64) || b64.length % 4 !== 0)
    throw new Error(
      `SRTP ${field} is not base64 (expected the inline key of an a=crypto line, without lifetime or MKI)`,
    );
  const raw = Buffer.from(b64, "base64");
  const want = MASTER_KEY_BYTES + MASTER_SALT_BYTES;
  if (raw.length !== want)
    throw new Error(
      `SRTP ${field} decodes to ${raw.length} bytes; ${SRTP_SUITE} needs ${want} (16-byte master key + 14-byte salt)`,
    );
  return { key: raw.subarray(0, MASTER_KEY_BYTES), salt: raw.subarray(MASTER_KEY_BYTES) };
}

/** True when both are absent or carry the same suite and keys (a re-INVITE that keeps the crypto context). */
export function sameSrtpKeys(a: SrtpKeys | undefined, b: SrtpKeys | undefined): boolean {
  if (!a || !b) return a === b;
  return a.suite === b.suite && a.localKey === b.localKey && a.remoteKey === b.remoteKey;
}

/** The SRTP and SRTCP crypto state of one RTP session: protect what we send, authenticate what we receive. */
export class SrtpContext {
  private readonly send: SrtpTransform;
  private readonly receive: SrtpTransform;
  private readonly rtcp: SrtcpSession;
  /** Highest packet index sent per SSRC (our ROC follows it). */
  private readonly sent = new Map<number, number>();
  private readonly rtpWindows = new Map<number, ReplayWindow>();
  private readonly rtcpWindows = new Map<number, ReplayWindow>();

  constructor(
    keys: SrtpKeys,
    readonly counters: SrtpDropCounters = { srtpAuthFailed: 0, srtpReplayed: 0 },
  ) {
    if (keys.suite !== SRTP_SUITE) throw new Error(`SRTP suite ${String(keys.suite)} is not supported`);
    const local = decodeSrtpKey(keys.localKey, "localKey");
    const remote = decodeSrtpKey(keys.remoteKey, "remoteKey");
    const config = {
      keys: {
        localMasterKey: local.key,
        localMasterSalt: local.salt,
        remoteMasterKey: remote.key,
        remoteMasterSalt: remote.salt,
      },
      profile: ProtectionProfileAes128CmHmacSha1_80,
    };
    this.send = new SrtpTransform(local.key, local.salt);
    this.receive = new SrtpTransform(remote.key, remote.salt);
    this.rtcp = new SrtcpSession(config);
  }

  /** SRTP packet for a plain RTP packet (header + payload, any padding included). */
  protectRtp(packet: Buffer): Buffer {
    const headerLength = rtpHeaderLength(packet);
    if (headerLength === undefined) throw new Error("not an RTP packet: too short for its header");
    const ssrc = packet.readUInt32BE(8);
    const top = this.sent.get(ssrc) ?? -1;
    const index = Math.max(0, packetIndex(packet.readUInt16BE(2), top));
    if (index > top) this.sent.set(ssrc, index);
    return this.send.protect(packet, headerLength, index);
  }

  /** The plain RTP packet, or undefined (counted) when it fails authentication or is a replay. */
  unprotectRtp(packet: Buffer): Buffer | undefined {
    if (packet.length < 12 + AUTH_TAG_BYTES || packet[0] >> 6 !== 2) {
      this.counters.srtpAuthFailed++;
      return undefined;
    }
    const ssrc = packet.readUInt32BE(8);
    const known = this.rtpWindows.get(ssrc);
    const index = packetIndex(packet.readUInt16BE(2), known?.top ?? -1);
    // replays are refused before any crypto work (RFC 3711 3.3: check the index first)
    if (index < 0 || (known && !known.fresh(index))) {
      this.counters.srtpReplayed++;
      return undefined;
    }
    const headerLength = rtpHeaderLength(packet.subarray(0, packet.length - AUTH_TAG_BYTES));
    const plain = headerLength === undefined ? undefined : this.receive.unprotect(packet, headerLength, index);
    if (!plain) {
      this.counters.srtpAuthFailed++;
      return undefined;
    }
    this.window(this.rtpWindows, ssrc, known).accept(index);
    return plain;
  }

  /** SRTCP packet (encrypted, with index and tag) for a plain compound RTCP packet. */
  protectRtcp(packet: Buffer): Buffer {
    return this.rtcp.encrypt(packet);
  }

  /** The plain compound RTCP packet, or undefined (counted) when it fails authentication or is a replay. */
  unprotectRtcp(packet: Buffer): Buffer | undefined {
    if (packet.length < 8 + SRTCP_TRAILER_BYTES || packet[0] >> 6 !== 2) {
      this.counters.srtpAuthFailed++;
      return undefined;
    }
    const ssrc = packet.readUInt32BE(4);
    const index = packet.readUInt32BE(packet.length - SRTCP_TRAILER_BYTES) & 0x7fffffff;
    const known = this.rtcpWindows.get(ssrc);
    if (known && !known.fresh(index)) {
      this.counters.srtpReplayed++;
      return undefined;
    }
    let plain: Buffer;
    try {
      [plain] = this.rtcp.remoteContext.cipher.decryptRTCP(packet);
    } catch {
      this.counters.srtpAuthFailed++;
      return undefined;
    }
    this.window(this.rtcpWindows, ssrc, known).accept(index);
    return plain;
  }

  private window(map: Map<number, ReplayWindow>, ssrc: number, known: ReplayWindow | undefined): ReplayWindow {
    if (known) return known;
    if (map.size >= MAX_SSRCS) map.delete(map.keys().next().value as number);
    const w = new ReplayWindow();
    map.set(ssrc, w);
    return w;
  }
}
