// The installer's path through the real `switchboard provision` command: keygen, make-bundle, verify, apply (with
// progress and a report on the "stick"), a rejected replay, a wrong key and a rollback; a bundle with a model bundle
// (installed into the data dir's model store) and the apply lock against a running apply; and a stick with a model
// bundle through the real daemon's USB provisioner.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { copyFile, mkdir, mkdtemp, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { parse, stringify } from "yaml";
import { ModelStore } from "../models/store.ts";
import { needModel } from "../models/testing/shared-models.ts";
import { acquireApplyLock, applyLockFile } from "../provisioning/apply-lock.ts";
import { sileroVadBundle, sileroVadFile, syntheticModelBundle } from "../provisioning/testing/model-bundle.ts";
import { type LogLine, startDaemon, stopAll } from "./peers/daemon.ts";

const repo = new URL("..", import.meta.url).pathname;
const dir = await mkdtemp(join(tmpdir(), "provision-cli-"));
after(async () => {
  await stopAll();
  await rm(dir, { recursive: true, force: true });
});

function provision(...args: string[]): { code: number; out: string; err: string } {
  const r = spawnSync(process.execPath, ["daemon/switchboard.mjs", "provision", ...args], {
    cwd: repo,
    encoding: "utf8",
    timeout: 60_000,
  });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

const keys = join(dir, "keys");
const other = join(dir, "other-keys");
const usb = join(dir, "usb");
const data = join(dir, "data");
const site = join(dir, "site.yaml");
const secret = join(dir, "secret.txt");
const master = join(dir, "master.json");

async function bundle(version: number, key = keys): Promise<string> {
  const out = join(usb, `switchboard-bundle-v${version}.tar`);
  await writeFile(site, `${await readFile(join(repo, "examples/demo.yaml"), "utf8")}# site v${version}\n`);
  const r = provision(
    "make-bundle",
    ...["--key", join(key, "provisioning.key"), "--target", "device:box-7", "--version", String(version)],
    ...["--expires", new Date(Date.now() + 86_400_000).toISOString(), "--config", site, "--secret", secret],
    ...["--file", `master=${master}`, "--out", out],
  );
  assert.equal(r.code, 0, r.err);
  return out;
}

test("keygen, make-bundle, verify, apply, reject a replay and another key, roll back", async () => {
  await mkdir(usb);
  await writeFile(secret, "first-boot-abc12\n");
  await writeFile(master, JSON.stringify({ url: "https://master.example", enrollmentToken: "tok" }));
  for (const d of [keys, other]) assert.equal(provision("keygen", "--out", d).code, 0);
  assert.equal((await stat(join(keys, "provisioning.key"))).mode & 0o777, 0o600);
  assert.notEqual(provision("keygen", "--out", keys).code, 0, "an existing key is never overwritten");

  const v1 = await bundle(1);
  const verified = provision("verify", "--pub", join(keys, "provisioning.pub"), "--device", "box-7", v1);
  assert.equal(verified.code, 0, verified.err);
  assert.match(verified.out, /ok \(bundle .*version 1, 3 file\(s\)\)/);
  const wrongDevice = provision("verify", "--pub", join(keys, "provisioning.pub"), "--device", "box-8", v1);
  assert.equal(wrongDevice.code, 1);
  assert.match(wrongDevice.err, /REJECTED \(target\).*device:box-7/);

  // The device trusts the installer's key through <dataDir>/provisioning/trusted.pub.
  await mkdir(join(data, "provisioning"), { recursive: true });
  await copyFile(join(keys, "provisioning.pub"), join(data, "provisioning", "trusted.pub"));
  const applied = provision("apply", "--data", data, "--device", "box-7", v1);
  assert.equal(applied.code, 0, applied.err);
  assert.match(applied.out, /progress: 3\/3 files/);
  assert.match(applied.out, /provisioning: OK/);
  assert.doesNotMatch(applied.out + applied.err, /first-boot-abc12|tok"/, "secrets are not printed");
  assert.equal(await readFile(join(data, "first-boot-secret"), "utf8"), "first-boot-abc12\n");
  assert.equal((await stat(join(data, "first-boot-secret"))).mode & 0o777, 0o600);
  assert.match(await readFile(join(data, "provisioning/current/site-config/site.yaml"), "utf8"), /# site v1/);
  const state = JSON.parse(await readFile(join(data, "provisioning/state.json"), "utf8"));
  assert.equal(state.installedVersion, 1);
  const report = JSON.parse(await readFile(`${v1}.result.json`, "utf8"));
  assert.equal(report.ok, true);
  assert.equal(report.bundleId, state.bundleId);

  const replay = provision("apply", "--data", data, "--device", "box-7", v1);
  assert.equal(replay.code, 1);
  assert.match(replay.err, /REJECTED, nothing was changed[\s\S]*reason \(version\)/);
  assert.equal(JSON.parse(await readFile(`${v1}.result.json`, "utf8")).code, "version");

  const foreign = await bundle(2, other);
  const rejected = provision("apply", "--data", data, "--device", "box-7", foreign);
  assert.equal(rejected.code, 1);
  assert.match(rejected.err, /reason \(signature\)/);

  const v3 = await bundle(3);
  assert.equal(provision("apply", "--data", data, "--device", "box-7", v3).code, 0);
  assert.match(await readFile(join(data, "provisioning/current/site-config/site.yaml"), "utf8"), /# site v3/);
  const back = provision("rollback", "--data", data);
  assert.equal(back.code, 0, back.err);
  assert.match(back.out, /rolled back to version 1/);
  assert.match(await readFile(join(data, "provisioning/current/site-config/site.yaml"), "utf8"), /# site v1/);
});

test("usage errors name the missing option", () => {
  const r = provision("make-bundle", "--version", "1");
  assert.equal(r.code, 2);
  assert.match(r.err, /missing --expires ISO|missing --config FILE|missing --out/);
});

test("apply installs a model bundle; a running apply blocks a second one; a stale lock is taken over", async () => {
  const k = join(dir, "keys-models");
  const d = join(dir, "data-models");
  assert.equal(provision("keygen", "--out", k).code, 0);
  await mkdir(join(d, "provisioning"), { recursive: true });
  await copyFile(join(k, "provisioning.pub"), join(d, "provisioning", "trusted.pub"));
  await writeFile(site, await readFile(join(repo, "examples/demo.yaml")));
  const model = await syntheticModelBundle(join(dir, "vad-cli.tar"), "vad-cli", "1.2.0", 64 * 1024);
  const out = join(usb, "switchboard-bundle-models.tar");
  const made = provision(
    "make-bundle",
    ...["--key", join(k, "provisioning.key"), "--target", "device:box-7", "--version", "1"],
    ...["--expires", new Date(Date.now() + 86_400_000).toISOString(), "--config", site],
    ...["--file", `model-bundle=${model}`, "--out", out],
  );
  assert.equal(made.code, 0, made.err);

  // This test process stands in for the daemon applying a stick right now.
  const daemon = await acquireApplyLock(d, { by: "daemon usb provisioning" });
  const refused = provision("apply", "--data", d, "--device", "box-7", out);
  assert.equal(refused.code, 1);
  assert.match(
    refused.err,
    new RegExp(`another apply is running \\(pid ${process.pid}, since .*\\); nothing was changed`),
  );
  await daemon.release();
  assert.deepEqual(JSON.parse(provision("status", "--data", d).out).installedVersion, 0);

  // The daemon died holding it: the next apply takes over (and says so).
  await writeFile(applyLockFile(d), JSON.stringify({ pid: 2 ** 22 + 1, since: "x", by: "daemon", token: "t" }));
  const applied = provision("apply", "--data", d, "--device", "box-7", out);
  assert.equal(applied.code, 0, applied.err);
  assert.match(applied.err, /took over a stale apply lock \(pid 4194305, since x\): process 4194305 is gone/);
  assert.match(applied.out, /checking model bundles: 1\/1/);
  assert.match(applied.out, /model bundles installed: vad-cli@1\.2\.0/);
  assert.match(applied.out, /restart needed for: models/);
  const listed = spawnSync(process.execPath, ["daemon/switchboard.mjs", "models", "list", "--data", d], {
    cwd: repo,
    encoding: "utf8",
    timeout: 60_000,
  });
  assert.match(listed.stdout, /^vad-cli {2}1\.2\.0 .*\[installed\]/m);
  await assert.rejects(stat(applyLockFile(d)), { code: "ENOENT" });
});

test("the daemon's USB provisioner installs a stick's model bundle into its model store", async (t) => {
  if (!needModel(t, "silero-vad", sileroVadFile)) return;
  const k = join(dir, "keys-daemon");
  assert.equal(provision("keygen", "--out", k).code, 0);
  const data = join(dir, "data-daemon");
  const mount = join(dir, "media");
  await mkdir(join(data, "provisioning"), { recursive: true });
  await mkdir(mount);
  await copyFile(join(k, "provisioning.pub"), join(data, "provisioning", "trusted.pub"));
  const d = await startDaemon({
    dataDir: data,
    config: { log: { level: "info" }, provisioning: { mountRoots: [mount], pollMs: 500, deviceId: "box-9" } },
    readyTimeoutMs: 30_000,
  });
  // The site config is the daemon's own (so the reload takes it); the model is the real Silero VAD.
  const src = join(dir, "daemon-src");
  await mkdir(src);
  await writeFile(join(src, "site.yaml"), stringify(parse(await readFile(d.configPath, "utf8"))));
  const model = await sileroVadBundle(join(src, "silero-vad.tar"));
  const stickDir = join(dir, "daemon-stick");
  await mkdir(stickDir);
  const made = provision(
    "make-bundle",
    ...["--key", join(k, "provisioning.key"), "--target", "device:box-9", "--version", "1"],
    ...["--expires", new Date(Date.now() + 86_400_000).toISOString(), "--config", join(src, "site.yaml")],
    ...["--file", `model-bundle=${model}`, "--out", join(stickDir, "switchboard-bundle.tar")],
  );
  assert.equal(made.code, 0, made.err);
  await rename(stickDir, join(mount, "STICK")); // the insert

  const done = await d.waitForLog(
    (l: LogLine) => l.msg === "provisioning: bundle applied" || l.msg === "provisioning: bundle rejected",
    30_000,
  );
  assert.equal(done.msg, "provisioning: bundle applied", String(done.reason));
  assert.deepEqual(done.models, ["silero-vad@5.0.0+806dcba"]);
  assert.ok((done.restartNeeded as string[]).includes("models"));
  const report = JSON.parse(await readFile(join(mount, "STICK", "switchboard-bundle.tar.result.json"), "utf8"));
  assert.deepEqual(report.models, ["silero-vad@5.0.0+806dcba"]);
  const store = new ModelStore({ dataDir: data, builtinPaths: [] });
  assert.equal(await store.activeVersion("silero-vad"), "5.0.0+806dcba");
  assert.deepEqual((await store.verify("silero-vad"))[0].problems, []);
  assert.equal(await d.stop(), 0);
});
