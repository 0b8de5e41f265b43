// The AES_CM_128_HMAC_SHA1_80 transform for SRTP packets (RFC 3711 4.1.1 and 4.2.1) and its key derivation (4.3.1),
// built for the media clock's thread: one AES-ECB cipher and two pre-keyed SHA-1 states per direction, made once, so
// a packet costs one ECB call for its whole keystream and two hash copies for its tag. Creating a CTR cipher and an
// HMAC per packet (werift's way) cost twice as much and saturated the media thread at 200 SRTP calls.
import { type Cipher, createCipheriv, createHash, type Hash, timingSafeEqual } from "node:crypto";

const BLOCK = 16;
export const AUTH_TAG_BYTES = 10;

/** AES-CM keystream (RFC 3711 4.1.1): block i is AES(key, iv + i); the iv's last two bytes are zero. */
class KeystreamGenerator {
  private readonly ecb: Cipher;
  private counters = Buffer.alloc(BLOCK * 12);

  constructor(key: Buffer) {
    this.ecb = createCipheriv("aes-128-ecb", key, null);
    this.ecb.setAutoPadding(false);
  }

  /** `length` bytes of keystream for the 16-byte `iv`. */
  next(iv: Buffer, length: number): Buffer {
    const blocks = Math.ceil(length / BLOCK);
    if (this.counters.length < blocks * BLOCK) this.counters = Buffer.alloc(blocks * BLOCK);
    for (let b = 0; b < blocks; b++) {
      const at = b * BLOCK;
      iv.copy(this.counters, at);
      this.counters.writeUInt16BE(b, at + 14);
    }
    return this.ecb.update(this.counters.subarray(0, blocks * BLOCK));
  }
}

/** HMAC-SHA1 with the key's inner and outer pads hashed once; each tag copies the two states. */
class Sha1Mac {
  private readonly inner: Hash;
  private readonly outer: Hash;

  constructor(key: Buffer) {
    const ipad = Buffer.alloc(64, 0x36);
    const opad = Buffer.alloc(64, 0x5c);
    for (let i = 0; i < key.length; i++) {
      ipad[i] ^= key[i];
      opad[i] ^= key[i];
    }
    this.inner = createHash("sha1").update(ipad);
    this.outer = createHash("sha1").update(opad);
  }

  tag(data: Buffer, roc: Buffer): Buffer {
    const inner = this.inner.copy().update(data).update(roc).digest();
    return this.outer.copy().update(inner).digest();
  }
}

/** RFC 3711 4.3.1 with key_derivation_rate 0: `length` bytes for `label` from the master key and salt. */
export function deriveKey(masterKey: Buffer, masterSalt: Buffer, label: number, length: number): Buffer {
  const iv = Buffer.alloc(BLOCK);
  masterSalt.copy(iv, 0, 0, 14);
  iv[7] ^= label; // key_id = label || 48-bit index (0), XORed into the salt's low bytes
  return new KeystreamGenerator(masterKey).next(iv, length).subarray(0, length);
}

/** One direction of an SRTP stream's crypto: session keys derived from the master key and salt. */
export class SrtpTransform {
  private readonly keystream: KeystreamGenerator;
  private readonly mac: Sha1Mac;
  private readonly salt: Buffer;
  private readonly iv = Buffer.alloc(BLOCK);
  private readonly roc = Buffer.alloc(4);

  constructor(masterKey: Buffer, masterSalt: Buffer) {
    this.keystream = new KeystreamGenerator(deriveKey(masterKey, masterSalt, 0, 16));
    this.mac = new Sha1Mac(deriveKey(masterKey, masterSalt, 1, 20));
    this.salt = deriveKey(masterKey, masterSalt, 2, 14);
  }

  /** SRTP for a plain RTP packet whose header is `headerLength` bytes; `index` = ROC * 2^16 + SEQ. */
  protect(packet: Buffer, headerLength: number, index: number): Buffer {
    const out = Buffer.allocUnsafe(packet.length + AUTH_TAG_BYTES);
    packet.copy(out, 0, 0, headerLength);
    this.crypt(packet, headerLength, packet.length, out, index);
    this.tag(out.subarray(0, packet.length), index).copy(out, packet.length, 0, AUTH_TAG_BYTES);
    return out;
  }

  /** The plain RTP packet, or undefined when the tag does not authenticate it. */
  unprotect(packet: Buffer, headerLength: number, index: number): Buffer | undefined {
    const end = packet.length - AUTH_TAG_BYTES;
    if (end < headerLength) return undefined;
    const expected = this.tag(packet.subarray(0, end), index).subarray(0, AUTH_TAG_BYTES);
    if (!timingSafeEqual(expected, packet.subarray(end))) return undefined;
    const out = Buffer.allocUnsafe(end);
    packet.copy(out, 0, 0, headerLength);
    this.crypt(packet, headerLength, end, out, index);
    return out;
  }

  /** XOR the keystream for (SSRC, index) over packet[from, to) into out (RFC 3711 4.1.1's IV). */
  private crypt(packet: Buffer, from: number, to: number, out: Buffer, index: number): void {
    const iv = this.iv;
    this.salt.copy(iv, 0);
    iv[14] = 0;
    iv[15] = 0;
    for (let i = 0; i < 4; i++) iv[4 + i] ^= packet[8 + i]; // SSRC
    const roc = Math.floor(index / 0x10000);
    iv[8] ^= (roc >>> 24) & 0xff;
    iv[9] ^= (roc >>> 16) & 0xff;
    iv[10] ^= (roc >>> 8) & 0xff;
    iv[11] ^= roc & 0xff;
    iv[12] ^= (index >>> 8) & 0xff;
    iv[13] ^= index & 0xff;
    const ks = this.keystream.next(iv, to - from);
    for (let i = from; i < to; i++) out[i] = packet[i] ^ ks[i - from];
  }

  private tag(authenticated: Buffer, index: number): Buffer {
    this.roc.writeUInt32BE(Math.floor(index / 0x10000));
    return this.mac.tag(authenticated, this.roc);
  }
}

/** Length of an RTP header with its CSRCs and extension; undefined when the packet is shorter than that. */
export function rtpHeaderLength(packet: Buffer): number | undefined {
  if (packet.length < 12) return undefined;
  let n = 12 + (packet[0] & 0x0f) * 4;
  if (packet[0] & 0x10) {
    if (packet.length < n + 4) return undefined;
    n += 4 + packet.readUInt16BE(n + 2) * 4;
  }
  return packet.length < n ? undefined : n;
}
