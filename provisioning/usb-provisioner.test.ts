import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { spawnSync } from "node:child_process";
import { rmSync, truncateSync } from "node:fs";
import { cp, mkdir, mkdtemp, readdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { after, test } from "node:test";
import { Writable } from "node:stream";
import { createLog, type Log } from "../daemon/ops/log.ts";
import { ModelStore } from "../models/store.ts";
import { acquireApplyLock, applyLockFile } from "./apply-lock.ts";
import {
  applyBundle,
  applyBundleWithModels,
  currentDir,
  previousDir,
  provisioningDir,
  readState,
  trustedKeyFile,
} from "./apply.ts";
import { type BundleInput, makeBundle } from "./make-bundle.ts";
import { provisioningSchema } from "./provisioner-config.ts";
import { syntheticModelBundle } from "./testing/model-bundle.ts";
import { type ProvisionerEvent, recoverInterruptedApply, UsbProvisioner } from "./usb-provisioner.ts";

const root = await mkdtemp(join(tmpdir(), "usb-provisioner-test-"));
after(() => rm(root, { recursive: true, force: true }));
const key = generateKeyPairSync("ed25519");
const otherKey = generateKeyPairSync("ed25519");
let n = 0;

interface Box {
  dataDir: string;
  configFile: string;
  mount: string;
  reloads: number;
  events: ProvisionerEvent[];
  prov: UsbProvisioner;
  log: Log;
  /** What `log` wrote, one parsed line each. */
  lines: { msg: string; [k: string]: unknown }[];
}

/** A logger whose lines land in `lines`. */
function recordingLog(lines: Box["lines"]): Log {
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString().split("\n").filter(Boolean)) lines.push(JSON.parse(l));
      done();
    },
  });
  return createLog("info", sink, { ring: false });
}

async function box(opts: { reload?: () => void; beforeStart?: (b: Box) => Promise<void> } = {}): Promise<Box> {
  const dir = join(root, `box-${++n}`);
  const dataDir = join(dir, "data");
  const mount = join(dir, "media");
  await mkdir(provisioningDir(dataDir), { recursive: true });
  await mkdir(mount);
  await writeFile(trustedKeyFile(dataDir), key.publicKey.export({ type: "spki", format: "pem" }));
  const configFile = join(dir, "switchboard.yaml");
  await writeFile(configFile, "name: before-provisioning\n", { mode: 0o640 });
  const b = { dataDir, configFile, mount, reloads: 0, events: [] as ProvisionerEvent[], lines: [] } as unknown as Box;
  b.log = recordingLog(b.lines);
  await opts.beforeStart?.(b);
  b.prov = provisioner(b, opts.reload);
  await b.prov.start();
  return b;
}

function provisioner(b: Box, reload?: () => void): UsbProvisioner {
  const prov = new UsbProvisioner({
    dataDir: b.dataDir,
    configFile: b.configFile,
    settings: provisioningSchema.parse({ mountRoots: [b.mount], deviceId: "box-1", enabled: false }),
    reload: () => {
      b.reloads++;
      reload?.();
      return { restartNeeded: ["trunks"] };
    },
    log: b.log,
    models: new ModelStore({ dataDir: b.dataDir, builtinPaths: [] }),
  });
  prov.on("state", (e) => b.events.push(e));
  return prov;
}

/** A signed bundle on a stick under the box's mount root (root/installer/LABEL/switchboard-bundle.tar). */
async function stick(
  b: Box,
  version: number,
  opts: { signWith?: typeof key; modelBytes?: number; label?: string; models?: string[] } = {},
): Promise<string> {
  const dir = join(b.mount, "installer", opts.label ?? `STICK-${++n}`);
  await mkdir(dir, { recursive: true });
  const src = join(root, `src-${++n}`);
  await mkdir(src);
  await writeFile(join(src, "site.yaml"), `name: site-v${version}\n`);
  const files: BundleInput[] = [{ role: "site-config", source: join(src, "site.yaml") }];
  if (opts.modelBytes) {
    const big = Buffer.alloc(opts.modelBytes);
    for (let i = 0; i < big.length; i += 4096) big.writeUInt32LE(i, i);
    await writeFile(join(src, "model.tar"), big);
    files.push({ role: "model-bundle", source: join(src, "model.tar") });
  }
  for (const m of opts.models ?? []) files.push({ role: "model-bundle", source: m });
  const out = join(dir, "switchboard-bundle.tar");
  await makeBundle(out, {
    privateKey: (opts.signWith ?? key).privateKey,
    target: { deviceId: "box-1" },
    version,
    expiresAt: new Date(Date.now() + 86_400_000),
    files,
  });
  return out;
}

/** Every file under the data dir plus the config file and its .bak, by relative path: bytes as base64. */
async function snapshot(b: Box): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (d: string): Promise<void> => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else out[relative(b.dataDir, p)] = (await readFile(p)).toString("base64");
    }
  };
  await walk(b.dataDir);
  for (const f of [b.configFile, `${b.configFile}.bak`])
    out[f] = await readFile(f).then(
      (x) => x.toString("base64"),
      () => "(absent)",
    );
  return out;
}

const states = (b: Box) => b.events.map((e) => e.state).filter((s, i, a) => s !== a[i - 1]);

test("a stick with a good bundle: applied, config replaced (.bak kept), one reload, report on the stick", async () => {
  const b = await box();
  const bundle = await stick(b, 1);
  assert.deepEqual(await b.prov.scan(), [bundle]);
  await b.prov.idle();

  assert.equal(await readFile(b.configFile, "utf8"), "name: site-v1\n");
  assert.equal(await readFile(`${b.configFile}.bak`, "utf8"), "name: before-provisioning\n");
  assert.equal((await stat(b.configFile)).mode & 0o777, 0o640, "the file keeps its mode");
  assert.equal(b.reloads, 1);
  assert.equal((await readState(b.dataDir)).installedVersion, 1);
  const report = JSON.parse(await readFile(`${bundle}.result.json`, "utf8"));
  assert.equal(report.ok, true);
  assert.equal(report.version, 1);
  assert.deepEqual(states(b), ["running", "ok"]);
  const ok = b.events.at(-1);
  assert.deepEqual(ok?.restartNeeded, ["trunks"], "what the reload could not take is passed on");
  assert.ok(!(await readdir(provisioningDir(b.dataDir))).includes("apply-journal.json"), "journal closed");

  // The stick stays in; the daemon restarts: the installed bundle is not applied again (no replay rejection).
  b.events.length = 0;
  const again = provisioner(b);
  await again.start();
  assert.deepEqual(await again.scan(), [bundle]);
  await again.idle();
  assert.deepEqual(b.events, []);
  assert.equal(b.reloads, 1);
  assert.equal(JSON.parse(await readFile(`${bundle}.result.json`, "utf8")).ok, true, "the stick's report is kept");
});

test("two sticks at once are applied one after the other", async () => {
  const b = await box();
  const first = await stick(b, 2, { label: "A" });
  const second = await stick(b, 3, { label: "B" });
  await b.prov.scan();
  await b.prov.idle();
  const order = b.events.filter((e) => e.state !== "running" || !e.progress).map((e) => `${e.state}:${e.bundle}`);
  assert.deepEqual(order, [`running:${first}`, `ok:${first}`, `running:${second}`, `ok:${second}`]);
  assert.equal(await readFile(b.configFile, "utf8"), "name: site-v3\n");
  assert.equal(b.reloads, 2);
});

test("a stick removed mid-apply leaves the previous config and provisioning state byte-identical", async () => {
  const b = await box();
  await b.prov.apply(await stick(b, 1));
  const before = await snapshot(b);
  const reloads = b.reloads;
  b.events.length = 0;

  const bundle = await stick(b, 2, { modelBytes: 20 * 2 ** 20 });
  const stickDir = join(bundle, "..");
  let pulled = false;
  b.prov.on("state", (e) => {
    // A quarter in: the stick goes. Truncation is what a reader sees of a vanished device (an unlinked file would
    // still be readable through the open descriptor); the directory goes too, so the report cannot be written.
    if (!pulled && e.state === "running" && (e.progress?.bytes ?? 0) > 5 * 2 ** 20) {
      pulled = true;
      truncateSync(bundle, 0);
      rmSync(stickDir, { recursive: true, force: true });
    }
  });
  const report = await b.prov.apply(bundle);
  assert.ok(pulled, "the progress callback saw the stream before the end");
  assert.equal(report?.ok, false);
  assert.match(report?.reportError ?? "", /ENOENT/, "the report was attempted on the vanished stick");
  assert.deepEqual(await snapshot(b), before);
  assert.equal(b.reloads, reloads, "no reload");
  const last = b.events.at(-1);
  assert.equal(last?.state, "failed");
  assert.match(last?.reason ?? "", /^archive: .*(truncat|end)/i);
  assert.deepEqual(states(b), ["running", "failed"]);
});

test("a bad bundle (wrong key): failed with the reason, nothing changed, report on the stick", async () => {
  const b = await box();
  await b.prov.apply(await stick(b, 1));
  const before = await snapshot(b);
  b.events.length = 0;
  const bundle = await stick(b, 2, { signWith: otherKey });
  const report = await b.prov.apply(bundle);
  assert.equal(report?.code, "signature");
  assert.deepEqual(await snapshot(b), before);
  assert.equal(b.reloads, 1);
  assert.deepEqual(states(b), ["running", "failed"]);
  assert.match(await readFile(`${bundle}.result.txt`, "utf8"), /REJECTED, nothing was changed/);
});

test("the daemon refusing the site config: config file and provisioning state put back", async () => {
  let refuse = false;
  const b = await box({
    reload: () => {
      if (refuse) throw new Error("agent faq: flow does not compile");
    },
  });
  await b.prov.apply(await stick(b, 1));
  refuse = true;
  const bundle = await stick(b, 2);
  const report = await b.prov.apply(bundle);
  assert.equal(report?.ok, false);
  assert.equal(report?.code, "config");
  assert.match(report?.reason ?? "", /flow does not compile/);
  assert.equal(await readFile(b.configFile, "utf8"), "name: site-v1\n");
  const s = await readState(b.dataDir);
  assert.equal(s.installedVersion, 1);
  assert.equal(JSON.parse(await readFile(`${bundle}.result.json`, "utf8")).ok, false, "the stick says so");
  assert.equal(b.events.at(-1)?.state, "failed");
});

async function idOf(dir: string): Promise<string> {
  return JSON.parse(await readFile(join(dir, "manifest.json"), "utf8")).id;
}

test("startup recovery: a swap cut off between its renames restores the last good state", async () => {
  const b = await box();
  await b.prov.apply(await stick(b, 1));
  await b.prov.apply(await stick(b, 2));
  const v1 = await idOf(previousDir(b.dataDir));
  const v2 = await idOf(currentDir(b.dataDir));
  const before = await snapshot(b);
  const prov = provisioningDir(b.dataDir);

  // Power cut during the apply of v3, after "current -> previous" and before "staging -> current".
  await rename(previousDir(b.dataDir), join(prov, ".old-1-1"));
  await rename(currentDir(b.dataDir), previousDir(b.dataDir));
  await mkdir(join(prov, ".staging-x"));
  await writeFile(join(prov, ".staging-x", "half"), "x");
  await writeFile(join(prov, "apply-journal.json"), JSON.stringify({ bundle: "/media/s", startedAt: "", before: v2 }));

  const reloads = b.reloads;
  const again = provisioner(b);
  const rec = await again.start();
  assert.ok(rec.actions.length > 0);
  assert.equal(rec.configChanged, false);
  assert.equal(await idOf(currentDir(b.dataDir)), v2);
  assert.equal(await idOf(previousDir(b.dataDir)), v1);
  assert.deepEqual(await snapshot(b), before);
  assert.equal(b.reloads, reloads);
});

test("startup recovery: a bundle swapped in but not committed in state.json is dropped", async () => {
  const b = await box();
  await b.prov.apply(await stick(b, 1));
  await b.prov.apply(await stick(b, 2));
  const before = await snapshot(b);
  const prov = provisioningDir(b.dataDir);
  // Cut after "staging -> current", before state.json: current is v3 (never committed), previous v2, v1 aside.
  const v3 = join(root, `v3-${++n}`);
  await cp(currentDir(b.dataDir), v3, { recursive: true });
  const m = JSON.parse(await readFile(join(v3, "manifest.json"), "utf8"));
  await writeFile(join(v3, "manifest.json"), JSON.stringify({ ...m, id: "uncommitted-v3", version: 3 }));
  await rename(previousDir(b.dataDir), join(prov, ".old-1-2"));
  await rename(currentDir(b.dataDir), previousDir(b.dataDir));
  await rename(v3, currentDir(b.dataDir));

  const rec = await recoverInterruptedApply(b.dataDir, b.configFile);
  assert.ok(rec.actions.some((a) => a.includes("uncommitted-v3")));
  assert.deepEqual(await snapshot(b), before);
});

test("startup recovery: an apply that committed before the crash gets its config written and one reload", async () => {
  const b = await box();
  await b.prov.apply(await stick(b, 1));
  const v1 = await idOf(currentDir(b.dataDir));
  // The daemon died after applyBundle committed v2 and before it wrote the config file.
  await writeFile(
    join(provisioningDir(b.dataDir), "apply-journal.json"),
    JSON.stringify({ bundle: "/media/s", startedAt: "", before: v1 }),
  );
  const r = await applyBundle(await stick(b, 2), {
    dataDir: b.dataDir,
    publicKey: key.publicKey,
    device: { deviceId: "box-1" },
  });
  assert.equal(r.ok, true);
  assert.equal(await readFile(b.configFile, "utf8"), "name: site-v1\n");

  const reloads = b.reloads;
  const again = provisioner(b);
  const rec = await again.start();
  assert.equal(rec.configChanged, true);
  assert.equal(await readFile(b.configFile, "utf8"), "name: site-v2\n");
  assert.equal(await readFile(`${b.configFile}.bak`, "utf8"), "name: site-v1\n");
  assert.equal(b.reloads, reloads + 1);
  assert.equal((await readState(b.dataDir)).installedVersion, 2);
  assert.ok(!(await readdir(provisioningDir(b.dataDir))).includes("apply-journal.json"));
});

test("no trusted key: failed with the reason on the stick, nothing applied", async () => {
  const b = await box();
  await rm(trustedKeyFile(b.dataDir));
  const bundle = await stick(b, 1);
  const report = await b.prov.apply(bundle);
  assert.equal(report?.ok, false);
  assert.match(report?.reason ?? "", /trusted\.pub: cannot read public key/);
  assert.equal((await readState(b.dataDir)).installedVersion, 0);
  assert.equal(await readFile(b.configFile, "utf8"), "name: before-provisioning\n");
  assert.equal(JSON.parse(await readFile(`${bundle}.result.json`, "utf8")).ok, false);
});

test("provisioning config section: defaults, strict, fleet needs a device id", () => {
  const d = provisioningSchema.parse({});
  assert.equal(d.enabled, true);
  assert.deepEqual(d.mountRoots, ["/media", "/run/media", "/mnt"]);
  assert.equal(d.pollMs, 3000);
  assert.equal(provisioningSchema.safeParse({ pollMs: 5 }).success, false);
  assert.equal(provisioningSchema.safeParse({ mountroots: ["/x"] }).success, false, "unknown keys rejected");
  const r = provisioningSchema.safeParse({ fleetId: "acme" });
  assert.equal(r.success, false);
  assert.deepEqual(r.error?.issues[0]?.path, ["fleetId"]);
});

// ---- model bundles ----

const modelTar = (name: string, version: string, bytes: number) =>
  syntheticModelBundle(join(root, `model-${++n}.tar`), name, version, bytes);

test("a stick with model bundles: checked with progress, config taken, models installed, report lists them", async () => {
  const b = await box();
  const models = [await modelTar("vad-a", "1.0.0", 300_000), await modelTar("asr-b", "2.1.0", 200_000)];
  const bundle = await stick(b, 1, { models });
  const report = await b.prov.apply(bundle);
  assert.equal(report?.ok, true, report?.reason);
  assert.deepEqual(report?.models, ["vad-a@1.0.0", "asr-b@2.1.0"]);
  assert.deepEqual(report?.restartNeeded, ["trunks", "models"]);
  const store = new ModelStore({ dataDir: b.dataDir, builtinPaths: [] });
  assert.deepEqual((await store.list()).map((e) => `${e.name}@${e.bundle?.manifest.version}`).sort(), [
    "asr-b@2.1.0",
    "vad-a@1.0.0",
  ]);
  const modelSteps = b.events.filter((e) => e.progress?.stage === "models").map((e) => e.progress?.bytes ?? -1);
  assert.ok(modelSteps.length >= 2, "model checking shows as provisioning progress");
  assert.deepEqual(
    modelSteps,
    [...modelSteps].sort((x, y) => x - y),
  );
  const ok = b.events.at(-1);
  assert.equal(ok?.state, "ok");
  assert.deepEqual(ok?.restartNeeded, ["trunks", "models"]);
  const onStick = JSON.parse(await readFile(`${bundle}.result.json`, "utf8"));
  assert.deepEqual(onStick.models, ["vad-a@1.0.0", "asr-b@2.1.0"]);
  assert.match(await readFile(`${bundle}.result.txt`, "utf8"), /restart needed for: trunks, models/);
  const applied = b.lines.find((l) => l.msg === "provisioning: bundle applied");
  assert.deepEqual(applied?.models, ["vad-a@1.0.0", "asr-b@2.1.0"]);
  assert.ok(
    b.lines.some((l) => /used after a daemon restart/.test(l.msg)),
    "the log says a restart is needed",
  );
});

test("a stick with a corrupt model bundle: failed naming the file, config, state and store unchanged", async () => {
  const b = await box();
  await b.prov.apply(await stick(b, 1, { models: [await modelTar("vad-a", "1.0.0", 10_000)] }));
  const before = await snapshot(b);
  const reloads = b.reloads;
  b.events.length = 0;
  const bad = await modelTar("vad-a", "2.0.0", 10_000);
  const bytes = await readFile(bad);
  bytes[bytes.length - 2000] ^= 0xff; // inside model.onnx: its sha256 no longer matches its manifest
  await writeFile(bad, bytes);
  const bundle = await stick(b, 2, { models: [bad] });
  const report = await b.prov.apply(bundle);
  assert.equal(report?.ok, false);
  assert.equal(report?.code, "content");
  assert.match(report?.where ?? "", /^model-bundle\/model-\d+\.tar$/);
  assert.match(report?.reason ?? "", /model bundle rejected: vad-a 2\.0\.0: rejected:; model\.onnx: sha256 mismatch/);
  assert.deepEqual(await snapshot(b), before);
  assert.equal(b.reloads, reloads);
  assert.match(b.events.at(-1)?.reason ?? "", /^content: model-bundle\/model-\d+\.tar: model bundle rejected/);
  assert.equal(JSON.parse(await readFile(`${bundle}.result.json`, "utf8")).ok, false);
});

test("the daemon refusing the site config: the bundle's model bundles are not installed", async () => {
  const b = await box({
    reload: () => {
      throw new Error("no");
    },
  });
  const report = await b.prov.apply(await stick(b, 1, { models: [await modelTar("vad-c", "1.0.0", 10_000)] }));
  assert.equal(report?.code, "config");
  const store = new ModelStore({ dataDir: b.dataDir, builtinPaths: [] });
  assert.deepEqual(await store.list(), []);
  assert.deepEqual(await readdir(join(store.root, ".staging")), []);
});

// ---- one apply at a time ----

test("while another apply holds the lock a stick fails naming it and changes nothing; afterwards it applies", async () => {
  const b = await box();
  await b.prov.apply(await stick(b, 1));
  const before = await snapshot(b);
  // This process stands in for `switchboard provision apply` (a live pid holding the lock).
  const cli = await acquireApplyLock(b.dataDir, { by: "switchboard provision apply" });
  const bundle = await stick(b, 2, { models: [await modelTar("vad-d", "1.0.0", 10_000)] });
  const refused = await b.prov.apply(bundle);
  assert.equal(refused?.ok, false);
  assert.equal(refused?.where, applyLockFile(b.dataDir));
  assert.match(refused?.reason ?? "", new RegExp(`^another apply is running \\(pid ${process.pid}, since \\d{4}-`));
  assert.match(await readFile(`${bundle}.result.txt`, "utf8"), /another apply is running/);
  assert.equal(b.events.at(-1)?.state, "failed");
  await cli.release();
  assert.deepEqual(await snapshot(b), before);
  // Pulled and re-inserted once the other apply is done: applied.
  const ok = await b.prov.apply(bundle);
  assert.equal(ok?.ok, true, ok?.reason);
  assert.deepEqual(ok?.models, ["vad-d@1.0.0"]);
});

/** A lock file as a process that has gone would have left it. */
async function staleLock(dataDir: string, holder: Record<string, unknown>): Promise<void> {
  await writeFile(
    applyLockFile(dataDir),
    JSON.stringify({ since: "2026-01-01T00:00:00.000Z", by: "switchboard provision apply", token: "t0", ...holder }),
  );
}

const deadPid = () => spawnSync(process.execPath, ["-e", ""]).pid;

test("a stale lock (its process is gone) is taken over with a log line", async () => {
  const b = await box();
  await staleLock(b.dataDir, { pid: deadPid() });
  const report = await b.prov.apply(await stick(b, 1));
  assert.equal(report?.ok, true, report?.reason);
  const line = b.lines.find((l) => l.msg === "provisioning: took over a stale apply lock");
  assert.match(String(line?.reason), /process \d+ is gone/);
  assert.equal(line?.by, "switchboard provision apply");
  await assert.rejects(stat(applyLockFile(b.dataDir)), { code: "ENOENT" }, "released after the apply");
});

test("start-up recovery waits while a CLI apply holds the lock, and runs before the next stick", async () => {
  let cli: Awaited<ReturnType<typeof acquireApplyLock>> | undefined;
  const b = await box({
    beforeStart: async (x) => {
      // A CLI apply in progress: its staging dir must not be "recovered" away under it.
      await mkdir(join(provisioningDir(x.dataDir), ".staging-cli"));
      cli = await acquireApplyLock(x.dataDir, { by: "switchboard provision apply" });
    },
  });
  assert.ok((await readdir(provisioningDir(b.dataDir))).includes(".staging-cli"), "left alone while locked");
  assert.ok(b.lines.some((l) => l.msg === "provisioning: start-up recovery postponed to the next apply"));
  await cli?.release();
  assert.equal((await b.prov.apply(await stick(b, 1)))?.ok, true);
  assert.ok(!(await readdir(provisioningDir(b.dataDir))).includes(".staging-cli"), "recovered before the apply");
});

test("startup recovery of a committed apply installs its model bundles", async () => {
  const b = await box();
  await b.prov.apply(await stick(b, 1));
  const v1 = await idOf(currentDir(b.dataDir));
  // The daemon died after the swap committed v2 and before its model bundle was activated.
  await writeFile(
    join(provisioningDir(b.dataDir), "apply-journal.json"),
    JSON.stringify({ bundle: "/media/s", startedAt: "", before: v1 }),
  );
  const v2 = await stick(b, 2, { models: [await modelTar("vad-r", "3.0.0", 10_000)] });
  const staged = await applyBundleWithModels(v2, {
    dataDir: b.dataDir,
    publicKey: key.publicKey,
    device: { deviceId: "box-1" },
  });
  assert.equal(staged.report.ok, true);
  await staged.models.discard(); // what the crash lost
  const store = new ModelStore({ dataDir: b.dataDir, builtinPaths: [] });
  assert.equal(await store.activeVersion("vad-r"), undefined);

  const rec = await provisioner(b).start();
  assert.deepEqual(rec.models?.models, ["vad-r@3.0.0"]);
  assert.equal(await store.activeVersion("vad-r"), "3.0.0");
  assert.ok(rec.actions.some((a) => /installed model bundles vad-r@3\.0\.0/.test(a)));
});
