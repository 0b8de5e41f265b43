// Benchmark (not a test): sync round-trip time between the box's client and the reference master server, which runs
// as its own process on 127.0.0.1 (real HTTPS with the pinned certificate, signed requests). Two figures:
//   unchanged poll  GET with If-None-Match -> 304 (what a box costs the master while nothing changes)
//   changed config  GET -> 200 with a new signed document -> verify signature -> parse + validate with the daemon's
//                   loader -> apply() callback (here: atomic write of the config file, as the daemon's path does)
// Each request opens a new TLS connection (the client keeps none alive on purpose), so the figures include the handshake.
//   npm run bench -- master-sync [--polls 300] [--changes 100]
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { writeFileAtomic } from "../daemon/config/atomic-write.ts";
import { masterConfigSchema } from "../provisioning/master-config.ts";
import { MasterStore } from "../provisioning/master-server/store.ts";
import { MasterSync } from "../provisioning/master-sync.ts";
import { argNum, percentile } from "./lib/bench.ts";

const polls = argNum("polls", 300);
const changes = argNum("changes", 100);
const repo = new URL("..", import.meta.url).pathname;
const work = mkdtempSync(join(tmpdir(), "bench-master-sync-"));
const masterDir = join(work, "master");
const store = await MasterStore.open(masterDir);

const server = spawn(
  process.execPath,
  ["--import", "tsx", join(repo, "provisioning/master-server/main.ts"), "--data", masterDir, "--port", "0"],
  { stdio: ["ignore", "pipe", "inherit"] },
);
const url = await new Promise<string>((resolve, reject) => {
  let out = "";
  server.stdout.setEncoding("utf8");
  server.stdout.on("data", (c: string) => {
    out += c;
    const line = out.split("\n").find((l) => l.includes('"master listening"'));
    if (line) resolve((JSON.parse(line) as { url: string }).url);
  });
  server.once("exit", (code) => reject(new Error(`master exited (${code}): ${out}`)));
});

try {
  const site = readFileSync(join(repo, "examples/demo.yaml"), "utf8");
  const dataDir = join(work, "box");
  const configFile = join(work, "switchboard.yaml");
  const sync = new MasterSync({
    dataDir,
    settings: masterConfigSchema.parse({ longPollS: 0 }),
    softwareVersion: "bench",
    bundle: store.bundleFile(url, store.addToken({ deviceId: "box-bench" })),
    apply: async (text) => writeFileAtomic(configFile, text),
  });
  await sync.enroll();
  store.publish("box-bench", site);
  await sync.pollOnce();

  const unchanged: number[] = [];
  for (let i = 0; i < polls; i++) {
    const t0 = performance.now();
    const o = await sync.pollOnce();
    unchanged.push(performance.now() - t0);
    if (o.kind !== "unchanged") throw new Error(`expected 304, got ${o.kind}`);
  }
  const changed: number[] = [];
  for (let i = 0; i < changes; i++) {
    store.publish("box-bench", `${site}\n# revision ${i}\n`);
    const t0 = performance.now();
    const o = await sync.pollOnce();
    changed.push(performance.now() - t0);
    if (o.kind !== "applied") throw new Error(`expected a new document applied, got ${JSON.stringify(o)}`);
  }
  const row = (name: string, xs: number[]) =>
    console.log(
      `${name.padEnd(16)} n=${String(xs.length).padStart(4)}  p50 ${percentile(xs, 50).toFixed(2)} ms  ` +
        `p99 ${percentile(xs, 99).toFixed(2)} ms  max ${Math.max(...xs).toFixed(2)} ms`,
    );
  console.log(`master sync round trip, 127.0.0.1, config document ${Buffer.byteLength(site)} bytes of YAML`);
  row("unchanged (304)", unchanged);
  row("changed (200)", changed);
} finally {
  server.kill("SIGTERM");
  rmSync(work, { recursive: true, force: true });
}
