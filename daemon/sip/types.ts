// What the SIP layer offers the rest of the daemon. calls/ sees only these types; sip.js stays inside sip/.
import type { EventEmitter } from "node:events";
import type { TransportName } from "../config/schema.ts";

export interface SipAddress {
  transport: TransportName;
  address: string;
  port: number;
}

/** Why a leg ended, from the point of view of this box. */
export type LegEndCause =
  | { by: "remote"; reason: "bye" | "cancel" }
  | { by: "local"; reason: "hangup" | "reject" }
  | { by: "failure"; reason: "timeout" | "transport" | "rejected"; status?: number; text?: string };

export interface LegEvents {
  /** The leg is over for whatever reason; fires exactly once. */
  ended: [cause: LegEndCause];
  /** DTMF from SIP INFO (application/dtmf-relay or application/dtmf). */
  infoDtmf: [digit: string, durationMs: number];
}

/** Identity of a dialog as the rest of the daemon needs it (CDR, routing). */
export interface LegInfo {
  /** SIP Call-ID. */
  callId: string;
  fromUri: string;
  fromDisplayName?: string;
  /** User part of From (the caller's number), when it has one. */
  fromUser?: string;
  toUri: string;
  requestUri: string;
  /** The dialled number: user part of the Request-URI (falls back to To user). */
  did: string;
  transport: TransportName;
  /** Where the request came from (after NAT), for symmetric signalling and CDRs. */
  source: { address: string; port: number };
  /** Trunk id when the call came from a configured trunk (registrar host or peer address match). */
  trunkId?: string;
}

/**
 * The SDP side of a leg, provided by calls/ (backed by a media session). Used for re-INVITEs (hold/unhold,
 * session refresh) and for late-offer INVITEs without SDP.
 */
export interface SdpResponder {
  /** Answer an offer; null = not acceptable (the re-INVITE gets 488 and the call continues). */
  answer(offer: string): string | null;
  /** Produce an offer (for INVITE without SDP: the offer goes into the 200 and the answer comes in the ACK). */
  offer(): string;
  /** The answer to our offer arrived (ACK of a late-offer INVITE). */
  applyAnswer(answer: string): boolean;
}

export interface CallLeg extends EventEmitter<LegEvents> {
  readonly info: LegInfo;
  /** Aborted when the leg ends; pass it down to everything working for this leg. */
  readonly signal: AbortSignal;
  readonly state: "early" | "confirmed" | "ended";
  /** The remote SDP in effect (offer for an inbound INVITE, answer for an outbound one). */
  readonly remoteSdp: string | undefined;
  setSdpResponder(r: SdpResponder): void;
  /** BYE (confirmed), CANCEL (outbound early) or reject with 480 (inbound early). Resolves when done. */
  hangup(): Promise<void>;
  /**
   * Blind transfer (RFC 3515): ask the peer to call `target` (a sip:/sips: URI, or a phone number, which becomes
   * sip:NUMBER@host of the peer's URI in this dialog). Resolves with how it went; the leg stays up either way (the
   * caller hangs up on "transferred"). Rejects with an Error when the leg is not confirmed, another REFER is still
   * in progress, or the target is unusable.
   */
  refer(target: string, opts?: ReferOptions): Promise<ReferResult>;
}

export interface ReferOptions {
  /** How long to wait for the final NOTIFY (default 30 s). */
  timeoutMs?: number;
  /** Referred-By URI (default: our URI in this dialog). */
  referredBy?: string;
}

/**
 * How a REFER ended: "transferred" (the target answered, or the peer hung up after accepting), "rejected" (non-2xx
 * to the REFER; `status` is its code), "failed" (the target's final status was >= 300, the subscription ended
 * without one, or the call ended first), "timeout" (no final answer in time).
 */
export interface ReferResult {
  outcome: "transferred" | "rejected" | "failed" | "timeout";
  status?: number;
  reason: string;
}

export interface InboundCall extends CallLeg {
  /** 180 Ringing, or 183 Session Progress with SDP for early media. */
  progress(opts?: { code?: 180 | 183; sdp?: string }): void;
  /** 200 OK with our SDP; resolves when the ACK arrives, rejects if it never does (Timer H). */
  accept(sdp: string): Promise<void>;
  reject(status: number, reason?: string): void;
}

export interface OutboundCall extends CallLeg {
  /** Resolves with the remote SDP on 2xx (ACK already sent); rejects with a LegEndCause-bearing error. */
  readonly answered: Promise<{ sdp: string | undefined }>;
}

export interface InviteOptions {
  /** A full SIP URI, or a number that is dialled through `trunkId`. */
  target: string;
  trunkId?: string;
  /** Our SDP offer. */
  sdp: string;
  /** Caller ID (user part) presented; trunk config decides the header. */
  callerId?: string;
  displayName?: string;
  extraHeaders?: string[];
  /** Give up (CANCEL) when nobody answers in time. */
  ringTimeoutMs?: number;
}

export type RegistrationState = "idle" | "registering" | "registered" | "failed" | "unregistered";

export interface RegistrationEvents {
  state: [state: RegistrationState, detail: { status?: number; reason?: string; expiresS?: number; retryInS?: number }];
}

export interface TrunkRegistration extends EventEmitter<RegistrationEvents> {
  readonly trunkId: string;
  readonly state: RegistrationState;
  /** Epoch ms of the last successful registration. */
  readonly registeredAt: number | undefined;
}

export interface SipEndpointEvents {
  call: [call: InboundCall];
  /** The trunk list changed (setTrunks): registrations of removed or changed trunks are gone, new ones started. */
  trunks: [];
}
