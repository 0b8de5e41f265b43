// Test helpers for the SIP unit/integration tests (not used by the daemon): a live endpoint on loopback and a raw
// UDP/TCP peer that sends bytes and collects responses.
import dgram from "node:dgram";
import net from "node:net";
import { sipSchema } from "../config/schema.ts";
import { silentLog } from "../ops/log.ts";
import { SipEndpoint, type SipEndpointOptions } from "./endpoint.ts";

export async function liveEndpoint(extra: Partial<SipEndpointOptions> = {}, t1Ms = 100, maxMessageBytes = 65535) {
  const sip = sipSchema.parse({
    listen: [
      { transport: "udp", address: "127.0.0.1", port: 0 },
      { transport: "tcp", address: "127.0.0.1", port: 0 },
    ],
    timers: { t1Ms, t2Ms: 1000, t4Ms: 1000 },
    maxMessageBytes,
  });
  const ep = new SipEndpoint({ sip, trunks: [], log: silentLog, ...extra });
  const bound = await ep.start();
  return {
    ep,
    udp: bound.find((b) => b.transport === "udp")?.port ?? 0,
    tcp: bound.find((b) => b.transport === "tcp")?.port ?? 0,
  };
}

export interface Reply {
  status: number;
  text: string;
}

export function statusOf(text: string): number {
  const m = /^SIP\/2\.0 (\d{3})/.exec(text);
  return m ? Number(m[1]) : 0;
}

export function callIdOf(text: string): string | undefined {
  return /^(?:call-id|i)[ \t]*:[ \t]*(\S+)/im.exec(text)?.[1];
}

/** A UDP peer on 127.0.0.1 that records every datagram it receives. */
export class UdpPeer {
  readonly sock = dgram.createSocket("udp4");
  readonly received: string[] = [];
  private waiters: Array<() => void> = [];

  async open(): Promise<number> {
    this.sock.on("message", (d) => {
      this.received.push(d.toString("utf8"));
      for (const w of this.waiters.splice(0)) w();
    });
    await new Promise<void>((r) => this.sock.bind(0, "127.0.0.1", () => r()));
    return this.sock.address().port;
  }

  get port(): number {
    return this.sock.address().port;
  }

  send(data: Buffer | string, port: number): void {
    this.sock.send(data, port, "127.0.0.1");
  }

  /**
   * Send and collect the responses with the same Call-ID (retransmissions of earlier answers are ignored) until a
   * final one (>= 200) or `waitMs`.
   */
  async exchange(data: Buffer | string, port: number, waitMs = 600, expectCallId?: string): Promise<Reply[]> {
    const start = this.received.length;
    const text = data.toString();
    const callId = expectCallId ?? callIdOf(text);
    // Without a Call-ID (RFC 4475 insuf.dat) a reply is ours when it echoes our Via branch: the endpoint keeps
    // retransmitting earlier unACKed 486s (Timer G), and those must not count as this request's answer.
    const branch = callId === undefined ? /;branch=([^;,\s]+)/i.exec(text)?.[1] : undefined;
    this.send(data, port);
    const deadline = Date.now() + waitMs;
    for (;;) {
      const got = this.received
        .slice(start)
        .filter((t) =>
          callId !== undefined ? callIdOf(t) === callId : branch === undefined || t.includes(`branch=${branch}`),
        )
        .map((t) => ({ status: statusOf(t), text: t }));
      if (got.some((g) => g.status >= 200) || Date.now() >= deadline) return got;
      await new Promise<void>((r) => {
        const t = setTimeout(r, Math.max(1, deadline - Date.now()));
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }

  close(): void {
    this.sock.close();
  }
}

let seq = 0;
export function options(peerPort: number, uri = "sip:health@127.0.0.1"): string {
  seq++;
  return [
    `OPTIONS ${uri} SIP/2.0`,
    `Via: SIP/2.0/UDP 127.0.0.1:${peerPort};branch=z9hG4bK-opt-${seq}-${Date.now()};rport`,
    "Max-Forwards: 70",
    `From: <sip:probe@127.0.0.1>;tag=p${seq}`,
    "To: <sip:health@127.0.0.1>",
    `Call-ID: opt-${seq}-${Date.now()}@test`,
    "CSeq: 1 OPTIONS",
    "Content-Length: 0",
    "",
    "",
  ].join("\r\n");
}

/** Connect over TCP and collect everything the endpoint writes back. */
export async function tcpPeer(port: number) {
  const sock = net.connect({ host: "127.0.0.1", port });
  await new Promise<void>((r, j) => {
    sock.once("connect", () => r());
    sock.once("error", j);
  });
  let data = "";
  let closed = false;
  sock.on("data", (d) => {
    data += d.toString("utf8");
  });
  sock.on("error", () => {});
  sock.on("close", () => {
    closed = true;
  });
  return {
    sock,
    get data() {
      return data;
    },
    get closed() {
      return closed;
    },
    async waitFor(pred: () => boolean, ms: number): Promise<boolean> {
      const deadline = Date.now() + ms;
      while (!pred() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      return pred();
    },
  };
}
