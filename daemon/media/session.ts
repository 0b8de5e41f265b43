// Main-thread handle of one media session: SDP offer/answer (pure functions in sip/sdp.ts) plus commands to the
// media worker. Holds no audio state itself; everything time-critical lives in the worker's RtpSession.
import { EventEmitter } from "node:events";
import type { MediaConfig, SrtpPolicy } from "../config/schema.ts";
import type { Log } from "../ops/log.ts";
import { answerOffer, buildOffer, type Direction, type LocalSrtp, parseAnswer, type SdpOrigin } from "../sip/sdp.ts";
import { newSrtpKey } from "../sip/sdes.ts";
import type { Reply, SessionEvent, ToWorker } from "./messages.ts";
import { dtmfTones, loadPlaySource } from "./player.ts";
import { isDtmfDigit } from "./dtmf-rfc4733.ts";
import {
  INTERNAL_RATE,
  type MediaSession,
  type MediaSessionEvents,
  type MediaStats,
  type NegotiatedMedia,
  type PlayResult,
  type PlaySource,
} from "./types.ts";

type WithoutReq<T> = T extends unknown ? Omit<T, "req"> : never;

/** What a session needs from the engine: fire-and-forget commands and request/reply. */
export interface WorkerLink {
  post(m: ToWorker, transfer?: ArrayBuffer[]): void;
  request(m: WithoutReq<Extract<ToWorker, { req: number }>>): Promise<Reply>;
}

export interface SdpOverrides {
  /** Address for our c= line when media.publicAddress is unset and rtpAddress is a wildcard (e.g. the address the
   * SIP request arrived on). */
  localAddress?: string;
}

interface PendingPlay {
  resolve: (r: PlayResult) => void;
  cleanup: () => void;
}

export class EngineMediaSession extends EventEmitter<MediaSessionEvents> implements MediaSession {
  private neg: NegotiatedMedia | undefined;
  private readonly origin: SdpOrigin;
  private sdpCount = 0;
  private offeredCodecs: MediaConfig["codecs"] = [];
  private offeredDirection: Direction = "sendrecv";
  private readonly plays = new Map<number, PendingPlay>();
  private nextPlayId = 1;
  private listenCount = 0;
  private closed: Promise<MediaStats> | undefined;
  /** One master key for the session's life: re-offers keep it, so the SRTP rollover state survives a re-INVITE. */
  private readonly srtp: LocalSrtp | undefined;
  /** Why the last offer could not be answered (answer() returned null). */
  refusal: string | undefined;

  constructor(
    readonly id: string,
    readonly localAddress: string,
    readonly localPort: number,
    private readonly link: WorkerLink,
    private readonly cfg: MediaConfig,
    private readonly log: Log,
    srtpPolicy: SrtpPolicy = "off",
  ) {
    super();
    this.origin = { sessionId: String(Math.floor(Math.random() * 1e12)), version: 0 };
    this.srtp = srtpPolicy === "off" ? undefined : { policy: srtpPolicy, localKey: newSrtpKey() };
  }

  get negotiated(): NegotiatedMedia | undefined {
    return this.neg;
  }

  private sdpParams(o: SdpOverrides | undefined, direction?: Direction) {
    // every SDP we send gets a new origin version (RFC 3264 8)
    this.origin.version = this.sdpCount++;
    const address = this.cfg.publicAddress ?? o?.localAddress ?? this.localAddress;
    return { address, port: this.localPort, codecs: this.cfg.codecs, origin: this.origin, direction, srtp: this.srtp };
  }

  answer(offerSdp: string, opts?: SdpOverrides): { sdp: string; media: NegotiatedMedia } | null {
    const r = answerOffer(offerSdp, this.sdpParams(opts));
    if (!r.ok) {
      this.sdpCount--; // nothing was sent
      this.refusal = r.reason;
      this.log.info({ sid: this.id, reason: r.reason }, "SDP offer not acceptable");
      return null;
    }
    const media = { ...r.media, ptimeMs: sendPtime(offerSdp) };
    this.apply(media);
    return { sdp: r.sdp, media };
  }

  /** Our offer; `direction: "sendonly"` puts the far end on hold, "sendrecv" resumes. */
  offer(opts?: SdpOverrides & { direction?: Direction }): string {
    this.offeredCodecs = this.cfg.codecs;
    this.offeredDirection = opts?.direction ?? "sendrecv";
    return buildOffer(this.sdpParams(opts, this.offeredDirection));
  }

  applyAnswer(answerSdp: string): boolean {
    const m = parseAnswer(answerSdp, this.offeredCodecs, this.offeredDirection, this.srtp);
    if (!m) return false;
    this.apply({ ...m, ptimeMs: sendPtime(answerSdp) });
    return true;
  }

  private apply(m: NegotiatedMedia): void {
    this.neg = m;
    this.link.post({ t: "configure", sid: this.id, media: m });
  }

  async play(source: PlaySource, opts?: { signal?: AbortSignal }): Promise<PlayResult> {
    const signal = opts?.signal;
    if (signal?.aborted || this.closed) return { outcome: "aborted", playedMs: 0 };
    let pcm: Int16Array;
    try {
      pcm = await loadPlaySource(source);
    } catch (e) {
      return { outcome: "failed", playedMs: 0, error: (e as Error).message };
    }
    if (signal?.aborted || this.closed) return { outcome: "aborted", playedMs: 0 };
    const playId = this.nextPlayId++;
    const onAbort = () => this.link.post({ t: "stopPlay", sid: this.id, playId });
    signal?.addEventListener("abort", onAbort, { once: true });
    const done = new Promise<PlayResult>((resolve) => {
      this.plays.set(playId, { resolve, cleanup: () => signal?.removeEventListener("abort", onAbort) });
    });
    this.link.post({ t: "play", sid: this.id, playId, pcm }, [pcm.buffer as ArrayBuffer]);
    return done;
  }

  stopPlayback(): void {
    this.link.post({ t: "stopPlay", sid: this.id });
  }

  async sendDtmf(digits: string, opts?: { durationMs?: number }): Promise<void> {
    const clean = [...digits].filter(isDtmfDigit).join("");
    if (!clean) return;
    const durationMs = opts?.durationMs ?? 100;
    if (this.neg?.dtmfPayloadType === undefined) {
      // no telephone-event with this peer: send the tones in-band
      await this.play({ pcm: dtmfTones(clean, durationMs), sampleRate: INTERNAL_RATE });
      return;
    }
    const r = await this.link.request({ t: "dtmf", sid: this.id, digits: clean, durationMs });
    if (r.t === "error") throw new Error(r.message);
  }

  startRecording(path: string): void {
    this.link
      .request({ t: "record", sid: this.id, path })
      .then((r) => {
        if (r.t === "error") this.log.warn({ sid: this.id, err: r.message }, "recording failed to start");
      })
      .catch(() => undefined);
  }

  async stopRecording(): Promise<{ path: string; durationMs: number } | undefined> {
    const r = await this.link.request({ t: "stopRecord", sid: this.id });
    if (r.t === "error") throw new Error(r.message);
    return r.t === "recorded" ? r.result : undefined;
  }

  /** Reference-counted: the speech channel and a voicemail recording may listen at the same time. */
  listen(on: boolean): void {
    const before = this.listenCount;
    this.listenCount = Math.max(0, this.listenCount + (on ? 1 : -1));
    if ((before === 0) !== (this.listenCount === 0)) this.link.post({ t: "listen", sid: this.id, on });
  }

  bridge(other: MediaSession): void {
    if (!(other instanceof EngineMediaSession) || other.link !== this.link)
      throw new Error("can only bridge sessions of the same media engine");
    this.link.post({ t: "bridge", sid: this.id, peer: other.id });
  }

  unbridge(): void {
    this.link.post({ t: "bridge", sid: this.id, peer: null });
  }

  async stats(): Promise<MediaStats> {
    const r = await this.link.request({ t: "stats", sid: this.id });
    if (r.t !== "stats") throw new Error(r.t === "error" ? r.message : "unexpected reply");
    return r.stats;
  }

  close(): Promise<MediaStats> {
    this.closed ??= this.link.request({ t: "close", sid: this.id }).then((r) => {
      for (const [, p] of this.plays) {
        p.cleanup();
        p.resolve({ outcome: "aborted", playedMs: 0 });
      }
      this.plays.clear();
      if (r.t !== "stats") throw new Error(r.t === "error" ? r.message : "unexpected reply");
      return r.stats;
    });
    return this.closed;
  }

  /** Called by the engine for events from the worker. */
  handle(ev: SessionEvent): void {
    switch (ev.t) {
      case "dtmf":
        this.emit("dtmf", ev.digit, ev.source, ev.durationMs);
        return;
      case "firstPacket":
        this.emit("firstPacket", ev.from);
        return;
      case "rtpTimeout":
        this.emit("rtpTimeout");
        return;
      case "audio":
        this.emit("audio", ev.frame);
        return;
      case "playDone": {
        const p = this.plays.get(ev.playId);
        if (!p) return;
        this.plays.delete(ev.playId);
        p.cleanup();
        p.resolve({ outcome: ev.outcome, playedMs: ev.playedMs });
        return;
      }
    }
  }
}

const SEND_PTIMES = [10, 20, 30, 40];

/**
 * The packet time to send with, from the peer's SDP (first active audio stream, session-level attributes as the
 * fallback some old UAs rely on): its a=ptime when we can packetize that (10/20/30/40 ms), limited by a=maxptime;
 * otherwise 20 ms, which RFC 3551 makes the default every peer must accept.
 */
export function sendPtime(sdp: string): number {
  let inAudio = false;
  let seenAudio = false;
  const at: { ptime?: number; maxptime?: number } = {};
  const session: { ptime?: number; maxptime?: number } = {};
  for (const raw of sdp.split(/\r?\n/)) {
    const line = raw.trim();
    if (line.startsWith("m=")) {
      if (seenAudio) break;
      inAudio = /^m=audio [1-9]/.test(line);
      seenAudio = inAudio;
      continue;
    }
    const a = /^a=(ptime|maxptime):\s*(\d+)/.exec(line);
    if (!a) continue;
    const into = inAudio ? at : seenAudio ? undefined : session;
    if (into) into[a[1] as "ptime" | "maxptime"] = Number(a[2]);
  }
  const ptime = at.ptime ?? session.ptime;
  const max = at.maxptime ?? session.maxptime;
  let want = ptime !== undefined && SEND_PTIMES.includes(ptime) ? ptime : 20;
  if (max !== undefined && want > max) want = SEND_PTIMES.filter((p) => p <= max).pop() ?? 10;
  return want;
}
