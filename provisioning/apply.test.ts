import assert from "node:assert/strict";
import { createHash, generateKeyPairSync, type KeyObject, sign } from "node:crypto";
import { lstat, mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { ModelStore } from "../models/store.ts";
import { needModel } from "../models/testing/shared-models.ts";
import { buildTar, type RawTarEntry } from "../models/testing/tar-builder.ts";
import { type ApplyOptions, applyBundle, currentDir, firstBootSecretFile, readState, rollback } from "./apply.ts";
import { BundleRejected, verifyBundle } from "./bundle.ts";
import type { Role } from "./manifest.ts";
import { sileroVadBundle, sileroVadFile, syntheticModelBundle } from "./testing/model-bundle.ts";

const dir = await mkdtemp(join(tmpdir(), "provisioning-test-"));
after(() => rm(dir, { recursive: true, force: true }));
const key = generateKeyPairSync("ed25519");
const otherKey = generateKeyPairSync("ed25519");
const now = Date.parse("2026-06-01T12:00:00Z");
const siteYaml = await readFile(new URL("../examples/demo.yaml", import.meta.url));
const sha = (b: Buffer) => createHash("sha256").update(b).digest("hex");
let n = 0;

interface BundleFile {
  path: string;
  role: Role;
  data: Buffer;
}

interface Craft {
  version?: number;
  target?: Record<string, string>;
  expiresAt?: string;
  signWith?: KeyObject;
  files?: BundleFile[];
  /** Changes the archive after signing. */
  entries?: (e: RawTarEntry[]) => RawTarEntry[];
  manifestBytes?: (b: Buffer) => Buffer;
}

function defaultFiles(version: number): BundleFile[] {
  return [
    {
      path: "site-config/site.yaml",
      role: "site-config",
      data: Buffer.concat([siteYaml, Buffer.from(`# v${version}\n`)]),
    },
    { path: "secrets/first-boot", role: "first-boot-secret", data: Buffer.from(`secret-v${version}\n`) },
    { path: "network/net.json", role: "network", data: Buffer.from(`{"dhcp":true,"v":${version}}`) },
  ];
}

function craft(c: Craft = {}): Buffer {
  const version = c.version ?? 1;
  const files = c.files ?? defaultFiles(version);
  const manifest = {
    format: 1,
    id: `bundle-${version}-${++n}`,
    target: c.target ?? { deviceId: "box-1" },
    version,
    createdAt: "2026-05-01T00:00:00Z",
    expiresAt: c.expiresAt ?? "2027-01-01T00:00:00Z",
    contents: files.map((f) => ({ path: f.path, sha256: sha(f.data), size: f.data.length, role: f.role })),
  };
  const signed = Buffer.from(JSON.stringify(manifest));
  const sig = sign(null, signed, c.signWith ?? key.privateKey).toString("base64");
  const mb = c.manifestBytes ? c.manifestBytes(signed) : signed;
  const entries: RawTarEntry[] = [
    { name: "manifest.json", data: mb },
    { name: "manifest.sig", data: Buffer.from(sig) },
    ...files.map((f) => ({ name: f.path, data: f.data })),
  ];
  return buildTar(c.entries ? c.entries(entries) : entries);
}

async function stick(bytes: Buffer): Promise<string> {
  const d = join(dir, `stick-${++n}`);
  await mkdir(d);
  const p = join(d, "switchboard-bundle.tar");
  await writeFile(p, bytes);
  return p;
}

const opts = (dataDir: string, extra: Partial<ApplyOptions> = {}): ApplyOptions => ({
  dataDir,
  publicKey: key.publicKey,
  device: { deviceId: "box-1", fleetId: "fleet-a" },
  now: () => now,
  ...extra,
});

/** Every path with its type, mode and content hash: "nothing changed" means this is equal. */
async function snapshot(root: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (d: string): Promise<void> => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      const s = await lstat(p);
      const rel = p.slice(root.length);
      if (e.isDirectory()) {
        out[rel] = `dir ${s.mode.toString(8)}`;
        await walk(p);
      } else out[rel] = `${s.mode.toString(8)} ${e.isFile() ? sha(await readFile(p)) : "other"}`;
    }
  };
  await walk(root);
  return out;
}

/** A data dir with version 2 applied over version 1 and an unrelated file. */
async function provisionedDataDir(): Promise<string> {
  const d = join(dir, `data-${++n}`);
  await mkdir(d);
  await writeFile(join(d, "calls.db"), "not touched");
  for (const version of [1, 2]) {
    const r = await applyBundle(await stick(craft({ version })), opts(d));
    assert.equal(r.ok, true, r.reason);
  }
  return d;
}

let shared: string;
before(async () => {
  shared = await provisionedDataDir();
});

test("a good bundle applies: files, state, secret 0600 outside current/, report on the stick", async () => {
  const d = join(dir, "fresh");
  const bundle = await stick(craft({ version: 3 }));
  const progress: number[] = [];
  const r = await applyBundle(bundle, opts(d, { onProgress: (p) => progress.push(p.bytes) }));
  assert.equal(r.ok, true, r.reason);
  assert.equal(r.version, 3);
  const files = defaultFiles(3);
  assert.deepEqual(await readFile(join(currentDir(d), "site-config/site.yaml")), files[0].data);
  assert.deepEqual(await readFile(join(currentDir(d), "network/net.json")), files[2].data);
  await assert.rejects(stat(join(currentDir(d), "secrets/first-boot")), { code: "ENOENT" });
  assert.equal(await readFile(firstBootSecretFile(d), "utf8"), "secret-v3\n");
  assert.equal((await stat(firstBootSecretFile(d))).mode & 0o777, 0o600);
  const state = await readState(d);
  assert.equal(state.installedVersion, 3);
  assert.equal(state.bundleId, r.bundleId);
  const written = JSON.parse(await readFile(`${bundle}.result.json`, "utf8"));
  assert.equal(written.ok, true);
  assert.equal(written.version, 3);
  assert.match(await readFile(`${bundle}.result.txt`, "utf8"), /OK/);
  assert.equal(
    progress.at(-1),
    files.reduce((s, f) => s + f.data.length, 0),
  );
});

const rejections: { name: string; code: string; where: RegExp; bundle: () => Buffer; extra?: Partial<ApplyOptions> }[] =
  [
    {
      name: "tampered file",
      code: "content",
      where: /site-config\/site\.yaml/,
      bundle: () =>
        craft({
          version: 5,
          entries: (e) =>
            e.map((x) => (x.name.endsWith("site.yaml") ? { ...x, data: Buffer.from(x.data!).fill(65, 0, 4) } : x)),
        }),
    },
    {
      name: "tampered manifest",
      code: "signature",
      where: /manifest\.sig/,
      bundle: () =>
        craft({ version: 5, manifestBytes: (b) => Buffer.from(b.toString().replace('"version":5', '"version":9')) }),
    },
    {
      name: "garbage manifest with a bad signature is not parsed",
      code: "signature",
      where: /manifest\.sig/,
      bundle: () => craft({ version: 5, manifestBytes: () => Buffer.from("{not json") }),
    },
    {
      name: "wrong key",
      code: "signature",
      where: /manifest\.sig/,
      bundle: () => craft({ version: 5, signWith: otherKey.privateKey }),
    },
    {
      name: "expired",
      code: "expired",
      where: /expiresAt/,
      bundle: () => craft({ version: 5, expiresAt: "2026-05-31T00:00:00Z" }),
    },
    { name: "equal version (replay)", code: "version", where: /version/, bundle: () => craft({ version: 2 }) },
    { name: "lower version (rollback attack)", code: "version", where: /version/, bundle: () => craft({ version: 1 }) },
    {
      name: "other device",
      code: "target",
      where: /target/,
      bundle: () => craft({ version: 5, target: { deviceId: "box-2" } }),
    },
    {
      name: "other fleet",
      code: "target",
      where: /target/,
      bundle: () => craft({ version: 5, target: { fleetId: "fleet-b" } }),
    },
    {
      name: "path traversal entry",
      code: "archive",
      where: /switchboard-bundle\.tar/,
      bundle: () => craft({ version: 5, entries: (e) => [...e, { name: "../evil", data: Buffer.from("x") }] }),
    },
    {
      name: "symlink entry",
      code: "archive",
      where: /switchboard-bundle\.tar/,
      bundle: () =>
        craft({ version: 5, entries: (e) => [...e, { name: "network/link", type: "2", linkname: "/etc/passwd" }] }),
    },
    {
      name: "unlisted file",
      code: "content",
      where: /extra\.txt/,
      bundle: () => craft({ version: 5, entries: (e) => [...e, { name: "extra.txt", data: Buffer.from("x") }] }),
    },
    {
      name: "listed file missing",
      code: "content",
      where: /network\/net\.json/,
      bundle: () => craft({ version: 5, entries: (e) => e.filter((x) => !x.name.startsWith("network/")) }),
    },
    {
      name: "file before the manifest",
      code: "archive",
      where: /network\/net\.json/,
      bundle: () => craft({ version: 5, entries: (e) => [e[4], ...e.slice(0, 4)] }),
    },
    {
      name: "oversized",
      code: "oversized",
      where: /contents/,
      bundle: () => craft({ version: 5 }),
      extra: { maxBytes: 1000 },
    },
    {
      name: "truncated archive",
      code: "archive",
      where: /switchboard-bundle\.tar/,
      bundle: () => {
        const b = craft({ version: 5 });
        return b.subarray(0, b.indexOf(siteYaml.subarray(0, 64)) + 1000); // cut inside the site config
      },
    },
    {
      name: "invalid site config",
      code: "config",
      where: /site-config\/site\.yaml:\d+:\d+/,
      bundle: () =>
        craft({
          version: 5,
          files: [{ path: "site-config/site.yaml", role: "site-config", data: Buffer.from("sip:\n  nonsense: 1\n") }],
        }),
    },
  ];

for (const c of rejections) {
  test(`rejected, nothing changed: ${c.name}`, async () => {
    const before = await snapshot(shared);
    const bundle = await stick(c.bundle());
    const r = await applyBundle(bundle, opts(shared, c.extra));
    assert.equal(r.ok, false);
    assert.equal(r.code, c.code, `${r.where}: ${r.reason}`);
    assert.match(r.where ?? "", c.where);
    assert.deepEqual(await snapshot(shared), before);
    const written = JSON.parse(await readFile(`${bundle}.result.json`, "utf8"));
    assert.equal(written.ok, false);
    assert.equal(written.reason, r.reason);
    assert.match(await readFile(`${bundle}.result.txt`, "utf8"), /REJECTED, nothing was changed/);
  });
}

test("a rejected first bundle leaves no provisioning directory behind", async () => {
  const d = join(dir, "empty-data");
  await mkdir(d);
  const r = await applyBundle(await stick(craft({ version: 1, signWith: otherKey.privateKey })), opts(d));
  assert.equal(r.code, "signature");
  assert.deepEqual(await readdir(d), []);
});

test("rollback restores the previous state and an old bundle still cannot be replayed", async () => {
  const d = await provisionedDataDir();
  const state = await rollback(d, () => now);
  assert.equal(state.installedVersion, 1);
  assert.equal(state.highestVersion, 2);
  assert.deepEqual(await readFile(join(currentDir(d), "site-config/site.yaml")), defaultFiles(1)[0].data);
  assert.deepEqual(await readFile(join(currentDir(d), "network/net.json")), defaultFiles(1)[2].data);
  const replay = await applyBundle(await stick(craft({ version: 2 })), opts(d));
  assert.equal(replay.code, "version");
  const next = await applyBundle(await stick(craft({ version: 3 })), opts(d));
  assert.equal(next.ok, true, next.reason);
});

test("rollback without a previous state is refused", async () => {
  const d = join(dir, "one-bundle");
  assert.equal((await applyBundle(await stick(craft({ version: 1 })), opts(d))).ok, true);
  await assert.rejects(rollback(d), /no previous provisioning state/);
});

test("a directory bundle verifies; a listed file reached through a symlink is rejected", async () => {
  const root = join(dir, "dir-bundle");
  await mkdir(root);
  const files = defaultFiles(4);
  const manifest = {
    format: 1,
    id: "dir-bundle-1",
    target: { fleetId: "fleet-a" },
    version: 4,
    createdAt: "2026-05-01T00:00:00Z",
    expiresAt: "2027-01-01T00:00:00Z",
    contents: files.map((f) => ({ path: f.path, sha256: sha(f.data), size: f.data.length, role: f.role })),
  };
  const mb = Buffer.from(JSON.stringify(manifest));
  await writeFile(join(root, "manifest.json"), mb);
  await writeFile(join(root, "manifest.sig"), sign(null, mb, key.privateKey).toString("base64"));
  for (const f of files) {
    await mkdir(join(root, f.path, ".."), { recursive: true });
    await writeFile(join(root, f.path), f.data);
  }
  const v = await verifyBundle(root, {
    publicKey: key.publicKey,
    device: opts(dir).device,
    now: () => now,
    installedVersion: 0,
  });
  assert.equal(v.manifest.version, 4);
  await rm(join(root, "network"), { recursive: true });
  await mkdir(join(dir, "elsewhere"), { recursive: true });
  await writeFile(join(dir, "elsewhere", "net.json"), files[2].data);
  await symlink(join(dir, "elsewhere"), join(root, "network"));
  await assert.rejects(
    verifyBundle(root, { publicKey: key.publicKey, device: opts(dir).device, now: () => now, installedVersion: 0 }),
    (e: unknown) => e instanceof BundleRejected && e.code === "archive" && /symbolic link/.test(e.reason),
  );
});

// ---- model bundles ----

async function modelFile(path: string, make: (out: string) => Promise<string>): Promise<BundleFile> {
  const out = join(dir, `model-${++n}.tar`);
  return { path, role: "model-bundle", data: await readFile(await make(out)) };
}

test("a bundle with a model bundle: checked, applied, installed and listed by the store; again: no error", async (t) => {
  if (!needModel(t, "silero-vad", sileroVadFile)) return;
  const d = join(dir, `models-${++n}`);
  const vad = await modelFile("models/silero-vad.tar", (o) => sileroVadBundle(o));
  const stages = new Set<string>();
  const bundle = await stick(craft({ version: 1, files: [...defaultFiles(1), vad] }));
  const r = await applyBundle(bundle, opts(d, { onProgress: (p) => stages.add(p.stage) }));
  assert.equal(r.ok, true, r.reason);
  assert.deepEqual([...stages], ["bundle", "models"]);
  assert.deepEqual(r.models, ["silero-vad@5.0.0+806dcba"]);
  assert.deepEqual(r.restartNeeded, ["models"]);
  const store = new ModelStore({ dataDir: d, builtinPaths: [] });
  assert.deepEqual(
    (await store.list()).map((e) => `${e.name}@${e.bundle?.manifest.version}:${e.source}`),
    ["silero-vad@5.0.0+806dcba:installed"],
  );
  assert.deepEqual((await store.verify("silero-vad"))[0].problems, []);
  assert.deepEqual(await readdir(join(store.root, ".staging")), [], "no staging left behind");
  const text = await readFile(`${bundle}.result.txt`, "utf8");
  assert.match(text, /model bundles installed: silero-vad@5\.0\.0\+806dcba/);
  assert.match(text, /restart needed for: models/);
  assert.deepEqual(JSON.parse(await readFile(`${bundle}.result.json`, "utf8")).models, r.models);

  // The next bundle carries the same model version: installing what is installed is fine and needs no restart.
  const again = await applyBundle(await stick(craft({ version: 2, files: [...defaultFiles(2), vad] })), opts(d));
  assert.equal(again.ok, true, again.reason);
  assert.deepEqual(again.models, ["silero-vad@5.0.0+806dcba"]);
  assert.equal(again.restartNeeded, undefined);
  assert.equal(await store.activeVersion("silero-vad"), "5.0.0+806dcba");
});

test("a corrupt model bundle rejects the whole bundle, naming the file; data dir and store unchanged", async (t) => {
  if (!needModel(t, "silero-vad", sileroVadFile)) return;
  const d = await provisionedDataDir();
  // The store already holds a version of the model: it must stay active.
  await new ModelStore({ dataDir: d }).install(
    await syntheticModelBundle(join(dir, `m-${++n}.tar`), "vad-x", "1", 5000),
  );
  const before = await snapshot(d);
  const corrupt = await modelFile("models/silero-vad.tar", (o) => sileroVadBundle(o, { corrupt: true }));
  const good = await modelFile("models/vad-x.tar", (o) => syntheticModelBundle(o, "vad-x", "2", 7000));
  const bundle = await stick(craft({ version: 5, files: [...defaultFiles(5), good, corrupt] }));
  const r = await applyBundle(bundle, opts(d));
  assert.equal(r.ok, false);
  assert.equal(r.code, "content");
  assert.equal(r.where, "models/silero-vad.tar");
  assert.match(
    r.reason ?? "",
    /^model bundle rejected: silero-vad 5\.0\.0\+806dcba: rejected:; silero_vad\.onnx: sha256/,
  );
  assert.deepEqual(await snapshot(d), before, "nothing changed: provisioning state, current/, the model store");
  assert.match(await readFile(`${bundle}.result.txt`, "utf8"), /REJECTED, nothing was changed[\s\S]*silero-vad\.tar/);
});

test("model bundles that are no archive, conflict with an installed version or repeat a name are rejected", async () => {
  const d = await provisionedDataDir();
  await new ModelStore({ dataDir: d }).install(
    await syntheticModelBundle(join(dir, `m-${++n}.tar`), "vad-y", "1", 3000),
  );
  const before = await snapshot(d);
  const cases: [string, BundleFile[], RegExp][] = [
    [
      "not an archive",
      [{ path: "models/m.tar", role: "model-bundle", data: Buffer.from("not a tar at all".repeat(64)) }],
      /^model bundle rejected: m\.tar: /,
    ],
    [
      "same version, other content",
      [await modelFile("models/y.tar", (o) => syntheticModelBundle(o, "vad-y", "1", 4000))],
      /vad-y 1 is already installed with a different manifest/,
    ],
    [
      "one name twice",
      [
        await modelFile("models/a.tar", (o) => syntheticModelBundle(o, "vad-z", "1", 1000)),
        await modelFile("models/b.tar", (o) => syntheticModelBundle(o, "vad-z", "2", 1000)),
      ],
      /a second model bundle named "vad-z" \(models\/a\.tar\)/,
    ],
  ];
  for (const [what, models, reason] of cases) {
    const r = await applyBundle(await stick(craft({ version: 5, files: [...defaultFiles(5), ...models] })), opts(d));
    assert.equal(r.code, "content", what);
    assert.match(r.reason ?? "", reason, what);
    assert.deepEqual(await snapshot(d), before, what);
  }
});
