// Browser calls as call legs: the rest of the daemon (CallSession, flow line, queues, bridge, CDR) handles them
// exactly like SIP legs. A WebRtcInboundLeg is a browser calling the box (test call): its remote SDP is the
// gateway's loopback offer and accept() takes the media engine's answer. A WebRtcOutboundLeg is a staff browser
// being rung: `answered` resolves with the gateway's answer to the engine's offer once the human picked up and the
// browser is connected.
import { EventEmitter } from "node:events";
import { CallFailedError } from "../../sip/endpoint.ts";
import type {
  CallLeg,
  InboundCall,
  LegEndCause,
  LegEvents,
  LegInfo,
  OutboundCall,
  ReferResult,
} from "../../sip/types.ts";
import type { GatewayClosed, WebRtcGateway } from "./webrtc-gateway.ts";

/** How the leg ends when its browser went away, by the gateway's reason. */
export function browserGoneCause(why: GatewayClosed | "hangup" | "left"): LegEndCause {
  if (why === "hangup" || why === "closed" || why === "left") return { by: "remote", reason: "bye" };
  return { by: "failure", reason: "transport", text: `browser ${why}` };
}

abstract class WebRtcLeg extends EventEmitter<LegEvents> implements CallLeg {
  protected readonly abort = new AbortController();
  protected legState: CallLeg["state"] = "early";
  protected endCause: LegEndCause | undefined;
  protected media: WebRtcGateway | undefined;

  constructor(readonly info: LegInfo) {
    super();
  }

  get signal(): AbortSignal {
    return this.abort.signal;
  }

  get state(): CallLeg["state"] {
    return this.legState;
  }

  abstract get remoteSdp(): string | undefined;

  /** Why the leg ended, once it has. */
  get cause(): LegEndCause | undefined {
    return this.endCause;
  }

  get gateway(): WebRtcGateway | undefined {
    return this.media;
  }

  get held(): boolean {
    return this.media?.held ?? false;
  }

  /** The browser never renegotiates through the engine (no re-INVITEs): there is nothing to answer. */
  setSdpResponder(): void {}

  refer(): Promise<ReferResult> {
    return Promise.reject(new Error("a browser call cannot be transferred by REFER"));
  }

  hold(on: boolean): void {
    if (this.legState === "confirmed") this.media?.hold(on);
  }

  /** The box ends the call (CANCEL while ringing, BYE once answered, in SIP terms). */
  hangup(): Promise<void> {
    this.end({ by: "local", reason: "hangup" });
    return Promise.resolve();
  }

  /** The browser side ended it: the hang-up button, a closed tab, a lost network. */
  browserGone(why: GatewayClosed | "hangup" | "left"): void {
    this.end(browserGoneCause(why));
  }

  protected end(cause: LegEndCause): void {
    if (this.endCause) return;
    this.endCause = cause;
    this.legState = "ended";
    void this.media?.close();
    this.abort.abort(cause);
    this.emit("ended", cause);
  }
}

export class WebRtcInboundLeg extends WebRtcLeg implements InboundCall {
  private readonly offer: string;
  /** The status the box refused the call with, for the browser's display. */
  rejectedWith: { status: number; reason?: string } | undefined;

  /** `gateway` is open and answered the browser; the leg owns it from now on. */
  constructor(
    info: LegInfo,
    gateway: WebRtcGateway,
    /** The agent the browser asked to talk to. */
    readonly agentId: string,
  ) {
    super(info);
    this.media = gateway;
    this.offer = gateway.engineOffer();
  }

  get remoteSdp(): string {
    return this.offer;
  }

  /** Nothing rings: the browser placed the call and is waiting for the box's answer already. */
  progress(): void {}

  accept(sdp: string): Promise<void> {
    if (this.endCause) return Promise.reject(new CallFailedError(this.endCause));
    if (!this.media?.applyEngineAnswer(sdp)) {
      const cause: LegEndCause = { by: "failure", reason: "rejected", status: 488, text: "unusable engine answer" };
      this.end(cause);
      return Promise.reject(new CallFailedError(cause));
    }
    this.legState = "confirmed";
    return Promise.resolve();
  }

  reject(status: number, reason?: string): void {
    if (this.endCause) return;
    this.rejectedWith = { status, reason };
    this.end({ by: "local", reason: "reject" });
  }
}

export class WebRtcOutboundLeg extends WebRtcLeg implements OutboundCall {
  readonly answered: Promise<{ sdp: string | undefined }>;
  private settle!: { resolve: (v: { sdp: string | undefined }) => void; reject: (e: Error) => void };
  private answerSdp: string | undefined;

  constructor(
    info: LegInfo,
    /** The media engine's SDP offer (from dial()). */
    readonly engineOffer: string,
  ) {
    super(info);
    this.answered = new Promise((resolve, reject) => {
      this.settle = { resolve, reject };
    });
    // nobody has to wait for `answered`: an unobserved failure is not an unhandled rejection
    this.answered.catch(() => undefined);
  }

  get remoteSdp(): string | undefined {
    return this.answerSdp;
  }

  /**
   * A human picked up in `gateway`'s browser: answer the engine's offer through it; `answered` resolves once the
   * browser is connected. False (and the leg fails with 488) when the offer has no codec the gateway speaks.
   */
  pickUp(gateway: WebRtcGateway): boolean {
    if (this.endCause) {
      void gateway.close();
      return false;
    }
    this.media = gateway;
    const sdp = gateway.answerEngineOffer(this.engineOffer);
    if (!sdp) {
      this.fail({ by: "failure", reason: "rejected", status: 488, text: "no codec for the browser gateway" });
      return false;
    }
    const up = () => {
      if (this.endCause) return;
      this.answerSdp = sdp;
      this.legState = "confirmed";
      this.settle.resolve({ sdp });
    };
    if (gateway.connected) up();
    else gateway.once("connected", up);
    return true;
  }

  /** Nobody took the call: timeout, everyone declined, nobody available. */
  fail(cause: LegEndCause): void {
    this.end(cause);
  }

  protected override end(cause: LegEndCause): void {
    if (this.endCause) return;
    super.end(cause);
    this.settle.reject(new CallFailedError(cause));
  }
}
