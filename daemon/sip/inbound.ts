// UAS side of a call: an INVITE we received. The consumer drives it with progress/accept/reject; CANCEL, BYE,
// re-INVITE and INFO from the peer are handled here and surfaced as events.
import { type SipRequest, parseNameAddr } from "./message.ts";
import { BaseLeg, CallFailedError, Dialog } from "./dialog.ts";
import { ALLOW, type SipStack, newTag } from "./stack.ts";
import type { ServerTransaction } from "./transactions.ts";
import type { InboundCall, LegInfo } from "./types.ts";

export class InboundCallImpl extends BaseLeg implements InboundCall {
  private acceptWait: { resolve: () => void; reject: (e: Error) => void; promise: Promise<void> } | undefined;
  private lateOffer: boolean;

  constructor(
    stack: SipStack,
    info: LegInfo,
    private tx: ServerTransaction,
    private invite: SipRequest,
  ) {
    super(stack, info);
    tx.toTag = newTag();
    const body = invite.body.trim();
    this.lateOffer = body === "";
    this._remoteSdp = this.lateOffer ? undefined : invite.body;
    const d = new Dialog(
      invite.callId,
      tx.toTag,
      `${invite.get("to") ?? ""};tag=${tx.toTag}`,
      invite.get("from") ?? "",
      Math.floor(Math.random() * 10000) + 1,
      tx.target.transport,
      tx.target.connId,
    );
    d.remoteTag = invite.fromTag ?? "";
    d.remoteSeq = invite.cseq.seq;
    d.routeSet = invite.getAll("record-route");
    d.refreshTarget(invite);
    d.secure = tx.target.transport === "tls" && /^sips:/i.test(invite.uri);
    // RFC 2543 peers may omit Contact: their From URI is then the remote target.
    if (!d.remoteTarget) d.remoteTarget = invite.from?.uri.toString() ?? invite.uri;
    this.dialog = d;
    stack.legs.add(d.key, this);
  }

  progress(opts: { code?: 180 | 183; sdp?: string } = {}): void {
    if (this.ended || this.tx.finalSent) return;
    const code = opts.code ?? (opts.sdp ? 183 : 180);
    const res = this.tx.response(code);
    res.add("contact", `<${this.stack.contactUri(this.tx.target.transport, undefined, this.dialog?.secure)}>`);
    for (const rr of this.invite.getAll("record-route")) res.add("record-route", rr);
    res.add("server", this.stack.userAgent);
    if (opts.sdp) {
      res.add("content-type", "application/sdp");
      res.body = opts.sdp;
    }
    this.tx.respond(res);
  }

  accept(sdp: string): Promise<void> {
    if (this.acceptWait) return this.acceptWait.promise;
    if (this.ended || this.tx.finalSent) return Promise.reject(new Error("call is no longer pending"));
    let body = sdp;
    if (this.lateOffer && body.trim() === "" && this.responder) body = this.responder.offer();
    const res = this.tx.response(200);
    res.add("contact", `<${this.stack.contactUri(this.tx.target.transport, undefined, this.dialog?.secure)}>`);
    for (const rr of this.invite.getAll("record-route")) res.add("record-route", rr);
    res.add("allow", ALLOW);
    res.add("server", this.stack.userAgent);
    res.add("content-type", "application/sdp");
    res.body = body;
    let resolve!: () => void;
    let reject!: (e: Error) => void;
    const promise = new Promise<void>((res2, rej) => {
      resolve = res2;
      reject = rej;
    });
    promise.catch(() => {}); // a consumer that fire-and-forgets accept() must not crash the process
    this.acceptWait = { resolve, reject, promise };
    this.tx.respond(res, () => {
      // Timer H: no ACK for our 2xx. RFC 3261 13.3.1.4: confirm then terminate with BYE.
      this._state = "confirmed";
      void this.sendBye();
      this.end({ by: "failure", reason: "timeout", text: "no ACK" });
    });
    return promise;
  }

  reject(status: number, reason?: string): void {
    if (this.ended || this.tx.finalSent) return;
    const code = status >= 300 && status <= 699 ? status : 500;
    const res = this.tx.response(code, reason);
    res.add("server", this.stack.userAgent);
    this.tx.respond(res);
    this.end({ by: "local", reason: "reject" });
  }

  onAck(req: SipRequest): void {
    if (this.ackReinvite(req)) return;
    if (req.cseq.seq !== this.invite.cseq.seq || this.tx.state !== "accepted") return;
    this.tx.ack();
    const d = this.dialog;
    if (d && !d.remoteTarget) d.refreshTarget(req);
    if (this.lateOffer && req.body.trim() !== "") {
      this._remoteSdp = req.body;
      if (this.responder && !this.responder.applyAnswer(req.body)) {
        this.stack.log.warn({ callId: this.info.callId }, "late-offer answer in ACK rejected by the responder");
      }
    }
    if (this.ended) return;
    this._state = "confirmed";
    this.acceptWait?.resolve();
  }

  /** CANCEL matched our INVITE transaction (the CANCEL itself is already answered 200). */
  onCancel(): void {
    if (this.tx.finalSent) return;
    const res = this.tx.response(487);
    res.add("server", this.stack.userAgent);
    this.tx.respond(res);
    this.end({ by: "remote", reason: "cancel" });
  }

  protected onRemoteBye(): void {
    // A BYE before our final response (allowed for the caller only on a confirmed dialog, but seen in the wild).
    if (!this.tx.finalSent) this.tx.respond(this.tx.response(487));
    this.end({ by: "remote", reason: "bye" });
  }

  protected override end(cause: Parameters<BaseLeg["end"]>[0]): void {
    if (this.ended) return;
    super.end(cause);
    // accept() waiting for the ACK: the call ended first.
    this.acceptWait?.reject(new CallFailedError(cause));
  }

  async hangup(): Promise<void> {
    if (this.ended) return;
    if (!this.tx.finalSent) {
      const res = this.tx.response(480);
      res.add("server", this.stack.userAgent);
      this.tx.respond(res);
      this.end({ by: "local", reason: "hangup" });
      return;
    }
    if (this._state === "early" && this.acceptWait) {
      // 15: the callee must not send BYE before the ACK arrives (or Timer H gives up).
      await this.acceptWait.promise.catch(() => {});
      if (this.ended) return;
    }
    const bye = this.sendBye();
    this.end({ by: "local", reason: "hangup" });
    await bye;
  }

  async shutdown(): Promise<void> {
    if (this.ended) return;
    if (!this.tx.finalSent) {
      this.reject(503, "Shutting Down");
      return;
    }
    await this.hangup();
  }
}

/**
 * Caller identity from an INVITE. The dialled number is the Request-URI user, except when a registered trunk sends
 * the call to our registration Contact (whose user is the account name): then the DID is in To.
 */
export function legInfoFrom(
  invite: SipRequest,
  src: { transport: LegInfo["transport"]; address: string; port: number },
  trunkId?: string,
  registeredUser?: string,
): LegInfo {
  const from = invite.from;
  const to = invite.to;
  const ruri = invite.ruri;
  const fromUser = from?.uri.user;
  const dn = from?.displayName;
  const pai = invite.get("p-asserted-identity");
  const paiUser = pai ? parseNameAddr(pai.split(",")[0] ?? "")?.uri.user : undefined;
  return {
    callId: invite.callId,
    fromUri: from?.uri.toString() ?? "",
    fromDisplayName: dn ? dn : undefined,
    fromUser: fromUser ?? paiUser,
    toUri: to?.uri.toString() ?? "",
    requestUri: invite.uri,
    did: (ruri?.user === registeredUser ? to?.uri.user : undefined) ?? ruri?.user ?? to?.uri.user ?? "",
    transport: src.transport,
    source: { address: src.address, port: src.port },
    trunkId,
  };
}
