// RFC 3261 section 18 / 16.12 / 12.2.1.1 routing decisions, kept pure so they can be unit tested:
// stamping received/rport on incoming requests, where a response goes, and the next hop of a request.
import type { TransportName } from "../config/schema.ts";
import { formatVia, parseNameAddr, parseUri, parseVia, type ViaValue } from "./message.ts";
import { bareHost, defaultPort } from "./resolver.ts";

export interface Source {
  transport: TransportName;
  address: string;
  port: number;
  /** Stream connection the message arrived on. */
  connId?: string;
}

/**
 * RFC 3261 18.2.1 and RFC 3581: add `received` when the sent-by host differs from the packet source, and fill
 * `rport` with the source port. With `forceRport` we do so even when the client did not ask (like Kamailio's
 * force_rport): responses then follow the NAT binding the request came through.
 */
export function stampVia(viaValue: string, src: Source, forceRport: boolean): string {
  const via = parseVia(viaValue);
  if (!via) return viaValue;
  const wantsRport = via.params.has("rport") || forceRport;
  if (wantsRport) via.params.set("rport", String(src.port));
  if (bareHost(via.host) !== src.address || wantsRport) via.params.set("received", src.address);
  return formatVia(via);
}

export interface ResponseTarget {
  transport: TransportName;
  address: string;
  port: number;
  /** Reuse this connection when still open (stream transports). */
  connId?: string;
}

/** RFC 3261 18.2.2 (with RFC 3581): where the response to a request with this (stamped) top Via goes. */
export function responseTarget(via: ViaValue, src: Source): ResponseTarget {
  const rport = via.params.get("rport");
  const received = via.params.get("received");
  const port = rport ? Number(rport) : (via.port ?? defaultPort(src.transport));
  if (src.transport !== "udp") {
    return { transport: src.transport, address: received ?? bareHost(via.host), port, connId: src.connId };
  }
  const maddr = via.params.get("maddr");
  if (maddr) return { transport: "udp", address: bareHost(maddr), port: via.port ?? 5060 };
  return { transport: "udp", address: received ?? bareHost(via.host), port };
}

export interface NextHop {
  /** Request-URI to put in the start line (changes only for a strict-routing first hop). */
  requestUri: string;
  /** Route header values to send. */
  routes: string[];
  host: string;
  port: number | undefined;
  transport: TransportName;
}

/**
 * RFC 3261 12.2.1.1 / 8.1.2: a loose-routing first Route is the next hop; a strict router (no `lr`) becomes the
 * Request-URI and the remote target goes last into Route; with no Route the Request-URI is the next hop.
 */
export function nextHop(requestUri: string, routes: string[], fallbackTransport: TransportName): NextHop | undefined {
  let ruri = requestUri;
  let route = [...routes];
  let hopUri = parseUri(requestUri);
  if (route.length > 0) {
    const first = parseNameAddr(route[0]);
    if (!first) return undefined;
    if (first.uri.hasParam("lr")) hopUri = first.uri;
    else {
      const target = first.uri.clone();
      target.clearHeaders();
      route = [...route.slice(1), `<${requestUri}>`];
      ruri = target.toString();
      hopUri = target;
    }
  }
  if (!hopUri) return undefined;
  const tp = String(hopUri.getParam("transport") ?? "").toLowerCase();
  const transport: TransportName =
    hopUri.scheme === "sips" ? "tls" : tp === "tcp" || tp === "udp" || tp === "tls" ? tp : fallbackTransport;
  const maddr = hopUri.getParam("maddr");
  return { requestUri: ruri, routes: route, host: maddr ? String(maddr) : hopUri.host, port: hopUri.port, transport };
}
