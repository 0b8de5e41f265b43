// The box against the reference master server, over real HTTPS on 127.0.0.1: enrollment from a provisioned bundle,
// signed config documents pulled (long-poll, ETag) and applied, every forged document refused, offline with backoff
// and back again; and the capture test: a day of sipp calls through the real daemon while the daemon itself syncs and
// reports every second, after which nothing the master ever received contains any of that call data.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import Database from "better-sqlite3";
import { parse, stringify } from "yaml";
import { applyBundle } from "../provisioning/apply.ts";
import { makeBundle } from "../provisioning/make-bundle.ts";
import { type MasterConfig, masterConfigSchema } from "../provisioning/master-config.ts";
import { type RunningMaster, startMasterServer } from "../provisioning/master-server/server.ts";
import { type LoggedRequest, MasterStore } from "../provisioning/master-server/store.ts";
import {
  HEADER_DEVICE,
  type MasterBundle,
  MasterSync,
  masterBundleSchema,
  masterRequest,
  type PollOutcome,
  statusReportSchema,
} from "../provisioning/master-sync.ts";
import {
  pcapDir,
  repoRoot,
  runSipp,
  sippDetail,
  skipUnlessPeers,
  spawnTracked,
  startDaemon,
  stopAll,
} from "./peers/daemon.ts";

const work = await mkdtemp(join(tmpdir(), "master-sync-"));
after(async () => {
  await stopAll();
  if (process.env.KEEP_TEST_DIRS !== "1") await rm(work, { recursive: true, force: true });
});

const installer = generateKeyPairSync("ed25519");
const siteYaml = readFileSync(join(repoRoot, "examples/demo.yaml"), "utf8");
const configV = (n: number) => `${siteYaml}\n# master config v${n}\n`;
let boxes = 0;

/** A data dir provisioned the installer's way: a signed bundle with a `master` file, applied. */
async function provisionedBox(master: MasterBundle, dataDir?: string): Promise<string> {
  const n = ++boxes;
  const dir = join(work, `box-${n}`);
  const data = dataDir ?? join(dir, "data");
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, "master.json"), JSON.stringify(master));
  await writeFile(join(dir, "site.yaml"), siteYaml);
  const bundle = join(dir, "switchboard-bundle.tar");
  await makeBundle(bundle, {
    privateKey: installer.privateKey,
    target: { deviceId: `box-${n}` },
    version: 1,
    expiresAt: new Date(Date.now() + 86_400_000),
    files: [
      { role: "site-config", source: join(dir, "site.yaml") },
      { role: "master", source: join(dir, "master.json") },
    ],
  });
  const r = await applyBundle(bundle, {
    dataDir: data,
    publicKey: installer.publicKey,
    device: { deviceId: `box-${n}` },
    writeReport: false,
  });
  assert.ok(r.ok, JSON.stringify(r));
  return data;
}

const settings = (over: Partial<MasterConfig> = {}): MasterConfig =>
  masterConfigSchema.parse({
    longPollS: 0,
    pollS: 0,
    backoffMinS: 0.05,
    backoffMaxS: 0.2,
    requestTimeoutS: 5,
    ...over,
  });

/** A client whose apply writes the config file (as the daemon's path does) and records what it got. */
function client(dataDir: string, opts: { failApply?: () => boolean; over?: Partial<MasterConfig> } = {}) {
  const applied: string[] = [];
  const configFile = join(dataDir, "switchboard.yaml");
  const sync = new MasterSync({
    dataDir,
    settings: settings(opts.over),
    softwareVersion: "0.1.0",
    random: () => 1,
    health: async () => ({ cpuLoadPct: 12.5, memUsedPct: 40, diskFreePct: 70, warnings: [] }),
    apply: async (text) => {
      if (opts.failApply?.()) throw new Error("daemon refused: agents did not compile");
      writeFileSync(configFile, text);
      applied.push(text);
    },
  });
  return { sync, applied, configFile };
}

function nextEvent<T extends unknown[]>(
  sync: MasterSync,
  name: "poll" | "offline" | "online" | "status",
  pred: (...args: T) => boolean = () => true,
  timeoutMs = 20_000,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => {
      sync.off(name, on);
      reject(new Error(`no "${name}" event within ${timeoutMs} ms`));
    }, timeoutMs);
    const on = (...args: unknown[]) => {
      if (!pred(...(args as T))) return;
      clearTimeout(t);
      sync.off(name, on);
      resolve(args as T);
    };
    sync.on(name, on);
  });
}

describe("master sync against the reference server", () => {
  let store: MasterStore;
  let master: RunningMaster;
  before(async () => {
    store = await MasterStore.open(join(work, "master"));
    master = await startMasterServer({ store });
  });
  after(() => master.close());

  it("enrolls with the bundle's token once; the device key stays on the box (0600)", async () => {
    const bundle = store.bundleFile(master.url, store.addToken({ deviceId: "box-enroll" }));
    const data = await provisionedBox(bundle);
    const { sync } = client(data);
    assert.equal(await sync.enroll(), "box-enroll");
    assert.equal(await sync.enroll(), "box-enroll", "a second call uses the stored identity");
    assert.equal(statSync(join(data, "master/device.key")).mode & 0o777, 0o600);
    const devKey = readFileSync(join(data, "master/device.key"), "utf8");
    assert.ok(store.device("box-enroll")?.publicKey.includes("BEGIN PUBLIC KEY"));
    for (const r of store.requestLog())
      assert.ok(!JSON.stringify(r).includes(devKey.split("\n")[1]), "the private key never reaches the master");
    // The log never holds the token itself.
    assert.ok(!readFileSync(store.requestLogFile, "utf8").includes(bundle.enrollmentToken));

    const again = client(await provisionedBox(bundle)).sync;
    await assert.rejects(again.enroll(), /enrollment refused: 401 body.token: enrollment token already used/);
    const expired = store.bundleFile(master.url, store.addToken({ ttlMs: -1000 }));
    await assert.rejects(client(await provisionedBox(expired)).sync.enroll(), /enrollment token expired/);
  });

  it("pulls a signed document, applies it, then gets 304 until a new version; long-poll wakes on publish", async () => {
    const data = await provisionedBox(store.bundleFile(master.url, store.addToken({ deviceId: "box-pull" })));
    const { sync, applied, configFile } = client(data);
    assert.deepEqual(await sync.pollOnce(), { kind: "nothing-published" });
    store.publish("box-pull", configV(1));
    assert.deepEqual(await sync.pollOnce(), { kind: "applied", version: 1 });
    assert.equal(readFileSync(configFile, "utf8"), configV(1));
    assert.deepEqual(await sync.pollOnce(), { kind: "unchanged" });
    assert.equal(applied.length, 1);

    const held = sync.pollOnce(30);
    await new Promise((r) => setTimeout(r, 300));
    store.publish("box-pull", configV(2));
    assert.deepEqual(await held, { kind: "applied", version: 2 });
    assert.equal(readFileSync(configFile, "utf8"), configV(2));

    const report = await sync.reportStatus();
    const got = store.lastStatus("box-pull")?.report;
    assert.deepEqual(got, report);
    assert.deepEqual(Object.keys(got ?? {}).sort(), ["applyStatus", "configVersion", "deviceId", "health", "version"]);
    assert.equal(got?.configVersion, 2);
    assert.equal(got?.applyStatus.state, "applied");
  });

  it("refuses tampered, unsigned, wrong-key, replayed and invalid documents, and a failed apply changes nothing", async () => {
    const data = await provisionedBox(store.bundleFile(master.url, store.addToken({ deviceId: "box-forged" })));
    let failApply = false;
    const { sync, applied, configFile } = client(data, { failApply: () => failApply });
    store.publish("box-forged", configV(1));
    assert.equal((await sync.pollOnce()).kind, "applied");
    const good = readFileSync(configFile, "utf8");
    const rejected = (o: PollOutcome) =>
      o.kind === "rejected" ? `${o.where}: ${o.reason}` : `not rejected: ${o.kind}`;

    store.publish("box-forged", configV(2));
    const docFile = join(store.dir, "configs/box-forged.json");
    writeFileSync(docFile, readFileSync(docFile, "utf8").replace("master config v2", "master config v9"));
    assert.match(rejected(await sync.pollOnce()), /signature does not match/);

    store.publish("box-forged", configV(3), { unsigned: true });
    assert.match(rejected(await sync.pollOnce()), /document is not signed/);

    store.publish("box-forged", configV(4), { signWith: generateKeyPairSync("ed25519").privateKey });
    assert.match(rejected(await sync.pollOnce()), /signature does not match/);

    store.publish("box-forged", configV(1), { version: 1 }); // an old version, properly signed: a replay
    assert.match(rejected(await sync.pollOnce()), /version 1 is not above the applied version 1/);

    store.publish("box-forged", `${siteYaml}\nnotAKey: 1\n`, { version: 6 });
    assert.match(rejected(await sync.pollOnce()), /document.config:\d+:\d+: notAKey: unknown key/);

    failApply = true;
    store.publish("box-forged", configV(7), { version: 7 });
    const failed = await sync.pollOnce();
    assert.equal(failed.kind, "failed");

    assert.equal(applied.length, 1, "only the first document reached apply()");
    assert.equal(readFileSync(configFile, "utf8"), good);
    assert.equal(sync.syncState.configVersion, 1);
    const report = await sync.reportStatus();
    assert.equal(report.applyStatus.state, "failed");
    assert.match(report.applyStatus.reason ?? "", /agents did not compile/);

    failApply = false;
    store.publish("box-forged", configV(8), { version: 8 });
    assert.deepEqual(await sync.pollOnce(), { kind: "applied", version: 8 });
  });

  it("pins the certificate: another server's certificate gets no request at all", async () => {
    const other = await MasterStore.open(join(work, "other-master"));
    const before = store.requestLog().length;
    await assert.rejects(
      masterRequest(
        { url: master.url, certFingerprint: other.tls.fingerprint },
        {
          method: "GET",
          path: "/v1/devices/x/config",
          timeoutMs: 5000,
        },
      ),
      /is not the pinned/,
    );
    assert.equal(store.requestLog().length, before);
  });

  it("answers bad and unsigned requests with a clear error naming the place", async () => {
    const ep = { url: master.url, certFingerprint: store.tls.fingerprint };
    const bad = await masterRequest(ep, {
      method: "POST",
      path: "/v1/enroll",
      body: Buffer.from("{"),
      timeoutMs: 5000,
    });
    assert.equal(bad.status, 400);
    assert.deepEqual(JSON.parse(bad.body.toString()), { error: "body is not JSON", where: "body" });
    const unsigned = await masterRequest(ep, {
      method: "GET",
      path: "/v1/devices/box-pull/config",
      headers: { [HEADER_DEVICE]: "box-pull" },
      timeoutMs: 5000,
    });
    assert.equal(unsigned.status, 401);
    assert.equal(JSON.parse(unsigned.body.toString()).where, "x-switchboard-time");
  });

  it("offline: keeps the last good config and backs off; back online: resumes and gets the new version", async () => {
    const data = await provisionedBox(store.bundleFile(master.url, store.addToken({ deviceId: "box-offline" })));
    const { sync, configFile } = client(data, { over: { longPollS: 1, statusS: 3600 } });
    store.publish("box-offline", configV(1));
    sync.start();
    try {
      await nextEvent<[PollOutcome]>(sync, "poll", (o) => o.kind === "applied");
      const port = master.port;
      await master.close();
      const delays: number[] = [];
      await nextEvent<[string, number]>(sync, "offline", (_r, ms) => delays.push(ms) >= 4);
      assert.deepEqual(delays.slice(0, 4), [50, 100, 200, 200], "doubling from backoffMinS up to backoffMaxS");
      assert.equal(readFileSync(configFile, "utf8"), configV(1), "the last good config stays");
      assert.equal(sync.syncState.configVersion, 1);

      store.publish("box-offline", configV(2));
      const online = nextEvent(sync, "online");
      const applied = nextEvent<[PollOutcome]>(sync, "poll", (o) => o.kind === "applied");
      master = await startMasterServer({ store, port });
      await online;
      assert.deepEqual((await applied)[0], { kind: "applied", version: 2 });
      assert.equal(readFileSync(configFile, "utf8"), configV(2));
    } finally {
      await sync.stop();
    }
  });

  it("the CLI makes a bundle's master file and publishes only a valid config", async () => {
    const dir = join(work, "cli-master");
    const cli = (...args: string[]) =>
      spawnSync(process.execPath, ["--import", "tsx", "provisioning/master-server/main.ts", ...args], {
        cwd: repoRoot,
        encoding: "utf8",
        timeout: 60_000,
      });
    const tok = cli("token", "--data", dir, "--url", "https://127.0.0.1:8443", "--device", "box-cli");
    assert.equal(tok.status, 0, tok.stderr);
    const bundle = masterBundleSchema.parse(JSON.parse(tok.stdout));
    assert.equal(bundle.certFingerprint, (await MasterStore.open(dir)).tls.fingerprint);
    const bad = join(dir, "bad.yaml");
    writeFileSync(bad, "sip: {nope: 1}\n");
    const refused = cli("publish", "--data", dir, "--device", "box-cli", "--config", bad);
    assert.equal(refused.status, 1);
    assert.match(refused.stderr, /sip\.nope: unknown key/);
    const good = join(dir, "good.yaml");
    writeFileSync(good, siteYaml);
    const ok = cli("publish", "--data", dir, "--device", "box-cli", "--config", good);
    assert.equal(ok.status, 0, ok.stderr);
    assert.equal(JSON.parse(ok.stdout).version, 1);
    assert.equal(cli("frobnicate", "--data", dir).status, 2);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// The capture test

/** Every string a call left in the daemon's database: the values that must never reach the master. */
function callData(dbPath: string): { label: string; value: string }[] {
  const db = new Database(dbPath, { readonly: true, fileMustExist: true });
  try {
    const out: { label: string; value: string }[] = [];
    const calls = db.prepare("SELECT * FROM calls").all() as Record<string, unknown>[];
    for (const row of calls) {
      for (const [col, v] of Object.entries(row)) {
        if (v === null) continue;
        const s = String(v);
        // Distinctive values only: a generic word ("inbound", "PCMA", "caller") proves nothing either way.
        if (["id", "sip_call_id", "from_uri", "from_number", "remote_address", "recording_path"].includes(col))
          out.push({ label: `calls.${col}`, value: s });
        else if (["dtmf_log", "events", "media_stats"].includes(col) && s.length > 8)
          out.push({ label: `calls.${col}`, value: s });
        // Millisecond timestamps (13 digits) are distinctive; a 4-digit duration turns up inside any base64 signature.
        else if (col.endsWith("_at")) out.push({ label: `calls.${col}`, value: s });
      }
    }
    // Any other table's text that came from calls (outcomes, transcripts, summaries, tickets, questions).
    const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[];
    for (const { name } of tables) {
      if (["calls", "users", "sessions", "audit_log", "schema_migrations"].includes(name) || name.includes("fts"))
        continue;
      for (const row of db.prepare(`SELECT * FROM "${name}"`).all() as Record<string, unknown>[])
        for (const [col, v] of Object.entries(row))
          if (typeof v === "string" && v.length >= 12) out.push({ label: `${name}.${col}`, value: v });
    }
    return out;
  } finally {
    db.close();
  }
}

/** 64-byte slices of the recordings' audio (past the WAV header, where the caller's speech is). */
function recordingSlices(dir: string): Buffer[] {
  if (!existsSync(dir)) return [];
  const out: Buffer[] = [];
  for (const f of readdirSync(dir, { recursive: true, encoding: "utf8" })) {
    const p = join(dir, f);
    if (!f.endsWith(".wav") || !statSync(p).isFile()) continue;
    const bytes = readFileSync(p);
    for (const at of [0.25, 0.5, 0.75]) {
      const start = 44 + Math.floor((bytes.length - 108) * at);
      const slice = bytes.subarray(start, start + 64);
      if (slice.length === 64 && slice.some((b) => b !== 0)) out.push(Buffer.from(slice));
    }
  }
  return out;
}

function startMasterProcess(dataDir: string): Promise<{ url: string; fingerprint: string }> {
  const cp = spawnTracked(process.execPath, [
    "--import",
    "tsx",
    join(repoRoot, "provisioning/master-server/main.ts"),
    ...["--data", dataDir, "--port", "0"],
  ]);
  return new Promise((resolve, reject) => {
    let out = "";
    const t = setTimeout(() => reject(new Error(`master did not start: ${out}`)), 30_000);
    cp.stdout?.setEncoding("utf8");
    cp.stdout?.on("data", (c: string) => {
      out += c;
      const line = out.split("\n").find((l) => l.includes('"master listening"'));
      if (!line) return;
      clearTimeout(t);
      const j = JSON.parse(line) as { url: string; certFingerprint: string };
      resolve({ url: j.url, fingerprint: j.certFingerprint });
    });
    cp.stderr?.on("data", (c: Buffer) => {
      out += c.toString();
    });
  });
}

const CALLS = 24;

describe("capture: a day of calls, and the master never sees any of it", {
  skip: skipUnlessPeers("sipp"),
  timeout: 300_000,
}, () => {
  it("nothing the master received holds a caller number, call id, CDR value, text or recording bytes", async () => {
    // The real daemon syncs by itself: its data dir is provisioned with a `master` file before it starts, so
    // appliance-shell.ts runs MasterSync, and a published config takes the daemon's own apply path (validated,
    // atomic write, reload).
    const masterDir = join(work, "capture-master");
    const m = await startMasterProcess(masterDir);
    const store = await MasterStore.open(masterDir);
    const token = store.addToken({ deviceId: "box-capture" });
    const dataDir = await provisionedBox(
      { ...store.bundleFile(m.url, token), certFingerprint: m.fingerprint },
      join(work, "capture-data"),
    );
    const d = await startDaemon({
      dataDir,
      config: {
        demo: { menuTimeoutS: 60 },
        master: { pollS: 1, longPollS: 2, statusS: 1, backoffMinS: 0.05, backoffMaxS: 0.2, requestTimeoutS: 5 },
      },
    });
    await d.waitForLog((l) => l.msg === "master: enrolled" && l.deviceId === "box-capture", 30_000);
    const statusCount = () => store.requestLog().filter((l) => l.url.endsWith("/status")).length;

    // The master ships the daemon's own config with one change: the box applies it through its reload path.
    const yaml = parse(readFileSync(d.configPath, "utf8")) as Record<string, Record<string, unknown>>;
    yaml.demo = { ...yaml.demo, menuTimeoutS: 45 };
    const cfgFile = join(masterDir, "daemon.yaml");
    writeFileSync(cfgFile, stringify(yaml));
    store.publish("box-capture", readFileSync(cfgFile, "utf8"));
    await d.waitForLog((l) => l.msg === "configuration reloaded", 30_000);
    await d.waitForLog((l) => l.msg === "master: config applied" && l.version === 1, 10_000);
    assert.equal(d.logs().filter((l) => l.msg === "configuration reloaded").length, 1);
    assert.equal(readFileSync(d.configPath, "utf8"), readFileSync(cfgFile, "utf8"), "the config file is the master's");
    assert.equal((parse(readFileSync(d.configPath, "utf8")) as typeof yaml).demo.menuTimeoutS, 45);

    // A day of calls: distinct caller numbers (sipp's injection file), speech, a DTMF digit each, recordings on.
    const numbers = Array.from({ length: CALLS }, (_, i) => `+49301234${String(5000 + i * 37).padStart(4, "0")}`);
    // sipp cannot pick a pcap per call, so the day comes in three batches, one DTMF digit each.
    const digits = [1, 5, 9];
    const per = CALLS / digits.length;
    for (const [b, digit] of digits.entries()) {
      const scenarioFile = join(work, `uac_caller_dtmf_${digit}.xml`);
      writeFileSync(
        scenarioFile,
        readFileSync(join(repoRoot, "test/peers/scenarios/uac_pcap_dtmf.xml"), "utf8")
          .replaceAll("@PCAP_DIR@", pcapDir())
          .replaceAll("@HOLD_AFTER_MS@", "500")
          .replaceAll("@DIGIT@", String(digit))
          .replaceAll("sipp <sip:sipp@", "[field0] <sip:[field0]@")
          .replaceAll("Contact: sip:sipp@", "Contact: sip:[field0]@"),
      );
      const batch = join(work, `callers-${digit}.csv`);
      writeFileSync(batch, `SEQUENTIAL\n${numbers.slice(b * per, (b + 1) * per).join(";\n")};\n`);
      const r = await runSipp({
        target: d.sipUdp,
        args: ["-sf", scenarioFile, "-inf", batch, "-m", String(per), "-l", "8", "-r", "4"],
        timeoutMs: 120_000,
        mediaPorts: true,
      });
      assert.equal(r.successful, per, sippDetail(r));
      assert.equal(r.failed, 0, sippDetail(r));
    }
    const rows = await d.waitForCalls(
      (rs) => rs.filter((x) => numbers.includes(x.from_number ?? "") && x.ended_at !== null).length >= CALLS,
      20_000,
    );
    const mine = rows.filter((x) => numbers.includes(x.from_number ?? ""));
    assert.equal(new Set(mine.map((x) => x.sip_call_id)).size, CALLS);
    assert.deepEqual(new Set(mine.map((x) => x.from_number)), new Set(numbers), "every caller number is in the CDRs");
    // Status reports keep flowing after the calls, and they say the master's version is applied.
    const reportsBefore = statusCount();
    for (let i = 0; i < 100 && statusCount() <= reportsBefore; i++) await new Promise((r) => setTimeout(r, 200));
    assert.ok(statusCount() > reportsBefore, "a status report after the calls");
    const last = store.lastStatus("box-capture")?.report;
    assert.equal(last?.configVersion, 1);
    assert.equal(last?.applyStatus.state, "applied");
    // Stopped, so that the request log below is everything the master will ever get from this box.
    assert.equal(await d.stop(), 0, d.output());

    const secrets = callData(d.dbPath);
    const audio = recordingSlices(join(d.dataDir, "recordings"));
    assert.ok(secrets.length > CALLS * 6, `call data collected: ${secrets.length}`);
    assert.ok(audio.length > 0, "recordings were made");
    const log: LoggedRequest[] = store.requestLog();
    assert.ok(log.length > 10, `the master received ${log.length} requests`);
    assert.ok(log.some((l) => l.url.endsWith("/status")) && log.some((l) => l.url.includes("/config")));
    const texts = log.map(
      (l) =>
        `${l.method} ${l.url}\n${JSON.stringify(l.headers)}\n${Buffer.from(l.bodyBase64, "base64").toString("utf8")}`,
    );
    const bodies = log.map((l) => Buffer.from(l.bodyBase64, "base64"));
    const seen = texts.join("\n");
    const leaks = secrets.filter((s) => seen.includes(s.value));
    assert.deepEqual(leaks, [], "call data found in what the master received");
    for (const slice of audio) {
      assert.ok(!bodies.some((b) => b.includes(slice)), "recording bytes found in a request body");
      assert.ok(!seen.includes(slice.toString("base64")) && !seen.includes(slice.toString("hex")));
    }
    // Status bodies are exactly the schema: nothing else could have been added.
    for (const l of log.filter((x) => x.url.endsWith("/status")))
      statusReportSchema.parse(JSON.parse(Buffer.from(l.bodyBase64, "base64").toString("utf8")));
  });
});
