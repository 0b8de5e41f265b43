// Two-leg bridge inside the media worker. Each tick every session first decodes what it received; the send phase
// of one leg then takes the other leg's decoded 16 kHz frame. So audio crosses in the same tick (no extra delay),
// and transcoding between different codecs is implicit. DTMF received on one leg is regenerated on the other.

export interface BridgeLeg {
  readonly id: string;
  peer: BridgeLeg | undefined;
  /** This tick's decoded remote audio (null when nothing usable arrived). */
  readonly rxFrame: Int16Array | null;
  /** Regenerate a digit towards this leg's remote party. */
  relayDtmf(digit: string, durationMs: number): void;
}

export function connect(a: BridgeLeg, b: BridgeLeg): void {
  if (a === b) throw new Error("cannot bridge a session with itself");
  disconnect(a);
  disconnect(b);
  a.peer = b;
  b.peer = a;
}

export function disconnect(a: BridgeLeg): void {
  const b = a.peer;
  a.peer = undefined;
  if (b && b.peer === a) b.peer = undefined;
}
