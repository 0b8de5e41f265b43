import assert from "node:assert/strict";
import { readdir, readFile } from "node:fs/promises";
import { test } from "node:test";
import { compareVersions, isKnownEngine, ManifestError, parseManifest } from "./manifest.ts";

const good = {
  name: "silero-vad",
  version: "5.0.0+806dcba",
  task: "vad",
  engine: "sherpa-onnx-silero-vad",
  languages: ["*"],
  sampleRate: 16000,
  files: [{ path: "sub/model.onnx", sha256: "a".repeat(64), bytes: 10 }],
  licence: "MIT",
  engineOptions: { model: "sub/model.onnx", nested: { list: [1, "x", null] } },
};
const parse = (v: unknown) => parseManifest(JSON.stringify(v));
const problems = (v: unknown): string[] => {
  try {
    parse(v);
  } catch (e) {
    assert.ok(e instanceof ManifestError);
    return e.issues;
  }
  assert.fail("expected a ManifestError");
};

test("accepts a complete manifest", () => {
  assert.equal(parse(good).files[0].path, "sub/model.onnx");
});

test("names the field path of every problem", () => {
  const { licence: _, ...noLicence } = good;
  assert.match(problems(noLicence).join(), /^licence: /);
  assert.match(problems({ ...good, name: "Bad Name" }).join(), /^name: must be a slug/);
  assert.match(problems({ ...good, version: "latest" }).join(), /^version: /);
  assert.match(problems({ ...good, task: "sing" }).join(), /^task: /);
  assert.match(problems({ ...good, languages: ["German"] }).join(), /^languages\[0\]: /);
  assert.match(problems({ ...good, sampleRate: 22.5 }).join(), /^sampleRate: /);
  assert.match(problems({ ...good, files: [{ ...good.files[0], sha256: "XYZ" }] }).join(), /^files\[0\]\.sha256: /);
  assert.match(problems({ ...good, files: [{ ...good.files[0], bytes: -1 }] }).join(), /^files\[0\]\.bytes: /);
  assert.match(problems({ ...good, license: "MIT" }).join(), /Unrecognized key: "license"/);
  assert.throws(() => parseManifest("{nope", "x/manifest.json"), /x\/manifest\.json: not valid JSON/);
});

test("rejects unsafe, reserved, duplicate and conflicting file paths", () => {
  const withPaths = (...paths: string[]) => ({
    ...good,
    files: paths.map((path) => ({ path, sha256: "a".repeat(64), bytes: 1 })),
  });
  const cases: [string, RegExp][] = [
    ["../x", /contains "\.\."/],
    ["a/../../x", /contains "\.\."/],
    ["/etc/passwd", /is absolute/],
    ["a\\b", /backslash/],
    ["C:x", /drive letter/],
    ["a//b", /empty segment/],
    ["./a", /"\." segment/],
    ["a\u0000b", /NUL/],
    ["", /is empty/],
    ["manifest.json", /reserved/],
    ["signature", /reserved/],
  ];
  for (const [p, re] of cases) assert.match(problems(withPaths(p)).join(), re, JSON.stringify(p));
  assert.match(problems(withPaths("a", "a")).join(), /files\[1\]\.path: duplicate "a"/);
  assert.match(problems(withPaths("a", "a/b")).join(), /"a\/b" is below "a"/);
});

test("version ordering and engine list", () => {
  assert.ok(compareVersions("1.10.0", "1.9.9") > 0);
  assert.ok(compareVersions("2.0.0-rc.1", "2.0.0") < 0);
  assert.equal(compareVersions("5.0.0+a", "5.0.0+b"), 0);
  assert.ok(isKnownEngine("svox-pico"));
  assert.ok(!isKnownEngine("whatever"));
});

test("every catalog manifest parses, is named after its file and uses a known engine", async () => {
  const dir = new URL("./catalog/", import.meta.url);
  const names = (await readdir(dir)).filter((f) => f.endsWith(".json"));
  assert.deepEqual(names.sort(), ["gtcrn.json", "silero-vad.json", "svox-pico.json"]);
  for (const f of names) {
    const m = parseManifest(await readFile(new URL(f, dir), "utf8"), f);
    assert.equal(`${m.name}.json`, f);
    assert.ok(isKnownEngine(m.engine), m.engine);
    // File names mentioned in engineOptions must be bundle files.
    const listed = new Set(m.files.map((x) => x.path));
    const refs = JSON.stringify(m.engineOptions).match(/"[^"]+\.(onnx|bin)"/g) ?? [];
    for (const r of refs) assert.ok(listed.has(JSON.parse(r)), `${f}: ${r} not in files`);
  }
});
