// Benchmark (not a test): N sessions in one MediaEngine send a G.711 tone to a reflector process on loopback and
// receive it back through the jitter buffer, for ~15 s. Prints CPU of this process (main + media worker),
// media-clock lateness and lost frames. With --srtp every session is SRTP (the reflector echoes our own packets, so
// the answer announces our own key: each packet is encrypted, then authenticated and decrypted on the way back).
//   node --import tsx bench/media-clock.ts [--calls 200] [--seconds 15] [--codec PCMA|PCMU|G722] [--listen] [--srtp]
import { spawn } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { mediaSchema } from "../daemon/config/schema.ts";
import { MediaEngine } from "../daemon/media/engine.ts";
import type { MediaSession } from "../daemon/media/types.ts";
import { silentLog } from "../daemon/ops/log.ts";

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] && !process.argv[i + 1].startsWith("--") ? process.argv[i + 1] : def;
}
const calls = Number(arg("calls", "200"));
const seconds = Number(arg("seconds", "15"));
const codec = arg("codec", "PCMA") as "PCMA" | "PCMU" | "G722";
const listen = process.argv.includes("--listen");
const srtp = process.argv.includes("--srtp");
const REFLECT_BASE = 40000;

const reflector = spawn(
  process.execPath,
  [
    "--import",
    "tsx",
    fileURLToPath(new URL("./media-reflector.ts", import.meta.url)),
    String(calls),
    String(REFLECT_BASE),
  ],
  { stdio: ["pipe", "pipe", "inherit"] },
);
await once(reflector.stdout, "data");

const media = mediaSchema.parse({
  rtpAddress: "127.0.0.1",
  rtpPortMin: 30000,
  rtpPortMax: 30000 + calls * 2 + 10,
  codecs: [codec],
  rtpTimeoutS: 0,
});
const engine = await MediaEngine.start({ media, log: silentLog });
const sessions: MediaSession[] = [];
for (let i = 0; i < calls; i++) {
  const s = await engine.allocate({ srtp: srtp ? "mandatory" : "off" });
  const offer = s.offer();
  const crypto = /^a=crypto:.*$/m.exec(offer)?.[0];
  const pt = codec === "PCMU" ? 0 : codec === "PCMA" ? 8 : 9;
  const answer = [
    "v=0",
    "o=- 1 1 IN IP4 127.0.0.1",
    "s=-",
    "c=IN IP4 127.0.0.1",
    "t=0 0",
    `m=audio ${REFLECT_BASE + 2 * i} ${srtp ? "RTP/SAVP" : "RTP/AVP"} ${pt} 101`,
    ...(srtp && crypto ? [crypto] : []),
    `a=rtpmap:${pt} ${codec}/8000`,
    "a=rtpmap:101 telephone-event/8000",
    "a=ptime:20",
    "",
  ].join("\r\n");
  if (!s.applyAnswer(answer)) throw new Error("answer rejected");
  if (listen) {
    s.listen(true);
    s.on("audio", () => undefined);
  }
  void s.play({ tone: { frequencies: [440 + (i % 50) * 10], durationMs: (seconds + 5) * 1000 } });
  sessions.push(s);
}

// let the streams settle, then measure a clean window
await new Promise((r) => setTimeout(r, 1000));
const before = await engine.stats({ reset: true });
const cpu0 = process.cpuUsage();
const t0 = performance.now();
await new Promise((r) => setTimeout(r, seconds * 1000));
const cpu = process.cpuUsage(cpu0);
const wall = (performance.now() - t0) / 1000;
const after = await engine.stats();

let sent = 0;
let received = 0;
let lost = 0;
let concealed = 0;
let authFailed = 0;
for (const s of sessions) {
  const st = await s.stats();
  authFailed += st.srtpAuthFailed ?? 0;
  sent += st.packetsSent;
  received += st.packetsReceived;
  lost += st.packetsLost;
  concealed += st.framesConcealed;
}
const result = {
  calls,
  codec,
  listen,
  srtp,
  wallS: +wall.toFixed(1),
  cpuPctOfOneCore: +(((cpu.user + cpu.system) / 1e6 / wall) * 100).toFixed(1),
  latenessMs: { p50: after.latenessP50Ms, p99: after.latenessP99Ms, max: after.latenessMaxMs },
  ticksInWindow: after.ticks - before.ticks,
  framesMissed: after.framesMissed,
  packetsSent: sent,
  packetsReceived: received,
  packetsLost: lost,
  framesConcealed: concealed,
  srtpAuthFailed: authFailed,
};
console.log(JSON.stringify(result));
for (const s of sessions) await s.close();
await engine.stop();
reflector.stdin?.end();
reflector.kill();
process.exit(0);
