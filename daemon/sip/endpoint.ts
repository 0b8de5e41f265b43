// The SIP endpoint the daemon uses: listens, registers trunks, turns INVITEs into InboundCall events, places
// outbound calls. Incoming messages are validated here (400/4xx with a reason naming the problem, or dropped for
// responses) before any dialog logic sees them.
import { EventEmitter } from "node:events";
import { BlockList, isIP } from "node:net";
import type { SipConfig, TrunkConfig } from "../config/schema.ts";
import type { Log } from "../ops/log.ts";
import { CallFailedError } from "./dialog.ts";
import { InboundCallImpl, legInfoFrom } from "./inbound.ts";
import { type SipRequest, type SipResponse, makeResponse, parseMessage, parseUri, quote } from "./message.ts";
import { OutboundCallImpl } from "./outbound.ts";
import { Registration, type RegistrationTuning } from "./registration.ts";
import { type DnsResolver, SipResolver, bareHost } from "./resolver.ts";
import { type Source, responseTarget, stampVia } from "./routing.ts";
import { ALLOW, type DialogOwner, SipStack, newTag } from "./stack.ts";
import { type ServerTransaction, TransactionLayer, type TxStats } from "./transactions.ts";
import { type SendTarget, type StreamFactory, SipTransport, type TransportStats } from "./transport.ts";
import type {
  InboundCall,
  InviteOptions,
  OutboundCall,
  SipAddress,
  SipEndpointEvents,
  TrunkRegistration,
} from "./types.ts";

export { CallFailedError };

export interface SipEndpointOptions {
  sip: SipConfig;
  trunks: TrunkConfig[];
  log: Log;
  /** DNS used for RFC 3263 lookups (tests inject answers). */
  resolver?: DnsResolver;
  /**
   * Answer UDP requests at their source port even without `rport` (default true). Trunks behind NAT and
   * SIP ALGs otherwise never see our responses.
   */
  forceRport?: boolean;
  /** Registration timing overrides (tests). */
  registration?: RegistrationTuning;
  /** Close a TCP connection whose partial message is not completed in time (default 32 s). */
  incompleteTimeoutMs?: number;
  /** Stream transports beyond TCP: `tls` from loadSipTls (tls.ts), needed by any tls listener or trunk. */
  streams?: { tls?: StreamFactory };
}

const KNOWN_METHODS = new Set([
  "REGISTER",
  "SUBSCRIBE",
  "NOTIFY",
  "MESSAGE",
  "REFER",
  "PUBLISH",
  "UPDATE",
  "PRACK",
  "INFO",
  "BYE",
]);

export class SipEndpoint extends EventEmitter<SipEndpointEvents> {
  private transport: SipTransport;
  private txl: TransactionLayer;
  private stack: SipStack;
  private resolverImpl: SipResolver;
  private legs = new Map<string, DialogOwner>();
  /** INVITEs in progress without a To tag, for merged-request detection (8.2.2.2). */
  private pendingInvites = new Map<string, string>();
  /** INVITE server transaction key → its leg, while the INVITE may still be CANCELled. */
  private pendingCalls = new Map<string, InboundCallImpl>();
  private regs = new Map<string, Registration>();
  private trunkAddrs = new Map<string, Set<string>>();
  private trunkPeers = new Map<string, BlockList>();
  private trunkChange: Promise<void> = Promise.resolve();
  private allow: BlockList | undefined;
  private accepting = true;
  private started = false;
  private stopped = false;
  private log: Log;

  constructor(private opts: SipEndpointOptions) {
    super();
    this.log = opts.log.child({ mod: "sip" });
    const t = opts.sip.timers;
    this.transport = new SipTransport({
      listen: opts.sip.listen,
      publicAddress: opts.sip.publicAddress,
      maxMessageBytes: opts.sip.maxMessageBytes,
      log: this.log,
      incompleteTimeoutMs: opts.incompleteTimeoutMs,
      streams: opts.streams,
      handlers: {
        message: (data, src) => this.onMessage(data, src),
        oversize: (head, src, reply) => this.onOversize(head, src, reply),
      },
    });
    this.txl = new TransactionLayer(
      (d, target) => this.transport.send(d, target),
      { t1: t.t1Ms, t2: t.t2Ms, t4: t.t4Ms },
      this.log,
    );
    this.resolverImpl = new SipResolver(opts.resolver);
    this.stack = new SipStack(this.transport, this.txl, this.resolverImpl, this.log, opts.sip.userAgent, {
      add: (k, leg) => this.legs.set(k, leg),
      remove: (k) => this.legs.delete(k),
    });
    if (opts.sip.allowFrom.length > 0) this.allow = cidrList(opts.sip.allowFrom);
    for (const tr of opts.trunks) if (tr.peers.length > 0) this.trunkPeers.set(tr.id, cidrList(tr.peers));
  }

  get trunks(): readonly TrunkConfig[] {
    return this.opts.trunks;
  }

  /** Bind every listener and start trunk registrations. Returns the bound addresses (real ports). */
  async start(): Promise<SipAddress[]> {
    if (this.started) return this.transport.addresses;
    this.started = true;
    const bound = await this.transport.start();
    for (const tr of this.opts.trunks) this.startTrunk(tr);
    this.log.info({ listen: bound }, "SIP endpoint listening");
    return bound;
  }

  private startTrunk(tr: TrunkConfig): void {
    if (tr.peers.length > 0) this.trunkPeers.set(tr.id, cidrList(tr.peers));
    if (tr.srtp === "mandatory" && tr.transport !== "tls")
      this.log.warn(
        { trunk: tr.id, transport: tr.transport },
        "SRTP keys of this trunk travel in clear-text SDP (RFC 4568 wants TLS): set transport tls",
      );
    void this.resolveTrunk(tr);
    if (!tr.register) return;
    const reg = new Registration(this.stack, tr, this.opts.registration);
    reg.on("state", () => {
      const a = reg.lastTarget?.address;
      if (a) this.trunkAddrs.get(tr.id)?.add(a);
    });
    this.regs.set(tr.id, reg);
    reg.start();
  }

  /**
   * A new trunk list without a restart (a config reload, a provisioning stick, the master server): unchanged trunks
   * keep their registration; removed and changed ones un-REGISTER, new and changed ones register afresh. Calls in
   * progress keep their legs. Resolves when the old registrations are gone and the new ones started; changes apply
   * one after another.
   */
  setTrunks(next: readonly TrunkConfig[]): Promise<{ added: string[]; removed: string[]; changed: string[] }> {
    const run = this.trunkChange.then(() => this.applyTrunks(next));
    this.trunkChange = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  private async applyTrunks(next: readonly TrunkConfig[]) {
    const before = new Map(this.opts.trunks.map((t) => [t.id, t]));
    const after = new Map(next.map((t) => [t.id, t]));
    const removed = [...before.keys()].filter((id) => !after.has(id));
    const added = [...after.keys()].filter((id) => !before.has(id));
    const changed = [...after.keys()].filter(
      (id) => before.has(id) && JSON.stringify(before.get(id)) !== JSON.stringify(after.get(id)),
    );
    this.opts = { ...this.opts, trunks: [...next] };
    const stopping: Promise<void>[] = [];
    for (const id of [...removed, ...changed]) {
      const reg = this.regs.get(id);
      if (reg) stopping.push(reg.stop(2000));
      this.regs.delete(id);
      this.trunkAddrs.delete(id);
      this.trunkPeers.delete(id);
    }
    if (added.length + removed.length + changed.length === 0) return { added, removed, changed };
    this.log.info({ added, removed, changed }, "trunks changed");
    this.emit("trunks");
    // A changed trunk's un-REGISTER must not remove the binding its successor makes: the old one goes first.
    await Promise.all(stopping);
    if (this.started && !this.stopped)
      for (const id of [...added, ...changed]) this.startTrunk(after.get(id) as TrunkConfig);
    this.emit("trunks");
    return { added, removed, changed };
  }

  get registrations(): ReadonlyMap<string, TrunkRegistration> {
    return this.regs;
  }

  get addresses(): SipAddress[] {
    return this.transport.addresses;
  }

  /** Counters for health pages and tests. */
  get stats(): {
    transport: TransportStats;
    transactions: TxStats;
    open: { clients: number; servers: number; legs: number };
  } {
    return {
      transport: this.transport.stats,
      transactions: this.txl.stats,
      open: { ...this.txl.size, legs: this.legs.size },
    };
  }

  setAccepting(on: boolean): void {
    this.accepting = on;
  }

  invite(opts: InviteOptions): OutboundCall {
    if (this.stopped || !this.started) throw new Error("SIP endpoint is not running");
    const trunk = opts.trunkId ? this.opts.trunks.find((t) => t.id === opts.trunkId) : undefined;
    if (opts.trunkId && !trunk) throw new Error(`unknown trunk ${opts.trunkId}`);
    const call = new OutboundCallImpl(this.stack, opts, trunk);
    // Registered before the first response so a 2xx can always find its leg for retransmitted-2xx ACKs.
    const key = `${call.info.callId}|uac`;
    this.legs.set(key, call);
    call.once("ended", () => this.legs.delete(key));
    void call.start();
    return call;
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.accepting = false;
    const legs = [...new Set(this.legs.values())];
    const bounded = <T>(p: Promise<T>, ms: number) =>
      Promise.race([p.catch(() => undefined), new Promise<void>((r) => setTimeout(r, ms).unref())]);
    await bounded(Promise.all(legs.map((l) => l.shutdown())), 2000);
    await Promise.all([...this.regs.values()].map((r) => r.stop(2000)));
    // Let final responses (503s) leave before the sockets close.
    await new Promise((r) => setImmediate(r));
    this.txl.stop();
    this.legs.clear();
    await this.transport.stop();
  }

  // ---- incoming ------------------------------------------------------------------------------------------------

  private async resolveTrunk(tr: TrunkConfig): Promise<void> {
    const set = new Set<string>();
    this.trunkAddrs.set(tr.id, set);
    const hosts = [tr.registrar ?? `sip:${tr.domain}`, tr.outboundProxy]
      .filter((u): u is string => u !== undefined)
      .map((u) => parseUri(u))
      .filter((u) => u !== undefined);
    for (const u of hosts) {
      try {
        for (const t of await this.resolverImpl.resolve(u.host, u.port, tr.transport)) set.add(t.address);
      } catch (e) {
        this.log.debug({ trunk: tr.id, host: u.host, err: String(e) }, "trunk host does not resolve");
      }
    }
  }

  /** Trunk whose registrar/proxy address or configured peers match the source. */
  trunkFor(address: string): string | undefined {
    for (const [id, addrs] of this.trunkAddrs) if (addrs.has(address)) return id;
    for (const [id, list] of this.trunkPeers) if (inList(list, address)) return id;
    return undefined;
  }

  private onMessage(data: Buffer, src: Source): void {
    const r = parseMessage(data, { stream: src.transport !== "udp" });
    if (!r.ok) {
      if (r.isResponse || !r.request || r.request.method === "ACK" || !r.request.has("via")) {
        this.log.debug({ from: `${src.address}:${src.port}`, err: r.error }, "unparsable SIP message dropped");
        return;
      }
      this.log.debug({ from: `${src.address}:${src.port}`, err: r.error, status: r.status }, "bad SIP request");
      this.statelessReply(r.request, r.status, src, r.error);
      return;
    }
    const msg = r.msg;
    if ("status" in msg) {
      this.onResponse(msg);
      return;
    }
    this.onRequest(msg, src);
  }

  private onOversize(head: Buffer, src: Source, reply: (d: string) => void): void {
    const r = parseMessage(Buffer.concat([head, Buffer.from("\r\nContent-Length: 0\r\n\r\n")]), { stream: false });
    // Any Content-Length header in `head` plus ours would be a duplicate; build the 513 from what parsed.
    const req = r.ok ? (r.msg as SipRequest) : r.request;
    if (!req || "status" in req || !req.has("via")) return;
    const res = makeResponse(req, 513);
    res.add("server", this.opts.sip.userAgent);
    reply(res.toString());
    void src;
  }

  private statelessReply(req: SipRequest, status: number, src: Source, warning?: string): void {
    const via = req.topVia;
    let target: SendTarget = { transport: src.transport, address: src.address, port: src.port, connId: src.connId };
    if (via) {
      const stamped = stampVia(req.get("via") ?? "", src, this.opts.forceRport ?? true);
      req.headers[req.headers.findIndex(([k]) => k === "via")] = ["via", stamped];
      const parsed = req.topVia;
      if (parsed) target = responseTarget(parsed, src);
    }
    const res = makeResponse(req, status, undefined, newTag());
    if (warning) res.add("warning", `399 ${this.transport.advertised(src.transport)?.host ?? "-"} ${quote(warning)}`);
    if (status === 405 || status === 501) res.add("allow", ALLOW);
    res.add("server", this.opts.sip.userAgent);
    this.stack.sendRaw(res, target);
  }

  private onResponse(res: SipResponse): void {
    if (this.txl.receiveResponse(res)) return;
    // A 2xx to INVITE outside its transaction: retransmission after Timer M, or another fork.
    if (res.cseq.method === "INVITE" && res.status >= 200 && res.status < 300) {
      const leg = this.legs.get(`${res.callId}|uac`);
      leg?.onStray2xx?.(res);
    }
  }

  private onRequest(req: SipRequest, src: Source): void {
    const forceRport = this.opts.forceRport ?? true;
    const viaIdx = req.headers.findIndex(([k]) => k === "via");
    req.headers[viaIdx] = ["via", stampVia(req.headers[viaIdx][1], src, forceRport)];
    const via = req.topVia;
    if (!via) return;
    const target: SendTarget = responseTarget(via, src);
    if (this.stopped) {
      if (req.method !== "ACK") this.statelessReply(req, 503, src);
      return;
    }
    const m = this.txl.receiveRequest(req, target);
    if (m.kind === "retransmission" || m.kind === "ack-absorbed") return;
    if (m.kind === "ack-for-2xx") {
      const toTag = req.toTag;
      if (toTag) this.legs.get(`${req.callId}|${toTag}`)?.onAck(req);
      return;
    }
    try {
      this.dispatch(req, m.tx, src);
    } catch (e) {
      this.log.error(
        { err: e instanceof Error ? e.stack : String(e), method: req.method },
        "SIP request handling failed",
      );
      if (!m.tx.finalSent) m.tx.respond(m.tx.response(500));
    }
  }

  private reply(tx: ServerTransaction, status: number, extra: Array<[string, string]> = [], reason?: string): void {
    tx.toTag ??= newTag();
    const res = tx.response(status, reason);
    for (const [k, v] of extra) res.add(k, v);
    res.add("server", this.opts.sip.userAgent);
    tx.respond(res);
  }

  private dispatch(req: SipRequest, tx: ServerTransaction, src: Source): void {
    const method = req.method;
    // 8.2.2.3: we support no extensions, so any Require (except on CANCEL/ACK) is answered 420.
    const require = req.getAll("require");
    if (require.length > 0 && method !== "CANCEL") {
      this.reply(tx, 420, [["unsupported", require.join(", ")]]);
      return;
    }
    const toTag = req.toTag;
    if (toTag) {
      const leg = this.legs.get(`${req.callId}|${toTag}`);
      if (!leg) this.reply(tx, 481);
      else leg.onRequest(req, tx);
      return;
    }
    switch (method) {
      case "INVITE":
        this.onInvite(req, tx, src);
        return;
      case "CANCEL":
        this.onCancel(req, tx);
        return;
      case "OPTIONS":
        this.reply(tx, 200, [
          ["allow", ALLOW],
          ["accept", "application/sdp"],
          ["accept-language", "en"],
        ]);
        return;
      case "BYE":
      case "INFO":
      case "PRACK":
      case "UPDATE":
        this.reply(tx, 481);
        return;
      default:
        this.reply(tx, KNOWN_METHODS.has(method) ? 405 : 501, [["allow", ALLOW]]);
    }
  }

  private onInvite(req: SipRequest, tx: ServerTransaction, src: Source): void {
    // 100 Trying at once: stops the caller's Timer A retransmissions while the consumer decides.
    tx.respond(tx.response(100));
    const mergeKey = `${req.callId}|${req.fromTag ?? ""}|${req.cseq.seq}`;
    const prior = this.pendingInvites.get(mergeKey);
    if (prior !== undefined && prior !== tx.key) {
      this.reply(tx, 482, [], "Loop Detected");
      return;
    }
    if (!this.accepting) {
      this.reply(tx, 503, [["retry-after", "30"]], "Not Accepting Calls");
      return;
    }
    if (this.allow && !inList(this.allow, src.address)) {
      this.reply(tx, 403, [], "Source Not Allowed");
      return;
    }
    const ct = (req.get("content-type") ?? "").split(";")[0].trim().toLowerCase();
    if (req.body.trim() !== "" && ct !== "application/sdp") {
      this.reply(tx, 415, [["accept", "application/sdp"]]);
      return;
    }
    const accept = req.getAll("accept").join(",").toLowerCase();
    if (accept.trim() !== "" && !/(application\/sdp|application\/\*|\*\/\*)/.test(accept)) {
      this.reply(tx, 406, [["accept", "application/sdp"]]);
      return;
    }
    if (this.listenerCount("call") === 0) {
      this.reply(tx, 480, [], "No Call Handler");
      return;
    }
    const trunkId = this.trunkFor(src.address);
    const trunk = this.opts.trunks.find((t) => t.id === trunkId && t.register);
    const info = legInfoFrom(req, src, trunkId, trunk?.username);
    const call = new InboundCallImpl(this.stack, info, tx, req);
    this.pendingInvites.set(mergeKey, tx.key);
    call.once("ended", () => this.pendingInvites.delete(mergeKey));
    const clear = setTimeout(() => this.pendingInvites.delete(mergeKey), 64 * this.opts.sip.timers.t1Ms);
    clear.unref();
    this.pendingCalls.set(tx.key, call);
    call.once("ended", () => this.pendingCalls.delete(tx.key));
    this.emit("call", call satisfies InboundCall);
  }

  private onCancel(req: SipRequest, tx: ServerTransaction): void {
    const inv = this.txl.findInviteFor(req);
    if (!inv) {
      this.reply(tx, 481);
      return;
    }
    this.reply(tx, 200);
    const call = this.pendingCalls.get(inv.key);
    if (call) call.onCancel();
    else if (!inv.finalSent) {
      inv.toTag ??= newTag();
      inv.respond(inv.response(487));
    }
  }
}

function cidrList(entries: string[]): BlockList {
  const bl = new BlockList();
  for (const e of entries) {
    const [addr, prefix] = e.split("/");
    const fam = isIP(addr) === 6 ? "ipv6" : "ipv4";
    if (!isIP(addr)) continue;
    if (prefix === undefined) bl.addAddress(addr, fam);
    else bl.addSubnet(addr, Number(prefix), fam);
  }
  return bl;
}

function inList(list: BlockList, address: string): boolean {
  const a = bareHost(address);
  const fam = isIP(a);
  if (fam === 0) return false;
  return list.check(a, fam === 6 ? "ipv6" : "ipv4");
}
