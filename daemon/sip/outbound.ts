// UAC side of a call: our INVITE, digest retry on 401/407, early dialog, ACK for 2xx, CANCEL, ring timeout.
import type { TrunkConfig } from "../config/schema.ts";
import { DigestSession } from "./digest.ts";
import { BaseLeg, CallFailedError, Dialog } from "./dialog.ts";
import { type SipRequest, SipRequest as Req, type SipResponse, parseUri, quote } from "./message.ts";
import type { NextHop } from "./routing.ts";
import { ALLOW, type SipStack, newBranch, newCallId, newTag } from "./stack.ts";
import type { SendTarget } from "./transport.ts";
import type { InviteOptions, LegEndCause, LegInfo, OutboundCall } from "./types.ts";

/** The INVITE for a call: to a full SIP URI directly, or a number through a trunk. */
export function buildInviteTarget(
  opts: InviteOptions,
  trunk: TrunkConfig | undefined,
): { requestUri: string; routes: string[]; proxy?: string } {
  if (/^sips?:/i.test(opts.target)) return { requestUri: opts.target, routes: [] };
  if (!trunk) throw new Error(`"${opts.target}" is not a SIP URI and no trunk was given`);
  const number = opts.target.replace(/[^0-9A-Za-z+*#]/g, "");
  if (number === "") throw new Error(`"${opts.target}" is not a dialable number`);
  const requestUri = `sip:${number}@${trunk.domain}${trunk.transport === "udp" ? "" : `;transport=${trunk.transport}`}`;
  if (trunk.outboundProxy) {
    const u = parseUri(trunk.outboundProxy);
    if (!u) throw new Error(`trunk ${trunk.id}: bad outboundProxy`);
    if (!u.hasParam("lr")) u.setParam("lr", null);
    return { requestUri, routes: [`<${u.toString()}>`] };
  }
  // No proxy: send to the registrar host (a default outbound proxy without a Route header, 8.1.2).
  return { requestUri, routes: [], proxy: trunk.registrar };
}

export class OutboundCallImpl extends BaseLeg implements OutboundCall {
  readonly answered: Promise<{ sdp: string | undefined }>;
  private settle!: { resolve: (v: { sdp: string | undefined }) => void; reject: (e: Error) => void };
  private invite: SipRequest;
  private target: SendTarget | undefined;
  private gotProvisional = false;
  private cancelWanted: LegEndCause | undefined;
  private cancelSent = false;
  private ackData: SipRequest | undefined;
  private ackTarget: SendTarget | undefined;
  private ringTimer: NodeJS.Timeout | undefined;
  private auth: DigestSession | undefined;
  private localTag = newTag();
  private cseq = 1;
  private hop: NextHop;
  private hangupDone: Promise<void> | undefined;

  constructor(
    stack: SipStack,
    private opts: InviteOptions,
    trunk: TrunkConfig | undefined,
  ) {
    const t = buildInviteTarget(opts, trunk);
    const callId = newCallId();
    const defaultTransport = trunk?.transport ?? stack.defaultTransport();
    const hop = stack.nextHop(t.requestUri, t.routes, defaultTransport);
    if (!hop) throw new Error(`cannot route to ${opts.target}`);
    if (t.proxy) {
      const p = parseUri(t.proxy);
      if (p) {
        hop.host = p.host;
        hop.port = p.port;
      }
    }
    const toUri = t.requestUri.replace(/;transport=\w+/i, "");
    const info: LegInfo = {
      callId,
      fromUri: "",
      toUri,
      requestUri: t.requestUri,
      did: parseUri(t.requestUri)?.user ?? "",
      transport: hop.transport,
      source: { address: hop.host, port: hop.port ?? 5060 },
      trunkId: trunk?.id,
    };
    super(stack, info);
    this.hop = hop;
    if (trunk) this.auth = new DigestSession(trunk.authUsername ?? trunk.username, trunk.password);

    // Caller ID: in From, or asserted in a P- header with From left as the trunk account (provider policy).
    const domain = trunk?.domain ?? stack.transport.advertised(hop.transport)?.host ?? "localhost";
    const cid = opts.callerId ?? trunk?.callerId ?? trunk?.username ?? "switchboard";
    const header = trunk?.callerIdHeader ?? "From";
    const fromUser = header === "From" ? cid : (trunk?.username ?? cid);
    const dn = opts.displayName ? `${quote(opts.displayName)} ` : "";
    const fromUri = `sip:${fromUser}@${domain}`;
    info.fromUri = fromUri;
    info.fromUser = fromUser;
    info.fromDisplayName = opts.displayName;
    const from = `${dn}<${fromUri}>;tag=${this.localTag}`;

    const inv = new Req("INVITE", hop.requestUri);
    inv.add("via", stack.via(hop.transport));
    inv.add("max-forwards", "70");
    inv.add("from", from);
    inv.add("to", `<${toUri}>`);
    inv.add("call-id", callId);
    inv.add("cseq", `${this.cseq} INVITE`);
    for (const r of hop.routes) inv.add("route", r);
    inv.add("contact", `<${stack.contactUri(hop.transport, undefined, /^sips:/i.test(hop.requestUri))}>`);
    if (header !== "From") inv.add(header, `${dn}<sip:${cid}@${domain}>`);
    inv.add("allow", ALLOW);
    inv.add("user-agent", stack.userAgent);
    for (const h of opts.extraHeaders ?? []) {
      const i = h.indexOf(":");
      if (i > 0 && !/[\r\n]/.test(h)) inv.add(h.slice(0, i).trim(), h.slice(i + 1).trim());
    }
    inv.add("content-type", "application/sdp");
    inv.body = opts.sdp;
    this.invite = inv;

    this.answered = new Promise((resolve, reject) => {
      this.settle = { resolve, reject };
    });
    this.answered.catch(() => {}); // observed through `ended` too; never an unhandled rejection
  }

  /** Resolve the first hop and send. Called by the endpoint right after construction. */
  async start(): Promise<void> {
    try {
      this.target = await this.stack.target(this.hop);
    } catch (e) {
      this.fail({ by: "failure", reason: "transport", text: e instanceof Error ? e.message : String(e) });
      return;
    }
    if (this.ended) return;
    this.info.source = { address: this.target.address, port: this.target.port };
    if (this.opts.ringTimeoutMs && this.opts.ringTimeoutMs > 0) {
      this.ringTimer = setTimeout(() => {
        if (this._state === "early" && !this.ended)
          this.cancel({ by: "failure", reason: "timeout", text: "ring timeout" });
      }, this.opts.ringTimeoutMs);
    }
    this.sendInvite();
  }

  private sendInvite(): void {
    const target = this.target;
    if (!target) return;
    this.stack.sendRequest(this.invite, target, {
      response: (res) => this.onResponse(res),
      timeout: () => this.fail({ by: "failure", reason: "timeout", text: "no final response" }),
      transportError: (e) => this.fail({ by: "failure", reason: "transport", text: e.message }),
    });
  }

  private onResponse(res: SipResponse): void {
    if (res.status < 200) {
      if (res.status === 100) return;
      this.gotProvisional = true;
      const tag = res.toTag;
      if (tag && !this.dialog) this.dialog = this.makeDialog(res);
      if (res.body.trim() !== "" && /application\/sdp/i.test(res.get("content-type") ?? "")) {
        this._remoteSdp = res.body;
      }
      if (this.cancelWanted && !this.cancelSent) this.sendCancel();
      return;
    }
    if (res.status < 300) {
      this.on2xx(res);
      return;
    }
    if ((res.status === 401 || res.status === 407) && this.auth && !this.cancelWanted) {
      const creds = this.auth.respond(
        { www: res.getAll("www-authenticate"), proxy: res.getAll("proxy-authenticate") },
        { method: "INVITE", uri: this.invite.uri, body: this.invite.body },
      );
      if (creds) {
        // 22.2: same Call-ID, From tag and To; CSeq + 1; new branch.
        const inv = this.invite;
        inv.remove("authorization").remove("proxy-authorization");
        for (const c of creds) inv.add(c.header, c.value);
        this.cseq++;
        inv.set("cseq", `${this.cseq} INVITE`);
        inv.headers[0] = ["via", this.stack.via(this.hop.transport, newBranch())];
        this.gotProvisional = false;
        this.dialog = undefined;
        this.sendInvite();
        return;
      }
    }
    if (this.cancelWanted && res.status === 487) {
      this.fail(this.cancelWanted);
      return;
    }
    this.fail({ by: "failure", reason: "rejected", status: res.status, text: res.reason });
  }

  private makeDialog(res: SipResponse): Dialog {
    const d = new Dialog(
      this.info.callId,
      this.localTag,
      this.invite.get("from") ?? "",
      res.get("to") ?? "",
      this.cseq,
      this.hop.transport,
      this.target?.connId,
    );
    d.remoteTag = res.toTag ?? "";
    // 12.1.2: the UAC's route set is the Record-Route of the response, reversed.
    d.routeSet = res.getAll("record-route").reverse();
    d.refreshTarget(res);
    d.secure = this.hop.transport === "tls" && /^sips:/i.test(this.invite.uri);
    if (!d.remoteTarget) d.remoteTarget = this.invite.uri;
    return d;
  }

  private on2xx(res: SipResponse): void {
    if (this.ackData && this.dialog && res.toTag === this.dialog.remoteTag) {
      // Retransmitted 2xx: our ACK was lost (13.2.2.4).
      if (this.ackTarget) this.stack.sendRaw(this.ackData, this.ackTarget);
      return;
    }
    const confirmedOther = this.ackData !== undefined;
    const d =
      !this.dialog || this.dialog.remoteTag !== res.toTag || confirmedOther ? this.makeDialog(res) : this.dialog;
    d.remoteTag = res.toTag ?? "";
    d.remote = res.get("to") ?? d.remote;
    d.routeSet = res.getAll("record-route").reverse();
    d.refreshTarget(res);
    void this.sendAck(d, res);
    if (confirmedOther || this.ended) {
      // A second fork answered, or we gave up meanwhile: ACK then BYE that dialog (13.2.2.4).
      void this.byeStray(d);
      return;
    }
    this.dialog = d;
    this.stack.legs.add(d.key, this);
    clearTimeout(this.ringTimer);
    this._remoteSdp = res.body.trim() !== "" ? res.body : this._remoteSdp;
    this._state = "confirmed";
    if (this.cancelWanted) {
      // The 2xx crossed our CANCEL (or came before any provisional): the call is up, so end it with BYE.
      void this.sendBye();
      this.end(this.cancelWanted);
      return;
    }
    this.settle.resolve({ sdp: this._remoteSdp });
  }

  private async sendAck(d: Dialog, res: SipResponse): Promise<void> {
    const { req, hop } = d.build(this.stack, "ACK", { cseq: res.cseq.seq });
    req.add("user-agent", this.stack.userAgent);
    try {
      const target = await d.target(this.stack, hop);
      if (d === this.dialog || !this.ackData) {
        this.ackData = req;
        this.ackTarget = target;
      }
      this.stack.sendRaw(req, target);
    } catch (e) {
      this.stack.log.warn({ callId: this.info.callId, err: String(e) }, "cannot send ACK");
    }
  }

  private async byeStray(d: Dialog): Promise<void> {
    try {
      const { req, hop } = d.build(this.stack, "BYE");
      this.stack.sendRequest(req, await d.target(this.stack, hop), {
        response: () => {},
        timeout: () => {},
        transportError: () => {},
      });
    } catch {
      /* best effort */
    }
  }

  onStray2xx(res: SipResponse): void {
    this.on2xx(res);
  }

  onAck(req: SipRequest): void {
    this.ackReinvite(req);
  }

  protected onRemoteBye(): void {
    this.end({ by: "remote", reason: "bye" });
  }

  private fail(cause: LegEndCause): void {
    this.end(cause);
  }

  protected override end(cause: LegEndCause): void {
    if (this.ended) return;
    clearTimeout(this.ringTimer);
    super.end(cause);
    this.settle.reject(new CallFailedError(cause));
  }

  /** 9.1: CANCEL only after a provisional response; before that, remember and send when one arrives. */
  private cancel(cause: LegEndCause): void {
    this.cancelWanted ??= cause;
    if (this.gotProvisional) this.sendCancel();
  }

  private sendCancel(): void {
    const target = this.target;
    if (this.cancelSent || !target) return;
    this.cancelSent = true;
    const inv = this.invite;
    const c = new Req("CANCEL", inv.uri);
    c.add("via", inv.get("via") ?? "");
    for (const r of inv.getAll("route")) c.add("route", r);
    c.add("max-forwards", "70");
    c.add("from", inv.get("from") ?? "");
    c.add("to", inv.get("to") ?? "");
    c.add("call-id", inv.callId);
    c.add("cseq", `${inv.cseq.seq} CANCEL`);
    this.stack.sendRequest(c, target, { response: () => {}, timeout: () => {}, transportError: () => {} });
  }

  hangup(): Promise<void> {
    if (this.hangupDone) return this.hangupDone;
    this.hangupDone = (async () => {
      if (this._state === "confirmed" && !this.ended) {
        const bye = this.sendBye();
        this.end(this.cancelWanted ?? { by: "local", reason: "hangup" });
        await bye;
        return;
      }
      if (this.ended) return;
      this.cancel({ by: "local", reason: "hangup" });
      // Wait for the 487 (or a racing 2xx that we then BYE), bounded by Timer B.
      await new Promise<void>((resolve) => {
        if (this.ended) return resolve();
        this.once("ended", () => resolve());
      });
    })();
    return this.hangupDone;
  }

  async shutdown(): Promise<void> {
    const t = setTimeout(() => this.end({ by: "local", reason: "hangup" }), 2000);
    await this.hangup();
    clearTimeout(t);
  }

  /** For tests and logs: the request as last sent. */
  get request(): SipRequest {
    return this.invite;
  }
}
