// RTCP for one RTP session: a compound SR (when we sent since the last report) or RR, plus SDES CNAME, every ~5 s
// (randomised 0.5..1.5x as RFC 3550 asks); round-trip time from the LSR/DLSR of report blocks about our SSRC.
import { RtcpPacketConverter, RtcpReceiverInfo, RtcpRrPacket, RtcpSenderInfo, RtcpSrPacket } from "werift";

const NTP_EPOCH_OFFSET = 2208988800;
export const RTCP_INTERVAL_MS = 5000;

export interface ReceptionState {
  remoteSsrc: number | undefined;
  /** Highest extended sequence number received. */
  highestSeq: number;
  /** Packets expected (from the sequence numbers) and received. */
  expected: number;
  received: number;
  /** Interarrival jitter in timestamp units. */
  jitter: number;
}

export interface SendState {
  ssrc: number;
  packets: number;
  octets: number;
  rtpTimestamp: number;
  sentSinceReport: boolean;
}

function ntpNow(): { full: bigint; middle: number } {
  const ms = Date.now();
  const sec = Math.floor(ms / 1000) + NTP_EPOCH_OFFSET;
  const frac = Math.floor(((ms % 1000) / 1000) * 2 ** 32);
  const full = (BigInt(sec) << 32n) | BigInt(frac);
  return { full, middle: Number((full >> 16n) & 0xffffffffn) };
}

function sdesCname(ssrc: number, cname: string): Buffer {
  const text = Buffer.from(cname, "utf8").subarray(0, 255);
  const itemLen = 2 + text.length + 1; // type, length, text, end-of-items
  const chunkLen = 4 + itemLen;
  const padded = Math.ceil(chunkLen / 4) * 4;
  const b = Buffer.alloc(4 + padded);
  b[0] = 0x81; // V=2, SC=1
  b[1] = 202;
  b.writeUInt16BE(padded / 4, 2);
  b.writeUInt32BE(ssrc >>> 0, 4);
  b[8] = 1; // CNAME
  b[9] = text.length;
  text.copy(b, 10);
  return b;
}

export class RtcpState {
  private lastSrMiddle = 0;
  private lastSrArrival = 0;
  private prevExpected = 0;
  private prevReceived = 0;
  nextDue = 0;
  rttMs: number | undefined;
  sent = 0;
  received = 0;
  malformed = 0;

  constructor(private readonly cname: string) {}

  schedule(nowMs: number): void {
    this.nextDue = nowMs + RTCP_INTERVAL_MS * (0.5 + Math.random());
  }

  /** Compound RTCP packet for the current state. */
  build(send: SendState, rx: ReceptionState, nowMs: number): Buffer {
    const reports: RtcpReceiverInfo[] = [];
    if (rx.remoteSsrc !== undefined) {
      const expectedInterval = rx.expected - this.prevExpected;
      const lostInterval = expectedInterval - (rx.received - this.prevReceived);
      this.prevExpected = rx.expected;
      this.prevReceived = rx.received;
      const fraction =
        expectedInterval > 0 && lostInterval > 0
          ? Math.min(255, Math.floor((lostInterval * 256) / expectedInterval))
          : 0;
      const cumulative = Math.max(-0x800000, Math.min(0x7fffff, rx.expected - rx.received));
      const dlsr = this.lastSrArrival ? Math.floor(((nowMs - this.lastSrArrival) / 1000) * 65536) >>> 0 : 0;
      reports.push(
        new RtcpReceiverInfo({
          ssrc: rx.remoteSsrc,
          fractionLost: fraction,
          packetsLost: Math.max(cumulative, 0),
          highestSequence: rx.highestSeq >>> 0,
          jitter: Math.floor(rx.jitter) >>> 0,
          lsr: this.lastSrMiddle,
          dlsr,
        }),
      );
    }
    let first: Buffer;
    if (send.sentSinceReport) {
      first = new RtcpSrPacket({
        ssrc: send.ssrc,
        senderInfo: new RtcpSenderInfo({
          ntpTimestamp: ntpNow().full,
          rtpTimestamp: send.rtpTimestamp >>> 0,
          packetCount: send.packets >>> 0,
          octetCount: send.octets >>> 0,
        }),
        reports,
      }).serialize();
    } else first = new RtcpRrPacket({ ssrc: send.ssrc, reports }).serialize();
    this.sent++;
    return Buffer.concat([first, sdesCname(send.ssrc, this.cname)]);
  }

  /** Parse an incoming compound packet; false when malformed. */
  receive(buf: Buffer, ourSsrc: number, nowMs: number): boolean {
    if (buf.length < 8 || buf[0] >> 6 !== 2 || buf[1] < 192 || buf[1] > 223) {
      this.malformed++;
      return false;
    }
    // walk the compound packet and check the length fields before handing it to the parser
    let off = 0;
    while (off < buf.length) {
      if (off + 4 > buf.length || buf[off] >> 6 !== 2) {
        this.malformed++;
        return false;
      }
      off += (buf.readUInt16BE(off + 2) + 1) * 4;
    }
    if (off !== buf.length) {
      this.malformed++;
      return false;
    }
    let packets: ReturnType<typeof RtcpPacketConverter.deSerialize>;
    try {
      packets = RtcpPacketConverter.deSerialize(buf);
    } catch {
      this.malformed++;
      return false;
    }
    this.received++;
    const nowMiddle = ntpNow().middle;
    for (const p of packets) {
      if (p instanceof RtcpSrPacket) {
        this.lastSrMiddle = Number((p.senderInfo.ntpTimestamp >> 16n) & 0xffffffffn);
        this.lastSrArrival = nowMs;
      }
      if (p instanceof RtcpSrPacket || p instanceof RtcpRrPacket) {
        for (const r of p.reports) {
          if (r.ssrc >>> 0 !== ourSsrc >>> 0 || r.lsr === 0) continue;
          const rtt = (((nowMiddle - r.lsr - r.dlsr) >>> 0) / 65536) * 1000;
          if (rtt >= 0 && rtt < 10000) this.rttMs = Math.round(rtt * 10) / 10;
        }
      }
    }
    return true;
  }
}
