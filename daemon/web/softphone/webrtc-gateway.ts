// One browser call's media: werift terminates WebRTC (ICE, DTLS-SRTP, Opus) towards the browser, and the gateway
// speaks plain RTP (G.722/G.711 + telephone-event) over loopback to a media engine session, exactly like a SIP
// peer would. So a browser call gets everything a SIP call has (jitter buffer, PLC, recording, VAD, bridge, CDR)
// from the engine, and the gateway only transcodes.
//
// No clock of its own: each direction sends one packet for each packet it receives (the browser sends every 20 ms,
// the engine's media clock sends every 20 ms), carrying the sender's timestamps across so the receiving jitter
// buffer sees the sender's timing and losses.
import dgram from "node:dgram";
import { EventEmitter } from "node:events";
import { isIP } from "node:net";
import type { CodecName } from "../../config/schema.ts";
import { type AudioCodec, createCodec } from "../../media/codec.ts";
import { FRAME_SAMPLES, type NegotiatedMedia } from "../../media/types.ts";
import type { Log } from "../../ops/log.ts";
import { answerOffer, buildOffer, type LocalSdpParams, parseAnswer } from "../../sip/sdp.ts";
import { MediaStreamTrack, RTCPeerConnection, RTCRtpCodecParameters, RtpHeader, RtpPacket } from "werift";
import { OPUS_FRAME_TICKS, OpusDecoder, OpusEncoder } from "./opus-codec.ts";

/** Codecs offered to the engine, best first (the engine's configured order decides among them). */
const ENGINE_CODECS: readonly CodecName[] = ["G722", "PCMU", "PCMA"];
/** 20 ms in the RTP clock of every engine codec (8000 Hz, G.722 included: RFC 3551). */
const ENGINE_FRAME_TICKS = 160;
const DTMF_PT = 101;

export interface GatewayIce {
  /** UDP ports werift may use for ICE (a firewall rule for browsers on the LAN). */
  portRange?: [number, number];
  /** Extra host candidates, e.g. loopback for a browser on the box itself. */
  additionalHostAddresses?: string[];
  /** Offer IPv6 host candidates too (default: IPv4 only, which every LAN browser reaches). */
  ipv6?: boolean;
}

export interface GatewayOptions {
  /** Where the media engine's RTP sockets answer from here: loopback when they bind a wildcard address. */
  engineAddress: string;
  log: Log;
  ice?: GatewayIce;
  /** The browser must be connected (ICE + DTLS) this long after our answer, or the call is given up. */
  connectTimeoutMs?: number;
  /** How long a lost connection ("disconnected": consent checks failing) may come back before the call ends. */
  reconnectGraceMs?: number;
}

/** Why the browser side went away. */
export type GatewayClosed = "closed" | "failed" | "connect timeout" | "disconnected";

export interface GatewayEvents {
  /** ICE and DTLS are up: audio flows to the browser from now on. */
  connected: [];
  /** The browser side is gone (not emitted for close()). */
  closed: [why: GatewayClosed];
}

export interface GatewayStats {
  fromBrowser: number;
  toEngine: number;
  fromEngine: number;
  toBrowser: number;
  /** Browser packets missing in the sequence (lost on the network or dropped as late). */
  browserLost: number;
  /** Opus packets libopus refused, and engine packets that were not RTP of the negotiated codec. */
  undecodable: number;
  dtmfFromBrowser: number;
}

/** The browser's SDP cannot be used (no audio, no Opus, not SDP at all). */
export class BrowserSdpError extends Error {}

/** A small FIFO of 16 kHz samples that hands out whole 20 ms frames, whatever packet sizes came in. */
class FrameQueue {
  private buf = new Int16Array(FRAME_SAMPLES * 8);
  private len = 0;
  private readonly frame = new Int16Array(FRAME_SAMPLES);

  get size(): number {
    return this.len;
  }

  push(pcm: Int16Array): void {
    if (this.len + pcm.length > this.buf.length) {
      // never more than a few frames back up here; drop the oldest rather than grow without bound
      const keep = Math.max(0, this.buf.length - pcm.length);
      this.buf.copyWithin(0, this.len - Math.min(this.len, keep), this.len);
      this.len = Math.min(this.len, keep);
      if (pcm.length > this.buf.length) pcm = pcm.subarray(pcm.length - this.buf.length);
    }
    this.buf.set(pcm, this.len);
    this.len += pcm.length;
  }

  /** The oldest 20 ms (a buffer reused on the next call), or undefined when less is queued. */
  pop(): Int16Array | undefined {
    if (this.len < FRAME_SAMPLES) return undefined;
    this.frame.set(this.buf.subarray(0, FRAME_SAMPLES));
    this.buf.copyWithin(0, FRAME_SAMPLES, this.len);
    this.len -= FRAME_SAMPLES;
    return this.frame;
  }

  clear(): void {
    this.len = 0;
  }
}

interface RtpIn {
  pt: number;
  marker: boolean;
  seq: number;
  ts: number;
  payload: Uint8Array;
}

/** Fixed header, CSRCs, extension and padding of an RTP packet (RFC 3550 5.1); undefined for RTCP and garbage. */
function parseRtp(b: Buffer): RtpIn | undefined {
  if (b.length < 12 || b[0] >> 6 !== 2) return undefined;
  const pt = b[1] & 0x7f;
  if (pt >= 64 && pt <= 95) return undefined; // RTCP muxed onto this port (RFC 5761)
  let off = 12 + (b[0] & 0x0f) * 4;
  if (b[0] & 0x10) {
    if (b.length < off + 4) return undefined;
    off += 4 + b.readUInt16BE(off + 2) * 4;
  }
  let end = b.length;
  if (b[0] & 0x20) end -= b[b.length - 1];
  if (end <= off) return undefined;
  return {
    pt,
    marker: (b[1] & 0x80) !== 0,
    seq: b.readUInt16BE(2),
    ts: b.readUInt32BE(4),
    payload: b.subarray(off, end),
  };
}

function randomU32(): number {
  return (Math.random() * 0x1_0000_0000) >>> 0;
}

/** Sequence distance a -> b in 16-bit arithmetic: 1 = next, 0 = duplicate, negative = older. */
function seqDelta(a: number, b: number): number {
  const d = (b - a) & 0xffff;
  return d >= 0x8000 ? d - 0x10000 : d;
}

/** The payload type of `codec`/`rate` in an SDP (the first rtpmap that matches). */
function sdpPayloadType(sdp: string, codec: string, rate: number): number | undefined {
  const re = new RegExp(`^a=rtpmap:(\\d+) ${codec}/${rate}(?:/\\d+)?\\s*$`, "im");
  const m = re.exec(sdp);
  return m ? Number(m[1]) : undefined;
}

/** Our SDP towards the engine says where RTCP goes: to the RTP port (we drop it), so no second socket is needed. */
function withRtcpOnRtpPort(sdp: string, port: number): string {
  return sdp.replace(/^(m=audio [^\r\n]*\r?\n)/m, `$1a=rtcp:${port}\r\n`);
}

export class WebRtcGateway extends EventEmitter<GatewayEvents> {
  /** Our SDP answer to the browser's offer (candidates included: no trickle ICE). */
  browserAnswer = "";
  private readonly pc: RTCPeerConnection;
  private readonly toBrowserTrack = new MediaStreamTrack({ kind: "audio" });
  private socket: dgram.Socket | undefined;
  private localPort = 0;
  private readonly bindAddress: string;
  private engine: NegotiatedMedia | undefined;
  private offerSent = false;
  private readonly origin = { sessionId: String(randomU32()), version: 0 };
  private isConnected = false;
  private isClosed = false;
  private isHeld = false;
  private connectTimer: NodeJS.Timeout | undefined;
  private graceTimer: NodeJS.Timeout | undefined;
  private opusPt = 111;
  /** telephone-event payload types of the browser -> their clock rate (Chromium sends the 8 kHz one). */
  private readonly browserDtmf = new Map<number, number>();

  // browser -> engine
  private readonly opusIn = new OpusDecoder();
  private engineEncoder: AudioCodec | undefined;
  private readonly upQueue = new FrameQueue();
  private upSeqIn: number | undefined;
  private upTsBase: { browser: number; engine: number } | undefined;
  private upSeq = randomU32() & 0xffff;
  private readonly upSsrc = randomU32();
  private lastUpSamples = FRAME_SAMPLES;
  private upLastTs = randomU32();
  private dtmfEvent: { browserTs: number; engineTs: number } | undefined;

  // engine -> browser
  private engineDecoder: AudioCodec | undefined;
  private readonly opusOut = new OpusEncoder();
  private readonly downQueue = new FrameQueue();
  private downSeqIn: number | undefined;
  private downTsBase: { engine: number; browser: number } | undefined;
  private downSeq = randomU32() & 0xffff;
  private lastDownSamples = FRAME_SAMPLES;
  private firstDown = true;

  private readonly counters: GatewayStats = {
    fromBrowser: 0,
    toEngine: 0,
    fromEngine: 0,
    toBrowser: 0,
    browserLost: 0,
    undecodable: 0,
    dtmfFromBrowser: 0,
  };

  private constructor(private readonly opts: GatewayOptions) {
    super();
    this.bindAddress = opts.engineAddress;
    this.pc = new RTCPeerConnection({
      codecs: {
        audio: [
          new RTCRtpCodecParameters({ mimeType: "audio/opus", clockRate: 48000, channels: 2, payloadType: 111 }),
          new RTCRtpCodecParameters({ mimeType: "audio/telephone-event", clockRate: 48000, payloadType: 110 }),
        ],
        video: [],
      },
      icePortRange: opts.ice?.portRange,
      iceAdditionalHostAddresses: opts.ice?.additionalHostAddresses,
      iceUseIpv6: opts.ice?.ipv6 ?? false,
    });
  }

  /**
   * Answer a browser's offer (non-trickle: our answer carries all candidates) and open the loopback RTP socket.
   * Throws BrowserSdpError when the offer has no usable audio.
   */
  static async open(browserOffer: string, opts: GatewayOptions): Promise<WebRtcGateway> {
    if (isIP(opts.engineAddress) === 0) throw new Error(`engine address ${opts.engineAddress} is not an IP address`);
    const g = new WebRtcGateway(opts);
    try {
      await g.answerBrowser(browserOffer);
      await g.bindSocket();
    } catch (e) {
      await g.close();
      throw e;
    }
    return g;
  }

  private async answerBrowser(offer: string): Promise<void> {
    if (!/^v=0\s*$/m.test(offer) || !/^m=audio /m.test(offer))
      throw new BrowserSdpError("the offer is not SDP with an audio stream");
    // werift announces the remote track during setRemoteDescription: subscribe first
    this.pc.onTrack.subscribe((track) => {
      if (track.kind === "audio") track.onReceiveRtp.subscribe((rtp) => this.fromBrowser(rtp));
    });
    try {
      await this.pc.setRemoteDescription({ type: "offer", sdp: offer });
    } catch (e) {
      throw new BrowserSdpError(`unusable offer: ${(e as Error).message}`);
    }
    const tr = this.pc.getTransceivers().find((t) => t.kind === "audio");
    if (!tr) throw new BrowserSdpError("the offer has no audio stream");
    tr.setDirection("sendrecv");
    await tr.sender.replaceTrack(this.toBrowserTrack);
    this.pc.connectionStateChange.subscribe((s) => this.onConnectionState(s));
    const answer = await this.pc.createAnswer();
    await this.pc.setLocalDescription(answer);
    await this.gathered(5000);
    const sdp = this.pc.localDescription?.sdp ?? "";
    const opus = sdpPayloadType(sdp, "opus", 48000);
    if (opus === undefined || /^m=audio 0 /m.test(sdp)) throw new BrowserSdpError("the offer has no Opus audio");
    this.opusPt = opus;
    for (const rate of [48000, 8000]) {
      const pt = sdpPayloadType(sdp, "telephone-event", rate);
      if (pt !== undefined) this.browserDtmf.set(pt, rate);
    }
    this.browserAnswer = sdp;
    this.connectTimer = setTimeout(() => this.lost("connect timeout"), this.opts.connectTimeoutMs ?? 15_000);
  }

  private gathered(limitMs: number): Promise<void> {
    if (this.pc.iceGatheringState === "complete") return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, limitMs);
      const sub = this.pc.iceGatheringStateChange.subscribe((s) => s === "complete" && done());
      function done() {
        clearTimeout(timer);
        sub.unSubscribe();
        resolve();
      }
    });
  }

  private bindSocket(): Promise<void> {
    const s = dgram.createSocket(isIP(this.bindAddress) === 6 ? "udp6" : "udp4");
    this.socket = s;
    s.on("message", (msg, rinfo) => this.fromEngine(msg, rinfo));
    s.on("error", (e) => this.opts.log.warn({ err: e.message }, "softphone RTP socket error"));
    return new Promise((resolve, reject) => {
      s.once("error", reject);
      s.bind(0, this.bindAddress, () => {
        s.off("error", reject);
        this.localPort = s.address().port;
        resolve();
      });
    });
  }

  private onConnectionState(s: string): void {
    if (this.isClosed) return;
    if (s === "connected") {
      clearTimeout(this.connectTimer);
      clearTimeout(this.graceTimer);
      this.graceTimer = undefined;
      if (!this.isConnected) {
        this.isConnected = true;
        this.emit("connected");
      }
    } else if (s === "disconnected") {
      this.graceTimer ??= setTimeout(() => this.lost("disconnected"), this.opts.reconnectGraceMs ?? 10_000);
    } else if (s === "failed" || s === "closed") {
      this.lost(s);
    }
  }

  private lost(why: GatewayClosed): void {
    if (this.isClosed) return;
    void this.close();
    this.emit("closed", why);
  }

  get connected(): boolean {
    return this.isConnected;
  }

  get held(): boolean {
    return this.isHeld;
  }

  /** Hold: nothing goes to the browser and the engine hears silence from it; the engine side keeps running. */
  hold(on: boolean): void {
    if (this.isHeld === on) return;
    this.isHeld = on;
    this.downQueue.clear();
    this.firstDown = true; // the marker bit tells the browser's jitter buffer that a talkspurt starts again
  }

  private localSdp(): LocalSdpParams {
    this.origin.version++;
    return { address: this.bindAddress, port: this.localPort, codecs: ENGINE_CODECS, origin: this.origin };
  }

  /** Our loopback offer to the engine (a test call: the browser is the caller). */
  engineOffer(): string {
    this.offerSent = true;
    return withRtcpOnRtpPort(buildOffer({ ...this.localSdp(), dtmfPayloadType: DTMF_PT }), this.localPort);
  }

  /** The engine's answer to engineOffer(); false when it is unusable (then nothing is relayed). */
  applyEngineAnswer(sdp: string): boolean {
    if (!this.offerSent) return false;
    const m = parseAnswer(sdp, ENGINE_CODECS);
    if (!m) return false;
    this.useEngine(m);
    return true;
  }

  /** Answer the engine's offer (a staff browser being rung); null when no codec fits. */
  answerEngineOffer(offer: string): string | null {
    const r = answerOffer(offer, this.localSdp());
    if (!r.ok) return null;
    this.useEngine(r.media);
    return withRtcpOnRtpPort(r.sdp, this.localPort);
  }

  private useEngine(m: NegotiatedMedia): void {
    this.engine = m;
    this.engineEncoder = createCodec(m.codec);
    this.engineDecoder = createCodec(m.codec);
  }

  // ---- browser -> engine ----

  private fromBrowser(rtp: RtpPacket): void {
    const h = rtp.header;
    this.counters.fromBrowser++;

    if (this.upSeqIn !== undefined) {
      const d = seqDelta(this.upSeqIn, h.sequenceNumber);
      if (d <= 0) return; // duplicate or late: the engine's jitter buffer already moved on
      if (d > 1 && d < 100) {
        // lost packets: leave the same gap in our sequence so the engine conceals them
        const lost = d - 1;
        this.counters.browserLost += lost;
        this.upSeq = (this.upSeq + lost * Math.max(1, Math.round(this.lastUpSamples / FRAME_SAMPLES))) & 0xffff;
      }
    }
    this.upSeqIn = h.sequenceNumber;
    const engine = this.engine;
    if (!engine || !this.socket || this.isClosed) return;
    const dtmfRate = this.browserDtmf.get(h.payloadType);
    if (dtmfRate !== undefined) {
      this.forwardDtmf(h, rtp.payload, dtmfRate, engine);
      return;
    }
    if (h.payloadType !== this.opusPt) return;
    const pcm = this.opusIn.decode(rtp.payload);
    if (!pcm) {
      this.counters.undecodable++;
      return;
    }
    this.lastUpSamples = pcm.length;
    // the first queued sample was taken (queue size / 16000) s before this packet's first sample
    const firstTs48 = (h.timestamp - this.upQueue.size * 3) >>> 0;
    this.upQueue.push(pcm);
    this.upTsBase ??= { browser: firstTs48, engine: randomU32() };
    let k = 0;
    for (let f = this.upQueue.pop(); f; f = this.upQueue.pop(), k++) {
      const ts = (this.upTsBase.engine + Math.floor(((firstTs48 - this.upTsBase.browser) >>> 0) / 6)) >>> 0;
      // held: silence through the running encoder, so the engine's decoder state follows it down to zero
      if (this.isHeld) f.fill(0);
      const payload = this.engineEncoder?.encode(f);
      if (!payload) continue;
      this.upLastTs = (ts + k * ENGINE_FRAME_TICKS) >>> 0;
      this.sendEngine(engine.payloadType, this.upLastTs, false, payload);
    }
  }

  /**
   * RFC 4733 events from the browser go to the engine in its 8 kHz clock. An event starts "now" in our stream (the
   * timestamp after the last audio frame sent), whatever clock the browser's event timestamps use.
   */
  private forwardDtmf(h: RtpHeader, payload: Buffer, rate: number, engine: NegotiatedMedia): void {
    if (engine.dtmfPayloadType === undefined || payload.length < 4 || this.isHeld) return;
    if (this.dtmfEvent?.browserTs !== h.timestamp) {
      this.dtmfEvent = { browserTs: h.timestamp, engineTs: (this.upLastTs + ENGINE_FRAME_TICKS) >>> 0 };
      this.counters.dtmfFromBrowser++;
    }
    const out = Buffer.from(payload.subarray(0, 4));
    out.writeUInt16BE(Math.min(0xffff, Math.round((payload.readUInt16BE(2) * 8000) / rate)), 2);
    this.sendEngine(engine.dtmfPayloadType, this.dtmfEvent.engineTs, h.marker, out);
  }

  private sendEngine(pt: number, ts: number, marker: boolean, payload: Uint8Array): void {
    const engine = this.engine;
    const socket = this.socket;
    if (!engine || !socket) return;
    const b = Buffer.allocUnsafe(12 + payload.length);
    b[0] = 0x80;
    b[1] = (marker ? 0x80 : 0) | pt;
    b.writeUInt16BE(this.upSeq, 2);
    b.writeUInt32BE(ts >>> 0, 4);
    b.writeUInt32BE(this.upSsrc, 8);
    b.set(payload, 12);
    this.upSeq = (this.upSeq + 1) & 0xffff;
    // to the engine's own address, not the SDP's c= (the box's public address when it sits behind NAT)
    socket.send(b, engine.remotePort, this.opts.engineAddress);
    this.counters.toEngine++;
  }

  // ---- engine -> browser ----

  private fromEngine(msg: Buffer, from: dgram.RemoteInfo): void {
    const engine = this.engine;
    // only the engine's RTP socket may talk to this one
    if (!engine || from.port !== engine.remotePort || from.address !== this.opts.engineAddress || this.isClosed) return;
    const p = parseRtp(msg);
    if (!p) return;
    this.counters.fromEngine++;
    if (p.pt !== engine.payloadType || !this.engineDecoder) {
      if (p.pt !== engine.dtmfPayloadType) this.counters.undecodable++;
      return;
    }
    if (this.downSeqIn !== undefined) {
      const d = seqDelta(this.downSeqIn, p.seq);
      if (d <= 0) return;
      if (d > 1 && d < 100)
        this.downSeq =
          (this.downSeq + (d - 1) * Math.max(1, Math.round(this.lastDownSamples / FRAME_SAMPLES))) & 0xffff;
    }
    this.downSeqIn = p.seq;
    const native = this.engineDecoder.decode(p.payload);
    const pcm = this.engineDecoder.toInternal(native);
    this.lastDownSamples = pcm.length;
    if (this.isHeld || !this.isConnected) return;
    // engine clock is 8 kHz for every codec here: one tick = 6 ticks of Opus's 48 kHz clock
    const firstTs8 = (p.ts - Math.floor(this.downQueue.size / 2)) >>> 0;
    this.downQueue.push(pcm);
    this.downTsBase ??= { engine: firstTs8, browser: randomU32() };
    let k = 0;
    for (let f = this.downQueue.pop(); f; f = this.downQueue.pop(), k++) {
      const ts = (this.downTsBase.browser + ((firstTs8 - this.downTsBase.engine) >>> 0) * 6) >>> 0;
      const header = new RtpHeader({
        payloadType: this.opusPt,
        sequenceNumber: this.downSeq,
        timestamp: (ts + k * OPUS_FRAME_TICKS) >>> 0,
        marker: this.firstDown,
      });
      this.firstDown = false;
      this.downSeq = (this.downSeq + 1) & 0xffff;
      this.toBrowserTrack.writeRtp(new RtpPacket(header, this.opusOut.encode(f)));
      this.counters.toBrowser++;
    }
  }

  stats(): GatewayStats {
    return { ...this.counters };
  }

  /** Tear down both sides; idempotent. */
  async close(): Promise<void> {
    if (this.isClosed) return;
    this.isClosed = true;
    clearTimeout(this.connectTimer);
    clearTimeout(this.graceTimer);
    this.toBrowserTrack.stop();
    try {
      this.socket?.close();
    } catch {
      // already closed
    }
    await this.pc.close().catch((e: Error) => this.opts.log.debug({ err: e.message }, "werift close failed"));
  }
}
