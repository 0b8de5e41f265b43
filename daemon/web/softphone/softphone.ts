// The softphone registry: which staff users take calls in the browser, the rings in progress (with the context card
// and whisper shown while they ring), browser test calls to an agent, and every browser call's media gateway.
// Browser calls are call legs (webrtc-legs.ts), so calls/ dials "browser:NAME" / "browser:*" like any SIP target
// through dial(), and a test call arrives as the "call" event like an INVITE from the SIP endpoint.
import { randomUUID } from "node:crypto";
import { EventEmitter } from "node:events";
import type { Log } from "../../ops/log.ts";
import type { LegEndCause, LegInfo, OutboundCall } from "../../sip/types.ts";
import { BrowserSdpError, type GatewayIce, WebRtcGateway } from "./webrtc-gateway.ts";
import { WebRtcInboundLeg, WebRtcOutboundLeg } from "./webrtc-legs.ts";

/** What a ringing staff browser shows: who calls and why (the flow's context) and the agent whisper. */
export interface RingCard {
  /** The caller as shown on the card: a number or a name. */
  from: string;
  context: { caller: string; intent?: string; summary: string; slots: Record<string, string> };
  whisper?: string;
}

/** The events this module sends to browsers (through the SSE hub, to one user), by name. */
export interface SoftphoneEventData {
  ring: { callId: string } & RingCard;
  "ring-cancel": { callId: string };
  /** The user's browser call is connected (audio flows) or ended (by anyone, for `reason`). */
  softphone: { callId: string; state: "connected" | "ended"; reason?: string };
}

/** The SSE hub's publish: one event to every open event stream of one user. */
export type Publish = (event: string, data: unknown, opts: { user: string }) => void;

export interface SoftphoneOptions {
  /** Sends an event to every open event stream of one user (the SSE hub's publish). */
  publish: Publish;
  log: Log;
  /** Where the media engine's RTP sockets answer from the daemon itself: loopback when they bind a wildcard. */
  engineAddress: string;
  ice?: GatewayIce;
  /** Browser calls with media at the same time (test calls + staff calls); more get 503. Default 8. */
  maxCalls?: number;
  /** Ring time when dial() names none. Default 30 s. */
  ringTimeoutMs?: number;
  /** A browser that answered must be connected (ICE + DTLS) this long after our SDP. Default 15 s. */
  connectTimeoutMs?: number;
  /** Test calls may only name agents this says exist (default: any; the "call" handler decides). */
  hasAgent?: (id: string) => boolean;
}

export interface BrowserDialOptions {
  /** "browser:NAME" (that staff user) or "browser:*" (every available staff user; the first to answer wins). */
  target: string;
  /** The media engine's SDP offer. */
  sdp: string;
  ringTimeoutMs?: number;
  /** Shown while it rings. */
  card?: RingCard;
  trunkId?: string;
}

export interface SoftphoneEvents {
  /**
   * A staff user placed a test call from the browser to agent `agentId`; the browser is connected. Take `leg` like
   * an inbound SIP call (CallSession.answer) and run that agent's flow on it, or refuse it with leg.reject().
   */
  call: [leg: WebRtcInboundLeg, agentId: string];
}

/** A request the softphone refuses; `status` and `where` are for the HTTP answer. */
export class SoftphoneError extends Error {
  constructor(
    readonly status: 400 | 403 | 404 | 409 | 410 | 503,
    message: string,
    readonly where?: string,
  ) {
    super(message);
  }
}

const USER = /^[a-z0-9._-]{1,64}$/;

/** Targets dial() takes ("browser:NAME", "browser:*"); every other target is for the SIP endpoint. */
export function isBrowserTarget(target: string): boolean {
  return target.startsWith("browser:");
}

/** Where the gateways send RTP: the media engine's rtpAddress, or loopback when the engine binds every address. */
export function engineAddressFor(rtpAddress: string): string {
  if (rtpAddress === "0.0.0.0") return "127.0.0.1";
  if (rtpAddress === "::") return "::1";
  return rtpAddress;
}

interface Ring {
  leg: WebRtcOutboundLeg;
  card: RingCard;
  /** Users it still rings for. */
  users: Set<string>;
  timer: NodeJS.Timeout;
  /** Someone's answer is being connected; nobody else can take it. */
  taking?: string;
}

interface ActiveCall {
  leg: WebRtcInboundLeg | WebRtcOutboundLeg;
  user: string;
  kind: "test" | "staff";
}

export class Softphone extends EventEmitter<SoftphoneEvents> {
  private readonly availableUsers = new Set<string>();
  private readonly rings = new Map<string, Ring>();
  private readonly calls = new Map<string, ActiveCall>();
  /** Gateways opening (answer/test call in progress), counted against maxCalls. */
  private opening = 0;
  private closed = false;

  constructor(private readonly opts: SoftphoneOptions) {
    super();
  }

  /** The user can (or can no longer) be rung as "browser:NAME" and through "browser:*". */
  setAvailable(user: string, available: boolean): void {
    if (available) this.availableUsers.add(user);
    else this.availableUsers.delete(user);
  }

  isAvailable(user: string): boolean {
    return this.availableUsers.has(user);
  }

  /** Available users who are not on a browser call now. */
  freeUsers(): string[] {
    return [...this.availableUsers].filter((u) => !this.busy(u));
  }

  private busy(user: string): boolean {
    for (const c of this.calls.values()) if (c.user === user) return true;
    return false;
  }

  /** What the user's page needs after a reload: availability, calls ringing for them, their calls. */
  state(user: string): {
    available: boolean;
    rings: ({ callId: string } & RingCard)[];
    calls: { callId: string; kind: "test" | "staff"; state: string; held: boolean }[];
  } {
    const rings = [...this.rings.entries()]
      .filter(([, r]) => r.users.has(user) && !r.taking)
      .map(([callId, r]) => ({ callId, ...r.card }));
    const calls = [...this.calls.entries()]
      .filter(([, c]) => c.user === user)
      .map(([callId, c]) => ({ callId, kind: c.kind, state: c.leg.state, held: c.leg.held }));
    return { available: this.availableUsers.has(user), rings, calls };
  }

  private reserveMedia(): void {
    if (this.closed) throw new SoftphoneError(503, "the softphone is shutting down");
    const max = this.opts.maxCalls ?? 8;
    if (this.calls.size + this.opening >= max)
      throw new SoftphoneError(503, `too many browser calls at once (at most ${max})`);
    this.opening++;
  }

  private async openGateway(sdp: string): Promise<WebRtcGateway> {
    this.reserveMedia();
    try {
      return await WebRtcGateway.open(sdp, {
        engineAddress: this.opts.engineAddress,
        log: this.opts.log,
        ice: this.opts.ice,
        connectTimeoutMs: this.opts.connectTimeoutMs,
      });
    } catch (e) {
      if (e instanceof BrowserSdpError) throw new SoftphoneError(400, e.message, "sdp");
      throw e;
    } finally {
      this.opening--;
    }
  }

  /**
   * A test call from `user`'s browser to agent `agentId`: answers the browser's offer at once (the HTTP answer);
   * the "call" event follows when the browser is connected.
   */
  async testCall(
    user: string,
    agentId: string,
    offerSdp: string,
    from: { address: string; port?: number } = { address: "" },
  ): Promise<{ callId: string; sdp: string }> {
    if (this.listenerCount("call") === 0) throw new SoftphoneError(503, "test calls are not available on this box");
    if (this.opts.hasAgent && !this.opts.hasAgent(agentId))
      throw new SoftphoneError(404, `no agent "${agentId}"`, "agent");
    const gateway = await this.openGateway(offerSdp);
    const callId = randomUUID();
    const info: LegInfo = {
      callId,
      fromUri: `browser:${user}`,
      fromUser: user,
      toUri: `agent:${agentId}`,
      requestUri: `agent:${agentId}`,
      did: "",
      // the signalling came over the web page's HTTPS
      transport: "tls",
      source: { address: from.address, port: from.port ?? 0 },
    };
    const leg = new WebRtcInboundLeg(info, gateway, agentId);
    this.track(callId, { leg, user, kind: "test" });
    gateway.once("connected", () => {
      if (leg.state === "ended") return;
      this.publish(user, "softphone", { callId, state: "connected" });
      try {
        this.emit("call", leg, agentId);
      } catch (e) {
        this.opts.log.error({ err: (e as Error).message, callId }, "test call handler failed");
        leg.reject(500, "internal error");
      }
      // a handler that never answers must not leave the browser waiting forever
      const unanswered = setTimeout(() => leg.state === "early" && leg.reject(408, "the box did not answer"), 30_000);
      unanswered.unref();
      leg.once("ended", () => clearTimeout(unanswered));
    });
    this.opts.log.info({ callId, user, agent: agentId }, "browser test call");
    return { callId, sdp: gateway.browserAnswer };
  }

  /** Keep a call with media until its leg ends; the browser hears why it ended. */
  private track(callId: string, call: ActiveCall): void {
    this.calls.set(callId, call);
    call.leg.gateway?.once("closed", (why) => call.leg.browserGone(why));
    call.leg.once("ended", (cause: LegEndCause) => {
      this.calls.delete(callId);
      const refused = call.leg instanceof WebRtcInboundLeg ? call.leg.rejectedWith : undefined;
      const reason = refused ? (refused.reason ?? `refused (${refused.status})`) : describeEnd(cause);
      this.publish(call.user, "softphone", { callId, state: "ended", reason });
      this.opts.log.info({ callId, user: call.user, cause }, "browser call ended");
    });
  }

  /**
   * Ring staff browsers for a call (calls/ hands "browser:..." targets here instead of the SIP endpoint). Returns at
   * once; the leg fails (480 nobody available, 486 busy, 603 declined, timeout) or is answered by a browser.
   */
  dial(opts: BrowserDialOptions): OutboundCall {
    const callId = randomUUID();
    const who = opts.target.slice("browser:".length);
    const info: LegInfo = {
      callId,
      fromUri: "sip:switchboard@softphone.invalid",
      toUri: opts.target,
      requestUri: opts.target,
      did: who,
      transport: "tls",
      source: { address: "", port: 0 },
    };
    const leg = new WebRtcOutboundLeg(info, opts.sdp);
    const fail = (status: number, text: string) =>
      // after the caller attached its listeners: dial() returns first
      setImmediate(() => leg.fail({ by: "failure", reason: "rejected", status, text }));
    let users: string[];
    if (this.closed) users = [];
    else if (who === "*") users = this.freeUsers();
    else if (!USER.test(who)) {
      fail(404, `not a browser target: ${opts.target}`);
      return leg;
    } else if (!this.availableUsers.has(who)) users = [];
    else if (this.busy(who)) {
      fail(486, `${who} is on a call`);
      return leg;
    } else users = [who];
    if (users.length === 0) {
      fail(480, who === "*" ? "no staff available in the browser" : `${who} is not available in the browser`);
      return leg;
    }
    const card = opts.card ?? { from: "", context: { caller: "", summary: "", slots: {} } };
    const ringTimeoutMs = opts.ringTimeoutMs ?? this.opts.ringTimeoutMs ?? 30_000;
    const timer = setTimeout(() => leg.fail({ by: "failure", reason: "timeout", text: "ring timeout" }), ringTimeoutMs);
    const ring: Ring = { leg, card, users: new Set(users), timer };
    this.rings.set(callId, ring);
    leg.once("ended", () => {
      clearTimeout(ring.timer);
      this.rings.delete(callId);
      for (const u of ring.users) if (u !== ring.taking) this.publish(u, "ring-cancel", { callId });
    });
    for (const u of users) this.publish(u, "ring", { callId, ...card });
    this.opts.log.info({ callId, target: opts.target, users: users.length }, "ringing browsers");
    return leg;
  }

  /** `user` picks up a ringing call with their browser's offer; the answer goes back to the browser. */
  async answer(user: string, callId: string, offerSdp: string): Promise<{ sdp: string }> {
    const ring = this.ringFor(user, callId);
    if (ring.taking) throw new SoftphoneError(409, "someone else is answering this call", "callId");
    ring.taking = user;
    let gateway: WebRtcGateway;
    try {
      gateway = await this.openGateway(offerSdp);
    } catch (e) {
      ring.taking = undefined; // the others may still take it
      throw e;
    }
    const leg = ring.leg;
    if (leg.state === "ended") {
      await gateway.close();
      throw new SoftphoneError(410, "the caller is gone", "callId");
    }
    clearTimeout(ring.timer);
    this.rings.delete(callId);
    for (const u of ring.users) if (u !== user) this.publish(u, "ring-cancel", { callId });
    ring.users.clear();
    if (!leg.pickUp(gateway)) throw new SoftphoneError(410, "the call could not be connected", "callId");
    leg.info.toUri = `browser:${user}`;
    this.track(callId, { leg, user, kind: "staff" });
    gateway.once("connected", () => this.publish(user, "softphone", { callId, state: "connected" }));
    this.opts.log.info({ callId, user }, "browser answered");
    return { sdp: gateway.browserAnswer };
  }

  /** `user` does not take this call; when nobody is left to ring, the call fails with 603. */
  decline(user: string, callId: string): void {
    const ring = this.ringFor(user, callId);
    if (ring.taking === user) throw new SoftphoneError(409, "the call is being answered", "callId");
    this.stopRinging(ring, user, { status: 603, text: "declined" });
  }

  private stopRinging(ring: Ring, user: string, ifLast: { status: number; text: string }): void {
    ring.users.delete(user);
    if (ring.users.size === 0 && !ring.taking)
      ring.leg.fail({ by: "failure", reason: "rejected", status: ifLast.status, text: ifLast.text });
  }

  private ringFor(user: string, callId: string): Ring {
    const ring = this.rings.get(callId);
    if (!ring?.users.has(user)) throw new SoftphoneError(404, "no such call ringing for you", "callId");
    return ring;
  }

  private callOf(user: string, callId: string): ActiveCall {
    const call = this.calls.get(callId);
    if (!call || call.user !== user) throw new SoftphoneError(404, "no such call of yours", "callId");
    return call;
  }

  hold(user: string, callId: string, on: boolean): void {
    const call = this.callOf(user, callId);
    if (call.leg.state !== "confirmed") throw new SoftphoneError(409, "the call is not connected yet", "callId");
    call.leg.hold(on);
  }

  /** The browser hangs up: its call ends (by the remote side, as the box sees it), or its ring is declined. */
  hangup(user: string, callId: string): void {
    if (this.rings.get(callId)?.users.has(user)) {
      this.decline(user, callId);
      return;
    }
    this.callOf(user, callId).leg.browserGone("hangup");
  }

  /**
   * The user's last event stream or session went away: they can no longer be rung, their rings stop and their
   * calls end.
   */
  userLeft(user: string): void {
    this.availableUsers.delete(user);
    for (const ring of [...this.rings.values()])
      if (ring.users.has(user) && ring.taking !== user)
        this.stopRinging(ring, user, { status: 480, text: "nobody available" });
    for (const c of [...this.calls.values()]) if (c.user === user) c.leg.browserGone("left");
  }

  /** Shutdown: every ring fails and every browser call ends. */
  close(): void {
    this.closed = true;
    for (const ring of [...this.rings.values()])
      ring.leg.fail({ by: "failure", reason: "rejected", status: 503, text: "shutting down" });
    for (const c of [...this.calls.values()]) void c.leg.hangup();
    this.availableUsers.clear();
  }

  private publish<K extends keyof SoftphoneEventData>(user: string, event: K, data: SoftphoneEventData[K]): void {
    try {
      this.opts.publish(event, data, { user });
    } catch (e) {
      this.opts.log.warn({ err: (e as Error).message, event }, "softphone event not delivered");
    }
  }
}

function describeEnd(cause: LegEndCause): string {
  if (cause.by === "failure") return cause.text ?? cause.reason;
  if (cause.by === "remote") return "hung up";
  return cause.reason === "reject" ? "refused" : "ended by the box";
}
