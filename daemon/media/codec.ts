// Audio codecs as the RTP session sees them: payload <-> native-rate PCM, plus the conversion to and from the
// internal 16 kHz frame. Buffers are reused between calls (one instance per session and direction).
import type { CodecName } from "../config/schema.ts";
import { ALAW_SILENCE, g711Decode, g711Encode, type G711Law, ULAW_SILENCE } from "./g711.ts";
import { G722Decoder, G722Encoder } from "./g722.ts";
import { Downsampler2, Upsampler2 } from "./resample.ts";
import { FRAME_SAMPLES } from "./types.ts";

export interface AudioCodec {
  readonly name: CodecName;
  /** Sample rate of decoded audio (8000 for G.711, 16000 for G.722). */
  readonly nativeRate: 8000 | 16000;
  /** Payload of a silent 20 ms frame. */
  readonly silence: Uint8Array;
  /** Decode a payload to native-rate PCM (the returned array is reused on the next call). */
  decode(payload: Uint8Array): Int16Array;
  /** Native-rate PCM -> one internal 16 kHz frame (reused). */
  toInternal(native: Int16Array): Int16Array;
  /** One internal 16 kHz frame -> payload (reused). */
  encode(frame: Int16Array): Uint8Array;
}

class G711Codec implements AudioCodec {
  readonly nativeRate = 8000;
  readonly silence: Uint8Array;
  private readonly up = new Upsampler2();
  private readonly down = new Downsampler2();
  private decoded = new Int16Array(160);
  private readonly down8 = new Int16Array(160);
  private readonly up16 = new Int16Array(FRAME_SAMPLES);
  private readonly payload = new Uint8Array(160);

  constructor(
    readonly name: "PCMU" | "PCMA",
    private readonly law: G711Law,
  ) {
    this.silence = new Uint8Array(160).fill(law === "ulaw" ? ULAW_SILENCE : ALAW_SILENCE);
  }

  decode(payload: Uint8Array): Int16Array {
    if (this.decoded.length !== payload.length) this.decoded = new Int16Array(payload.length);
    return g711Decode(this.law, payload, this.decoded);
  }

  toInternal(native: Int16Array): Int16Array {
    if (native.length !== 160) return this.up.process(native);
    return this.up.process(native, this.up16);
  }

  encode(frame: Int16Array): Uint8Array {
    return g711Encode(this.law, this.down.process(frame, this.down8), this.payload);
  }
}

class G722Codec implements AudioCodec {
  readonly name = "G722" as const;
  readonly nativeRate = 16000;
  readonly silence: Uint8Array;
  private readonly enc = new G722Encoder();
  private readonly dec = new G722Decoder();
  private decoded = new Int16Array(FRAME_SAMPLES);
  private readonly payload = new Uint8Array(FRAME_SAMPLES / 2);

  constructor() {
    this.silence = new G722Encoder().encode(new Int16Array(FRAME_SAMPLES));
  }

  decode(payload: Uint8Array): Int16Array {
    if (this.decoded.length !== payload.length * 2) this.decoded = new Int16Array(payload.length * 2);
    return this.dec.decode(payload, this.decoded);
  }

  toInternal(native: Int16Array): Int16Array {
    return native;
  }

  encode(frame: Int16Array): Uint8Array {
    return this.enc.encode(frame, this.payload);
  }
}

export function createCodec(name: CodecName): AudioCodec {
  if (name === "PCMU") return new G711Codec("PCMU", "ulaw");
  if (name === "PCMA") return new G711Codec("PCMA", "alaw");
  return new G722Codec();
}
