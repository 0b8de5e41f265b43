import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { link, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { extractTar, TarError } from "./tar.ts";
import { buildTar } from "./testing/tar-builder.ts";

const dir = await mkdtemp(join(tmpdir(), "tar-test-"));
after(() => rm(dir, { recursive: true, force: true }));
let n = 0;

const sha = (b: Buffer) => createHash("sha256").update(b).digest("hex");

async function* chunks(b: Buffer, size = 777): AsyncIterable<Buffer> {
  for (let i = 0; i < b.length; i += size) yield b.subarray(i, i + size);
}

/** A fresh empty destination next to a sentinel parent, so escapes would be visible. */
async function dest(): Promise<string> {
  const d = join(dir, `out-${++n}`, "dest");
  await mkdir(d, { recursive: true });
  return d;
}

async function makeTree(): Promise<{ root: string; files: Record<string, Buffer> }> {
  const root = join(dir, `src-${++n}`);
  const long = `${"d".repeat(60)}/${"e".repeat(60)}/long-name-${"f".repeat(40)}.bin`;
  const files: Record<string, Buffer> = {
    "manifest.json": Buffer.from("{}"),
    "a/b/model.onnx": Buffer.from(Array.from({ length: 5000 }, (_, i) => i % 251)),
    "empty.txt": Buffer.alloc(0),
    [long]: Buffer.from("long"),
  };
  for (const [p, data] of Object.entries(files)) {
    await mkdir(join(root, p, ".."), { recursive: true });
    await writeFile(join(root, p), data);
  }
  return { root, files };
}

function systemTar(cwd: string, out: string, extra: string[] = []): Buffer {
  execFileSync("tar", ["-cf", out, ...extra, "."], { cwd });
  return execFileSync("cat", [out]);
}

async function rejects(archive: Buffer, pattern: RegExp, opts = {}): Promise<string> {
  const d = await dest();
  await assert.rejects(extractTar(chunks(archive), d, opts), (e: Error) => {
    assert.ok(e instanceof TarError, `expected TarError, got ${e}`);
    assert.match(e.message, pattern);
    return true;
  });
  return d;
}

for (const format of ["gnu", "posix", "ustar"]) {
  test(`extracts a ${format} archive made by the system tar, hashing on the way`, async () => {
    const { root, files } = await makeTree();
    const archive = join(dir, `good-${format}-${++n}.tar`);
    systemTar(root, archive, [`--format=${format}`]);
    const d = await dest();
    const got = await extractTar(createReadStream(archive), d);
    assert.deepEqual(got.map((f) => f.path).sort(), Object.keys(files).sort());
    for (const f of got) {
      assert.equal(f.sha256, sha(files[f.path]));
      assert.equal(f.bytes, files[f.path].length);
      assert.deepEqual(await readFile(join(d, f.path)), files[f.path]);
    }
  });
}

test("reports monotonic archive progress", async () => {
  const { root } = await makeTree();
  const archive = join(dir, "progress.tar");
  const bytes = systemTar(root, archive);
  const seen: number[] = [];
  await extractTar(chunks(bytes, 100), await dest(), { onProgress: (b) => seen.push(b) });
  assert.ok(seen.length > 10);
  for (let i = 1; i < seen.length; i++) assert.ok(seen[i] >= seen[i - 1]);
});

test("rejects a symlink made by the system tar", async () => {
  const root = join(dir, "with-symlink");
  await mkdir(root);
  await writeFile(join(root, "ok.bin"), "x");
  await symlink("/etc/passwd", join(root, "model.onnx"));
  const d = await rejects(systemTar(root, join(dir, "symlink.tar")), /symbolic link/);
  assert.deepEqual(await readdir(join(d, "..")), ["dest"]);
});

test("rejects a hard link made by the system tar", async () => {
  const root = join(dir, "with-hardlink");
  await mkdir(root);
  await writeFile(join(root, "a.bin"), "x");
  await link(join(root, "a.bin"), join(root, "b.bin"));
  await rejects(systemTar(root, join(dir, "hardlink.tar")), /hard link/);
});

test("rejects a FIFO", async () => {
  const root = join(dir, "with-fifo");
  await mkdir(root);
  execFileSync("mkfifo", [join(root, "pipe")]);
  await rejects(systemTar(root, join(dir, "fifo.tar")), /FIFO/);
});

test("rejects hand-built traversal, absolute, symlink and device entries without writing anything", async () => {
  const cases: [Parameters<typeof buildTar>[0], RegExp][] = [
    [[{ name: "../evil", data: Buffer.from("pwned") }], /unsafe entry path "\.\.\/evil": contains "\.\."/],
    [[{ name: "ok/../../evil", data: Buffer.from("pwned") }], /contains "\.\."/],
    [[{ name: "/etc/evil", data: Buffer.from("pwned") }], /is absolute/],
    [[{ name: "a\\..\\evil", data: Buffer.from("x") }], /backslash/],
    [[{ name: "link", type: "2", linkname: "../../etc/passwd" }], /symbolic link/],
    [[{ name: "dev", type: "3" }], /character device/],
    [[{ name: "blk", type: "4" }], /block device/],
  ];
  for (const [entries, pattern] of cases) {
    const d = await rejects(buildTar(entries), pattern);
    assert.deepEqual(await readdir(d), []);
    assert.deepEqual(await readdir(join(d, "..")), ["dest"]);
  }
});

test("rejects a header checksum mismatch, NUL in names, duplicates and non-tar data", async () => {
  await rejects(buildTar([{ name: "a", data: Buffer.from("x"), corruptChecksum: true }]), /checksum mismatch/);
  await rejects(buildTar([{ name: "a\0b", data: Buffer.from("x") }]), /NUL/);
  await rejects(
    buildTar([
      { name: "a", data: Buffer.from("x") },
      { name: "./a", data: Buffer.from("y") },
    ]),
    /duplicate/,
  );
  await rejects(Buffer.alloc(2048, 7), /not a ustar/);
});

test("rejects truncated archives at every kind of cut", async () => {
  const { root } = await makeTree();
  const full = systemTar(root, join(dir, "to-truncate.tar"));
  // Cut mid-header, mid-data, exactly after a data block, and just before the end-of-archive marker.
  let endMarker = 0;
  while (full.subarray(endMarker, endMarker + 512).some((b) => b !== 0)) endMarker += 512;
  assert.ok(endMarker > 4096);
  for (const cut of [100, 512 + 300, 1024, 4096 + 17, endMarker - 512, endMarker]) {
    await rejects(full.subarray(0, cut), /truncated/);
  }
  // An archive whose header promises more data than there is.
  await rejects(buildTar([{ name: "big", data: Buffer.alloc(10), size: 100_000 }], { end: false }), /truncated/);
});

test("enforces the size and entry caps", async () => {
  const big = buildTar([{ name: "big.bin", data: Buffer.alloc(5000) }]);
  await rejects(big, /exceeds the 4096-byte limit/, { maxTotalBytes: 4096 });
  const many = buildTar(Array.from({ length: 5 }, (_, i) => ({ name: `f${i}`, data: Buffer.from("x") })));
  await rejects(many, /more than 3 entries/, { maxEntries: 3 });
});
