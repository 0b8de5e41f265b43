import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdir, mkdtemp, readdir, readFile, rm, symlink, truncate, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { ModelError, ModelStore, type ProgressEvent } from "./store.ts";
import { needModel, sharedModelsDir } from "./testing/shared-models.ts";

const tmp = await mkdtemp(join(tmpdir(), "model-store-test-"));
after(() => rm(tmp, { recursive: true, force: true }));
let n = 0;
const sha = (b: Buffer | string) => createHash("sha256").update(b).digest("hex");

type Files = Record<string, Buffer>;
const payload = (seed: number, size: number) => Buffer.from(Array.from({ length: size }, (_, i) => (i * seed) % 256));

/** Writes a bundle directory; `edit` may change the manifest object before it is written. */
async function bundleDir(
  name: string,
  version: string,
  files: Files,
  edit: (m: Record<string, unknown>) => void = () => {},
  extra: Files = {},
): Promise<string> {
  const dir = join(tmp, `bundle-${++n}`);
  for (const [p, data] of Object.entries({ ...files, ...extra })) {
    await mkdir(join(dir, p, ".."), { recursive: true });
    await writeFile(join(dir, p), data);
  }
  const manifest: Record<string, unknown> = {
    name,
    version,
    task: "vad",
    engine: "sherpa-onnx-silero-vad",
    languages: ["*"],
    sampleRate: 16000,
    files: Object.entries(files).map(([path, data]) => ({ path, sha256: sha(data), bytes: data.length })),
    licence: "MIT",
  };
  edit(manifest);
  await writeFile(join(dir, "manifest.json"), JSON.stringify(manifest, null, 2));
  return dir;
}

function tarOf(dir: string): string {
  const out = join(tmp, `bundle-${++n}.tar`);
  execFileSync("tar", ["-cf", out, "-C", dir, "."]);
  return out;
}

const v1Files: Files = { "model.onnx": payload(7, 300_000), "sub/LICENSE": Buffer.from("MIT licence text\n") };
const v2Files: Files = { "model.onnx": payload(11, 200_000), "sub/LICENSE": Buffer.from("MIT licence text\n") };

async function assertActive(store: ModelStore, name: string, version: string, files: Files): Promise<void> {
  assert.equal(await store.activeVersion(name), version);
  const [r] = await store.verify(name);
  assert.deepEqual(r.problems, []);
  assert.equal(r.version, version);
  for (const [p, data] of Object.entries(files)) assert.deepEqual(await readFile(join(r.dir, p)), data);
  const staging = await readdir(join(store.root, ".staging"));
  assert.deepEqual(staging, [], "staging must be empty after every install");
}

test("installs a directory then a .tar, with increasing progress, and keeps the previous version", async () => {
  const dataDir = join(tmp, `data-${++n}`);
  const store = new ModelStore({ dataDir, catalogDir: join(tmp, "no-catalog") });
  // Leftovers of a crashed install (its pid is gone) are cleaned up by the next install.
  await mkdir(join(dataDir, "models", ".staging", "2147483646-dead", "bundle"), { recursive: true });
  const events: ProgressEvent[] = [];
  const r1 = await store.install(await bundleDir("vad-a", "1.0.0", v1Files), { onProgress: (e) => events.push(e) });
  assert.equal(r1.version, "1.0.0");
  assert.equal(r1.previous, undefined);
  await assertActive(store, "vad-a", "1.0.0", v1Files);
  assert.ok(events.length >= 2);
  for (let i = 1; i < events.length; i++) assert.ok(events[i].bytesDone >= events[i - 1].bytesDone);
  assert.equal(events.at(-1)?.bytesDone, 300_000 + v1Files["sub/LICENSE"].length);
  assert.ok(events.every((e) => e.phase === "copy" && e.bytesTotal === events[0].bytesTotal));

  const tarEvents: ProgressEvent[] = [];
  const r2 = await store.install(tarOf(await bundleDir("vad-a", "2.0.0", v2Files)), {
    onProgress: (e) => tarEvents.push(e),
  });
  assert.equal(r2.previous, "1.0.0");
  await assertActive(store, "vad-a", "2.0.0", v2Files);
  for (let i = 1; i < tarEvents.length; i++) assert.ok(tarEvents[i].bytesDone >= tarEvents[i - 1].bytesDone);
  assert.equal(tarEvents.at(-1)?.bytesDone, tarEvents.at(-1)?.bytesTotal);
  assert.deepEqual(await store.installedVersions("vad-a"), ["2.0.0", "1.0.0"]);
  const active = JSON.parse(await readFile(join(store.root, "vad-a", "active.json"), "utf8"));
  assert.equal(active.version, "2.0.0");

  // A tar wrapping the bundle in one top-level directory is accepted too.
  const wrapRoot = join(tmp, `wrap-${++n}`);
  await mkdir(wrapRoot);
  execFileSync("cp", ["-r", await bundleDir("vad-a", "3.0.0", v1Files), join(wrapRoot, "vad-a-3")]);
  const wrapped = join(tmp, "wrapped.tar");
  execFileSync("tar", ["-cf", wrapped, "-C", wrapRoot, "vad-a-3"]);
  assert.equal((await store.install(wrapped)).version, "3.0.0");
  // Only the new and the previously active version stay on disk.
  assert.deepEqual(await store.installedVersions("vad-a"), ["3.0.0", "2.0.0"]);
});

test("rejects each kind of bad bundle and leaves the active version untouched", async () => {
  const store = new ModelStore({ dataDir: join(tmp, `data-${++n}`), catalogDir: join(tmp, "no-catalog") });
  await store.install(await bundleDir("vad-b", "1.0.0", v1Files));
  await assertActive(store, "vad-b", "1.0.0", v1Files);

  const corrupt = await bundleDir("vad-b", "2.0.0", v2Files);
  const flipped = Buffer.from(v2Files["model.onnx"]);
  flipped[1000] ^= 0xff;
  await writeFile(join(corrupt, "model.onnx"), flipped);

  const wrongSize = await bundleDir("vad-b", "2.0.0", v2Files);
  await truncate(join(wrongSize, "model.onnx"), 1234);

  const symlinkTarDir = await bundleDir("vad-b", "2.0.0", v2Files);
  await symlink("/etc/passwd", join(symlinkTarDir, "passwd"));
  const symlinkDir = await bundleDir("vad-b", "2.0.0", v2Files);
  await symlink("model.onnx", join(symlinkDir, "alias.onnx"));

  const fullTar = await readFile(tarOf(await bundleDir("vad-b", "2.0.0", v2Files)));
  const truncated = join(tmp, "truncated.tar");
  await writeFile(truncated, fullTar.subarray(0, 100_000));

  await mkdir(join(tmp, "no-catalog-src", "x"), { recursive: true });
  const cases: [string, string, RegExp][] = [
    ["corrupt file (sha256 mismatch)", corrupt, /model\.onnx: sha256 mismatch/],
    ["corrupt file in a tar", tarOf(corrupt), /model\.onnx: sha256 mismatch/],
    ["wrong size", wrongSize, /model\.onnx: wrong size: 1234 bytes, manifest says 200000/],
    [
      "missing manifest field",
      await bundleDir("vad-b", "2.0.0", v2Files, (m) => {
        delete m.licence;
      }),
      /licence: Invalid input/,
    ],
    [
      "bad field value",
      await bundleDir("vad-b", "2.0.0", v2Files, (m) => {
        m.task = "karaoke";
      }),
      /task: /,
    ],
    [
      "missing file",
      await bundleDir("vad-b", "2.0.0", v2Files, (m) => {
        (m.files as unknown[]).push({ path: "tokens.txt", sha256: sha("x"), bytes: 1 });
      }),
      /tokens\.txt: missing/,
    ],
    [
      "path traversal in manifest",
      await bundleDir("vad-b", "2.0.0", v2Files, (m) => {
        (m.files as { path: string }[])[0].path = "../model.onnx";
      }),
      /files\[0\]\.path: unsafe path "\.\.\/model\.onnx"/,
    ],
    [
      "absolute path in manifest",
      await bundleDir("vad-b", "2.0.0", v2Files, (m) => {
        (m.files as { path: string }[])[0].path = "/etc/passwd";
      }),
      /files\[0\]\.path: unsafe path "\/etc\/passwd": is absolute/,
    ],
    [
      "extra unlisted file",
      await bundleDir("vad-b", "2.0.0", v2Files, () => {}, { "notes.txt": Buffer.from("hi") }),
      /notes\.txt: not listed in the manifest/,
    ],
    [
      "extra unlisted file in a tar",
      tarOf(await bundleDir("vad-b", "2.0.0", v2Files, () => {}, { x: Buffer.from("x") })),
      /x: not listed/,
    ],
    ["symlink in tar", tarOf(symlinkTarDir), /"\.\/passwd" is a symbolic link/],
    ["symlink in a directory", symlinkDir, /"alias\.onnx" is a symbolic link/],
    ["truncated tar", truncated, /truncated/],
    ["no manifest", tarOf(join(tmp, "no-catalog-src")), /manifest\.json in .* not found|not found/],
    ["not there", join(tmp, "does-not-exist"), /not found/],
  ];
  for (const [what, src, pattern] of cases) {
    await assert.rejects(store.install(src), pattern, what);
    await assertActive(store, "vad-b", "1.0.0", v1Files);
    assert.deepEqual(await store.installedVersions("vad-b"), ["1.0.0"], what);
  }

  // Same version, same manifest: idempotent. Same version, other content: refused.
  assert.equal((await store.install(await bundleDir("vad-b", "1.0.0", v1Files))).reused, true);
  await assert.rejects(
    store.install(await bundleDir("vad-b", "1.0.0", v2Files)),
    /already installed with a different manifest/,
  );
  await assertActive(store, "vad-b", "1.0.0", v1Files);
});

test("prepareInstall checks everything up front; activate installs, discard leaves no trace", async () => {
  const store = new ModelStore({ dataDir: join(tmp, `data-${++n}`), catalogDir: join(tmp, "no-catalog") });
  await store.install(await bundleDir("vad-p", "1.0.0", v1Files));

  // Checked but not activated: the old version stays active until activate().
  const prepared = await store.prepareInstall(tarOf(await bundleDir("vad-p", "2.0.0", v2Files)));
  assert.equal(`${prepared.name}@${prepared.version}`, "vad-p@2.0.0");
  assert.equal(await store.activeVersion("vad-p"), "1.0.0");
  assert.deepEqual(await store.installedVersions("vad-p"), ["1.0.0"]);
  const r = await prepared.activate();
  assert.equal(r.previous, "1.0.0");
  await assertActive(store, "vad-p", "2.0.0", v2Files);
  await assert.rejects(prepared.activate(), /already activated or discarded/);

  const dropped = await store.prepareInstall(await bundleDir("vad-p", "3.0.0", v1Files));
  await dropped.discard();
  await dropped.discard();
  await assertActive(store, "vad-p", "2.0.0", v2Files);
  assert.deepEqual(await store.installedVersions("vad-p"), ["2.0.0", "1.0.0"]);

  // Problems surface at prepare time: a corrupt file, and a version conflict with what is installed.
  const corrupt = await bundleDir("vad-p", "3.0.0", v1Files);
  await writeFile(join(corrupt, "model.onnx"), Buffer.alloc(300_000));
  await assert.rejects(store.prepareInstall(tarOf(corrupt)), /model\.onnx: sha256 mismatch/);
  await assert.rejects(
    store.prepareInstall(await bundleDir("vad-p", "2.0.0", v1Files)),
    (e: unknown) => e instanceof ModelError && e.code === "conflict",
  );
  // The same version again is not a conflict: it activates as reused.
  const again = await store.prepareInstall(await bundleDir("vad-p", "2.0.0", v2Files));
  assert.equal((await again.activate()).reused, true);
  await assertActive(store, "vad-p", "2.0.0", v2Files);
});

test("signature seam: verifier runs on signed bundles, failures reject, unsigned can be required", async () => {
  // Stand-in for Ed25519: the "signature" is sha256(manifest bytes) in hex.
  const verifySignature = ({ manifestBytes, signature }: { manifestBytes: Buffer; signature: Buffer }) => {
    if (signature.toString() !== sha(manifestBytes)) throw new Error("bad signature");
  };
  const sign = async (dir: string, good = true) =>
    writeFile(join(dir, "signature"), good ? sha(await readFile(join(dir, "manifest.json"))) : "0".repeat(64));
  const store = new ModelStore({ dataDir: join(tmp, `data-${++n}`), verifySignature, requireSignature: true });

  const signed = await bundleDir("vad-s", "1.0.0", v1Files);
  await sign(signed);
  await store.install(tarOf(signed));
  await assertActive(store, "vad-s", "1.0.0", v1Files);

  const forged = await bundleDir("vad-s", "2.0.0", v2Files);
  await sign(forged, false);
  await assert.rejects(store.install(forged), /signature check failed: bad signature/);
  await assert.rejects(store.install(await bundleDir("vad-s", "2.0.0", v2Files)), /unsigned bundle rejected/);
  await assertActive(store, "vad-s", "1.0.0", v1Files);

  // Without a verifier a signature cannot be checked: installed as unsigned, with a warning.
  const plain = new ModelStore({ dataDir: join(tmp, `data-${++n}`) });
  const r = await plain.install(forged);
  assert.match(r.warnings.join(), /no signature verifier/);
});

test("list, resolve by task and language, search paths and remove", async () => {
  const search = join(tmp, `search-${++n}`);
  await mkdir(search);
  const mk = async (name: string, version: string, task: string, languages: string[]) =>
    bundleDir(name, version, v1Files, (m) => {
      m.task = task;
      m.languages = languages;
      m.engine = task === "tts" ? "sherpa-onnx-vits" : "sherpa-onnx-silero-vad";
    });
  execFileSync("cp", ["-r", await mk("tts-de", "1.0.0", "tts", ["de-DE"]), join(search, "tts-de")]);
  execFileSync("cp", ["-r", await mk("tts-any", "1.0.0", "tts", ["*"]), join(search, "tts-any")]);
  // What ships with the software loses to a search path even at a higher version, and fills the gaps.
  const builtin = join(tmp, `builtin-${n}`);
  await mkdir(builtin);
  execFileSync("cp", ["-r", await mk("tts-de-builtin", "9.0.0", "tts", ["de-DE"]), join(builtin, "tts-de-builtin")]);
  execFileSync("cp", ["-r", await mk("tts-fr", "1.0.0", "tts", ["fr-FR"]), join(builtin, "tts-fr")]);
  const store = new ModelStore({
    dataDir: join(tmp, `data-${++n}`),
    searchPaths: [search],
    builtinPaths: [builtin],
    catalogDir: join(tmp, "x"),
  });
  await store.install(await mk("tts-en", "1.0.0", "tts", ["en-US", "en-GB"]));

  const listed = await store.list();
  assert.deepEqual(
    listed.map((e) => `${e.name}:${e.source}`),
    ["tts-en:installed", "tts-any:search-path", "tts-de:search-path", "tts-de-builtin:built-in", "tts-fr:built-in"],
  );
  assert.equal((await store.resolve("tts", { language: "de" }))?.manifest.name, "tts-de");
  assert.equal((await store.resolve("tts", { language: "en-GB" }))?.manifest.name, "tts-en");
  assert.equal((await store.resolve("tts", { language: "fr-FR" }))?.manifest.name, "tts-fr");
  assert.equal((await store.resolve("tts", { language: "it-IT" }))?.manifest.name, "tts-any");
  await assert.rejects(store.remove("tts-fr"), /read-only built-in directory/);
  assert.equal(await store.resolve("asr"), undefined);
  const en = await store.resolve("tts", { language: "en" });
  assert.equal(en?.path("model.onnx"), join(store.root, "tts-en", "1.0.0", "model.onnx"));
  assert.throws(() => en?.path("../etc/passwd"), /not in the manifest/);

  // A damaged search-path bundle is skipped by resolve and reported by verify.
  await truncate(join(search, "tts-de", "model.onnx"), 10);
  assert.equal((await store.resolve("tts", { language: "de" }))?.manifest.name, "tts-de-builtin");
  const bad = await store.verify("tts-de");
  assert.match(bad[0].problems.join(), /model\.onnx: wrong size: 10 bytes/);

  await assert.rejects(store.remove("tts-any"), /read-only search-path directory/);
  assert.deepEqual(await store.remove("tts-en"), { versions: ["1.0.0"] });
  assert.equal((await store.resolve("tts", { language: "en" }))?.manifest.name, "tts-any");
  await assert.rejects(store.remove("tts-en"), /not installed/);
});

for (const [model, file] of [
  ["silero-vad", "silero_vad.onnx"],
  ["gtcrn", "gtcrn_simple.sherpa.onnx"],
  ["svox-pico", "de-DE_ta.bin"],
] as const) {
  test(`catalog manifest for ${model} matches the real files (search path and install)`, async (t) => {
    const src = join(sharedModelsDir, model);
    if (!needModel(t, model, join(src, file))) return;
    const store = new ModelStore({ dataDir: join(tmp, `data-${++n}`), searchPaths: [sharedModelsDir] });
    const [r] = await store.verify(model);
    assert.equal(r.source, "search-path");
    assert.deepEqual(r.problems, [], `${model} in ${src} does not match models/catalog/${model}.json`);

    const task = (await store.catalogEntries()).get(model)!.manifest.task;
    assert.equal((await store.resolve(task))?.dir, src);
    // A bare directory installs against its catalog manifest, and the installed copy then wins.
    const installed = await store.install(src);
    assert.equal(installed.name, model);
    assert.equal((await store.resolve(task))?.source, "installed");
    // The bare directory itself also works as a search path.
    const direct = new ModelStore({ dataDir: join(tmp, `data-${++n}`), searchPaths: [src] });
    assert.deepEqual((await direct.verify(model))[0].problems, []);
    const verified = await store.verify(model);
    assert.deepEqual(
      verified.map((v) => [v.source, v.problems.length]),
      [
        ["installed", 0],
        ["search-path", 0],
      ],
    );
  });
}
