import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { modelsCommand } from "./cli.ts";
import { needModel, sharedModelsDir } from "./testing/shared-models.ts";

const tmp = await mkdtemp(join(tmpdir(), "models-cli-"));
after(() => rm(tmp, { recursive: true, force: true }));

async function run(args: string[], extra: { searchPaths?: string[]; progressMinBytes?: number } = {}) {
  const lines: string[] = [];
  const code = await modelsCommand(args, {
    dataDir: join(tmp, "data"),
    searchPaths: extra.searchPaths ?? [],
    out: (l) => lines.push(l),
    progressMinBytes: extra.progressMinBytes,
  });
  return { code, text: lines.join("\n"), lines };
}

test("install with progress, list, verify, remove; errors exit 1, usage exits 2", async () => {
  const src = join(tmp, "bundle");
  await mkdir(src);
  const data = Buffer.alloc(3 * 2 ** 20, 5);
  await writeFile(join(src, "model.onnx"), data);
  const manifest = {
    name: "cli-vad",
    version: "1.0.0",
    task: "vad",
    engine: "sherpa-onnx-silero-vad",
    languages: ["*"],
    sampleRate: 16000,
    files: [{ path: "model.onnx", sha256: createHash("sha256").update(data).digest("hex"), bytes: data.length }],
    licence: "MIT",
  };
  await writeFile(join(src, "manifest.json"), JSON.stringify(manifest));

  const inst = await run(["install", src], { progressMinBytes: 2 ** 20 });
  assert.equal(inst.code, 0, inst.text);
  const pct = inst.lines.filter((l) => /copy model\.onnx: \d+%/.test(l)).map((l) => Number(/(\d+)%/.exec(l)?.[1]));
  assert.ok(pct.length >= 2 && pct.at(-1) === 100, inst.text);
  for (let i = 1; i < pct.length; i++) assert.ok(pct[i] > pct[i - 1]);
  assert.match(inst.text, /installed cli-vad 1\.0\.0; it is active/);

  const list = await run(["list"]);
  assert.equal(list.code, 0);
  assert.match(list.text, /^cli-vad {2}1\.0\.0 {2}vad {2}sherpa-onnx-silero-vad/m);
  assert.equal((await run(["verify"])).code, 0);

  await writeFile(join(tmp, "data", "models", "cli-vad", "1.0.0", "model.onnx"), "tampered");
  const bad = await run(["verify", "cli-vad"]);
  assert.equal(bad.code, 1);
  assert.match(bad.text, /FAILED {2}cli-vad 1\.0\.0[\s\S]*model\.onnx: wrong size: 8 bytes/);

  assert.equal((await run(["remove", "cli-vad"])).code, 0);
  const again = await run(["remove", "cli-vad"]);
  assert.equal(again.code, 1);
  assert.match(again.text, /error: model "cli-vad" is not installed/);

  const broken = await run(["install", join(tmp, "nope")]);
  assert.equal(broken.code, 1);
  assert.match(broken.text, /error: .*nope: not found/);
  assert.equal((await run(["install"])).code, 2);
  assert.equal((await run(["frobnicate"])).code, 2);
  assert.equal((await run(["list", "--bogus"])).code, 2);
});

test("installs the real Silero VAD from its bare directory via the catalog", async (t) => {
  const src = join(sharedModelsDir, "silero-vad");
  if (!needModel(t, "silero-vad", join(src, "silero_vad.onnx"))) return;
  const r = await run(["install", src], { progressMinBytes: 2 ** 20 });
  assert.equal(r.code, 0, r.text);
  assert.match(r.text, /copy silero_vad\.onnx: 100%/);
  const v = await run(["verify", "silero-vad"], { searchPaths: [sharedModelsDir] });
  assert.equal(v.code, 0, v.text);
  assert.match(v.text, /ok {6}silero-vad 5\.0\.0\+806dcba {2}\[installed\]/);
  assert.match(v.text, /ok {6}silero-vad 5\.0\.0\+806dcba {2}\[search-path\]/);
  const withManifest = await run([
    "install",
    src,
    "--manifest",
    new URL("./catalog/silero-vad.json", import.meta.url).pathname,
  ]);
  assert.match(withManifest.text, /already installed and intact/);
});
