// SIP over TLS cost on loopback: connection set-up (TCP connect vs TLS handshake, ECDSA P-256 self-signed server
// certificate, verified by the client), CPU per handshake (client + server, both in this process), and OPTIONS
// round-trips over an established TLS connection vs TCP, against a live SipEndpoint.
//   node --import tsx bench/sip-tls.ts [--connects 50] [--requests 500]
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { TLSSocket } from "node:tls";
import { sipSchema } from "../daemon/config/schema.ts";
import { silentLog } from "../daemon/ops/log.ts";
import { SipEndpoint } from "../daemon/sip/endpoint.ts";
import { loadSipTls } from "../daemon/sip/tls.ts";
import { type SendTarget, SipTransport, type StreamFactory, tcpFactory } from "../daemon/sip/transport.ts";
import { argNum, fmt, percentile } from "./lib/bench.ts";

const connects = argNum("connects", 50);
const requests = argNum("requests", 500);
const dataDir = mkdtempSync(join(tmpdir(), "sb-bench-siptls-"));

const serverTls = await loadSipTls({ ca: [], verifyServer: true }, dataDir, silentLog);
const clientTls = await loadSipTls({ ca: [serverTls.certFile], verifyServer: true }, dataDir, silentLog);
const sip = sipSchema.parse({
  listen: [
    { transport: "tcp", address: "127.0.0.1", port: 0 },
    { transport: "tls", address: "127.0.0.1", port: 0 },
  ],
});
const ep = new SipEndpoint({ sip, trunks: [], log: silentLog, streams: { tls: serverTls.factory } });
const bound = await ep.start();
const portOf = (t: "tcp" | "tls") => bound.find((b) => b.transport === t)?.port ?? 0;

/** Time from connect() to a socket ready for SIP, `n` times; CPU (user + system) of the whole process per connect. */
async function setup(factory: StreamFactory, target: SendTarget, n: number) {
  const ms: number[] = [];
  let protocol = "";
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await new Promise<void>((resolve, reject) => {
      const sock = factory.connect(target, () => {
        ms.push(performance.now() - t0);
        if (sock instanceof TLSSocket) protocol = sock.getProtocol() ?? "";
        sock.destroy();
        resolve();
      });
      sock.once("error", reject);
    });
  }
  const cpu = process.cpuUsage(cpu0);
  return { ms, protocol, cpuMsPer: (cpu.user + cpu.system) / 1000 / n };
}

/** Sequential OPTIONS over one stream connection (made before timing starts); round-trip times in ms. */
async function roundTrips(factory: StreamFactory, target: SendTarget, n: number): Promise<number[]> {
  let waiting: ((callId: string) => void) | undefined;
  const client = new SipTransport({
    listen: [],
    maxMessageBytes: 65535,
    log: silentLog,
    streams: { [target.transport]: factory },
    handlers: {
      message: (data) => waiting?.(/\r\ncall-id:\s*(\S+)/i.exec(data.toString("latin1"))?.[1] ?? ""),
      oversize: () => {},
    },
  });
  await client.start();
  const proto = target.transport.toUpperCase();
  const one = async (i: number): Promise<number> => {
    const callId = `bench-${target.transport}-${i}`;
    const req = [
      `OPTIONS sip:health@127.0.0.1:${target.port};transport=${target.transport} SIP/2.0`,
      `Via: SIP/2.0/${proto} 127.0.0.1:5999;branch=z9hG4bK-${callId};rport`,
      "Max-Forwards: 70",
      `From: <sip:bench@127.0.0.1>;tag=b${i}`,
      "To: <sip:health@127.0.0.1>",
      `Call-ID: ${callId}`,
      "CSeq: 1 OPTIONS",
      "Content-Length: 0",
      "",
      "",
    ].join("\r\n");
    const t0 = performance.now();
    const answered = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no answer to ${callId}`)), 5000);
      waiting = (id) => {
        if (id !== callId) return;
        clearTimeout(timer);
        resolve();
      };
    });
    await client.send(req, target);
    await answered;
    return performance.now() - t0;
  };
  try {
    for (let i = 0; i < 20; i++) await one(-1 - i); // connect + warm up, not counted
    const ms: number[] = [];
    for (let i = 0; i < n; i++) ms.push(await one(i));
    return ms;
  } finally {
    await client.stop();
  }
}

try {
  const tcpTarget: SendTarget = { transport: "tcp", address: "127.0.0.1", port: portOf("tcp") };
  const tlsTarget: SendTarget = {
    transport: "tls",
    address: "127.0.0.1",
    port: portOf("tls"),
    serverName: "localhost",
  };
  await setup(clientTls.factory, tlsTarget, 5); // warm-up
  const tcpSetup = await setup(tcpFactory, tcpTarget, connects);
  const tlsSetup = await setup(clientTls.factory, tlsTarget, connects);
  // Both once untimed first: the first run otherwise pays for JIT warm-up of the SIP parser and endpoint.
  await roundTrips(tcpFactory, tcpTarget, 200);
  await roundTrips(clientTls.factory, tlsTarget, 200);
  const tcpRtt = await roundTrips(tcpFactory, tcpTarget, requests);
  const tlsRtt = await roundTrips(clientTls.factory, tlsTarget, requests);

  const row = (what: string, n: number, xs: number[], extra = "") =>
    `${what.padEnd(34)} ${String(n).padStart(5)} ${fmt(percentile(xs, 50), 3).padStart(9)} ${fmt(percentile(xs, 99), 3).padStart(9)} ${extra}`;
  console.log(
    `SIP over TLS on loopback (node ${process.version}, server cert ECDSA P-256, client verifies chain + name)`,
  );
  console.log(
    `${"".padEnd(34)} ${"n".padStart(5)} ${"p50 ms".padStart(9)} ${"p99 ms".padStart(9)} cpu/conn (client+server)`,
  );
  console.log(row("connection set-up, TCP", connects, tcpSetup.ms, `${fmt(tcpSetup.cpuMsPer, 2)} ms`));
  console.log(row(`connection set-up, ${tlsSetup.protocol}`, connects, tlsSetup.ms, `${fmt(tlsSetup.cpuMsPer, 2)} ms`));
  console.log(row("OPTIONS round-trip, TCP", requests, tcpRtt));
  console.log(row("OPTIONS round-trip, TLS", requests, tlsRtt));
  console.log(
    `TLS handshake CPU beyond a TCP connect: ${fmt(tlsSetup.cpuMsPer - tcpSetup.cpuMsPer, 2)} ms per connection ` +
      `(≈ ${fmt(1000 / Math.max(0.001, tlsSetup.cpuMsPer), 0)} handshakes per CPU-second, both ends counted)`,
  );
} finally {
  await ep.stop();
  rmSync(dataDir, { recursive: true, force: true });
}
