// SIP transports: UDP datagrams and stream connections (TCP; TLS plugs in through StreamFactory). This layer only
// frames bytes into messages (RFC 3261 18.3) and moves them; it never parses beyond Content-Length, and it bounds
// everything a peer controls: datagram size, per-connection buffer, header size, time to finish a message.
import dgram from "node:dgram";
import net from "node:net";
import { networkInterfaces } from "node:os";
import type { TransportName } from "../config/schema.ts";
import type { Log } from "../ops/log.ts";
import type { Source } from "./routing.ts";
import type { SipAddress } from "./types.ts";

export interface ListenSpec {
  transport: TransportName;
  address: string;
  port: number;
}

export interface SendTarget {
  transport: TransportName;
  address: string;
  port: number;
  /** Prefer this connection (responses, in-dialog requests on a flow). */
  connId?: string;
  /**
   * The domain the target was resolved from (RFC 5922: a TLS server's certificate must name it, not the SRV target
   * or address). Unset for IP literals, whose certificate is checked against its IP addresses.
   */
  serverName?: string;
}

export interface TransportHandlers {
  /** One framed message (UDP: the whole datagram). */
  message(data: Buffer, src: Source): void;
  /** A stream message whose Content-Length exceeds the limit: `head` is the header block; the connection closes after. */
  oversize(head: Buffer, src: Source, reply: (data: string) => void): void;
}

/** How stream sockets are made: TCP here, TLS in tls.ts (tls.createServer / tls.connect have the same shape). */
export interface StreamFactory {
  /** `onConnection` gets sockets ready to carry SIP (TLS: after the handshake). */
  createServer(onConnection: (sock: net.Socket) => void): net.Server;
  /** `onConnect` runs once the socket can carry SIP (TLS: handshake done and the server certificate checked). */
  connect(target: SendTarget, onConnect: () => void): net.Socket;
}

export const tcpFactory: StreamFactory = {
  createServer: (onConnection) => net.createServer(onConnection),
  connect: (t, onConnect) => net.connect({ host: t.address, port: t.port }, onConnect),
};

/**
 * Reuse key of an outgoing stream connection (RFC 3261 18.1.1). A TLS connection was verified for one server name,
 * so it only serves that name again.
 */
export function connKey(t: SendTarget): string {
  const base = `${t.transport}|${t.address}|${t.port}`;
  return t.transport === "tls" ? `${base}|${t.serverName ?? ""}` : base;
}

interface Conn {
  id: string;
  sock: net.Socket;
  transport: TransportName;
  buf: Buffer;
  /** When the first byte of an incomplete message arrived (0 = buffer empty). */
  partialSince: number;
  lastActivity: number;
}

export interface TransportOptions {
  listen: ListenSpec[];
  publicAddress?: string;
  maxMessageBytes: number;
  log: Log;
  handlers: TransportHandlers;
  /** Close a stream connection whose partial message is not complete after this long. */
  incompleteTimeoutMs?: number;
  /** Close stream connections idle this long. */
  idleTimeoutMs?: number;
  connectTimeoutMs?: number;
  streams?: Partial<Record<TransportName, StreamFactory>>;
}

export interface TransportStats {
  udpIn: number;
  udpOut: number;
  streamIn: number;
  streamOut: number;
  dropped: number;
}

let connSeq = 0;

export class SipTransport {
  private udp: dgram.Socket[] = [];
  private servers: Array<{ server: net.Server; transport: TransportName }> = [];
  private conns = new Map<string, Conn>();
  /** connKey() → connection id, for reuse of an existing connection (RFC 3261 18.1.1). */
  private byRemote = new Map<string, string>();
  private bound: SipAddress[] = [];
  private sweep: NodeJS.Timeout | undefined;
  private closed = false;
  readonly stats: TransportStats = { udpIn: 0, udpOut: 0, streamIn: 0, streamOut: 0, dropped: 0 };

  constructor(private opts: TransportOptions) {}

  async start(): Promise<SipAddress[]> {
    for (const l of this.opts.listen) {
      if (l.transport === "udp") {
        const sock = dgram.createSocket({ type: net.isIPv6(l.address) ? "udp6" : "udp4" });
        sock.on("message", (data, rinfo) => this.onDatagram(data, rinfo, this.udp.indexOf(sock)));
        sock.on("error", (e) => this.opts.log.warn({ err: e.message }, "sip udp socket error"));
        await new Promise<void>((resolve, reject) => {
          sock.once("error", reject);
          sock.bind(l.port, l.address, () => {
            sock.off("error", reject);
            resolve();
          });
        });
        this.udp.push(sock);
        this.bound.push({ transport: "udp", address: l.address, port: sock.address().port });
      } else {
        const factory = this.factory(l.transport);
        const server = factory.createServer((sock) => this.attach(sock, l.transport));
        server.on("error", (e) => this.opts.log.warn({ err: e.message }, "sip stream server error"));
        await new Promise<void>((resolve, reject) => {
          server.once("error", reject);
          server.listen(l.port, l.address, () => {
            server.off("error", reject);
            resolve();
          });
        });
        const addr = server.address();
        this.servers.push({ server, transport: l.transport });
        this.bound.push({
          transport: l.transport,
          address: l.address,
          port: typeof addr === "object" && addr ? addr.port : l.port,
        });
      }
    }
    this.sweep = setInterval(() => this.sweepConns(), 1000);
    this.sweep.unref();
    return [...this.bound];
  }

  private factory(t: TransportName): StreamFactory {
    const f = this.opts.streams?.[t] ?? (t === "tcp" ? tcpFactory : undefined);
    if (!f) throw new Error(`SIP transport ${t} is not available`);
    return f;
  }

  get addresses(): SipAddress[] {
    return [...this.bound];
  }

  /** host:port to advertise in Via/Contact for a transport. */
  advertised(t: TransportName): { host: string; port: number } | undefined {
    const b = this.bound.find((x) => x.transport === t);
    if (!b) return undefined;
    let host = this.opts.publicAddress ?? b.address;
    if (host === "0.0.0.0" || host === "::") host = firstExternalAddress() ?? "127.0.0.1";
    return { host: net.isIPv6(host) ? `[${host}]` : host, port: b.port };
  }

  supports(t: TransportName): boolean {
    return this.bound.some((b) => b.transport === t);
  }

  private onDatagram(data: Buffer, rinfo: dgram.RemoteInfo, listener: number): void {
    this.stats.udpIn++;
    if (data.length > this.opts.maxMessageBytes) {
      this.stats.dropped++;
      this.opts.log.debug({ from: rinfo.address, bytes: data.length }, "oversized SIP datagram dropped");
      return;
    }
    if (isKeepalive(data)) return;
    const src: Source = {
      transport: "udp",
      address: unmapped(rinfo.address),
      port: rinfo.port,
      connId: `udp#${listener}`,
    };
    this.deliver(data, src);
  }

  private deliver(data: Buffer, src: Source): void {
    try {
      this.opts.handlers.message(data, src);
    } catch (e) {
      // A bug above us must never take the listener down.
      this.opts.log.error({ err: e instanceof Error ? e.stack : String(e) }, "SIP message handler failed");
    }
  }

  private attach(sock: net.Socket, transport: TransportName, key?: string): Conn {
    const id = `${transport}#${++connSeq}`;
    const conn: Conn = { id, sock, transport, buf: Buffer.alloc(0), partialSince: 0, lastActivity: Date.now() };
    this.conns.set(id, conn);
    // An accepted TLS connection proved no identity of the peer, so no outgoing target may pick it up by address:
    // only responses and in-dialog requests reach it, by id.
    const remote =
      key ??
      `${transport}|${unmapped(sock.remoteAddress ?? "")}|${sock.remotePort ?? 0}${transport === "tls" ? "|<inbound>" : ""}`;
    this.byRemote.set(remote, id);
    sock.setNoDelay(true);
    sock.on("data", (chunk) => this.onStreamData(conn, chunk));
    sock.on("error", (e) => this.opts.log.debug({ conn: id, err: e.message }, "sip stream error"));
    sock.on("close", () => {
      this.conns.delete(id);
      if (this.byRemote.get(remote) === id) this.byRemote.delete(remote);
    });
    return conn;
  }

  private onStreamData(conn: Conn, chunk: Buffer): void {
    conn.lastActivity = Date.now();
    conn.buf = conn.buf.length === 0 ? chunk : Buffer.concat([conn.buf, chunk]);
    const max = this.opts.maxMessageBytes;
    const src = (): Source => ({
      transport: conn.transport,
      address: unmapped(conn.sock.remoteAddress ?? ""),
      port: conn.sock.remotePort ?? 0,
      connId: conn.id,
    });
    for (;;) {
      // RFC 5626 3.5.1 keep-alive: a double CRLF ping is answered with a single CRLF pong.
      let skipped = 0;
      while (skipped + 1 < conn.buf.length && conn.buf[skipped] === 13 && conn.buf[skipped + 1] === 10) skipped += 2;
      if (skipped > 0) {
        if (skipped >= 4) conn.sock.write("\r\n");
        conn.buf = conn.buf.subarray(skipped);
      }
      if (conn.buf.length === 0) {
        conn.partialSince = 0;
        return;
      }
      const end = conn.buf.indexOf("\r\n\r\n");
      if (end < 0) {
        if (conn.buf.length > max) {
          this.kill(conn, "header block over the size limit");
          return;
        }
        conn.partialSince ||= Date.now();
        return;
      }
      const head = conn.buf.subarray(0, end);
      const cl = contentLength(head);
      if (cl === undefined) {
        // Unframeable (bad or duplicate Content-Length): hand the head up for a 400, then drop the connection
        // once that answer had a chance to leave.
        this.deliver(conn.buf.subarray(0, end + 4), src());
        this.closeSoon(conn, "bad Content-Length on stream");
        return;
      }
      const total = end + 4 + cl;
      if (total > max) {
        try {
          this.opts.handlers.oversize(head, src(), (d) => conn.sock.write(d));
        } catch {
          /* best effort */
        }
        conn.sock.end();
        this.conns.delete(conn.id);
        return;
      }
      if (conn.buf.length < total) {
        conn.partialSince ||= Date.now();
        return;
      }
      const msg = conn.buf.subarray(0, total);
      conn.buf = conn.buf.subarray(total);
      conn.partialSince = 0;
      this.stats.streamIn++;
      this.deliver(Buffer.from(msg), src());
      if (conn.sock.destroyed) return;
    }
  }

  /** Stop reading, let pending writes (an error response) flush, then close. */
  private closeSoon(conn: Conn, why: string): void {
    this.stats.dropped++;
    this.opts.log.debug({ conn: conn.id, why }, "closing SIP stream connection");
    conn.sock.removeAllListeners("data");
    conn.sock.pause();
    conn.buf = Buffer.alloc(0);
    setTimeout(() => conn.sock.end(), 50).unref();
    setTimeout(() => conn.sock.destroy(), 1000).unref();
  }

  private kill(conn: Conn, why: string): void {
    this.stats.dropped++;
    this.opts.log.debug({ conn: conn.id, why }, "closing SIP stream connection");
    conn.sock.destroy();
    this.conns.delete(conn.id);
  }

  private sweepConns(): void {
    const now = Date.now();
    const incomplete = this.opts.incompleteTimeoutMs ?? 32_000;
    const idle = this.opts.idleTimeoutMs ?? 15 * 60_000;
    for (const c of this.conns.values()) {
      if (c.partialSince > 0 && now - c.partialSince > incomplete) this.kill(c, "incomplete message timed out");
      else if (now - c.lastActivity > idle) this.kill(c, "idle");
    }
  }

  isOpen(connId: string | undefined): boolean {
    if (!connId) return false;
    if (connId.startsWith("udp#")) return true;
    const c = this.conns.get(connId);
    return c !== undefined && !c.sock.destroyed;
  }

  /** Send a message. Stream targets reuse `connId` or any open connection to the address, else connect. */
  async send(data: string, t: SendTarget): Promise<void> {
    if (this.closed) throw new Error("transport stopped");
    if (t.transport === "udp") {
      const idx = t.connId?.startsWith("udp#") ? Number(t.connId.slice(4)) : 0;
      const sock = this.udp[idx] ?? this.udp[0];
      if (!sock) throw new Error("no UDP listener");
      this.stats.udpOut++;
      await new Promise<void>((resolve, reject) =>
        sock.send(data, t.port, t.address, (err) => (err ? reject(err) : resolve())),
      );
      return;
    }
    const conn = await this.streamTo(t);
    this.stats.streamOut++;
    conn.lastActivity = Date.now();
    conn.sock.write(data);
  }

  private async streamTo(t: SendTarget): Promise<Conn> {
    const byId = t.connId ? this.conns.get(t.connId) : undefined;
    if (byId && !byId.sock.destroyed) return byId;
    const key = connKey(t);
    const existing = this.conns.get(this.byRemote.get(key) ?? "");
    if (existing && !existing.sock.destroyed) return existing;
    const factory = this.factory(t.transport);
    return await new Promise<Conn>((resolve, reject) => {
      let settled = false;
      const fail = (reason: string) => {
        clearTimeout(timer);
        if (settled) return;
        settled = true;
        // "TLS to sip.example.net (192.0.2.7:5061): certificate has expired": what and where, for the log and
        // for the request that now fails like an unreachable target.
        const where = t.serverName ? `${t.serverName} (${t.address}:${t.port})` : `${t.address}:${t.port}`;
        const err = new Error(`${t.transport.toUpperCase()} to ${where}: ${reason}`);
        const level = t.transport === "tls" ? "warn" : "debug";
        this.opts.log[level]({ err: err.message }, "SIP stream connection failed");
        reject(err);
      };
      const sock = factory.connect(t, () => {
        clearTimeout(timer);
        if (settled) return;
        settled = true;
        sock.off("error", onError);
        resolve(this.attach(sock, t.transport, key));
      });
      // Kept until attach() takes over: a socket may report more than one error, and none may go unheard.
      const onError = (e: Error) => fail(e.message);
      const timer = setTimeout(() => {
        sock.destroy();
        fail("timed out");
      }, this.opts.connectTimeoutMs ?? 5000);
      sock.on("error", onError);
    });
  }

  /** Raw keep-alive (RFC 5626 CRLF) to a target. */
  async keepalive(t: SendTarget): Promise<void> {
    await this.send("\r\n\r\n", t);
  }

  async stop(): Promise<void> {
    this.closed = true;
    if (this.sweep) clearInterval(this.sweep);
    for (const c of this.conns.values()) c.sock.destroy();
    this.conns.clear();
    this.byRemote.clear();
    await Promise.all([
      ...this.udp.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))),
      ...this.servers.map(({ server }) => new Promise<void>((resolve) => server.close(() => resolve()))),
    ]);
    this.udp = [];
    this.servers = [];
  }
}

/** Content-Length from a header block; 0 when absent; undefined when malformed or repeated. */
export function contentLength(head: Buffer): number | undefined {
  const text = head.toString("latin1");
  const re = /\r\n(?:content-length|l)[ \t]*:[ \t]*([^\r\n]*)/gi;
  const found: string[] = [];
  let m: RegExpExecArray | null = re.exec(text);
  while (m !== null) {
    found.push(m[1].trim());
    m = re.exec(text);
  }
  if (found.length === 0) return 0;
  if (found.length > 1 || !/^\d{1,9}$/.test(found[0])) return undefined;
  return Number(found[0]);
}

function isKeepalive(data: Buffer): boolean {
  for (const b of data) if (b !== 13 && b !== 10 && b !== 0 && b !== 32) return false;
  return true;
}

function unmapped(a: string): string {
  return a.startsWith("::ffff:") ? a.slice(7) : a;
}

function firstExternalAddress(): string | undefined {
  for (const list of Object.values(networkInterfaces())) {
    for (const i of list ?? []) if (i.family === "IPv4" && !i.internal) return i.address;
  }
  return undefined;
}
