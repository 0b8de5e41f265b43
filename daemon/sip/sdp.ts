// SDP offer/answer for audio (RFC 3264) on top of sdp-transform. Pure functions: the caller (the media session) keeps
// the origin state and bumps its version for every new SDP it sends.
//
// Address choice: `address` is what goes into our c= line. It should be media.publicAddress when set, otherwise the
// RTP bind address; when that is 0.0.0.0/:: the caller passes the local address the SIP request arrived on.
import sdpTransform, { type MediaDescription, type SessionDescription } from "sdp-transform";
import type { CodecName, SrtpPolicy } from "../config/schema.ts";
import type { NegotiatedMedia, SrtpKeys } from "../media/types.ts";
import { SRTP_SUITE } from "../media/srtp.ts";
import { offerCrypto, pickCrypto } from "./sdes.ts";

export type Direction = NegotiatedMedia["direction"];

export interface SdpOrigin {
  sessionId: string;
  /** Incremented by the caller for every SDP it sends after the first. */
  version: number;
  username?: string;
}

export interface LocalSdpParams {
  /** Address for our c= (IPv4 or IPv6). */
  address: string;
  port: number;
  /** Our codecs in preference order. */
  codecs: readonly CodecName[];
  origin: SdpOrigin;
  sessionName?: string;
  /** Direction we want (offers: hold = "sendonly"); answers intersect it with the mirrored offer direction. */
  direction?: Direction;
  /** telephone-event payload type for offers (answers keep the offerer's). */
  dtmfPayloadType?: number;
  /** SDES-SRTP: the policy and our master key (base64 key||salt) for the a=crypto line. Absent = plain RTP only. */
  srtp?: LocalSrtp;
}

export interface LocalSrtp {
  policy: SrtpPolicy;
  localKey: string;
}

export type AnswerResult =
  | { ok: true; sdp: string; media: NegotiatedMedia }
  | { ok: false; rejected: 488 | 400; reason: string };

interface CodecInfo {
  pt: number;
  rtpName: string;
  clockRate: number;
}

export const CODECS: Record<CodecName, CodecInfo> = {
  PCMU: { pt: 0, rtpName: "PCMU", clockRate: 8000 },
  PCMA: { pt: 8, rtpName: "PCMA", clockRate: 8000 },
  // RFC 3551: G.722 samples at 16 kHz but its RTP clock rate is 8000
  G722: { pt: 9, rtpName: "G722", clockRate: 8000 },
};

const STATIC_PT: Record<number, CodecName> = { 0: "PCMU", 8: "PCMA", 9: "G722" };
const DEFAULT_DTMF_PT = 101;

function ipVer(address: string): 4 | 6 {
  return address.includes(":") ? 6 : 4;
}

function mirror(d: Direction): Direction {
  return d === "sendonly" ? "recvonly" : d === "recvonly" ? "sendonly" : d;
}

function intersect(a: Direction, b: Direction): Direction {
  const send = a !== "recvonly" && a !== "inactive" && b !== "recvonly" && b !== "inactive";
  const recv = a !== "sendonly" && a !== "inactive" && b !== "sendonly" && b !== "inactive";
  return send && recv ? "sendrecv" : send ? "sendonly" : recv ? "recvonly" : "inactive";
}

function isHoldAddress(ip: string): boolean {
  return ip === "0.0.0.0" || ip === "::";
}

function payloadList(m: MediaDescription): number[] {
  return String(m.payloads ?? "")
    .split(/\s+/)
    .filter((s) => s !== "")
    .map(Number)
    .filter((n) => Number.isInteger(n) && n >= 0 && n <= 127);
}

/** Codec name and clock rate of a payload type in an m= section (rtpmap, else the static assignment). */
function describePt(m: MediaDescription, pt: number): { name: string; rate: number } | undefined {
  const map = m.rtp.find((r) => r.payload === pt);
  if (map) return { name: map.codec.toUpperCase(), rate: map.rate ?? 8000 };
  const s = STATIC_PT[pt];
  return s ? { name: CODECS[s].rtpName, rate: CODECS[s].clockRate } : undefined;
}

function findCodec(m: MediaDescription, codec: CodecName): number | undefined {
  const want = CODECS[codec];
  return payloadList(m).find((pt) => {
    const d = describePt(m, pt);
    return d !== undefined && d.name === want.rtpName && d.rate === want.clockRate;
  });
}

function findDtmf(m: MediaDescription, clockRate: number): number | undefined {
  return payloadList(m).find((pt) => {
    const d = describePt(m, pt);
    return d !== undefined && d.name === "TELEPHONE-EVENT" && d.rate === clockRate;
  });
}

export interface RemoteAudio {
  address: string;
  port: number;
  rtcpPort: number;
  direction: Direction;
  /** c= was 0.0.0.0 (RFC 2543 hold). */
  holdAddress: boolean;
}

function remoteAudio(s: SessionDescription, m: MediaDescription): RemoteAudio | undefined {
  const ip = m.connection?.ip ?? s.connection?.ip;
  if (!ip) return undefined;
  const holdAddress = isHoldAddress(ip);
  const direction: Direction = m.direction ?? s.direction ?? "sendrecv";
  return {
    address: ip,
    port: m.port,
    rtcpPort: m.rtcp?.port ?? (m.rtcpMux ? m.port : m.port + 1),
    direction,
    holdAddress,
  };
}

function parse(sdp: string): SessionDescription | undefined {
  if (!/^v=0\s*$/m.test(sdp) || !/^m=/m.test(sdp)) return undefined;
  try {
    const s = sdpTransform.parse(sdp);
    return Array.isArray(s.media) ? s : undefined;
  } catch {
    return undefined;
  }
}

function origin(o: SdpOrigin, address: string): SessionDescription["origin"] {
  return {
    username: o.username ?? "-",
    sessionId: o.sessionId,
    sessionVersion: o.version,
    netType: "IN",
    ipVer: ipVer(address),
    address,
  };
}

function audioSection(
  port: number,
  codecs: { pt: number; name: string; rate: number }[],
  dtmfPt: number | undefined,
  direction: Direction,
  protocol: string,
): MediaDescription {
  const pts = codecs.map((c) => c.pt);
  const rtp = codecs.map((c) => ({ payload: c.pt, codec: c.name, rate: c.rate }));
  const fmtp: MediaDescription["fmtp"] = [];
  if (dtmfPt !== undefined) {
    pts.push(dtmfPt);
    rtp.push({ payload: dtmfPt, codec: "telephone-event", rate: 8000 });
    fmtp.push({ payload: dtmfPt, config: "0-16" });
  }
  return {
    type: "audio",
    port,
    protocol,
    payloads: pts.join(" "),
    rtp,
    fmtp,
    ptime: 20,
    direction,
  } as MediaDescription;
}

function session(local: LocalSdpParams, media: MediaDescription[]): string {
  const s = {
    version: 0,
    origin: origin(local.origin, local.address),
    name: local.sessionName ?? "Switchboard",
    connection: { version: ipVer(local.address), ip: local.address },
    timing: { start: 0, stop: 0 },
    media,
  } as SessionDescription;
  return sdpTransform.write(s);
}

/**
 * Answer an offer: the first of our codecs (in our order) that the offer has, the offerer's payload type numbers,
 * the offerer's telephone-event, our direction mirrored from the offer. Other m= lines are refused with port 0.
 */
export function answerOffer(offerSdp: string, local: LocalSdpParams): AnswerResult {
  const s = parse(offerSdp);
  if (!s) return { ok: false, rejected: 400, reason: "unparseable SDP" };
  let chosen:
    | { index: number; codec: CodecName; pt: number; remote: RemoteAudio; dtmfPt?: number; crypto?: OfferedCrypto }
    | undefined;
  let securityMismatch: string | undefined;
  for (let i = 0; i < s.media.length && !chosen; i++) {
    const m = s.media[i];
    if (m.type !== "audio" || m.port === 0 || !/^RTP\/S?AVP$/i.test(m.protocol)) continue;
    const security = streamSecurity(m, local.srtp?.policy ?? "off");
    if (!security.ok) {
      securityMismatch ??= security.reason;
      continue;
    }
    const remote = remoteAudio(s, m);
    if (!remote) continue;
    for (const codec of local.codecs) {
      const pt = findCodec(m, codec);
      if (pt !== undefined) {
        chosen = { index: i, codec, pt, remote, dtmfPt: findDtmf(m, CODECS[codec].clockRate), crypto: security.crypto };
        break;
      }
    }
  }
  if (!chosen) return { ok: false, rejected: 488, reason: securityMismatch ?? "no common audio codec" };
  const { codec, pt, remote, dtmfPt, crypto } = chosen;
  let direction = intersect(mirror(remote.direction), local.direction ?? "sendrecv");
  // RFC 2543 hold: the offerer does not want to receive anything
  if (remote.holdAddress) direction = intersect(direction, "recvonly");
  const media = s.media.map((m, i) => {
    if (i === chosen.index) {
      const info = CODECS[codec];
      const section = audioSection(
        local.port,
        [{ pt, name: info.rtpName, rate: info.clockRate }],
        dtmfPt,
        direction,
        m.protocol,
      );
      // RFC 4568 5.1.2: the answer carries one crypto line, with the offer's tag and suite and our own key
      if (crypto && local.srtp) section.crypto = [offerCrypto(crypto.tag, local.srtp.localKey)];
      return section;
    }
    // RFC 3264 6: a rejected stream keeps its format list with port 0
    return { type: m.type, port: 0, protocol: m.protocol, payloads: m.payloads, rtp: [], fmtp: [] } as MediaDescription;
  });
  const negotiated: NegotiatedMedia = {
    codec,
    payloadType: pt,
    clockRate: CODECS[codec].clockRate,
    dtmfPayloadType: dtmfPt,
    remoteAddress: remote.address,
    remotePort: remote.port,
    remoteRtcpPort: remote.rtcpPort,
    direction,
    ...(crypto && local.srtp ? { srtp: keys(local.srtp, crypto) } : {}),
  };
  return { ok: true, sdp: session(local, media), media: negotiated };
}

/** Our offer: all our codecs in preference order (static payload types) plus telephone-event. */
export function buildOffer(local: LocalSdpParams): string {
  const codecs = local.codecs.map((c) => ({ pt: CODECS[c].pt, name: CODECS[c].rtpName, rate: CODECS[c].clockRate }));
  const dtmf = local.dtmfPayloadType ?? DEFAULT_DTMF_PT;
  // Only a mandatory policy offers SRTP: an RTP/SAVP offer is refused by every peer without SRTP, and putting keys
  // into a plain RTP/AVP offer ("best effort") is not in RFC 4568 and confuses SBCs.
  const secure = local.srtp?.policy === "mandatory";
  const section = audioSection(
    local.port,
    codecs,
    dtmf,
    local.direction ?? "sendrecv",
    secure ? "RTP/SAVP" : "RTP/AVP",
  );
  if (secure && local.srtp) section.crypto = [offerCrypto(1, local.srtp.localKey)];
  return session(local, [section]);
}

/**
 * Apply the answer to our offer: the answerer's first payload type that we offered decides the codec (RFC 3264
 * 6.1 allows the answerer to list several; the first is what it will send). undefined when nothing usable.
 */
export function parseAnswer(
  answerSdp: string,
  offered: readonly CodecName[],
  ourDirection: Direction = "sendrecv",
  srtp?: LocalSrtp,
): NegotiatedMedia | undefined {
  const s = parse(answerSdp);
  if (!s) return undefined;
  const m = s.media.find((x) => x.type === "audio" && x.port !== 0);
  if (!m) return undefined;
  const remote = remoteAudio(s, m);
  if (!remote) return undefined;
  // We offered SRTP only when it is mandatory; an answer without a usable crypto line cannot be used then.
  const crypto = srtp?.policy === "mandatory" ? pickCrypto(m.crypto) : undefined;
  if (srtp?.policy === "mandatory" && !crypto) return undefined;
  for (const pt of payloadList(m)) {
    const d = describePt(m, pt);
    const codec = offered.find((c) => d && CODECS[c].rtpName === d.name && CODECS[c].clockRate === d.rate);
    if (!codec) continue;
    let direction = intersect(mirror(remote.direction), ourDirection);
    if (remote.holdAddress) direction = intersect(direction, "recvonly");
    return {
      codec,
      payloadType: pt,
      clockRate: CODECS[codec].clockRate,
      dtmfPayloadType: findDtmf(m, CODECS[codec].clockRate),
      remoteAddress: remote.address,
      remotePort: remote.port,
      remoteRtcpPort: remote.rtcpPort,
      direction,
      ...(crypto && srtp ? { srtp: keys(srtp, crypto) } : {}),
    };
  }
  return undefined;
}

type OfferedCrypto = NonNullable<ReturnType<typeof pickCrypto>>;

/** Whether an offered stream fits our SRTP policy, and the crypto line to use when it is secured. */
function streamSecurity(
  m: MediaDescription,
  policy: SrtpPolicy,
): { ok: true; crypto?: OfferedCrypto } | { ok: false; reason: string } {
  const savp = /^RTP\/SAVP$/i.test(m.protocol);
  if (policy === "off") return savp ? { ok: false, reason: "offer requires SRTP, which is off" } : { ok: true };
  const crypto = pickCrypto(m.crypto);
  if (crypto) return { ok: true, crypto };
  if (savp) return { ok: false, reason: `offer has no usable crypto line (we support ${SRTP_SUITE})` };
  return policy === "mandatory" ? { ok: false, reason: "SRTP is mandatory and the offer is plain RTP" } : { ok: true };
}

function keys(local: LocalSrtp, crypto: OfferedCrypto): SrtpKeys {
  return { suite: SRTP_SUITE, localKey: local.localKey, remoteKey: crypto.key };
}

/** The audio stream an SDP describes (for logs and CDRs); undefined when there is none. */
export function describeAudio(sdp: string): (RemoteAudio & { codecs: string[] }) | undefined {
  const s = parse(sdp);
  const m = s?.media.find((x) => x.type === "audio" && x.port !== 0);
  if (!s || !m) return undefined;
  const r = remoteAudio(s, m);
  if (!r) return undefined;
  return { ...r, codecs: payloadList(m).map((pt) => describePt(m, pt)?.name ?? String(pt)) };
}
