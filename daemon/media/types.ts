// What the media layer offers the rest of the daemon. The RTP work runs in the media clock worker; these are the
// main-thread handles. Audio crossing this boundary is always 16 kHz mono PCM16 in 20 ms frames (320 samples).
import type { EventEmitter } from "node:events";
import type { CodecName } from "../config/schema.ts";

export const FRAME_MS = 20;
export const INTERNAL_RATE = 16000;
export const FRAME_SAMPLES = 320;

export interface NegotiatedMedia {
  codec: CodecName;
  payloadType: number;
  /** RTP clock rate of the codec (8000 for G.722 by RFC 3551's historical quirk). */
  clockRate: number;
  /** telephone-event payload type, when the peer offered it. */
  dtmfPayloadType?: number;
  /** Packet time we send, ms: the peer's a=ptime when it is 10, 20, 30 or 40 (within a=maxptime), else 20.
   * What we receive may be any packet size from 10 to 60 ms, whatever the SDP said. */
  ptimeMs?: number;
  remoteAddress: string;
  remotePort: number;
  remoteRtcpPort: number;
  direction: "sendrecv" | "sendonly" | "recvonly" | "inactive";
  /** SDES-SRTP keys when the stream is RTP/SAVP (RFC 4568); absent = plain RTP. */
  srtp?: SrtpKeys;
}

/** One SRTP crypto suite's master keys, each base64 of 16 bytes key + 14 bytes salt (the a=crypto inline form). */
export interface SrtpKeys {
  suite: "AES_CM_128_HMAC_SHA1_80";
  /** What we encrypt with: the key our own a=crypto announced. */
  localKey: string;
  /** What the peer encrypts with: the key of its a=crypto line. */
  remoteKey: string;
}

export type DtmfSource = "rfc4733" | "inband" | "info";

export type PlaySource =
  | { file: string }
  | { pcm: Int16Array; sampleRate: number }
  | { tone: { frequencies: number[]; durationMs: number; onMs?: number; offMs?: number } }
  | { silenceMs: number };

export interface PlayResult {
  /** "done" played to the end, "aborted" by the signal (barge-in, hangup), "failed" e.g. unreadable file. */
  outcome: "done" | "aborted" | "failed";
  playedMs: number;
  error?: string;
}

export interface MediaStats {
  codec?: CodecName;
  packetsSent: number;
  packetsReceived: number;
  bytesReceived: number;
  /** Audio packets never received (missing sequence numbers of the audio SSRC once their play time came). */
  packetsLost: number;
  packetsLate: number;
  packetsDuplicate: number;
  /** Audio synthesized by packet-loss concealment, in 20 ms frames. */
  framesConcealed: number;
  /** RFC 3550 interarrival jitter, ms. */
  jitterMs: number;
  /** Current jitter buffer target depth, ms. */
  jitterBufferMs: number;
  dtmfReceived: number;
  rtcpSent: number;
  rtcpReceived: number;
  /** Round-trip time from RTCP RR/SR, ms, when known. */
  rttMs?: number;
  /** Address RTP is sent to (after latching). */
  remote?: string;
  /** RTP/RTCP packets dropped as malformed (bad version, truncated header, garbage). */
  packetsMalformed?: number;
  /** RTP/RTCP packets from an unexpected source (not latched, possible injection), dropped. */
  packetsIgnored?: number;
  /** SRTP/SRTCP packets that failed authentication (wrong key, tampered, forged, plain RTP), dropped. */
  srtpAuthFailed?: number;
  /** Authentic SRTP/SRTCP packets replayed or older than the replay window, dropped. */
  srtpReplayed?: number;
}

export interface MediaSessionEvents {
  dtmf: [digit: string, source: DtmfSource, durationMs: number];
  /** First RTP packet received (after latching, if enabled). */
  firstPacket: [from: string];
  /** No RTP for media.rtpTimeoutS on an active session. */
  rtpTimeout: [];
  /** Decoded caller audio, only while `listen(true)`. */
  audio: [frame: Int16Array];
}

export interface MediaSession extends EventEmitter<MediaSessionEvents> {
  readonly id: string;
  readonly localAddress: string;
  readonly localPort: number;
  readonly negotiated: NegotiatedMedia | undefined;
  /** Build our answer to an SDP offer and start media towards the offerer; null when no codec fits (488). */
  answer(offerSdp: string): { sdp: string; media: NegotiatedMedia } | null;
  /** Why the last offer could not be answered (no common codec, an SRTP policy mismatch). */
  readonly refusal: string | undefined;
  /** Build an SDP offer with our codecs (outbound calls, late offer). */
  offer(): string;
  /** Apply the answer to our offer; false when it is unusable. */
  applyAnswer(answerSdp: string): boolean;
  play(source: PlaySource, opts?: { signal?: AbortSignal }): Promise<PlayResult>;
  /** Stop whatever is playing (the pending play() resolves "aborted"). */
  stopPlayback(): void;
  sendDtmf(digits: string, opts?: { durationMs?: number }): Promise<void>;
  /** Start recording both directions into a WAV (stereo: left = remote party, right = box/bridged party). */
  startRecording(path: string): void;
  stopRecording(): Promise<{ path: string; durationMs: number } | undefined>;
  /** Forward decoded caller audio frames as `audio` events (speech pipeline, silence detection). Counted: each
   * listen(true) needs its own listen(false). */
  listen(on: boolean): void;
  /** Connect this session's audio and DTMF both ways with another session (transcoding if codecs differ). */
  bridge(other: MediaSession): void;
  unbridge(): void;
  /** Put the stream on hold (sendonly/inactive from a re-INVITE) without tearing it down. */
  stats(): Promise<MediaStats>;
  close(): Promise<MediaStats>;
}

export interface MediaEngineStats {
  sessions: number;
  /** Send lateness of the media clock against absolute 20 ms deadlines, ms. */
  latenessP50Ms: number;
  latenessP99Ms: number;
  latenessMaxMs: number;
  ticks: number;
  /** Frames that were due but not sent (should be zero). */
  framesMissed: number;
}
