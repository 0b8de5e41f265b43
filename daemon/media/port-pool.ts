// RTP/RTCP port pairs from media.rtpPortMin..rtpPortMax: RTP on an even port, RTCP on the next odd one. Ports are
// handed out round robin so a just-closed pair is reused last (late packets of the old call then find nothing).
import dgram from "node:dgram";

export interface PortPair {
  port: number;
  rtp: dgram.Socket;
  rtcp: dgram.Socket;
}

function bind(sock: dgram.Socket, port: number, address: string): Promise<boolean> {
  return new Promise((resolve) => {
    const onError = () => resolve(false);
    sock.once("error", onError);
    sock.bind({ port, address, exclusive: true }, () => {
      sock.off("error", onError);
      resolve(true);
    });
  });
}

export class PortPool {
  private readonly first: number;
  private readonly last: number;
  private cursor: number;
  private readonly inUse = new Set<number>();

  constructor(
    min: number,
    max: number,
    private readonly address: string,
  ) {
    this.first = min % 2 === 0 ? min : min + 1;
    this.last = max % 2 === 0 ? max - 1 : max - 1; // the RTCP port (even + 1) must be <= max
    if (this.last <= this.first) throw new Error(`RTP port range ${min}-${max} holds no even/odd pair`);
    this.cursor = this.first;
  }

  get capacity(): number {
    return Math.floor((this.last - this.first + 1) / 2);
  }

  get used(): number {
    return this.inUse.size;
  }

  async allocate(): Promise<PortPair> {
    const type = this.address.includes(":") ? "udp6" : "udp4";
    for (let tries = 0; tries < this.capacity; tries++) {
      const port = this.cursor;
      this.cursor = this.cursor + 2 > this.last ? this.first : this.cursor + 2;
      if (this.inUse.has(port)) continue;
      this.inUse.add(port);
      const rtp = dgram.createSocket({ type, reuseAddr: false });
      const rtcp = dgram.createSocket({ type, reuseAddr: false });
      if ((await bind(rtp, port, this.address)) && (await bind(rtcp, port + 1, this.address)))
        return { port, rtp, rtcp };
      // taken by another process: skip the pair
      this.inUse.delete(port);
      for (const s of [rtp, rtcp]) {
        try {
          s.close();
        } catch {
          // never bound
        }
      }
    }
    throw new Error("no free RTP port pair");
  }

  release(pair: PortPair): void {
    for (const s of [pair.rtp, pair.rtcp]) {
      try {
        s.close();
      } catch {
        // already closed
      }
    }
    this.inUse.delete(pair.port);
  }
}
