// Shared services of one SIP endpoint: identifiers, Via/Contact construction, next-hop resolution and sending.
// Legs and registrations get this instead of the whole endpoint.
import { randomBytes } from "node:crypto";
import { isIP } from "node:net";
import type { TransportName } from "../config/schema.ts";
import type { Log } from "../ops/log.ts";
import type { SipRequest, SipResponse } from "./message.ts";
import { type SipResolver, bareHost, defaultPort } from "./resolver.ts";
import { type NextHop, nextHop } from "./routing.ts";
import type { ClientTransaction, ClientTxHandler, TransactionLayer } from "./transactions.ts";
import type { SendTarget, SipTransport } from "./transport.ts";

export const ALLOW = "INVITE, ACK, CANCEL, BYE, OPTIONS, INFO";

/** RFC 3261 8.1.1.7: magic cookie plus 96 random bits (sip.js uses ~23 bits of Math.random). */
export function newBranch(): string {
  return `z9hG4bK${randomBytes(12).toString("base64url")}`;
}

export function newTag(): string {
  return randomBytes(8).toString("hex");
}

export function newCallId(): string {
  return randomBytes(16).toString("hex");
}

export interface LegRegistry {
  add(key: string, leg: DialogOwner): void;
  remove(key: string): void;
}

/** What the endpoint dispatches to a dialog. */
export interface DialogOwner {
  /** In-dialog request (never ACK) with its server transaction. */
  onRequest(req: SipRequest, tx: import("./transactions.ts").ServerTransaction): void;
  /** ACK for a 2xx. */
  onAck(req: SipRequest): void;
  /** 2xx that no client transaction wanted (retransmission after Timer M or a forked answer). */
  onStray2xx?(res: SipResponse): void;
  /** End now (endpoint stopping). */
  shutdown(): Promise<void>;
}

export class SipStack {
  constructor(
    readonly transport: SipTransport,
    readonly tx: TransactionLayer,
    readonly resolver: SipResolver,
    readonly log: Log,
    readonly userAgent: string,
    readonly legs: LegRegistry,
  ) {}

  get timers() {
    return this.tx.timers;
  }

  /** Transport to use when a URI does not say: the one we listen on (UDP preferred). */
  defaultTransport(): TransportName {
    return this.transport.supports("udp") ? "udp" : this.transport.supports("tcp") ? "tcp" : "tls";
  }

  /** A top Via for a new client transaction (new branch, rport requested per RFC 3581). */
  via(t: TransportName, branch = newBranch()): string {
    const a = this.transport.advertised(t) ?? this.transport.advertised(this.defaultTransport());
    return `SIP/2.0/${t.toUpperCase()} ${a?.host ?? "127.0.0.1"}:${a?.port ?? 5060};branch=${branch};rport`;
  }

  /** Our Contact. `secure`: the request or dialog is sips: (RFC 3261 8.1.1.8 and 12.1.1), so the Contact is too. */
  contactUri(t: TransportName, user = "switchboard", secure = false): string {
    const a = this.transport.advertised(t) ?? this.transport.advertised(this.defaultTransport());
    const hostPort = `${a?.host ?? "127.0.0.1"}:${a?.port ?? 5060}`;
    if (secure && t === "tls") return `sips:${user}@${hostPort}`;
    const tp = t === "udp" ? "" : `;transport=${t}`;
    return `sip:${user}@${hostPort}${tp}`;
  }

  /** Resolve where a request goes. A still-open flow (the connection a dialog started on) wins for streams. */
  async target(hop: NextHop, flow?: { connId?: string; transport: TransportName }): Promise<SendTarget> {
    if (
      flow?.connId &&
      flow.transport === hop.transport &&
      flow.transport !== "udp" &&
      this.transport.isOpen(flow.connId)
    ) {
      const host = bareHost(hop.host);
      return {
        transport: hop.transport,
        address: host,
        port: hop.port ?? defaultPort(hop.transport),
        connId: flow.connId,
        // Used only if the flow closes before the send: a new TLS connection then checks this name.
        serverName: isIP(host) ? undefined : host.toLowerCase(),
      };
    }
    const [first] = await this.resolver.resolve(hop.host, hop.port, hop.transport);
    return first;
  }

  nextHop(requestUri: string, routes: string[], fallback?: TransportName): NextHop | undefined {
    return nextHop(requestUri, routes, fallback ?? this.defaultTransport());
  }

  sendRequest(req: SipRequest, target: SendTarget, handler: ClientTxHandler): ClientTransaction {
    if (!req.has("user-agent")) req.add("user-agent", this.userAgent);
    return this.tx.sendRequest(req, target, handler);
  }

  /** Fire-and-forget send outside any transaction (ACK for 2xx, stateless responses). */
  sendRaw(msg: SipRequest | SipResponse, target: SendTarget): void {
    this.transport.send(msg.toString(), target).catch((e: unknown) => {
      this.log.debug({ err: e instanceof Error ? e.message : String(e) }, "sip send failed");
    });
  }
}
