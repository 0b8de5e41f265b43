// Bench helper: a UDP reflector in its own process (so its CPU is not counted against the engine). One socket per
// stream on basePort + 2i; every datagram goes straight back to where it came from.
import dgram from "node:dgram";

const n = Number(process.argv[2] ?? 200);
const base = Number(process.argv[3] ?? 40000);
const sockets: dgram.Socket[] = [];
for (let i = 0; i < n; i++) {
  const s = dgram.createSocket("udp4");
  s.on("message", (b, r) => s.send(b, r.port, r.address));
  await new Promise<void>((r) => s.bind(base + 2 * i, "127.0.0.1", r));
  sockets.push(s);
}
process.stdout.write("ready\n");
process.stdin.on("end", () => process.exit(0));
process.stdin.resume();
