// Wire-level measurement of spoken turns, shared by bench/response-latency.ts and bench/speech-concurrency.ts.
//
// The caller is sipp playing a pcap made here: G.711 A-law RTP (20 ms packets, continuous, digital silence between
// utterances) of espeak-ng sentences separated by long pauses. tshark captures the daemon's RTP port range on
// loopback; the capture is parsed here (pcap, Ethernet/IPv4/UDP/RTP) and the G.711 payloads are decoded here too,
// independently of the daemon's codec (a shared bug must not make a wrong figure look right).
//
// Per call (one daemon RTP port), per caller utterance:
//   caller speech end E = capture time of the last caller packet above the speech threshold before a pause of at
//                         least the endpointing silence (the daemon's own definition of a turn);
//   reply start R       = capture time of the first daemon packet above the reply threshold after E (and before the
//                         caller's next utterance); the daemon sends digital silence (-72 dBFS) while it says nothing;
//   wire gap            = R - E;
//   response latency    = wire gap - configured endpoint silence: the end-of-turn decision cannot come earlier than
//                         that silence after the caller stopped, so this is what the box adds after the decision.
// The CDR's `turn <start>-<end> ms` event is written (Date.now(), same clock as the capture) when the daemon decides
// the turn is over: R - t(event) is the daemon's own decision-to-reply time, t(event) - E the endpointing delay.
import { type ChildProcess, spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generateSpeechWav } from "../../test/audio/fixtures.ts";
import { readWavMono } from "../../test/audio/wav.ts";
import { type CdrRow, type DaemonHandle, spawnTracked, startDaemon, waitExit } from "../../test/peers/daemon.ts";
import { sharedModelsDir } from "../../models/testing/shared-models.ts";
import { clkTck, cpuSeconds, percentile, procStat } from "./bench.ts";

const tempDirs = new Set<string>();
process.once("exit", () => {
  if (process.env.KEEP_TEST_DIRS !== "1") for (const d of tempDirs) rmSync(d, { recursive: true, force: true });
});

/** A temp dir removed when the process exits (kept with KEEP_TEST_DIRS=1, like test/peers/daemon.ts does). */
export function benchTempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `switchboard-${prefix}-`));
  tempDirs.add(dir);
  return dir;
}

const RATE = 8000;
const PTIME_MS = 20;
const FRAME = (RATE * PTIME_MS) / 1000;

// ---------------------------------------------------------------------------------------------------------------
// G.711 (ITU-T G.711, the classic Sun reference formulation)

export function alawToLinear(byte: number): number {
  const a = byte ^ 0x55;
  let t = (a & 0x0f) << 4;
  const seg = (a & 0x70) >> 4;
  if (seg === 0) t += 8;
  else if (seg === 1) t += 0x108;
  else t = (t + 0x108) << (seg - 1);
  return a & 0x80 ? t : -t;
}

export function ulawToLinear(byte: number): number {
  const u = ~byte & 0xff;
  const t = (((u & 0x0f) << 3) + 0x84) << ((u & 0x70) >> 4);
  return u & 0x80 ? 0x84 - t : t - 0x84;
}

const ALAW_SEG_END = [0x1f, 0x3f, 0x7f, 0xff, 0x1ff, 0x3ff, 0x7ff, 0xfff];

export function linearToAlaw(sample: number): number {
  let v = Math.max(-32768, Math.min(32767, Math.round(sample))) >> 3;
  let mask: number;
  if (v >= 0) mask = 0xd5;
  else {
    mask = 0x55;
    v = -v - 1;
  }
  let seg = 0;
  while (seg < 8 && v > ALAW_SEG_END[seg]) seg++;
  if (seg >= 8) return 0x7f ^ mask;
  const q = seg < 2 ? (v >> 1) & 0x0f : (v >> seg) & 0x0f;
  return ((seg << 4) | q) ^ mask;
}

const ULAW_SEG_END = [0x3f, 0x7f, 0xff, 0x1ff, 0x3ff, 0x7ff, 0xfff, 0x1fff];

export function linearToUlaw(sample: number): number {
  let v = Math.max(-32768, Math.min(32767, Math.round(sample))) >> 2;
  let mask: number;
  if (v < 0) {
    v = -v;
    mask = 0x7f;
  } else mask = 0xff;
  v = Math.min(v, 8158) + 33; // clip, add the bias
  let seg = 0;
  while (seg < 8 && v > ULAW_SEG_END[seg]) seg++;
  if (seg >= 8) return 0x7f ^ mask;
  return ((seg << 4) | ((v >> (seg + 1)) & 0x0f)) ^ mask;
}

const ALAW_TABLE = Int16Array.from({ length: 256 }, (_, i) => alawToLinear(i));
const ULAW_TABLE = Int16Array.from({ length: 256 }, (_, i) => ulawToLinear(i));

/** RMS level of a G.711 payload in dBFS (PT 8 = A-law, PT 0 = µ-law). */
export function g711Dbfs(payload: Uint8Array, pt: number): number {
  const table = pt === 0 ? ULAW_TABLE : ALAW_TABLE;
  let sum = 0;
  for (const b of payload) {
    const s = table[b];
    sum += s * s;
  }
  const rms = Math.sqrt(sum / Math.max(1, payload.length));
  return rms > 0 ? 20 * Math.log10(rms / 32768) : -120;
}

// ---------------------------------------------------------------------------------------------------------------
// pcap: writer (sipp's play_pcap_audio input) and reader (tshark's capture)

function ipv4Checksum(h: Buffer): number {
  let sum = 0;
  for (let i = 0; i < h.length; i += 2) sum += h.readUInt16BE(i);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/** One RTP packet of a caller pcap; packets are written `PTIME_MS` apart. */
export interface RtpOut {
  payload: Uint8Array;
  pt: number;
  marker?: boolean;
  timestamp: number;
}

/** Writes RTP packets (one per payload, `PTIME_MS` apart) as Ethernet/IPv4/UDP frames in a classic pcap file. */
export function writeRtpPcap(path: string, payloads: Uint8Array[], pt = 8): void {
  writeRtpPackets(
    path,
    payloads.map((payload, i) => ({ payload, pt, marker: i === 0, timestamp: i * FRAME })),
  );
}

export function writeRtpPackets(path: string, packets: RtpOut[]): void {
  const parts: Buffer[] = [];
  const gh = Buffer.alloc(24);
  gh.writeUInt32LE(0xa1b2c3d4, 0);
  gh.writeUInt16LE(2, 4);
  gh.writeUInt16LE(4, 6);
  gh.writeUInt32LE(65535, 16);
  gh.writeUInt32LE(1, 20); // LINKTYPE_ETHERNET
  parts.push(gh);
  const ssrc = 0x5b0a4d01;
  packets.forEach((p, i) => {
    const rtp = Buffer.alloc(12 + p.payload.length);
    rtp[0] = 0x80;
    rtp[1] = (p.marker ? 0x80 : 0) | p.pt;
    rtp.writeUInt16BE(i & 0xffff, 2);
    rtp.writeUInt32BE(p.timestamp >>> 0, 4);
    rtp.writeUInt32BE(ssrc, 8);
    rtp.set(p.payload, 12);
    const udp = Buffer.alloc(8);
    udp.writeUInt16BE(5000, 0);
    udp.writeUInt16BE(6000, 2);
    udp.writeUInt16BE(8 + rtp.length, 4);
    const ip = Buffer.alloc(20);
    ip[0] = 0x45;
    ip.writeUInt16BE(20 + 8 + rtp.length, 2);
    ip.writeUInt16BE(0x4000, 6);
    ip[8] = 64;
    ip[9] = 17;
    Buffer.from([10, 0, 0, 1]).copy(ip, 12);
    Buffer.from([10, 0, 0, 2]).copy(ip, 16);
    ip.writeUInt16BE(ipv4Checksum(ip), 10);
    const eth = Buffer.from([2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00]);
    const frame = Buffer.concat([eth, ip, udp, rtp]);
    const ph = Buffer.alloc(16);
    const us = i * PTIME_MS * 1000;
    ph.writeUInt32LE(1_700_000_000 + Math.floor(us / 1e6), 0);
    ph.writeUInt32LE(us % 1e6, 4);
    ph.writeUInt32LE(frame.length, 8);
    ph.writeUInt32LE(frame.length, 12);
    parts.push(ph, frame);
  });
  writeFileSync(path, Buffer.concat(parts));
}

/**
 * RFC 4733 packets for one key press starting at RTP timestamp `ts`: `durationMs` of updates (one per packet, same
 * timestamp, growing duration, marker on the first), then the end packet three times, as real phones send it.
 */
export function dtmfPackets(digit: string, ts: number, durationMs = 100, pt = 101): RtpOut[] {
  const event = "0123456789*#".indexOf(digit);
  if (event < 0) throw new Error(`not a DTMF digit: ${digit}`);
  const n = Math.max(1, Math.round(durationMs / PTIME_MS));
  const pkt = (dur: number, end: boolean, marker: boolean): RtpOut => {
    const payload = new Uint8Array(4);
    payload[0] = event;
    payload[1] = (end ? 0x80 : 0) | 10; // volume -10 dBm0
    payload[2] = dur >> 8;
    payload[3] = dur & 0xff;
    return { payload, pt, marker, timestamp: ts };
  };
  const out: RtpOut[] = [];
  for (let i = 1; i <= n; i++) out.push(pkt(i * FRAME, false, i === 1));
  for (let i = 0; i < 3; i++) out.push(pkt(n * FRAME, true, false));
  return out;
}

/** Linear 8 kHz samples (-1..1) as 20 ms G.711 payloads (pt 8 = A-law, 0 = µ-law). */
export function g711Payloads(samples: Float32Array, pt: 0 | 8): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i + FRAME <= samples.length; i += FRAME) {
    const p = new Uint8Array(FRAME);
    for (let j = 0; j < FRAME; j++) {
      const v = samples[i + j] * 32767;
      p[j] = pt === 8 ? linearToAlaw(v) : linearToUlaw(v);
    }
    out.push(p);
  }
  return out;
}

export interface UdpPacket {
  /** Capture time, ms since the epoch (microsecond resolution). */
  tMs: number;
  srcPort: number;
  dstPort: number;
  payload: Buffer;
}

/** Reads the UDP/IPv4 packets of a classic pcap file (Ethernet, Linux cooked v1/v2, BSD loopback or raw IP). */
export function readPcap(path: string): UdpPacket[] {
  const buf = readFileSync(path);
  if (buf.length < 24) return [];
  const magicLe = buf.readUInt32LE(0);
  let le: boolean;
  let nano: boolean;
  if (magicLe === 0xa1b2c3d4 || magicLe === 0xa1b23c4d) {
    le = true;
    nano = magicLe === 0xa1b23c4d;
  } else {
    const be = buf.readUInt32BE(0);
    if (be !== 0xa1b2c3d4 && be !== 0xa1b23c4d) throw new Error(`${path}: not a classic pcap file`);
    le = false;
    nano = be === 0xa1b23c4d;
  }
  const u32 = (o: number) => (le ? buf.readUInt32LE(o) : buf.readUInt32BE(o));
  const link = u32(20);
  const linkHeader: Record<number, number> = { 0: 4, 1: 14, 101: 0, 113: 16, 228: 0, 276: 20 };
  const l2 = linkHeader[link];
  if (l2 === undefined) throw new Error(`${path}: unsupported link type ${link}`);
  const out: UdpPacket[] = [];
  let off = 24;
  while (off + 16 <= buf.length) {
    const sec = u32(off);
    const frac = u32(off + 4);
    const incl = u32(off + 8);
    const start = off + 16;
    off = start + incl;
    if (off > buf.length) break;
    let ipOff = start + l2;
    if (link === 1) {
      let type = buf.readUInt16BE(start + 12);
      if (type === 0x8100) {
        type = buf.readUInt16BE(start + 16);
        ipOff += 4;
      }
      if (type !== 0x0800) continue;
    }
    if (ipOff + 20 > off || buf[ipOff] >> 4 !== 4 || buf[ipOff + 9] !== 17) continue;
    const udpOff = ipOff + (buf[ipOff] & 0x0f) * 4;
    if (udpOff + 8 > off) continue;
    out.push({
      tMs: sec * 1000 + (nano ? frac / 1e6 : frac / 1e3),
      srcPort: buf.readUInt16BE(udpOff),
      dstPort: buf.readUInt16BE(udpOff + 2),
      payload: buf.subarray(udpOff + 8, off),
    });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Capture with tshark on loopback

export interface Capture {
  path: string;
  /** Stops tshark and returns the captured packets plus what tshark reported (captured/dropped). */
  stop(): Promise<{ packets: UdpPacket[]; report: string; dropped: number }>;
}

/** tshark on `lo` with a capture filter on the daemon's RTP port range (root, or dumpcap capabilities, needed). */
export async function startCapture(ports: { min: number; max: number }): Promise<Capture> {
  const dir = benchTempDir("capture");
  const path = join(dir, "rtp.pcap");
  const cp: ChildProcess = spawnTracked("tshark", [
    "-i",
    "lo",
    "-f",
    `udp portrange ${ports.min}-${ports.max}`,
    "-F",
    "pcap",
    "-s",
    "256",
    "-B",
    "64",
    "-w",
    path,
    "-q",
  ]);
  let err = "";
  cp.stdout?.resume();
  cp.stderr?.setEncoding("utf8");
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`tshark did not start capturing in 15 s: ${err}`)), 15_000);
    cp.stderr?.on("data", (c: string) => {
      err += c;
      if (/Capturing on/.test(err)) {
        clearTimeout(t);
        resolve();
      }
    });
    cp.once("exit", (code) => {
      clearTimeout(t);
      reject(new Error(`tshark exited (${code}) before capturing: ${err}`));
    });
    cp.once("error", (e) => {
      clearTimeout(t);
      reject(e);
    });
  });
  return {
    path,
    async stop() {
      await new Promise((r) => setTimeout(r, 300)); // let the last packets reach the file
      cp.kill("SIGINT");
      await waitExit(cp, 10_000);
      const report = err.replace(/.*Capturing on[^\n]*\n?/s, "").trim();
      const dropped = Number(/(\d+) packets? dropped/.exec(report)?.[1] ?? 0);
      return { packets: readPcap(path), report, dropped };
    },
  };
}

// ---------------------------------------------------------------------------------------------------------------
// RTP flows per call

export interface RtpPoint {
  tMs: number;
  dbfs: number;
}

export interface CallFlow {
  /** The daemon's RTP port for this call. */
  daemonPort: number;
  /** Where the daemon sends this call's RTP (the caller's media port). */
  remotePort: number | undefined;
  /** Caller → daemon audio packets, in capture order. */
  inbound: RtpPoint[];
  /** Daemon → caller audio packets. */
  outbound: RtpPoint[];
}

function rtpAudio(p: Buffer): { pt: number; payload: Buffer } | undefined {
  if (p.length < 13 || p[0] >> 6 !== 2) return undefined;
  const pt = p[1] & 0x7f;
  if (pt !== 0 && pt !== 8) return undefined; // RTCP (72-76 here), telephone-event, CN: not audio
  let off = 12 + (p[0] & 0x0f) * 4;
  if (p[0] & 0x10) {
    if (off + 4 > p.length) return undefined;
    off += 4 + p.readUInt16BE(off + 2) * 4;
  }
  if (off >= p.length) return undefined;
  return { pt, payload: p.subarray(off) };
}

/** Groups captured G.711 packets by the daemon-side port (the one inside `range`). */
export function callFlows(
  packets: UdpPacket[],
  range: { min: number; max: number },
): { flows: CallFlow[]; ambiguous: number } {
  const inRange = (p: number) => p >= range.min && p <= range.max;
  const flows = new Map<number, CallFlow>();
  let ambiguous = 0;
  const flow = (port: number): CallFlow => {
    let f = flows.get(port);
    if (!f) {
      f = { daemonPort: port, remotePort: undefined, inbound: [], outbound: [] };
      flows.set(port, f);
    }
    return f;
  };
  for (const pkt of packets) {
    const a = rtpAudio(pkt.payload);
    if (!a) continue;
    const toDaemon = inRange(pkt.dstPort);
    const fromDaemon = inRange(pkt.srcPort);
    if (toDaemon && fromDaemon) {
      ambiguous++;
      continue;
    }
    const point = { tMs: pkt.tMs, dbfs: g711Dbfs(a.payload, a.pt) };
    if (toDaemon) flow(pkt.dstPort).inbound.push(point);
    else if (fromDaemon) {
      const f = flow(pkt.srcPort);
      f.remotePort = pkt.dstPort;
      f.outbound.push(point);
    }
  }
  const out = [...flows.values()].filter((f) => f.inbound.length > 0 || f.outbound.length > 0);
  for (const f of out) {
    f.inbound.sort((x, y) => x.tMs - y.tMs);
    f.outbound.sort((x, y) => x.tMs - y.tMs);
  }
  return { flows: out.sort((x, y) => (x.inbound[0]?.tMs ?? 0) - (y.inbound[0]?.tMs ?? 0)), ambiguous };
}

export interface WireThresholds {
  /** A caller packet above this is speech. */
  speechDbfs: number;
  /** A daemon packet above this is (part of) a prompt; its idle packets are digital silence at -72 dBFS. */
  replyDbfs: number;
  /** Caller pauses shorter than this stay inside one utterance: the configured endpoint silence. */
  mergeGapMs: number;
  /** The daemon spoke this close before the caller stopped: the turn overlapped a prompt and is not counted. */
  overlapMs: number;
}

export interface WireTurn {
  callerStartMs: number;
  callerEndMs: number;
  replyMs?: number;
  gapMs?: number;
  status: "ok" | "no reply" | "overlap";
}

export function wireTurns(f: CallFlow, th: WireThresholds): WireTurn[] {
  const utterances: { start: number; end: number }[] = [];
  for (const p of f.inbound) {
    if (p.dbfs <= th.speechDbfs) continue;
    const last = utterances.at(-1);
    if (last && p.tMs - last.end < th.mergeGapMs) last.end = p.tMs;
    else utterances.push({ start: p.tMs, end: p.tMs });
  }
  const loud = f.outbound.filter((p) => p.dbfs > th.replyDbfs);
  return utterances.map((u, i) => {
    const next = utterances[i + 1]?.start ?? Number.POSITIVE_INFINITY;
    const base = { callerStartMs: u.start, callerEndMs: u.end };
    const before = loud.findLast((p) => p.tMs <= u.end);
    if (before && u.end - before.tMs < th.overlapMs) return { ...base, status: "overlap" };
    const reply = loud.find((p) => p.tMs > u.end);
    if (!reply || reply.tMs >= next) return { ...base, status: "no reply" };
    return { ...base, replyMs: reply.tMs, gapMs: reply.tMs - u.end, status: "ok" };
  });
}

/**
 * Per call: caller's first utterance start minus the end of the box's greeting and menu (the last run of prompt
 * packets that began before it). Negative: the caller spoke into the menu (barge-in), so --lead-ms is too short.
 */
export function greetingMargins(flows: CallFlow[], th: WireThresholds): number[] {
  const out: number[] = [];
  for (const f of flows) {
    const first = wireTurns(f, th)[0];
    if (!first) continue;
    let end: number | undefined;
    for (const p of f.outbound) {
      if (p.dbfs <= th.replyDbfs || p.tMs > first.callerEndMs) continue;
      if (p.tMs < first.callerStartMs || (end !== undefined && p.tMs - end < th.mergeGapMs)) end = p.tMs;
    }
    if (end !== undefined) out.push(first.callerStartMs - end);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// CDR

export interface CdrTurn {
  /** Wall time (Date.now() in the daemon) when the turn was decided. */
  t: number;
  startMs: number;
  endMs: number;
  /** Recognized text and recognition time, when a recognizer ran. */
  text?: string;
  asrMs?: number;
}

export function cdrEvents(row: CdrRow): { t: number; what: string }[] {
  try {
    return JSON.parse(row.events) as { t: number; what: string }[];
  } catch {
    return [];
  }
}

export function cdrTurns(row: CdrRow): CdrTurn[] {
  const out: CdrTurn[] = [];
  for (const e of cdrEvents(row)) {
    const m = /^turn (\d+)-(\d+) ms(?: "([^"]*)")?(?: \(asr ([\d.]+) ms\))?/.exec(e.what);
    if (m)
      out.push({
        t: e.t,
        startMs: Number(m[1]),
        endMs: Number(m[2]),
        ...(m[3] !== undefined ? { text: m[3] } : {}),
        ...(m[4] !== undefined ? { asrMs: Number(m[4]) } : {}),
      });
  }
  return out;
}

/** The CDR row whose media went to `remotePort` (media_stats.remote is the latched caller address). */
export function rowForFlow(rows: CdrRow[], f: CallFlow): CdrRow | undefined {
  if (f.remotePort === undefined) return undefined;
  const suffix = `:${f.remotePort}`;
  return rows.find((r) => {
    try {
      const s = JSON.parse(r.media_stats ?? "{}") as { remote?: string };
      return s.remote?.endsWith(suffix) ?? false;
    } catch {
      return false;
    }
  });
}

export interface MeasuredTurn extends WireTurn {
  call: number;
  turn: number;
  /** The CDR turn event decided for this utterance, when found. */
  cdr?: CdrTurn;
}

/** Wire turns of every flow, each joined with the CDR turn event decided between its end and the next utterance. */
export function measureTurns(flows: CallFlow[], rows: CdrRow[], th: WireThresholds): MeasuredTurn[] {
  const out: MeasuredTurn[] = [];
  flows.forEach((f, call) => {
    const row = rowForFlow(rows, f);
    const events = row ? cdrTurns(row) : [];
    const turns = wireTurns(f, th);
    turns.forEach((w, i) => {
      const next = turns[i + 1]?.callerStartMs ?? Number.POSITIVE_INFINITY;
      const cdr = events.find((e) => e.t >= w.callerEndMs - 20 && e.t < next);
      out.push({ ...w, call: call + 1, turn: i + 1, cdr });
    });
  });
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Caller fixture: pcap + sipp scenario

export interface CallerFixture {
  pcap: string;
  durationMs: number;
  /** Where each utterance lies in the pcap (speech samples above -60 dBFS), ms from its start. */
  utterances: { startMs: number; endMs: number; text: string }[];
}

export const CALLER_SENTENCES = [
  "I would like to know the opening hours of your office.",
  "Can you tell me where my parcel is right now?",
  "Please put me through to someone in accounting.",
  "I need to change the date of my appointment.",
  "My internet connection has been down since this morning.",
];

/**
 * One caller's audio: `leadMs` of silence (the box's greeting and menu), then `turns` espeak-ng sentences, each
 * followed by `gapMs` of silence (room for the reply), all as continuous 20 ms A-law RTP packets.
 */
export function buildCallerPcap(opts: { turns: number; leadMs: number; gapMs: number; dir?: string }): CallerFixture {
  const dir = opts.dir ?? benchTempDir("caller");
  const chunks: Float32Array[] = [new Float32Array((opts.leadMs * RATE) / 1000)];
  const utterances: CallerFixture["utterances"] = [];
  let pos = chunks[0].length;
  for (let i = 0; i < opts.turns; i++) {
    const text = CALLER_SENTENCES[i % CALLER_SENTENCES.length];
    const s = readWavMono(generateSpeechWav(text, { rate: RATE, voice: "en-us" })).samples;
    const loud = (x: number) => Math.abs(x) > 0.001;
    const first = s.findIndex(loud);
    const last = s.findLastIndex(loud);
    utterances.push({ startMs: ((pos + first) * 1000) / RATE, endMs: ((pos + last) * 1000) / RATE, text });
    chunks.push(s, new Float32Array((opts.gapMs * RATE) / 1000));
    pos += s.length + (opts.gapMs * RATE) / 1000;
  }
  const all = new Float32Array(pos);
  let o = 0;
  for (const c of chunks) {
    all.set(c, o);
    o += c.length;
  }
  const payloads = g711Payloads(all, 8);
  const pcap = join(dir, "caller.pcap");
  writeRtpPcap(pcap, payloads);
  return { pcap, durationMs: payloads.length * PTIME_MS, utterances };
}

/**
 * A sipp UAC scenario: INVITE with PCMA/20 ms (or PCMU; with telephone-event/101 when the pcap carries RFC 4733
 * key presses), play `pcap` once, wait `holdMs`, BYE.
 */
export function speechScenario(pcap: string, holdMs: number, o: { pt?: 0 | 8; telephoneEvent?: boolean } = {}): string {
  const pt = o.pt ?? 8;
  const media = [
    `m=audio [auto_media_port] RTP/AVP ${pt}${o.telephoneEvent ? " 101" : ""}`,
    `a=rtpmap:${pt} ${pt === 8 ? "PCMA" : "PCMU"}/8000`,
    ...(o.telephoneEvent ? ["a=rtpmap:101 telephone-event/8000", "a=fmtp:101 0-15"] : []),
    "a=ptime:20",
  ].join("\n      ");
  const head = (method: string, cseq: string) => `      ${method} sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: sipp <sip:sipp@[local_ip]:[local_port]>;tag=[pid]SIPpTag09[call_number]
      To: [service] <sip:[service]@[remote_ip]:[remote_port]>${method === "INVITE" ? "" : "[peer_tag_param]"}
      Call-ID: [call_id]
      CSeq: ${cseq}
      Contact: sip:sipp@[local_ip]:[local_port]
      Max-Forwards: 70`;
  const xml = `<?xml version="1.0" encoding="ISO-8859-1" ?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<!-- Speech caller (bench/lib/voice-wire.ts): plays one pcap of utterances and pauses, then hangs up. -->
<scenario name="uac speech turns">
  <send retrans="500">
    <![CDATA[

${head("INVITE", "1 INVITE")}
      Subject: Switchboard speech bench
      Content-Type: application/sdp
      Content-Length: [len]

      v=0
      o=user1 53655765 2353687637 IN IP[local_ip_type] [local_ip]
      s=-
      c=IN IP[local_ip_type] [local_ip]
      t=0 0
      ${media}

    ]]>
  </send>
  <recv response="100" optional="true"/>
  <recv response="180" optional="true"/>
  <recv response="183" optional="true"/>
  <recv response="200" rtd="true" crlf="true"/>
  <send>
    <![CDATA[

${head("ACK", "1 ACK")}
      Content-Length: 0

    ]]>
  </send>
  <nop>
    <action>
      <exec play_pcap_audio="${pcap}"/>
    </action>
  </nop>
  <pause milliseconds="${Math.round(holdMs)}"/>
  <send retrans="500">
    <![CDATA[

${head("BYE", "2 BYE")}
      Content-Length: 0

    ]]>
  </send>
  <recv response="200" crlf="true"/>
</scenario>
`;
  const path = join(benchTempDir("scn"), `uac_speech_turns_${pt}${o.telephoneEvent ? "_te" : ""}.xml`);
  writeFileSync(path, xml);
  return path;
}

// ---------------------------------------------------------------------------------------------------------------
// Daemon with speech

export interface SpeechDaemonOptions {
  silenceMs: number;
  /** demo.speechReply; undefined = the built-in reply sentence (warmed into the prompt cache at start). */
  reply?: string;
  maxCalls: number;
  bargeIn?: boolean;
  /** Default en-US. */
  language?: string;
  /** Default "off": the latency and concurrency figures are VAD + TTS (recognition adds ~5 ms per turn). */
  recognizer?: "auto" | "off";
}

/**
 * A daemon with Silero VAD and Pico TTS from ../shared/models (or SWITCHBOARD_SHARED_MODELS), English voice,
 * dead-air filler and idle prompts pushed out of the way (they would otherwise be measured as the reply), ready once
 * its prompt cache is warm.
 */
export async function startSpeechDaemon(o: SpeechDaemonOptions): Promise<{ d: DaemonHandle; engines: string }> {
  const d = await startDaemon({
    config: {
      log: { level: "info" },
      limits: { maxCalls: Math.max(50, o.maxCalls + 10) },
      models: { searchPaths: [sharedModelsDir] },
      demo: o.reply === undefined ? {} : { speechReply: o.reply },
      speech: {
        enabled: true, // test/peers/daemon.ts turns speech off by default
        language: o.language ?? "en-US",
        recognizer: o.recognizer ?? "off",
        bargeIn: { enabled: o.bargeIn ?? true },
        endpointing: { silenceMs: { default: o.silenceMs } },
        deadAir: { fillerAfterMs: 10_000, idlePromptAfterS: 300, hangupAfterS: 300 },
      },
    },
    readyTimeoutMs: 60_000,
    rtpPorts: Math.max(200, o.maxCalls * 2 + 20),
  });
  const line = await d.waitForLog((l) => l.msg === "speech engines", 60_000);
  const status = (line.speech ?? {}) as Record<string, string>;
  for (const stage of ["vad", "tts"]) {
    if (!status[stage] || /^(off|not installed|failed)/.test(status[stage])) {
      await d.stop();
      throw new Error(`speech stage ${stage} not loaded (${status[stage]}); is ${sharedModelsDir} there?`);
    }
  }
  await d.waitForLog((l) => l.msg === "prompt cache warm", 60_000);
  return {
    d,
    engines: Object.entries(status)
      .map(([k, v]) => `${k}: ${v}`)
      .join("; "),
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Processes and figures

/** CPU seconds of the daemon's main thread (the task whose id is the pid) and of all its threads. */
export function threadCpu(pid: number): { main: number; total: number } {
  return { main: procStat(`/proc/${pid}/task/${pid}/stat`).own, total: cpuSeconds(pid) };
}

/**
 * Seconds the daemon's main thread has spent runnable but waiting for a CPU (/proc/<pid>/task/<pid>/schedstat,
 * second field): when it grows, the cores are oversubscribed (by other work, sipp, or the daemon's own threads) and
 * every turn decision and synthesis step waits in the run queue.
 */
export function mainThreadWaitS(pid: number): number {
  try {
    return Number(readFileSync(`/proc/${pid}/task/${pid}/schedstat`, "utf8").split(" ")[1]) / 1e9;
  } catch {
    return Number.NaN;
  }
}

/** CPU seconds used so far by the live processes named `comm` below this process (e.g. sipp). */
export function childrenCpu(comms: string[]): number {
  const procs = procStats();
  const tree = new Set([process.pid]);
  for (let depth = 0; depth < 4; depth++) for (const p of procs) if (tree.has(p.ppid)) tree.add(p.pid);
  return procs
    .filter((p) => p.pid !== process.pid && tree.has(p.pid) && comms.includes(p.comm))
    .reduce((a, p) => a + p.own, 0);
}

/** Busy CPU seconds of the whole machine so far (all cores, from /proc/stat). */
export function machineBusyS(): number {
  const f = readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal: busy = all but idle and iowait
  const busy = f[0] + f[1] + f[2] + f[5] + f[6] + (f[7] ?? 0);
  return busy / clkTck;
}

interface ProcStat {
  pid: number;
  ppid: number;
  comm: string;
  /** Own CPU seconds plus those of children already reaped. */
  cpu: number;
  own: number;
}

function procStats(): ProcStat[] {
  const out: ProcStat[] = [];
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const st = procStat(`/proc/${d}/stat`);
      out.push({ pid: Number(d), ppid: st.ppid, comm: st.comm, own: st.own, cpu: st.own + st.children });
    } catch {
      /* exited meanwhile */
    }
  }
  return out;
}

/** CPU seconds of this process and everything below it, live or already reaped (daemon, sipp, tshark, dumpcap). */
export function treeCpuS(): number {
  const procs = procStats();
  const tree = new Set([process.pid]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const p of procs) {
      if (!tree.has(p.pid) && tree.has(p.ppid)) {
        tree.add(p.pid);
        grew = true;
      }
    }
  }
  return procs.filter((p) => tree.has(p.pid)).reduce((a, p) => a + p.cpu, 0);
}

/**
 * Measures, between start and stop, how many cores the whole machine kept busy and how much of that was not this
 * benchmark's process tree: other work on the box skews every figure, so the reports print it.
 */
export function loadMeter(): { stop(): { machine: number; foreign: number } } {
  const t0 = performance.now();
  const m0 = machineBusyS();
  const o0 = treeCpuS();
  return {
    stop() {
      const s = (performance.now() - t0) / 1000;
      const machine = (machineBusyS() - m0) / s;
      return { machine, foreign: Math.max(0, machine - (treeCpuS() - o0) / s) };
    },
  };
}

export interface Dist {
  n: number;
  p50: number;
  p95: number;
  max: number;
  min: number;
}

export function dist(xs: number[]): Dist {
  return {
    n: xs.length,
    p50: percentile(xs, 50),
    p95: percentile(xs, 95),
    max: xs.length ? Math.max(...xs) : Number.NaN,
    min: xs.length ? Math.min(...xs) : Number.NaN,
  };
}

export const ms = (v: number) => (Number.isFinite(v) ? `${Math.round(v)}` : "n/a");
export const fmtDist = (d: Dist) => `${ms(d.p50)} / ${ms(d.p95)} / ${ms(d.max)}`;

/** Hardware and tool versions for the header of a report. */
export function environment(): string {
  const v = (cmd: string, args: string[]) => {
    const r = spawnSync(cmd, args, { encoding: "utf8" });
    const line = `${r.stdout ?? ""}\n${r.stderr ?? ""}`.split("\n").find((l) => l.trim());
    return line?.trim() ?? `${cmd}: n/a`;
  };
  const cores = readFileSync("/proc/cpuinfo", "utf8").match(/^processor/gm)?.length ?? 0;
  return `node ${process.version}, ${cores} cores, ${v("sipp", ["-v"])}, ${v("tshark", ["-v"])}`;
}
