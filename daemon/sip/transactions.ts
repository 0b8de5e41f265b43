// RFC 3261 section 17 transactions with RFC 6026 corrections. Owned here rather than in sip.js core because its
// transactions have no retransmission timers for unreliable transports (Timer A/E/G are FIXMEs), terminate server
// transactions at once (Timer I/J/K = 0, so request retransmissions are not absorbed) and use fixed T1/T2.
//
// Timers (all from the configured T1/T2/T4): A/E request retransmit (UDP), B/F transaction timeout (64*T1),
// D wait for final-response retransmits (64*T1, UDP), G/H non-2xx retransmit until ACK, I ACK absorption (T4, UDP),
// J/K final-response/request absorption (64*T1 / T4, UDP). 2xx to INVITE is retransmitted here too (the UAS core
// job of RFC 3261 13.3.1.4) until the dialog reports the ACK.
import type { Log } from "../ops/log.ts";
import { SipRequest, type SipResponse, makeResponse } from "./message.ts";
import type { SendTarget } from "./transport.ts";

export interface Timers {
  t1: number;
  t2: number;
  t4: number;
}

export type Sender = (data: string, target: SendTarget) => Promise<void>;

export interface ClientTxHandler {
  /** Every response passed to the TU: provisional, the final one, and (INVITE) retransmitted 2xx in Accepted. */
  response(res: SipResponse): void;
  /** Timer B / F fired without a final response. */
  timeout(): void;
  transportError(err: Error): void;
}

export interface TxStats {
  retransmittedRequests: number;
  retransmittedResponses: number;
  absorbedRequests: number;
}

type ClientState = "calling" | "proceeding" | "accepted" | "completed" | "terminated";
type ServerState = "proceeding" | "accepted" | "completed" | "confirmed" | "terminated";

/**
 * What both transaction kinds share: the three RFC 3261 timer slots — retransmit (A/E/G), timeout (B/F/H) and
 * linger (D/I/J/K, absorbing retransmissions after the final response) — and how a transaction ends.
 */
abstract class Transaction<S extends string> {
  abstract state: S | "terminated";
  protected timerRetransmit: NodeJS.Timeout | undefined;
  protected timerTimeout: NodeJS.Timeout | undefined;
  protected timerLinger: NodeJS.Timeout | undefined;

  /** Remove this transaction from the layer's table. */
  protected abstract detach(): void;

  protected linger(ms: number): void {
    clearTimeout(this.timerLinger);
    if (ms <= 0) {
      this.terminate();
      return;
    }
    this.timerLinger = setTimeout(() => this.terminate(), ms);
  }

  terminate(): void {
    this.state = "terminated";
    clearTimeout(this.timerRetransmit);
    clearTimeout(this.timerTimeout);
    clearTimeout(this.timerLinger);
    this.detach();
  }
}

export class ClientTransaction extends Transaction<ClientState> {
  state: ClientState = "calling";
  private interval: number;
  private data: string;
  private ackData: string | undefined;
  readonly key: string;

  constructor(
    private layer: TransactionLayer,
    readonly request: SipRequest,
    readonly target: SendTarget,
    private handler: ClientTxHandler,
  ) {
    super();
    this.key = clientKey(request.branch, request.method);
    this.data = request.toString();
    this.interval = layer.timers.t1;
  }

  get isInvite(): boolean {
    return this.request.method === "INVITE";
  }

  start(): void {
    this.transmit();
    if (this.target.transport === "udp") this.armRetransmit();
    this.timerTimeout = setTimeout(() => {
      if (this.state === "calling" || this.state === "proceeding") {
        this.terminate();
        this.handler.timeout();
      }
    }, 64 * this.layer.timers.t1);
  }

  private transmit(): void {
    this.layer.send(this.data, this.target).catch((e: unknown) => {
      if (this.state === "terminated") return;
      this.terminate();
      this.handler.transportError(e instanceof Error ? e : new Error(String(e)));
    });
  }

  private armRetransmit(): void {
    this.timerRetransmit = setTimeout(() => {
      if (this.state !== "calling" && !(this.state === "proceeding" && !this.isInvite)) return;
      this.layer.stats.retransmittedRequests++;
      this.transmit();
      // Timer A doubles without cap; Timer E doubles up to T2, and is T2 once a provisional arrived.
      this.interval = this.isInvite
        ? this.interval * 2
        : this.state === "proceeding"
          ? this.layer.timers.t2
          : Math.min(this.interval * 2, this.layer.timers.t2);
      this.armRetransmit();
    }, this.interval);
  }

  receive(res: SipResponse): void {
    const final = res.status >= 200;
    if (this.state === "completed") {
      // Retransmitted final: INVITE re-sends its ACK (17.1.1.2); non-INVITE just absorbs.
      if (this.isInvite && this.ackData && res.status >= 300)
        this.layer.send(this.ackData, this.target).catch(() => {});
      return;
    }
    if (this.state === "terminated") return;
    if (this.state === "accepted") {
      if (res.status >= 200 && res.status < 300) this.handler.response(res);
      return;
    }
    if (!final) {
      if (this.state === "calling") {
        this.state = "proceeding";
        if (this.isInvite) clearTimeout(this.timerRetransmit);
        else if (this.timerRetransmit) {
          // Timer E continues at T2 while proceeding.
          this.interval = this.layer.timers.t2;
        }
      }
      this.handler.response(res);
      return;
    }
    clearTimeout(this.timerRetransmit);
    clearTimeout(this.timerTimeout);
    const udp = this.target.transport === "udp";
    if (this.isInvite && res.status < 300) {
      // RFC 6026 Accepted: keep matching retransmitted 2xx (forked or lost ACK) for 64*T1 (Timer M).
      this.state = "accepted";
      this.linger(64 * this.layer.timers.t1);
    } else if (this.isInvite) {
      this.state = "completed";
      this.ackData = buildNon2xxAck(this.request, res).toString();
      this.layer.send(this.ackData, this.target).catch(() => {});
      this.linger(udp ? 64 * this.layer.timers.t1 : 0); // Timer D
    } else {
      this.state = "completed";
      this.linger(udp ? this.layer.timers.t4 : 0); // Timer K
    }
    this.handler.response(res);
  }

  protected detach(): void {
    this.layer.removeClient(this);
  }
}

/** RFC 3261 17.1.1.3: ACK for a non-2xx final response is part of the INVITE transaction. */
function buildNon2xxAck(invite: SipRequest, res: SipResponse): SipRequest {
  const ack = new SipRequest("ACK", invite.uri);
  const via = invite.get("via");
  if (via) ack.add("via", via);
  for (const r of invite.getAll("route")) ack.add("route", r);
  ack.add("max-forwards", "70");
  ack.add("from", invite.get("from") ?? "");
  ack.add("to", res.get("to") ?? invite.get("to") ?? "");
  ack.add("call-id", invite.callId);
  ack.add("cseq", `${invite.cseq.seq} ACK`);
  return ack;
}

export interface ServerTxEvents {
  /** ACK for our 2xx never came (64*T1). */
  ackTimeout?(): void;
}

export class ServerTransaction extends Transaction<ServerState> {
  state: ServerState = "proceeding";
  private last: string | undefined;
  private onAckTimeout: (() => void) | undefined;
  /** To-tag of the dialog this transaction's responses create (set by the TU). */
  toTag: string | undefined;

  constructor(
    private layer: TransactionLayer,
    readonly key: string,
    readonly request: SipRequest,
    readonly target: SendTarget,
  ) {
    super();
  }

  get isInvite(): boolean {
    return this.request.method === "INVITE";
  }

  get finalSent(): boolean {
    return this.state !== "proceeding";
  }

  /** Build a response to this transaction's request, with our To tag. */
  response(status: number, reason?: string): SipResponse {
    return makeResponse(this.request, status, reason, this.toTag);
  }

  /**
   * Send a response. Provisional ones are remembered for request retransmissions; finals start the absorbing
   * state. `onAckTimeout` (INVITE 2xx) fires when no ACK arrived within 64*T1.
   */
  respond(res: SipResponse, onAckTimeout?: () => void): void {
    if (this.state !== "proceeding") {
      // A 2xx may be re-sent by the TU while accepted (it never is by us); anything else after a final is a bug.
      this.layer.log.debug({ status: res.status, state: this.state }, "response after final ignored");
      return;
    }
    const data = res.toString();
    this.last = data;
    this.transmit(data);
    if (res.status < 200) return;
    const udp = this.target.transport === "udp";
    const t = this.layer.timers;
    if (this.isInvite) {
      this.state = res.status < 300 ? "accepted" : "completed";
      this.onAckTimeout = onAckTimeout;
      // Timer G (non-2xx) and 2xx retransmission share the schedule: T1 doubling, capped at T2 (UDP only).
      if (udp) this.armRetransmit(t.t1);
      this.timerTimeout = setTimeout(() => {
        const cb = this.state === "accepted" ? this.onAckTimeout : undefined;
        this.terminate();
        cb?.();
      }, 64 * t.t1); // Timer H / RFC 6026 Timer L
    } else {
      this.state = "completed";
      this.linger(udp ? 64 * t.t1 : 0); // Timer J
    }
  }

  private armRetransmit(interval: number): void {
    this.timerRetransmit = setTimeout(() => {
      if ((this.state !== "accepted" && this.state !== "completed") || !this.last) return;
      this.layer.stats.retransmittedResponses++;
      this.transmit(this.last);
      this.armRetransmit(Math.min(interval * 2, this.layer.timers.t2));
    }, interval);
  }

  private transmit(data: string): void {
    this.layer.send(data, this.target).catch((e: unknown) => {
      this.layer.log.debug({ err: e instanceof Error ? e.message : String(e) }, "response send failed");
    });
  }

  /** A retransmission of the request arrived: re-send the last response (17.2.1 / 17.2.2). */
  retransmission(): void {
    this.layer.stats.absorbedRequests++;
    if (this.last && this.state !== "confirmed" && this.state !== "terminated") this.transmit(this.last);
  }

  /** ACK matched this transaction (non-2xx) or the dialog saw the ACK of our 2xx. */
  ack(): void {
    if (this.state === "completed") {
      this.state = "confirmed";
      clearTimeout(this.timerRetransmit);
      clearTimeout(this.timerTimeout);
      this.linger(this.target.transport === "udp" ? this.layer.timers.t4 : 0); // Timer I
    } else if (this.state === "accepted") {
      clearTimeout(this.timerRetransmit);
      clearTimeout(this.timerTimeout);
      // Stay a little to absorb INVITE retransmissions that crossed our 2xx.
      this.state = "confirmed";
      this.linger(this.target.transport === "udp" ? 64 * this.layer.timers.t1 : 0);
    }
  }

  protected detach(): void {
    this.layer.removeServer(this);
  }
}

export function clientKey(branch: string, method: string): string {
  return `${branch}|${method === "ACK" ? "INVITE" : method}`;
}

/** RFC 3261 17.2.3 server transaction key; RFC 2543 peers (no magic cookie) match on dialog-ish fields. */
export function serverKey(req: SipRequest): string {
  const method = req.method === "ACK" ? "INVITE" : req.method;
  const via = req.topVia;
  const branch = req.branch;
  if (branch.startsWith("z9hG4bK") && branch.length > 7 && via) {
    return `${branch}|${via.host}:${via.port ?? ""}|${method}`;
  }
  return `2543|${req.callId}|${req.cseq.seq}|${req.fromTag ?? ""}|${req.get("via") ?? ""}|${method}`;
}

export type IncomingRequestMatch =
  | { kind: "new"; tx: ServerTransaction }
  | { kind: "retransmission" }
  | { kind: "ack-absorbed" }
  | { kind: "ack-for-2xx" };

export class TransactionLayer {
  private clients = new Map<string, ClientTransaction>();
  private servers = new Map<string, ServerTransaction>();
  readonly stats: TxStats = { retransmittedRequests: 0, retransmittedResponses: 0, absorbedRequests: 0 };

  constructor(
    readonly send: Sender,
    readonly timers: Timers,
    readonly log: Log,
  ) {}

  sendRequest(req: SipRequest, target: SendTarget, handler: ClientTxHandler): ClientTransaction {
    const tx = new ClientTransaction(this, req, target, handler);
    this.clients.set(tx.key, tx);
    tx.start();
    return tx;
  }

  /** Route a response to its client transaction (17.1.3). False when none matches (stray or late 2xx). */
  receiveResponse(res: SipResponse): boolean {
    const tx = this.clients.get(clientKey(res.branch, res.cseq.method));
    if (!tx) return false;
    tx.receive(res);
    return true;
  }

  /**
   * Match an incoming request against server transactions. New requests (except ACK) get a transaction whose
   * responses go to `target`.
   */
  receiveRequest(req: SipRequest, target: SendTarget): IncomingRequestMatch {
    const key = serverKey(req);
    const existing = this.servers.get(key);
    if (req.method === "ACK") {
      if (existing && existing.state !== "accepted" && existing.state !== "proceeding") {
        existing.ack();
        return { kind: "ack-absorbed" };
      }
      return { kind: "ack-for-2xx" };
    }
    if (existing) {
      existing.retransmission();
      return { kind: "retransmission" };
    }
    const tx = new ServerTransaction(this, key, req, target);
    this.servers.set(key, tx);
    return { kind: "new", tx };
  }

  /** The INVITE server transaction a CANCEL refers to (same branch and sent-by, 9.2). */
  findInviteFor(cancel: SipRequest): ServerTransaction | undefined {
    const key = serverKey(cancel).replace(/\|CANCEL$/, "|INVITE");
    return this.servers.get(key);
  }

  removeClient(tx: ClientTransaction): void {
    if (this.clients.get(tx.key) === tx) this.clients.delete(tx.key);
  }

  removeServer(tx: ServerTransaction): void {
    if (this.servers.get(tx.key) === tx) this.servers.delete(tx.key);
  }

  get size(): { clients: number; servers: number } {
    return { clients: this.clients.size, servers: this.servers.size };
  }

  stop(): void {
    for (const tx of [...this.clients.values()]) tx.terminate();
    for (const tx of [...this.servers.values()]) tx.terminate();
  }
}
