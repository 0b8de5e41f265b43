// One call leg = one CallSession: a SIP leg, its media session and its CDR row, wired together. It owns no call
// logic; apps (the demo line now, the flow engine later) drive it through play/digits/record/hangup.
import { randomUUID } from "node:crypto";
import { mkdirSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { Config, SrtpPolicy } from "../config/schema.ts";
import type { MediaEngine } from "../media/engine.ts";
import {
  type DtmfSource,
  INTERNAL_RATE,
  type MediaSession,
  type MediaStats,
  type PlayResult,
  type PlaySource,
} from "../media/types.ts";
import { concatInt16 } from "../media/pcm.ts";
import { encodeWav } from "../media/wav.ts";
import type { Log } from "../ops/log.ts";
import { CallFailedError } from "../sip/endpoint.ts";
import type { CallLeg, InboundCall, LegEndCause, OutboundCall, ReferResult } from "../sip/types.ts";
import type { CallRecords, HangupSide } from "../store/calls.ts";
import { DigitQueue } from "./digit-queue.ts";
import { SilenceDetector } from "./silence-detector.ts";

export interface CallDeps {
  config: Config;
  media: MediaEngine;
  cdr: CallRecords;
  log: Log;
  recordingsDir: string;
  /** Calls are recorded only once the app asks (after the caller's consent). */
  recordAfterConsent?: boolean;
  dial(opts: { target: string; trunkId?: string; sdp: string; ringTimeoutMs?: number; card?: CallCard }): OutboundCall;
  /** ops/disk-guard.ts: no recording while the data disk is nearly full; calls stay up. */
  recordingGate?: RecordingGate;
}

/** Whether calls may be recorded now, and when that changes. */
export interface RecordingGate {
  readonly recordingAllowed: boolean;
  on(event: "change", listener: (allowed: boolean) => void): unknown;
  off(event: "change", listener: (allowed: boolean) => void): unknown;
}

/** What a human sees while their phone rings (the browser softphone shows it; SIP phones get the spoken whisper). */
export interface CallCard {
  /** The caller as shown: a number or a name. */
  from: string;
  context: { caller: string; intent?: string; summary: string; slots: Record<string, string> };
  whisper?: string;
}

export class CallRejected extends Error {
  constructor(
    readonly status: number,
    reason: string,
  ) {
    super(reason);
  }
}

export class CallSession {
  readonly digits = new DigitQueue();
  readonly ended: Promise<void>;
  private hangupBy: { side: HangupSide; cause: string; sipStatus?: number } | undefined;
  private resolveEnded!: () => void;
  private maxDurationTimer: NodeJS.Timeout | undefined;
  private recording = false;

  private constructor(
    readonly id: string,
    readonly leg: CallLeg,
    readonly media: MediaSession,
    private readonly deps: CallDeps,
    readonly log: Log,
  ) {
    this.ended = new Promise((r) => {
      this.resolveEnded = r;
    });
    media.on("dtmf", (digit: string, source: DtmfSource) => this.onDigit(digit, source));
    leg.on("infoDtmf", (digit: string) => this.onDigit(digit, "info"));
    media.on("rtpTimeout", () => void this.hangup("system", "rtp timeout"));
    leg.on("ended", (cause: LegEndCause) => void this.finish(cause));
    leg.setSdpResponder({
      answer: (offer) => media.answer(offer)?.sdp ?? null,
      offer: () => media.offer(),
      applyAnswer: (answer) => media.applyAnswer(answer),
    });
  }

  get signal(): AbortSignal {
    return this.leg.signal;
  }

  /** The dialled number (inbound) as it arrived in the Request-URI. */
  get did(): string {
    return this.leg.info.did;
  }

  /** The caller's number (user part of From) when it has one. */
  get from(): string | undefined {
    return this.leg.info.fromUser;
  }

  get direction(): "inbound" | "outbound" {
    return this.isInbound(this.leg) ? "inbound" : "outbound";
  }

  /** Take an offered call: negotiate media, ring, answer, start recording. Rejects the leg on failure. */
  static async answer(leg: InboundCall, deps: CallDeps): Promise<CallSession> {
    const id = CallSession.recordOffer(leg, deps);
    const log = deps.log.child({ call: id });
    let media: MediaSession;
    try {
      media = await deps.media.allocate({ srtp: srtpPolicyFor(deps.config, leg.info.trunkId) });
    } catch (e) {
      leg.reject(503, "No media ports");
      deps.cdr.ended(id, { endedAt: Date.now(), hangupCause: "no media ports", hangupSide: "system", sipStatus: 503 });
      throw new CallRejected(503, `media allocation failed: ${(e as Error).message}`);
    }
    const session = new CallSession(id, leg, media, deps, log);
    let sdp: string;
    if (leg.remoteSdp) {
      const answer = media.answer(leg.remoteSdp);
      if (!answer) {
        const why = media.refusal ?? "no common audio codec";
        session.hangupBy = { side: "box", cause: why, sipStatus: 488 };
        leg.reject(488, "Not Acceptable Here");
        throw new CallRejected(488, why);
      }
      sdp = answer.sdp;
    } else {
      sdp = media.offer(); // late offer: our offer goes in the 200, the answer in the ACK
    }
    leg.progress({ code: 180 });
    // The call is answered when our 200 goes out, not when its ACK arrives: a caller whose ACK was lost may
    // already be talking, and may hang up (BYE) before any ACK reaches us.
    const acked = leg.accept(sdp);
    deps.cdr.answered(id, Date.now(), media.negotiated?.codec ?? "unknown");
    session.noteMediaSecurity();
    try {
      await acked;
    } catch (e) {
      if (e instanceof CallFailedError && e.endCause.by === "failure")
        session.hangupBy ??= { side: "system", cause: "no ACK" };
      throw new CallRejected(408, (e as Error).message);
    }
    session.startAnsweredServices();
    log.info({ from: leg.info.fromUri, did: leg.info.did, codec: media.negotiated?.codec }, "call answered");
    return session;
  }

  /** A call the box will not take (busy, shutting down) still gets its record, with the status it was given. */
  static refuse(leg: InboundCall, deps: CallDeps, status: number, reason: string): void {
    const id = CallSession.recordOffer(leg, deps);
    leg.reject(status, reason);
    deps.cdr.ended(id, { endedAt: Date.now(), hangupCause: reason, hangupSide: "box", sipStatus: status });
  }

  private static recordOffer(leg: InboundCall, deps: CallDeps): string {
    const id = randomUUID();
    const { info } = leg;
    deps.cdr.start({
      id,
      direction: "inbound",
      trunk: info.trunkId,
      fromUri: info.fromUri,
      fromNumber: info.fromUser,
      toUri: info.toUri,
      did: info.did,
      sipCallId: info.callId,
      transport: info.transport,
      remoteAddress: `${info.source.address}:${info.source.port}`,
      startedAt: Date.now(),
    });
    return id;
  }

  /** Place an outbound leg and wait until it is answered (or fails). */
  static async dial(
    target: string,
    deps: CallDeps,
    opts: { trunkId?: string; linkedTo?: string; ringTimeoutMs?: number; signal?: AbortSignal; card?: CallCard } = {},
  ): Promise<CallSession> {
    const media = await deps.media.allocate({ srtp: srtpPolicyFor(deps.config, opts.trunkId, target) });
    const leg = deps.dial({
      target,
      trunkId: opts.trunkId,
      sdp: media.offer(),
      ringTimeoutMs: opts.ringTimeoutMs,
      card: opts.card,
    });
    const id = randomUUID();
    deps.cdr.start({
      id,
      direction: "outbound",
      trunk: opts.trunkId,
      fromUri: leg.info.fromUri,
      fromNumber: leg.info.fromUser,
      toUri: leg.info.toUri,
      did: leg.info.did,
      sipCallId: leg.info.callId,
      transport: leg.info.transport,
      startedAt: Date.now(),
      linkedCallId: opts.linkedTo,
    });
    const session = new CallSession(id, leg, media, deps, deps.log.child({ call: id, linkedTo: opts.linkedTo }));
    // The party we dial for may hang up while this leg rings: CANCEL it then.
    const cancel = () => void session.hangup("caller", "caller hung up while ringing");
    opts.signal?.addEventListener("abort", cancel, { once: true });
    const { sdp } = await leg.answered.finally(() => opts.signal?.removeEventListener("abort", cancel)); // a failed leg rejects; finish() has written the CDR already
    if (!sdp || !media.applyAnswer(sdp)) {
      await session.hangup("box", "unusable SDP answer");
      throw new CallRejected(488, "unusable SDP answer");
    }
    deps.cdr.answered(id, Date.now(), media.negotiated?.codec ?? "unknown");
    session.noteMediaSecurity();
    session.startAnsweredServices();
    return session;
  }

  /** The CDR says when the media was encrypted (the codec column stays the codec). */
  private noteMediaSecurity(): void {
    const srtp = this.media.negotiated?.srtp;
    if (srtp) this.deps.cdr.event(this.id, Date.now(), `media SRTP ${srtp.suite}`);
  }

  private isInbound(leg: CallLeg): leg is InboundCall {
    return "accept" in leg;
  }

  /** Limits and recording start once the call is really up (inbound: ACKed; outbound: 2xx with a usable SDP). */
  private startAnsweredServices(): void {
    const limit = this.deps.config.limits.maxCallDurationS * 1000;
    this.maxDurationTimer = setTimeout(() => void this.hangup("system", "max call duration"), limit);
    this.maxDurationTimer.unref();
    // Flows record only after the caller's consent (they call startRecording); the demo line records from the start.
    if (!this.deps.recordAfterConsent) this.startRecording();
  }

  /** Record the call (stereo WAV) from now on, when recording is on; once per call. */
  startRecording(): void {
    if (!this.deps.config.recording.calls || this.direction !== "inbound" || this.recording) return;
    if (this.deps.recordingGate && !this.deps.recordingGate.recordingAllowed) {
      this.event("recording not started: disk nearly full");
      this.log.warn("recording not started: disk nearly full");
      return;
    }
    const day = new Date().toISOString().slice(0, 10);
    const path = join(this.deps.recordingsDir, day, `${this.id}.wav`);
    mkdirSync(dirname(path), { recursive: true });
    this.media.startRecording(path);
    this.deps.cdr.recording(this.id, path);
    this.recording = true;
    this.deps.recordingGate?.on("change", this.onDiskChange);
  }

  private onDigit(digit: string, source: DtmfSource): void {
    this.log.debug({ digit, source }, "dtmf");
    this.deps.cdr.dtmf(this.id, digit);
    this.digits.push(digit);
  }

  /** Note something worth keeping in the call record (menu choices, transfers). */
  event(what: string): void {
    this.deps.cdr.event(this.id, Date.now(), what);
  }

  play(source: PlaySource, opts: { interruptOnDigit?: boolean } = {}): Promise<PlayResult> {
    if (this.signal.aborted) return Promise.resolve({ outcome: "aborted", playedMs: 0 });
    if (!opts.interruptOnDigit) return this.media.play(source, { signal: this.signal });
    const ac = new AbortController();
    const stop = () => ac.abort();
    this.signal.addEventListener("abort", stop, { once: true });
    const unsubscribe = this.digits.subscribe(stop);
    if (this.digits.pending > 0) ac.abort(); // typed ahead: the caller already knows what they want
    return this.media.play(source, { signal: ac.signal }).finally(() => {
      unsubscribe();
      this.signal.removeEventListener("abort", stop);
    });
  }

  /**
   * Record the caller until one of `stopDigits`, `silenceMs` of silence, `maxMs`, or hangup. Recording goes to a
   * mono WAV of the caller's side (the media recorder writes both sides; a voicemail only needs the caller).
   */
  async recordMessage(
    path: string,
    opts: { maxMs: number; silenceMs: number; stopDigits: string },
  ): Promise<{ reason: "digit" | "silence" | "max" | "hangup"; path: string; durationMs: number }> {
    mkdirSync(dirname(path), { recursive: true });
    const frames: Int16Array[] = [];
    const detector = new SilenceDetector(opts.silenceMs);
    const startedAt = Date.now();
    this.digits.clear();
    const reason = await new Promise<"digit" | "silence" | "max" | "hangup">((resolve) => {
      const onAudio = (frame: Int16Array) => {
        frames.push(frame);
        if (detector.push(frame)) finish("silence");
      };
      const unsubscribe = this.digits.subscribe((d) => opts.stopDigits.includes(d) && finish("digit"));
      const onAbort = () => finish("hangup");
      const timer = setTimeout(() => finish("max"), opts.maxMs);
      const finish = (r: "digit" | "silence" | "max" | "hangup") => {
        clearTimeout(timer);
        unsubscribe();
        this.media.off("audio", onAudio);
        this.media.listen(false);
        this.signal.removeEventListener("abort", onAbort);
        resolve(r);
      };
      this.media.on("audio", onAudio);
      this.media.listen(true);
      this.signal.addEventListener("abort", onAbort, { once: true });
    });
    this.digits.clear();
    await writeFile(path, encodeWav(concatInt16(frames), INTERNAL_RATE));
    return { reason, path, durationMs: Date.now() - startedAt };
  }

  /**
   * Blind transfer: ask the peer (REFER) to call `target` (SIP URI or number), and leave the call once it has.
   * Rejects when the leg cannot transfer now (not answered, a transfer already running, unusable target).
   */
  async refer(target: string): Promise<ReferResult> {
    const r = await this.leg.refer(target);
    this.log.info({ target, outcome: r.outcome, status: r.status, reason: r.reason }, "transfer by REFER");
    this.event(`transfer to ${target}: ${r.outcome}${r.status ? ` ${r.status}` : ""}`);
    if (r.outcome === "transferred") await this.hangup("box", `transferred by REFER to ${target}`);
    return r;
  }

  /** End this leg on purpose; `side`/`cause` go into the CDR (e.g. 'callee' when the bridged party left). */
  async hangup(side: HangupSide, cause: string): Promise<void> {
    if (this.leg.state === "ended") return;
    this.hangupBy ??= { side, cause };
    await this.leg.hangup().catch((e: Error) => this.log.warn({ err: e.message }, "hangup failed"));
  }

  /** The disk filled up during the call: stop its recorder, keep the call (and the flag, so it is not restarted). */
  private readonly onDiskChange = (allowed: boolean): void => {
    if (allowed || !this.recording) return;
    this.deps.recordingGate?.off("change", this.onDiskChange);
    void this.media.stopRecording().then(
      () => {
        this.event("recording stopped: disk nearly full");
        this.log.warn("recording stopped: disk nearly full");
      },
      (e: Error) => this.log.warn({ err: e.message }, "stopping the recording failed"),
    );
  };

  private async finish(cause: LegEndCause): Promise<void> {
    this.deps.recordingGate?.off("change", this.onDiskChange);
    clearTimeout(this.maxDurationTimer);
    let stats: MediaStats | undefined;
    try {
      await this.media.stopRecording();
      stats = await this.media.close();
    } catch (e) {
      this.log.warn({ err: (e as Error).message }, "media close failed");
    }
    const mine = this.hangupBy;
    const remoteSide: HangupSide = this.direction === "inbound" ? "caller" : "callee";
    const side: HangupSide =
      mine?.side ?? (cause.by === "remote" ? remoteSide : cause.by === "local" ? "box" : "system");
    const hangupCause = mine?.cause ?? (cause.by === "failure" ? (cause.text ?? cause.reason) : cause.reason);
    const sipStatus = mine?.sipStatus ?? (cause.by === "failure" ? cause.status : undefined);
    this.deps.cdr.ended(this.id, { endedAt: Date.now(), hangupCause, hangupSide: side, sipStatus, mediaStats: stats });
    this.log.info({ side, cause: hangupCause }, "call ended");
    this.resolveEnded();
  }
}

/** Connect two answered calls; when either ends, the other is hung up with the right side in its CDR. */
export function bridgeCalls(a: CallSession, b: CallSession): Promise<void> {
  a.media.bridge(b.media);
  const sideOf = (s: CallSession): HangupSide => (s.direction === "inbound" ? "caller" : "callee");
  const done = Promise.race([a.ended.then(() => a), b.ended.then(() => b)]).then(async (first) => {
    const other = first === a ? b : a;
    first.media.unbridge();
    await other.hangup(sideOf(first), `${sideOf(first)} hung up`);
    await other.ended;
  });
  return done;
}

/** SRTP policy of a call: its trunk's, a sips: target's (mandatory), else the box's default for other peers. */
export function srtpPolicyFor(config: Config, trunkId: string | undefined, target?: string): SrtpPolicy {
  const trunk = trunkId ? config.trunks.find((t) => t.id === trunkId) : undefined;
  if (trunk) return trunk.srtp;
  if (target && /^sips:/i.test(target)) return "mandatory";
  return config.sip.srtp;
}
