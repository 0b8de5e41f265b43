// One call's RTP/RTCP in the media worker. Receiving happens in socket callbacks (validate, latch, dispatch by
// payload type, jitter buffer); everything audible happens in the clock's two per-tick phases: rxTick (jitter
// buffer: timestamp-driven decode or conceal -> 20 ms -> 16 kHz frame for listeners, recorder and the bridge peer)
// and txTick (DTMF event > bridged audio > player > comfort silence -> encode -> packetize at the negotiated ptime
// -> send). RTP timestamps come from the frame counter, so they never drift.
//
// Receive accepts any packetization (10..60 ms, changing mid-stream): the jitter buffer places packets by RTP
// timestamp. Send uses the peer's a=ptime when it is 10, 20, 30 or 40 ms (within a=maxptime), else 20 ms: RFC 4566
// makes ptime a receiver preference, and 20 ms is what every peer accepts.
//
// SDES-SRTP (neg.srtp): every packet sent is protected as the last step, every packet received is authenticated
// (and checked against the replay window) before anything reads it or latches to its source.
import type dgram from "node:dgram";
import { RtpHeader, RtpPacket } from "werift";
import type { MediaConfig } from "../config/schema.ts";
import type { BridgeLeg } from "./bridge.ts";
import { type AudioCodec, createCodec } from "./codec.ts";
import { DtmfReceiver, DtmfSender } from "./dtmf-rfc4733.ts";
import { DtmfDetector } from "./goertzel.ts";
import { JitterBuffer } from "./jitter-buffer.ts";
import type { SessionEvent } from "./messages.ts";
import { Concealer } from "./plc.ts";
import type { PortPair } from "./port-pool.ts";
import { Recorder } from "./recorder.ts";
import { RtcpState } from "./rtcp.ts";
import { SrtpContext, sameSrtpKeys } from "./srtp.ts";
import { FRAME_SAMPLES, type MediaStats, type NegotiatedMedia } from "./types.ts";

/** A latched source must be silent this long before another source may take over (anti-injection). */
export const RELATCH_SILENCE_MS = 2000;
const DTMF_END_TIMEOUT_MS = 600;
const NONE: number[] = [];
const SAMPLES_PER_FRAME_8K = 160; // RTP timestamp step: every supported codec has an 8 kHz RTP clock
// Payload bytes per RTP timestamp unit: 1 for G.711 and G.722 alike, so a 20 ms payload splits or joins at any
// byte into packets of other durations.
const SEND_PTIMES = [10, 20, 30, 40];

interface PlayItem {
  playId: number;
  pcm: Int16Array;
  pos: number;
}

export interface SessionHost {
  emit(ev: SessionEvent, transfer?: ArrayBuffer[]): void;
  log(level: "debug" | "info" | "warn", msg: string, data?: Record<string, unknown>): void;
  now(): number;
}

interface Endpoint {
  address: string;
  port: number;
}

export class RtpSession implements BridgeLeg {
  peer: BridgeLeg | undefined;
  rxFrame: Int16Array | null = null;
  private txFrame: Int16Array | null = null;

  private neg: NegotiatedMedia | undefined;
  private codec: AudioCodec | undefined;
  private jb: JitterBuffer | undefined;
  private plc: Concealer | undefined;
  private inband: DtmfDetector | undefined;
  private readonly dtmfRx = new DtmfReceiver();
  private readonly dtmfTx = new DtmfSender();
  private dtmfWaiters: { req: number; remaining: number }[] = [];
  private lastEventArrival = 0;
  private finishedDtmf: number[] = [];

  private sdpRemote: Endpoint | undefined;
  private remote: Endpoint | undefined;
  private rtcpRemote: Endpoint | undefined;
  private latched = false;
  private lastAcceptedMs = 0;
  private firstPacketSeen = false;
  private timeoutReported = false;
  private configuredAt = 0;

  private readonly ssrc = (Math.random() * 0x100000000) >>> 0;
  private seq = (Math.random() * 0x10000) | 0;
  private readonly tsBase = (Math.random() * 0x100000000) >>> 0;
  private frames = 0;
  private markerNext = true;
  /** Encoded audio not yet sent (ptime above 20 ms) and the RTP timestamp of its first byte. */
  private txPending = new Uint8Array(0);
  private txPendingTs = 0;
  /** SSRC of the peer's telephone-events, which need not be the audio SSRC (sipp pcaps, some gateways). */
  private dtmfSsrc: number | undefined;

  private readonly queue: PlayItem[] = [];
  private recorder: Recorder | undefined;
  listening = false;
  private readonly rtcp: RtcpState;
  private srtp: SrtpContext | undefined;
  private readonly frame16 = new Int16Array(FRAME_SAMPLES);
  private closed = false;

  readonly counters = {
    packetsSent: 0,
    bytesSent: 0,
    packetsReceived: 0,
    bytesReceived: 0,
    malformed: 0,
    ignored: 0,
    dtmfReceived: 0,
    sendErrors: 0,
    srtpAuthFailed: 0,
    srtpReplayed: 0,
  };

  constructor(
    readonly id: string,
    readonly pair: PortPair,
    private readonly cfg: MediaConfig,
    private readonly host: SessionHost,
  ) {
    this.rtcp = new RtcpState(`switchboard-${id}`);
    pair.rtp.on("message", (b, r) => this.guard(() => this.onRtp(b, r)));
    pair.rtcp.on("message", (b, r) => this.guard(() => this.onRtcp(b, r)));
    for (const s of [pair.rtp, pair.rtcp])
      s.on("error", (e) => host.log("warn", "RTP socket error", { err: e.message }));
  }

  get port(): number {
    return this.pair.port;
  }

  /** Network input must never take down the worker: anything thrown while handling a packet counts as malformed. */
  private guard(f: () => void): void {
    try {
      f();
    } catch (e) {
      this.counters.malformed++;
      this.host.log("debug", "packet handling failed", { err: (e as Error).message });
    }
  }

  /** Apply (re-)negotiated media. A re-INVITE (hold, new address, codec change) updates in place. */
  configure(media: NegotiatedMedia): void {
    const prev = this.neg;
    // same keys keep the crypto context (its rollover counters and replay windows); bad keys throw before any change
    const srtp = sameSrtpKeys(prev?.srtp, media.srtp)
      ? this.srtp
      : media.srtp && new SrtpContext(media.srtp, this.counters);
    this.neg = media;
    this.srtp = srtp;
    if (!prev || prev.codec !== media.codec) {
      this.codec = createCodec(media.codec);
      this.plc = new Concealer(this.codec.nativeRate, this.codec.nativeRate / 50);
      this.jb = new JitterBuffer({
        minMs: this.cfg.jitterMinMs,
        maxMs: this.cfg.jitterMaxMs,
        clockRate: media.clockRate,
        decoder: this.codec,
        plc: this.plc,
      });
      this.txPending = new Uint8Array(0);
    }
    const useInband =
      this.cfg.inbandDtmf === "always" || (this.cfg.inbandDtmf === "auto" && media.dtmfPayloadType === undefined);
    this.inband = useInband && this.codec ? new DtmfDetector(this.codec.nativeRate) : undefined;
    const sdpRemote = { address: media.remoteAddress, port: media.remotePort };
    if (!this.sdpRemote || this.sdpRemote.address !== sdpRemote.address || this.sdpRemote.port !== sdpRemote.port) {
      // a new address in a re-offer: follow it, and allow latching afresh
      this.sdpRemote = sdpRemote;
      this.remote = sdpRemote;
      this.rtcpRemote = { address: media.remoteAddress, port: media.remoteRtcpPort };
      this.latched = false;
    }
    if (!prev) {
      this.configuredAt = this.host.now();
      this.rtcp.schedule(this.host.now());
    }
    if (!this.sending) this.markerNext = true;
  }

  get negotiated(): NegotiatedMedia | undefined {
    return this.neg;
  }

  private get sending(): boolean {
    const d = this.neg?.direction;
    if (d !== "sendrecv" && d !== "sendonly") return false;
    const r = this.remote;
    return r !== undefined && r.port !== 0 && r.address !== "0.0.0.0" && r.address !== "::";
  }

  private get expectingRtp(): boolean {
    const d = this.neg?.direction;
    return d === "sendrecv" || d === "recvonly";
  }

  // ---- receive path (socket callbacks) ----

  private onRtp(buf: Buffer, rinfo: dgram.RemoteInfo): void {
    if (this.closed) return;
    const srtp = this.srtp;
    // an SRTP packet ends in its tag, not in the padding count: only the clear header is checked before decryption
    if (srtp ? buf.length < 12 || buf[0] >> 6 !== 2 : !validRtp(buf)) {
      this.counters.malformed++;
      return;
    }
    const pt = buf[1] & 0x7f;
    // RTCP on the RTP port (rtcp-mux peers): packet types 200-204 show up as PT 72-76 with the marker bit
    if (pt >= 72 && pt <= 76) {
      this.onRtcp(buf, rinfo);
      return;
    }
    const neg = this.neg;
    const now = this.host.now();
    const source = neg ? this.checkSource(rinfo, now) : undefined;
    if (!neg || !source) {
      this.counters.ignored++;
      return;
    }
    let plain = buf;
    if (srtp) {
      const p = srtp.unprotectRtp(buf);
      if (!p) return; // counted by the context (auth failure or replay)
      if (!validRtp(p)) {
        this.counters.malformed++;
        return;
      }
      plain = p;
    }
    // only now, with the packet known to be the peer's, may its source take the stream over
    if (source === "latch") this.latch(rinfo);
    const pkt = RtpPacket.deSerialize(plain);
    this.counters.packetsReceived++;
    this.counters.bytesReceived += buf.length;
    this.lastAcceptedMs = now;
    if (!this.firstPacketSeen) {
      this.firstPacketSeen = true;
      this.host.emit({ t: "firstPacket", sid: this.id, from: `${rinfo.address}:${rinfo.port}` });
    }
    const h = pkt.header;
    const jb = this.jb as JitterBuffer;
    // dispatch by payload type first: only the audio payload type feeds (and may reset) the jitter buffer
    if (pt === neg.payloadType) {
      jb.push({ ssrc: h.ssrc, seq: h.sequenceNumber, ts: h.timestamp, payload: new Uint8Array(pkt.payload) }, now);
      return;
    }
    // telephone-event, comfort noise (13) or a payload type we did not negotiate: it plays nothing, but when it
    // shares the audio SSRC it shares its sequence space too, and a placeholder keeps that gap from counting as
    // loss (the jitter buffer ignores placeholders of any other SSRC)
    jb.push({ ssrc: h.ssrc, seq: h.sequenceNumber, ts: h.timestamp, payload: null }, now);
    if (pt !== neg.dtmfPayloadType) return;
    if (this.dtmfSsrc !== h.ssrc) {
      if (this.dtmfSsrc !== undefined) this.host.log("debug", "telephone-event SSRC changed", { ssrc: h.ssrc });
      this.dtmfSsrc = h.ssrc;
    }
    this.lastEventArrival = now;
    const d = this.dtmfRx.receive(pkt.payload, h.timestamp);
    if (d) this.onDigit(d.digit, "rfc4733", d.durationMs);
  }

  /**
   * Symmetric RTP: latch to the first source, and to a new one only after the latched source has been silent for
   * RELATCH_SILENCE_MS. Without symmetric RTP only the SDP address is accepted. "latch": acceptable, but the caller
   * latches (latch()) only once the packet is known to be good, so SRTP forgeries cannot take the stream.
   */
  private checkSource(r: dgram.RemoteInfo, now: number): "current" | "latch" | undefined {
    const cur = this.remote;
    const same = cur !== undefined && cur.address === r.address && cur.port === r.port;
    if (!this.cfg.symmetricRtp) return same ? "current" : undefined;
    if (this.latched && same) return "current";
    if (this.latched && now - this.lastAcceptedMs < RELATCH_SILENCE_MS) return undefined;
    return "latch";
  }

  private latch(r: dgram.RemoteInfo): void {
    const cur = this.remote;
    const same = cur !== undefined && cur.address === r.address && cur.port === r.port;
    if (!same) {
      this.host.log("info", "RTP latched", { from: `${r.address}:${r.port}`, sdp: cur });
      this.rtcpRemote = { address: r.address, port: r.port + 1 };
    }
    this.remote = { address: r.address, port: r.port };
    this.latched = true;
  }

  private onRtcp(buf: Buffer, rinfo: dgram.RemoteInfo): void {
    if (this.closed) return;
    // RTCP is accepted from the media peer's address only; its port is latched like RTP
    if (!this.remote || rinfo.address !== this.remote.address) {
      this.counters.ignored++;
      return;
    }
    const plain = this.srtp ? this.srtp.unprotectRtcp(buf) : buf;
    if (!plain) return; // counted by the context
    if (this.rtcp.receive(plain, this.ssrc, this.host.now()) && this.cfg.symmetricRtp)
      this.rtcpRemote = { address: rinfo.address, port: rinfo.port };
  }

  private onDigit(digit: string, source: "rfc4733" | "inband", durationMs: number): void {
    this.counters.dtmfReceived++;
    this.host.emit({ t: "dtmf", sid: this.id, digit, source, durationMs });
    this.peer?.relayDtmf(digit, durationMs);
  }

  relayDtmf(digit: string, durationMs: number): void {
    if (this.neg?.dtmfPayloadType !== undefined) this.dtmfTx.enqueue(digit, Math.max(60, durationMs));
  }

  // ---- per-tick phases ----

  rxTick(now: number): void {
    this.rxFrame = null;
    const codec = this.codec;
    const jb = this.jb;
    if (!codec || !jb || this.closed) return;
    if (this.dtmfRx.pending && now - this.lastEventArrival > DTMF_END_TIMEOUT_MS) {
      const d = this.dtmfRx.flush();
      if (d) this.onDigit(d.digit, "rfc4733", d.durationMs);
    }
    this.checkTimeout(now);
    // exactly 20 ms of decoded (or concealed) audio, whatever the peer's packet size; null = silence
    const native = jb.pop();
    if (native && this.inband)
      for (const d of this.inband.process(native)) this.onDigit(d.digit, "inband", d.durationMs);
    const needInternal = this.listening || this.recorder !== undefined || this.peer !== undefined;
    if (!needInternal) return;
    if (native) this.rxFrame = codec.toInternal(native);
    if (this.listening) {
      const copy = this.rxFrame ? this.rxFrame.slice() : new Int16Array(FRAME_SAMPLES);
      this.host.emit({ t: "audio", sid: this.id, frame: copy }, [copy.buffer as ArrayBuffer]);
    }
  }

  txTick(now: number): void {
    if (this.closed) return;
    const frameTs = (this.tsBase + this.frames * SAMPLES_PER_FRAME_8K) >>> 0;
    this.frames++;
    this.txFrame = null;
    if (this.neg && this.sending && this.codec) this.sendFrame(frameTs);
    else {
      this.markerNext = true;
      this.txPending = new Uint8Array(0);
      this.dropDtmf();
    }
    this.recorder?.frame(this.rxFrame, this.txFrame);
    if (this.neg && now >= this.rtcp.nextDue) this.sendRtcp(now, frameTs);
  }

  private sendFrame(frameTs: number): void {
    const codec = this.codec as AudioCodec;
    const neg = this.neg as NegotiatedMedia;
    const ev = neg.dtmfPayloadType !== undefined ? this.dtmfTx.next(frameTs) : undefined;
    if (ev !== undefined && ev !== "gap") {
      // events replace audio; audio held back for a longer packet is dropped (the timestamp gap reads as silence)
      this.txPending = new Uint8Array(0);
      this.sendRtp(neg.dtmfPayloadType as number, ev.timestamp, ev.marker, ev.payload);
      if (ev.digitDone) this.digitSent(ev.tag);
      return;
    }
    let frame: Int16Array | null = null;
    if (ev === undefined) {
      if (this.peer) frame = this.peer.rxFrame;
      else frame = this.nextPlayerFrame();
    }
    this.txFrame = frame;
    const payload = frame ? codec.encode(frame) : codec.silence;
    const ptime = neg.ptimeMs !== undefined && SEND_PTIMES.includes(neg.ptimeMs) ? neg.ptimeMs : 20;
    if (ptime === 20) {
      this.sendRtp(neg.payloadType, frameTs, this.markerNext, payload);
      this.markerNext = false;
      return;
    }
    // other ptimes: queue this frame's bytes and send every whole packet (two per tick at 10 ms, two every three
    // ticks at 30 ms, one every two at 40 ms)
    if (this.txPending.length === 0) this.txPendingTs = frameTs;
    const joined = new Uint8Array(this.txPending.length + payload.length);
    joined.set(this.txPending);
    joined.set(payload, this.txPending.length);
    const bytes = (ptime * neg.clockRate) / 1000;
    let off = 0;
    for (; joined.length - off >= bytes; off += bytes) {
      this.sendRtp(neg.payloadType, (this.txPendingTs + off) >>> 0, this.markerNext, joined.subarray(off, off + bytes));
      this.markerNext = false;
    }
    this.txPending = joined.slice(off);
    this.txPendingTs = (this.txPendingTs + off) >>> 0;
  }

  private sendRtp(pt: number, ts: number, marker: boolean, payload: Uint8Array): void {
    const r = this.remote as Endpoint;
    const header = new RtpHeader({ payloadType: pt, sequenceNumber: this.seq, timestamp: ts, ssrc: this.ssrc, marker });
    this.seq = (this.seq + 1) & 0xffff;
    const buf = new RtpPacket(header, Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength)).serialize();
    this.counters.packetsSent++;
    this.counters.bytesSent += buf.length;
    this.pair.rtp.send(this.srtp ? this.srtp.protectRtp(buf) : buf, r.port, r.address, (err) => {
      if (err) this.counters.sendErrors++;
    });
  }

  private sendRtcp(now: number, frameTs: number): void {
    this.rtcp.schedule(now);
    const dest = this.rtcpRemote;
    if (!dest || dest.port === 0 || !this.remote) return;
    const jb = this.jb;
    const st = jb?.stats;
    const pkt = this.rtcp.build(
      {
        ssrc: this.ssrc,
        packets: this.counters.packetsSent,
        octets: this.counters.bytesSent,
        rtpTimestamp: frameTs,
        sentSinceReport: this.sending,
      },
      {
        remoteSsrc: jb?.remoteSsrc,
        highestSeq: jb?.highestSeq ?? 0,
        expected: jb?.expected ?? 0,
        received: st ? st.received - st.duplicate : 0,
        jitter: st ? (st.jitterMs * (this.neg?.clockRate ?? 8000)) / 1000 : 0,
      },
      now,
    );
    this.pair.rtcp.send(this.srtp ? this.srtp.protectRtcp(pkt) : pkt, dest.port, dest.address, () => undefined);
  }

  private checkTimeout(now: number): void {
    const limitMs = this.cfg.rtpTimeoutS * 1000;
    if (limitMs === 0 || this.timeoutReported || !this.expectingRtp) return;
    const since = Math.max(this.lastAcceptedMs, this.configuredAt);
    if (now - since > limitMs) {
      this.timeoutReported = true;
      this.host.emit({ t: "rtpTimeout", sid: this.id });
    }
  }

  // ---- player ----

  play(playId: number, pcm: Int16Array): void {
    this.queue.push({ playId, pcm, pos: 0 });
  }

  stopPlay(playId?: number): void {
    for (let i = this.queue.length - 1; i >= 0; i--) {
      const it = this.queue[i];
      if (playId !== undefined && it.playId !== playId) continue;
      this.queue.splice(i, 1);
      this.finishPlay(it, "aborted");
    }
  }

  private nextPlayerFrame(): Int16Array | null {
    const it = this.queue[0];
    if (!it) return null;
    const f = this.frame16;
    const n = Math.min(FRAME_SAMPLES, it.pcm.length - it.pos);
    f.set(it.pcm.subarray(it.pos, it.pos + n));
    if (n < FRAME_SAMPLES) f.fill(0, n);
    it.pos += n;
    if (it.pos >= it.pcm.length) {
      this.queue.shift();
      this.finishPlay(it, "done");
    }
    return f;
  }

  private finishPlay(it: PlayItem, outcome: "done" | "aborted"): void {
    this.host.emit({ t: "playDone", sid: this.id, playId: it.playId, outcome, playedMs: Math.round(it.pos / 16) });
  }

  // ---- DTMF send ----

  /** Queue digits as RFC 4733 events; `req` is answered when the last End packet went out. */
  sendDigits(req: number, digits: string, durationMs: number): boolean {
    if (this.neg?.dtmfPayloadType === undefined || !this.sending) return false;
    for (const d of digits) this.dtmfTx.enqueue(d, durationMs, 3, req);
    this.dtmfWaiters.push({ req, remaining: digits.length });
    return true;
  }

  private digitSent(tag: number | undefined): void {
    const i = this.dtmfWaiters.findIndex((w) => w.req === tag);
    if (i < 0) return;
    const w = this.dtmfWaiters[i];
    if (--w.remaining <= 0) {
      this.dtmfWaiters.splice(i, 1);
      this.finishedDtmf.push(w.req);
    }
  }

  /** On hold nothing is sent: queued digits are dropped and their callers released. */
  private dropDtmf(): void {
    if (!this.dtmfTx.busy && this.dtmfWaiters.length === 0) return;
    this.dtmfTx.clear();
    for (const w of this.dtmfWaiters) this.finishedDtmf.push(w.req);
    this.dtmfWaiters = [];
  }

  /** Requests whose digits are all sent (the worker replies to them). */
  takeFinishedDtmf(): number[] {
    if (this.finishedDtmf.length === 0) return NONE;
    const done = this.finishedDtmf;
    this.finishedDtmf = [];
    return done;
  }

  // ---- recording ----

  startRecording(path: string): void {
    if (this.recorder) void this.recorder.close().catch(() => undefined);
    this.recorder = new Recorder(path);
  }

  async stopRecording(): Promise<{ path: string; durationMs: number } | undefined> {
    const r = this.recorder;
    this.recorder = undefined;
    return r ? r.close() : undefined;
  }

  stats(): MediaStats {
    const st = this.jb?.stats;
    return {
      codec: this.neg?.codec,
      packetsSent: this.counters.packetsSent,
      packetsReceived: this.counters.packetsReceived,
      bytesReceived: this.counters.bytesReceived,
      packetsLost: st?.lost ?? 0,
      packetsLate: st?.late ?? 0,
      packetsDuplicate: st?.duplicate ?? 0,
      framesConcealed: Math.round((st?.concealedMs ?? 0) / 20),
      jitterMs: Math.round((st?.jitterMs ?? 0) * 10) / 10,
      jitterBufferMs: st?.targetMs ?? 0,
      dtmfReceived: this.counters.dtmfReceived,
      rtcpSent: this.rtcp.sent,
      rtcpReceived: this.rtcp.received,
      rttMs: this.rtcp.rttMs,
      remote: this.remote ? `${this.remote.address}:${this.remote.port}` : undefined,
      packetsMalformed: this.counters.malformed + this.rtcp.malformed,
      packetsIgnored: this.counters.ignored,
      srtpAuthFailed: this.counters.srtpAuthFailed,
      srtpReplayed: this.counters.srtpReplayed,
    };
  }

  async close(): Promise<MediaStats> {
    this.closed = true;
    this.stopPlay();
    this.peer = undefined;
    const s = this.stats();
    await this.stopRecording().catch(() => undefined);
    return s;
  }
}

/** RFC 3550 5.1 header sanity: version, CSRC list, extension and padding must fit the packet. */
export function validRtp(b: Buffer): boolean {
  if (b.length < 12 || b[0] >> 6 !== 2) return false;
  let off = 12 + (b[0] & 0x0f) * 4;
  if (off > b.length) return false;
  if (b[0] & 0x10) {
    if (off + 4 > b.length) return false;
    off += 4 + b.readUInt16BE(off + 2) * 4;
    if (off > b.length) return false;
  }
  if (b[0] & 0x20) {
    const pad = b[b.length - 1];
    if (pad === 0 || off + pad > b.length) return false;
  }
  return true;
}
