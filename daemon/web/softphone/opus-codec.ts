// Opus for the browser side of a softphone call, at the box's internal rate: libopus (@evan/opus, native with a
// wasm fallback) decodes straight to 16 kHz and encodes from 16 kHz, so no 48 kHz audio exists here. The RTP clock
// of Opus stays 48 kHz whatever the audio rate (RFC 7587).
import { Decoder, Encoder } from "@evan/opus";
import { FRAME_SAMPLES, INTERNAL_RATE } from "../../media/types.ts";

/** RTP timestamp units of one 20 ms Opus frame (48 kHz clock). */
export const OPUS_FRAME_TICKS = 960;

// @evan/opus returns views into one module-wide output buffer shared by every encoder (and one shared by every
// decoder), overwritten by the next call: everything it returns is copied before anything else runs.

export class OpusDecoder {
  private readonly dec = new Decoder({ channels: 1, sample_rate: INTERNAL_RATE });

  /** One Opus packet (any frame size) -> 16 kHz mono PCM; undefined when libopus refuses the packet. */
  decode(payload: Uint8Array): Int16Array | undefined {
    if (payload.length === 0) return undefined;
    let bytes: Uint8Array;
    try {
      bytes = this.dec.decode(payload);
    } catch {
      return undefined;
    }
    const out = new Int16Array(bytes.byteLength >> 1);
    new Uint8Array(out.buffer).set(bytes.subarray(0, out.byteLength));
    return out;
  }
}

export class OpusEncoder {
  private readonly enc = new Encoder({ channels: 1, sample_rate: INTERNAL_RATE, application: "voip" });

  constructor(opts: { bitrate?: number; complexity?: 0 | 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 | 9 | 10 } = {}) {
    // 24 kbit/s is transparent for 16 kHz speech; complexity 5 costs about half of the default 10 with no audible
    // difference on speech.
    this.enc.bitrate = opts.bitrate ?? 24_000;
    this.enc.complexity = opts.complexity ?? 5;
    this.enc.signal = "voice";
  }

  /** One 20 ms frame (320 samples at 16 kHz) -> one Opus packet (a copy the caller owns). */
  encode(frame: Int16Array): Buffer {
    if (frame.length !== FRAME_SAMPLES) throw new Error(`an Opus frame here is ${FRAME_SAMPLES} samples`);
    // the wasm fallback counts bytes, so hand it a byte view
    return Buffer.from(this.enc.encode(new Uint8Array(frame.buffer, frame.byteOffset, frame.byteLength)));
  }
}
