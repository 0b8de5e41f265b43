// Benchmark (not a test): CPU cost of SDES-SRTP (AES_CM_128_HMAC_SHA1_80) per packet in the media worker, protect
// (what every sent packet pays) and unprotect (index, replay window, HMAC, decrypt), for a 20 ms PCMA and a 20 ms
// G.722 payload (both 160 bytes) and a typical compound RTCP report, against plain RTP (de)serialization. Prints µs
// per packet (best round: other load on the box only adds; the median is printed too), the share of one core a call
// costs at 50 packets/s each way, and packets/s per core.
//   npm run bench -- srtp [--packets 20000] [--rounds 7]
import { randomBytes } from "node:crypto";
import { ProtectionProfileAes128CmHmacSha1_80, RtpHeader, RtpPacket, SrtcpSession, SrtpSession } from "werift";
import { SrtpContext } from "../daemon/media/srtp.ts";
import { argNum, percentile } from "./lib/bench.ts";

const packets = argNum("packets", 20000);
const rounds = argNum("rounds", 7);
const PPS = 50; // 20 ms packets, each way

const ours = randomBytes(30);
const theirs = randomBytes(30);
const keys = {
  suite: "AES_CM_128_HMAC_SHA1_80" as const,
  localKey: ours.toString("base64"),
  remoteKey: theirs.toString("base64"),
};
// the far end, as an independent werift session: it makes the packets we unprotect
const peerConfig = {
  keys: {
    localMasterKey: theirs.subarray(0, 16),
    localMasterSalt: theirs.subarray(16),
    remoteMasterKey: ours.subarray(0, 16),
    remoteMasterSalt: ours.subarray(16),
  },
  profile: ProtectionProfileAes128CmHmacSha1_80,
};

interface Cost {
  best: number;
  median: number;
}

/** µs per call of `op(i)` over `packets` calls, best and median round after one warm-up; `fresh` runs before each. */
function usPer(op: (i: number) => unknown, fresh: () => void = () => undefined): Cost {
  const per: number[] = [];
  for (let r = 0; r <= rounds; r++) {
    fresh();
    const t0 = performance.now();
    for (let i = 0; i < packets; i++) op(i);
    if (r > 0) per.push(((performance.now() - t0) * 1000) / packets);
  }
  return { best: Math.min(...per), median: percentile(per, 50) };
}

const header = (i: number, pt: number) =>
  new RtpHeader({ payloadType: pt, sequenceNumber: i & 0xffff, timestamp: (i * 160) >>> 0, ssrc: 0x1234 });

interface Row {
  what: string;
  protect: Cost;
  unprotect: Cost;
}
const rows: Row[] = [];
const plainRows: Row[] = [];

for (const [codec, pt] of [
  ["PCMA", 8],
  ["G722", 9],
] as const) {
  const payload = randomBytes(160); // codec bytes are opaque to SRTP: only the size matters
  const plain = Array.from({ length: packets }, (_, i) => new RtpPacket(header(i, pt), payload).serialize());
  const peer = new SrtpSession(peerConfig);
  const wire = Array.from({ length: packets }, (_, i) => peer.encrypt(payload, header(i, pt)));
  let ctx = new SrtpContext(keys);
  // a fresh context per round: each round is a new stream, so the replay window takes every packet
  const protect = usPer(
    (i) => ctx.protectRtp(plain[i]),
    () => {
      ctx = new SrtpContext(keys);
    },
  );
  const unprotect = usPer(
    (i) => {
      if (!ctx.unprotectRtp(wire[i])) throw new Error("bench packet failed authentication");
    },
    () => {
      ctx = new SrtpContext(keys);
    },
  );
  rows.push({ what: `SRTP ${codec} 20 ms (${plain[0].length} -> ${wire[0].length} B)`, protect, unprotect });
  plainRows.push({
    what: `plain RTP ${codec} (serialize / deSerialize)`,
    protect: usPer((i) => new RtpPacket(header(i, pt), payload).serialize()),
    unprotect: usPer((i) => RtpPacket.deSerialize(plain[i])),
  });
}

// RTCP: SR + one report block + SDES CNAME, about what rtcp.ts sends every ~5 s
{
  const rtcp = Buffer.alloc(84);
  rtcp[0] = 0x81;
  rtcp[1] = 200;
  rtcp.writeUInt16BE(12, 2);
  rtcp.writeUInt32BE(0x1234, 4);
  const peer = new SrtcpSession(peerConfig);
  const wire = Array.from({ length: packets }, () => peer.encrypt(rtcp));
  let ctx = new SrtpContext(keys);
  const fresh = () => {
    ctx = new SrtpContext(keys);
  };
  rows.push({
    what: `SRTCP report (${rtcp.length} -> ${wire[0].length} B)`,
    protect: usPer(() => ctx.protectRtcp(rtcp), fresh),
    unprotect: usPer((i) => ctx.unprotectRtcp(wire[i]), fresh),
  });
}

const f = (x: number, d = 2) => x.toFixed(d).padStart(7);
const c = (x: Cost) => `${f(x.best)} (${f(x.median)})`;
const w = 44;
console.log(
  `srtp: ${packets} packets x ${rounds} rounds, Node ${process.version}, one thread; µs per packet, best (median)`,
);
console.log(
  `${"".padEnd(w)} ${"protect".padEnd(17)} ${"unprotect".padEnd(17)} ${"call CPU".padStart(8)}   pkt/s/core prot / unprot`,
);
for (const r of [...rows, ...plainRows]) {
  // a call sends PPS and receives PPS packets per second
  const callShare = ((r.protect.best + r.unprotect.best) * PPS) / 1e6;
  const perCall = r.what.startsWith("SRTCP") ? "       -" : `${f(callShare * 100, 3)}%`;
  console.log(
    `${r.what.padEnd(w)} ${c(r.protect)} ${c(r.unprotect)} ${perCall}   ` +
      `${Math.round(1e6 / r.protect.best).toLocaleString("en")} / ${Math.round(1e6 / r.unprotect.best).toLocaleString("en")}`,
  );
}
const pair = (r: Row) => r.protect.best + r.unprotect.best;
const extra = pair(rows[0]) - pair(plainRows[0]);
console.log(
  `call CPU = (protect + unprotect) x ${PPS} packets/s each way, share of one core (best rounds). SRTP adds ` +
    `~${extra.toFixed(1)} µs per sent+received packet over plain RTP (PCMA): ~${((extra * PPS) / 1e4).toFixed(3)} % ` +
    `of a core per call; ${Math.floor(1e6 / (PPS * pair(rows[0])))} calls' SRTP fill one core.`,
);
