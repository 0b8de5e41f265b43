// Helpers for tests that wait on asynchronous media and measure audio (not used by the daemon itself).
import { ProtectionProfileAes128CmHmacSha1_80, SrtcpSession, SrtpSession } from "werift";

/** Polls `cond` every 20 ms until it holds; throws naming `what` after `limitMs`. */
export async function until(cond: () => boolean, what: string, limitMs = 10_000): Promise<void> {
  const end = Date.now() + limitMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Share of `freq` in the power of a signal sampled at `rate` (one DFT bin, 0..1): ~1 for a pure tone. */
export function toneShare(x: Int16Array, freq: number, rate = 16_000): number {
  let re = 0;
  let im = 0;
  let e = 0;
  for (let i = 0; i < x.length; i++) {
    const w = (2 * Math.PI * freq * i) / rate;
    re += x[i]! * Math.cos(w);
    im -= x[i]! * Math.sin(w);
    e += x[i]! * x[i]!;
  }
  return e === 0 ? 0 : (2 * (re * re + im * im)) / (x.length * e);
}

/**
 * An independent SRTP/SRTCP endpoint (werift) to check ours against: it encrypts with `mine` and decrypts what was
 * encrypted with `other`, both 30-byte master key + salt.
 */
export function weriftSrtpPeer(mine: Buffer, other: Buffer): { rtp: SrtpSession; rtcp: SrtcpSession } {
  const config = {
    keys: {
      localMasterKey: mine.subarray(0, 16),
      localMasterSalt: mine.subarray(16),
      remoteMasterKey: other.subarray(0, 16),
      remoteMasterSalt: other.subarray(16),
    },
    profile: ProtectionProfileAes128CmHmacSha1_80,
  };
  return { rtp: new SrtpSession(config), rtcp: new SrtcpSession(config) };
}
