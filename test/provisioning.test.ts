// The installer's path through the real `switchboard provision` command: keygen, make-bundle, verify, apply (with
// progress and a report on the "stick"), a rejected replay, a wrong key and a rollback.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { copyFile, mkdir, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";

const repo = new URL("..", import.meta.url).pathname;
const dir = await mkdtemp(join(tmpdir(), "provision-cli-"));
after(() => rm(dir, { recursive: true, force: true }));

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
