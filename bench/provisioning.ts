// Stick inserted -> configuration applied -> trunk registered. Per run: a fresh daemon without trunks, a real
// Kamailio registrar (digest), a signed bundle whose site config adds the Kamailio trunk, renamed into a temp mount
// root (the "insert"). Reported per run and as p50/max:
//   noticed     the daemon's poll saw the bundle (pollMs bounds it: the appliance default is 3000 ms)
//   applied     verified, swapped in, config file replaced, the daemon reloaded ("provisioning: bundle applied")
//   registered  the daemon logged the trunk registered at Kamailio
// The daemon's own provisioner does the work (config `provisioning` with the temp mount root, the trusted key at
// <dataDir>/provisioning/trusted.pub); the times come from the daemon's log lines. The reload hands the new trunk
// to the running SIP endpoint (SipEndpoint.setTrunks), so no restart is involved.
//   node --import tsx bench/provisioning.ts [--runs 5] [--poll-ms 3000] [--model-mb 0]
import { generateKeyPairSync } from "node:crypto";
import { mkdir, mkdtemp, readFile, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse, stringify } from "yaml";
import { provisioningDir, trustedKeyFile } from "../provisioning/apply.ts";
import { type BundleInput, makeBundle } from "../provisioning/make-bundle.ts";
import { syntheticModelBundle } from "../provisioning/testing/model-bundle.ts";
import { type DaemonHandle, type LogLine, startDaemon, stopAll } from "../test/peers/daemon.ts";
import { kamailioSkipReason, startKamailio } from "../test/peers/kamailio.ts";
import { freePort } from "../test/peers/ports.ts";
import { argNum, fmt, percentile } from "./lib/bench.ts";

const runs = argNum("runs", 5);
const pollMs = argNum("poll-ms", 3000);
const modelMb = argNum("model-mb", 0);
const skip = kamailioSkipReason();
if (skip) {
  console.log(`skipped: ${skip}`);
  process.exit(0);
}

const work = await mkdtemp(join(tmpdir(), "bench-provisioning-"));
const key = generateKeyPairSync("ed25519");
const kam = await startKamailio({ port: await freePort(), user: "agent", password: "secret123", maxExpires: 60 });
const rows: { noticed: number; applied: number; registered: number }[] = [];

const isProvisioned = (l: LogLine) =>
  l.msg === "provisioning: bundle applied" || l.msg === "provisioning: bundle rejected";
const isRegistered = (l: LogLine) => l.msg === "trunk registration" && l.trunk === "kam" && l.state === "registered";

async function oneRun(i: number): Promise<void> {
  const mount = join(work, `media-${i}`);
  await mkdir(mount);
  const dataDir = join(work, `data-${i}`);
  await mkdir(provisioningDir(dataDir), { recursive: true });
  await writeFile(trustedKeyFile(dataDir), key.publicKey.export({ type: "spki", format: "pem" }));
  const d: DaemonHandle = await startDaemon({
    dataDir,
    config: { log: { level: "info" }, provisioning: { mountRoots: [mount], pollMs, deviceId: "bench-box" } },
    readyTimeoutMs: 30_000,
  });

  // The site config: the daemon's own config (provisioning section included) plus the trunk at Kamailio.
  const src = join(work, `src-${i}`);
  await mkdir(src);
  const site = parse(await readFile(d.configPath, "utf8")) as Record<string, unknown>;
  site.trunks = [
    {
      id: "kam",
      domain: "127.0.0.1",
      registrar: `sip:127.0.0.1:${kam.port}`,
      username: "agent",
      password: "secret123",
      expiresS: 60,
    },
  ];
  await writeFile(join(src, "site.yaml"), stringify(site));
  const files: BundleInput[] = [{ role: "site-config", source: join(src, "site.yaml") }];
  if (modelMb > 0) {
    await syntheticModelBundle(join(src, "model.tar"), "bench-model", `1.0.${i}`, modelMb * 2 ** 20);
    files.push({ role: "model-bundle", source: join(src, "model.tar") });
  }
  const built = join(src, "switchboard-bundle.tar");
  await makeBundle(built, {
    privateKey: key.privateKey,
    target: { deviceId: "bench-box" },
    version: 1,
    expiresAt: new Date(Date.now() + 3_600_000),
    files,
  });

  // The insert: the stick's directory appears with the bundle on it, all at once.
  const stick = join(work, `stick-${i}`);
  await mkdir(stick);
  await rename(built, join(stick, "switchboard-bundle.tar"));
  // Anywhere within a poll interval, as a real stick would be.
  await new Promise((r) => setTimeout(r, Math.random() * pollMs));
  const t0 = performance.now();
  const t0Wall = Date.now();
  await rename(stick, join(mount, "STICK"));
  const done = await d.waitForLog(isProvisioned, 60_000 + pollMs);
  const appliedAt = performance.now();
  if (done.msg !== "provisioning: bundle applied") throw new Error(`run ${i}: provisioning failed: ${done.reason}`);
  const restartNeeded = Array.isArray(done.restartNeeded) ? (done.restartNeeded as string[]) : [];
  // The daemon's own timestamps (same clock) place "noticed" between the insert and "applied".
  const found = d.logs().find((l) => l.msg === "provisioning: bundle found, applying");
  const noticedMs = typeof found?.time === "number" ? found.time - t0Wall : Number.NaN;

  // New models are used after a restart; the trunk must not need one.
  const blocking = restartNeeded.filter((k) => k !== "models");
  if (blocking.length > 0) throw new Error(`run ${i}: the reload wants a restart for ${blocking.join(", ")}`);
  await d.waitForLog(isRegistered, 30_000);
  const registeredAt = performance.now();
  await d.stop();
  rows.push({ noticed: noticedMs, applied: appliedAt - t0, registered: registeredAt - t0 });
  const r = rows[rows.length - 1];
  console.log(
    `run ${i + 1}: noticed ${fmt(r.noticed, 0)} ms, applied ${fmt(r.applied, 0)} ms, trunk registered ${fmt(r.registered, 0)} ms`,
  );
}

try {
  console.log(`poll interval ${pollMs} ms, model bundle ${modelMb} MB, ${runs} run(s), Kamailio on ${kam.port}`);
  for (let i = 0; i < runs; i++) await oneRun(i);
  const col = (k: keyof (typeof rows)[number]) => rows.map((r) => r[k]);
  for (const k of ["noticed", "applied", "registered"] as const)
    console.log(
      `stick inserted -> ${k}`.padEnd(28) +
        ` p50=${fmt(percentile(col(k), 50), 0)} ms max=${fmt(Math.max(...col(k)), 0)} ms`,
    );
} finally {
  await stopAll();
  await kam.stop();
  await rm(work, { recursive: true, force: true });
}
