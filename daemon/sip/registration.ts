// REGISTER client for one trunk (RFC 3261 10.2): digest auth, refresh before the expiry the registrar granted,
// 423 Min-Expires, retry with exponential backoff after failures, NAT keep-alive (OPTIONS or CRLF), and
// un-REGISTER on stop.
import { EventEmitter } from "node:events";
import type { TrunkConfig } from "../config/schema.ts";
import { DigestSession } from "./digest.ts";
import { SipRequest, type SipResponse, parseNameAddr, parseUri } from "./message.ts";
import type { NextHop } from "./routing.ts";
import { type SipStack, newCallId, newTag } from "./stack.ts";
import type { SendTarget } from "./transport.ts";
import type { RegistrationEvents, RegistrationState, TrunkRegistration } from "./types.ts";

export interface RegistrationTuning {
  /** First retry delay after a failure; doubles up to retryMaxS. */
  retryBaseS?: number;
  retryMaxS?: number;
  /** Requested expiry; defaults to the trunk's expiresS (tests ask for less than the schema minimum). */
  expiresS?: number;
}

type Detail = RegistrationEvents["state"][1];

/** When to refresh a binding the registrar granted for `expires` seconds. */
export function refreshDelayS(expires: number): number {
  if (expires <= 60) return Math.max(1, expires * 0.8);
  return expires - Math.max(30, expires * 0.1);
}

export class Registration extends EventEmitter<RegistrationEvents> implements TrunkRegistration {
  private _state: RegistrationState = "idle";
  private _registeredAt: number | undefined;
  private callId = newCallId();
  private tag = newTag();
  private cseq = 0;
  private timer: NodeJS.Timeout | undefined;
  private keepaliveTimer: NodeJS.Timeout | undefined;
  private failures = 0;
  private stopped = false;
  private auth: DigestSession;
  private inFlight = false;
  /** Addresses the registrar resolved to (used for inbound trunk matching). */
  lastTarget: SendTarget | undefined;

  constructor(
    private stack: SipStack,
    readonly trunk: TrunkConfig,
    private tuning: RegistrationTuning = {},
  ) {
    super();
    this.auth = new DigestSession(trunk.authUsername ?? trunk.username, trunk.password);
  }

  get trunkId(): string {
    return this.trunk.id;
  }
  get state(): RegistrationState {
    return this._state;
  }
  get registeredAt(): number | undefined {
    return this._registeredAt;
  }

  private setState(s: RegistrationState, detail: Detail = {}): void {
    this._state = s;
    this.stack.log.info({ trunk: this.trunk.id, state: s, ...detail }, "trunk registration");
    this.emit("state", s, detail);
  }

  private get registrarUri(): string {
    return this.trunk.registrar ?? `sip:${this.trunk.domain}`;
  }

  private hop(): NextHop | undefined {
    const routes: string[] = [];
    if (this.trunk.outboundProxy) {
      const u = parseUri(this.trunk.outboundProxy);
      if (u) {
        if (!u.hasParam("lr")) u.setParam("lr", null);
        routes.push(`<${u.toString()}>`);
      }
    }
    return this.stack.nextHop(this.registrarUri, routes, this.trunk.transport);
  }

  private contactUri(): string {
    const secure = /^sips:/i.test(this.trunk.registrar ?? "");
    return this.stack.contactUri(this.trunk.transport, this.trunk.username, secure);
  }

  start(): void {
    this.stopped = false;
    this.schedule(0);
  }

  private schedule(delayS: number): void {
    clearTimeout(this.timer);
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.register(this.tuning.expiresS ?? this.trunk.expiresS), delayS * 1000);
  }

  private retry(detail: Detail, retryAfterS?: number): void {
    this.failures++;
    const base = this.tuning.retryBaseS ?? 10;
    const max = this.tuning.retryMaxS ?? 300;
    const backoff = Math.min(max, base * 2 ** (this.failures - 1));
    // +-20% jitter so a fleet behind one provider does not re-register in lockstep.
    const retryInS = Math.max(1, Math.round((retryAfterS ?? backoff) * (0.8 + Math.random() * 0.4)));
    this.stopKeepalive();
    this.setState("failed", { ...detail, retryInS });
    this.schedule(retryInS);
  }

  /** Send REGISTER (expires=0 unregisters). Resolves with the final response, undefined on timeout/error. */
  private async transact(expires: number): Promise<SipResponse | undefined> {
    const hop = this.hop();
    if (!hop) throw new Error("bad registrar URI");
    const target = await this.stack.target(hop);
    this.lastTarget = target;
    const aor = `sip:${this.trunk.username}@${this.trunk.domain}`;
    this.auth.reset();
    let authHeaders: Array<{ header: string; value: string }> = [];
    for (let attempt = 0; attempt < 4; attempt++) {
      const req = new SipRequest("REGISTER", hop.requestUri);
      req.add("via", this.stack.via(hop.transport));
      req.add("max-forwards", "70");
      req.add("from", `<${aor}>;tag=${this.tag}`);
      req.add("to", `<${aor}>`);
      req.add("call-id", this.callId);
      req.add("cseq", `${++this.cseq} REGISTER`);
      for (const r of hop.routes) req.add("route", r);
      req.add("contact", `<${this.contactUri()}>;expires=${expires}`);
      req.add("expires", String(expires));
      for (const h of authHeaders) req.add(h.header, h.value);
      const res = await new Promise<SipResponse | undefined>((resolve) => {
        this.stack.sendRequest(req, target, {
          response: (r) => {
            if (r.status >= 200) resolve(r);
          },
          timeout: () => resolve(undefined),
          transportError: () => resolve(undefined),
        });
      });
      if (!res || (res.status !== 401 && res.status !== 407)) return res;
      const creds = this.auth.respond(
        { www: res.getAll("www-authenticate"), proxy: res.getAll("proxy-authenticate") },
        { method: "REGISTER", uri: hop.requestUri },
      );
      if (!creds) return res;
      authHeaders = creds;
    }
    return undefined;
  }

  private async register(expires: number): Promise<void> {
    if (this.stopped || this.inFlight) return;
    this.inFlight = true;
    if (this._state !== "registered") this.setState("registering");
    let res: SipResponse | undefined;
    try {
      res = await this.transact(expires);
    } catch (e) {
      this.inFlight = false;
      if (!this.stopped) this.retry({ reason: e instanceof Error ? e.message : String(e) });
      return;
    }
    this.inFlight = false;
    if (this.stopped) return;
    if (!res) {
      this.retry({ reason: "timeout" });
      return;
    }
    if (res.status === 423) {
      const min = Number(res.get("min-expires"));
      if (Number.isFinite(min) && min > expires && min <= 86400) {
        void this.register(min);
        return;
      }
    }
    if (res.status >= 300) {
      const ra = Number.parseInt(res.get("retry-after") ?? "", 10);
      this.retry({ status: res.status, reason: res.reason }, Number.isFinite(ra) && ra > 0 ? ra : undefined);
      return;
    }
    const granted = this.grantedExpires(res, expires);
    this.failures = 0;
    this._registeredAt = Date.now();
    this.setState("registered", { status: res.status, expiresS: granted });
    this.schedule(refreshDelayS(granted));
    this.startKeepalive();
  }

  /** 10.2.4: the expiry of *our* binding in the 200's Contact list, else Expires, else what we asked. */
  grantedExpires(res: SipResponse, asked: number): number {
    const ours = parseUri(this.contactUri());
    for (const c of res.getAll("contact")) {
      const na = parseNameAddr(c);
      if (!na || !ours) continue;
      const u = na.uri;
      if (u.user === ours.user && u.host === ours.host && (u.port ?? 5060) === (ours.port ?? 5060)) {
        const e = Number(na.getParam("expires"));
        if (Number.isFinite(e) && e > 0) return e;
      }
    }
    const e = Number(res.get("expires"));
    return Number.isFinite(e) && e > 0 ? e : asked;
  }

  private startKeepalive(): void {
    this.stopKeepalive();
    const ka = this.trunk.keepalive;
    if (ka.method === "none") return;
    this.keepaliveTimer = setInterval(() => void this.keepalive(), ka.intervalS * 1000);
    this.keepaliveTimer.unref();
  }

  private stopKeepalive(): void {
    clearInterval(this.keepaliveTimer);
    this.keepaliveTimer = undefined;
  }

  private async keepalive(): Promise<void> {
    const target = this.lastTarget;
    if (!target || this.stopped) return;
    if (this.trunk.keepalive.method === "crlf") {
      await this.stack.transport.keepalive(target).catch(() => {});
      return;
    }
    const hop = this.hop();
    if (!hop) return;
    const req = new SipRequest("OPTIONS", hop.requestUri);
    req.add("via", this.stack.via(hop.transport));
    req.add("max-forwards", "70");
    req.add("from", `<sip:${this.trunk.username}@${this.trunk.domain}>;tag=${newTag()}`);
    req.add("to", `<${this.registrarUri}>`);
    req.add("call-id", newCallId());
    req.add("cseq", "1 OPTIONS");
    for (const r of hop.routes) req.add("route", r);
    this.stack.sendRequest(req, target, {
      response: () => {},
      // The registrar stopped answering: re-register now rather than at the next refresh.
      timeout: () => {
        if (this._state === "registered") this.retry({ reason: "keep-alive timeout" }, 1);
      },
      transportError: () => {},
    });
  }

  /** Remove the binding (expires=0), bounded by `timeoutMs`; stops all timers. */
  async stop(timeoutMs = 2000): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.stopKeepalive();
    const wasRegistered = this._state === "registered";
    if (wasRegistered) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        this.transact(0).catch(() => undefined),
        new Promise<void>((resolve) => {
          timer = setTimeout(resolve, timeoutMs);
        }),
      ]);
      clearTimeout(timer);
    }
    this.setState("unregistered");
  }
}
