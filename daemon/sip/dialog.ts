// Dialog state (RFC 3261 12) and what both leg directions share: in-dialog request construction, BYE, INFO DTMF,
// re-INVITE answering through the SdpResponder, ending exactly once.
import { EventEmitter } from "node:events";
import type { TransportName } from "../config/schema.ts";
import { SipRequest, type SipResponse, parseNameAddr } from "./message.ts";
import { ReferSubscriber } from "./refer.ts";
import { ALLOW, type DialogOwner, type SipStack } from "./stack.ts";
import type { ServerTransaction } from "./transactions.ts";
import type { SendTarget } from "./transport.ts";
import type { CallLeg, LegEndCause, LegEvents, LegInfo, ReferOptions, ReferResult, SdpResponder } from "./types.ts";

export class Dialog {
  remoteTag = "";
  remoteTarget = "";
  routeSet: string[] = [];
  remoteSeq: number | undefined;
  /** RFC 3261 12.1.1: the dialog was set up over TLS with a sips: Request-URI; its Contacts are sips: too. */
  secure = false;
  constructor(
    readonly callId: string,
    readonly localTag: string,
    /** Our side as a From value, with tag. */
    public local: string,
    /** The peer's side as a To value, with tag once known. */
    public remote: string,
    public localSeq: number,
    readonly transport: TransportName,
    /** Connection the dialog started on (stream transports reuse it for in-dialog requests). */
    readonly flowConnId: string | undefined,
  ) {}

  get key(): string {
    return `${this.callId}|${this.localTag}`;
  }

  /** Target refresh (12.2): a Contact in a refresh request/response replaces the remote target. */
  refreshTarget(msg: SipRequest | SipResponse): void {
    const c = msg.get("contact");
    const na = c ? parseNameAddr(c) : undefined;
    if (na) this.remoteTarget = na.uri.toString();
  }

  /** A new in-dialog request (12.2.1.1); ACK reuses the INVITE's CSeq number. */
  build(stack: SipStack, method: string, opts: { cseq?: number; contact?: boolean; branch?: string } = {}) {
    const hop = stack.nextHop(this.remoteTarget, this.routeSet, this.transport);
    if (!hop) throw new Error("no route for in-dialog request");
    const req = new SipRequest(method, hop.requestUri);
    req.add("via", stack.via(hop.transport, opts.branch));
    req.add("max-forwards", "70");
    req.add("from", this.local);
    req.add("to", this.remote);
    req.add("call-id", this.callId);
    const seq = opts.cseq ?? ++this.localSeq;
    req.add("cseq", `${seq} ${method}`);
    for (const r of hop.routes) req.add("route", r);
    if (opts.contact) req.add("contact", `<${stack.contactUri(hop.transport, undefined, this.secure)}>`);
    return { req, hop };
  }

  async target(stack: SipStack, hop: ReturnType<Dialog["build"]>["hop"]): Promise<SendTarget> {
    return stack.target(hop, { connId: this.flowConnId, transport: this.transport });
  }
}

export class CallFailedError extends Error {
  constructor(readonly endCause: LegEndCause) {
    super(
      endCause.by === "failure"
        ? `call failed: ${endCause.reason}${endCause.status ? ` ${endCause.status}` : ""}${endCause.text ? ` ${endCause.text}` : ""}`
        : `call ended: ${endCause.by} ${endCause.reason}`,
    );
    this.name = "CallFailedError";
  }
}

/** DTMF digit and duration from an INFO body (application/dtmf-relay or application/dtmf). */
export function parseInfoDtmf(contentType: string, body: string): { digit: string; durationMs: number } | undefined {
  const ct = contentType.split(";")[0].trim().toLowerCase();
  const norm = (s: string): string | undefined => {
    const v = s.trim().toUpperCase();
    if (/^[0-9*#A-D]$/.test(v)) return v;
    if (v === "10") return "*";
    if (v === "11") return "#";
    if (/^1[2-5]$/.test(v)) return "ABCD"[Number(v) - 12];
    return undefined;
  };
  if (ct === "application/dtmf-relay") {
    const sig = /^\s*signal\s*=\s*(\S+)\s*$/im.exec(body);
    const dur = /^\s*duration\s*=\s*(\d+)\s*$/im.exec(body);
    const digit = sig ? norm(sig[1]) : undefined;
    return digit ? { digit, durationMs: dur ? Number(dur[1]) : 250 } : undefined;
  }
  if (ct === "application/dtmf") {
    const digit = norm(body.split(/\r?\n/)[0] ?? "");
    const dur = /duration\s*=\s*(\d+)/i.exec(body);
    return digit ? { digit, durationMs: dur ? Number(dur[1]) : 250 } : undefined;
  }
  return undefined;
}

/**
 * What inbound and outbound legs share once a dialog exists: in-dialog request handling (BYE, INFO, OPTIONS,
 * re-INVITE), BYE sending, and the single `ended` event.
 */
export abstract class BaseLeg extends EventEmitter<LegEvents> implements CallLeg, DialogOwner {
  protected readonly abort = new AbortController();
  protected _state: CallLeg["state"] = "early";
  protected _remoteSdp: string | undefined;
  protected responder: SdpResponder | undefined;
  protected dialog: Dialog | undefined;
  /** Incoming re-INVITE waiting for its ACK. */
  private reinvite: { tx: ServerTransaction; lateOffer: boolean } | undefined;
  /** Our own re-INVITE in progress (none yet; kept for 491 glare handling). */
  protected ownReinvitePending = false;
  private endCause: LegEndCause | undefined;
  private byeDone: Promise<void> | undefined;
  /** Created on the first REFER or NOTIFY; most calls never transfer. */
  private referSubscriber: ReferSubscriber | undefined;

  protected constructor(
    protected stack: SipStack,
    readonly info: LegInfo,
  ) {
    super();
  }

  get signal(): AbortSignal {
    return this.abort.signal;
  }
  get state(): CallLeg["state"] {
    return this._state;
  }
  get remoteSdp(): string | undefined {
    return this._remoteSdp;
  }
  setSdpResponder(r: SdpResponder): void {
    this.responder = r;
  }

  abstract hangup(): Promise<void>;
  abstract onAck(req: SipRequest): void;
  abstract shutdown(): Promise<void>;

  /** Blind transfer: REFER in this dialog, then follow the NOTIFYs (refer.ts). */
  refer(target: string, opts?: ReferOptions): Promise<ReferResult> {
    if (this._state !== "confirmed") return Promise.reject(new Error(`cannot transfer a call that is ${this._state}`));
    return this.transfers.refer(target, opts);
  }

  private get transfers(): ReferSubscriber {
    this.referSubscriber ??= new ReferSubscriber(this.stack, () => this.dialog, this.signal, this.info.callId);
    return this.referSubscriber;
  }

  protected end(cause: LegEndCause): void {
    if (this.endCause) return;
    this.endCause = cause;
    this._state = "ended";
    if (this.dialog) this.stack.legs.remove(this.dialog.key);
    if (this.reinvite && !this.reinvite.tx.finalSent) this.reinvite.tx.respond(this.reinvite.tx.response(487));
    this.abort.abort(cause);
    this.emit("ended", cause);
  }

  protected get ended(): boolean {
    return this.endCause !== undefined;
  }

  protected respond(tx: ServerTransaction, status: number, extra: Array<[string, string]> = [], reason?: string): void {
    const res = tx.response(status, reason);
    for (const [k, v] of extra) res.add(k, v);
    res.add("server", this.stack.userAgent);
    tx.respond(res);
  }

  /** Send BYE on the dialog; resolves on its final response or timeout. */
  protected sendBye(): Promise<void> {
    if (this.byeDone) return this.byeDone;
    const d = this.dialog;
    if (!d) return Promise.resolve();
    this.byeDone = (async () => {
      try {
        const { req, hop } = d.build(this.stack, "BYE");
        const target = await d.target(this.stack, hop);
        await new Promise<void>((resolve) => {
          this.stack.sendRequest(req, target, {
            response: (res) => {
              if (res.status >= 200) resolve();
            },
            timeout: resolve,
            transportError: () => resolve(),
          });
        });
      } catch (e) {
        this.stack.log.debug({ callId: this.info.callId, err: String(e) }, "BYE not sent");
      }
    })();
    return this.byeDone;
  }

  /** In-dialog request from the peer. */
  onRequest(req: SipRequest, tx: ServerTransaction): void {
    const d = this.dialog;
    if (!d) {
      this.respond(tx, 481);
      return;
    }
    // 12.2.2: lower CSeq than the last one is out of order.
    const seq = req.cseq.seq;
    if (d.remoteSeq !== undefined && seq < d.remoteSeq && req.method !== "CANCEL") {
      this.respond(tx, 500, [], "CSeq Out Of Order");
      return;
    }
    d.remoteSeq = seq;
    switch (req.method) {
      case "BYE":
        this.respond(tx, 200);
        this.onRemoteBye();
        return;
      case "INFO":
        this.onInfo(req, tx);
        return;
      case "OPTIONS":
        this.respond(tx, 200, [
          ["allow", ALLOW],
          ["accept", "application/sdp"],
        ]);
        return;
      case "INVITE":
        this.onReinvite(req, tx);
        return;
      case "NOTIFY":
        this.transfers.onNotify(req, (status, extra, reason) => this.respond(tx, status, extra, reason));
        return;
      case "CANCEL":
        this.respond(tx, 481);
        return;
      case "UPDATE":
      case "PRACK":
      case "REFER":
      case "SUBSCRIBE":
      case "MESSAGE":
      case "REGISTER":
      case "PUBLISH":
        this.respond(tx, 405, [["allow", ALLOW]]);
        return;
      default:
        this.respond(tx, 501, [["allow", ALLOW]]);
    }
  }

  protected abstract onRemoteBye(): void;

  private onInfo(req: SipRequest, tx: ServerTransaction): void {
    const ct = req.get("content-type") ?? "";
    if (req.body.trim() === "") {
      this.respond(tx, 200);
      return;
    }
    const dtmf = parseInfoDtmf(ct, req.body);
    if (!dtmf) {
      const known = /^application\/dtmf(-relay)?\b/i.test(ct);
      this.respond(tx, known ? 400 : 415, known ? [] : [["accept", "application/dtmf-relay, application/dtmf"]]);
      return;
    }
    this.respond(tx, 200);
    this.emit("infoDtmf", dtmf.digit, dtmf.durationMs);
  }

  private onReinvite(req: SipRequest, tx: ServerTransaction): void {
    if (this.ownReinvitePending) {
      this.respond(tx, 491);
      return;
    }
    if (this.reinvite || this._state !== "confirmed") {
      // 14.2: an earlier INVITE is still unanswered / un-ACKed.
      this.respond(tx, 500, [["retry-after", String(1 + Math.floor(Math.random() * 10))]]);
      return;
    }
    const d = this.dialog;
    if (!d) return;
    const r = this.responder;
    const offer = req.body.trim() !== "" ? req.body : undefined;
    let sdp: string | null = null;
    try {
      sdp = r ? (offer !== undefined ? r.answer(offer) : r.offer()) : null;
    } catch (e) {
      this.stack.log.warn({ callId: this.info.callId, err: String(e) }, "SdpResponder threw on re-INVITE");
      sdp = null;
    }
    if (sdp === null) {
      this.respond(tx, 488); // the call stays up with the old session
      return;
    }
    d.refreshTarget(req);
    if (offer !== undefined) this._remoteSdp = offer;
    const res = tx.response(200);
    res.add("contact", `<${this.stack.contactUri(d.transport, undefined, d.secure)}>`);
    res.add("allow", ALLOW);
    res.add("server", this.stack.userAgent);
    res.add("content-type", "application/sdp");
    res.body = sdp;
    this.reinvite = { tx, lateOffer: offer === undefined };
    tx.respond(res, () => {
      // 2xx to our re-INVITE answer never ACKed: the peer is gone (RFC 3261 14.2 says end the dialog).
      this.reinvite = undefined;
      void this.sendBye();
      this.end({ by: "failure", reason: "timeout", text: "no ACK for re-INVITE" });
    });
  }

  /** ACK inside an established dialog: for a re-INVITE we answered. */
  protected ackReinvite(req: SipRequest): boolean {
    const ri = this.reinvite;
    if (!ri || req.cseq.seq !== ri.tx.request.cseq.seq) return false;
    ri.tx.ack();
    this.reinvite = undefined;
    if (ri.lateOffer && req.body.trim() !== "") {
      this._remoteSdp = req.body;
      if (this.responder && !this.responder.applyAnswer(req.body)) {
        this.stack.log.warn({ callId: this.info.callId }, "answer in ACK not acceptable");
      }
    }
    return true;
  }
}
