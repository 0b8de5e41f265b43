import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { writeFileAtomic } from "./atomic-write.ts";

function tempDir(): { dir: string; done(): void } {
  const dir = mkdtempSync(join(tmpdir(), "sb-atomic-write-"));
  return { dir, done: () => rmSync(dir, { recursive: true, force: true }) };
}

test("a new file gets the text and the mode asked for, whatever the umask", () => {
  const t = tempDir();
  const umask = process.umask(0o077);
  try {
    const file = join(t.dir, "a.yaml");
    writeFileAtomic(file, "name: a\n", 0o640);
    assert.equal(readFileSync(file, "utf8"), "name: a\n");
    assert.equal(statSync(file).mode & 0o777, 0o640);
    writeFileAtomic(join(t.dir, "b.json"), "{}");
    assert.equal(statSync(join(t.dir, "b.json")).mode & 0o777, 0o600, "private by default");
  } finally {
    process.umask(umask);
    t.done();
  }
});

test("an existing file is replaced and no temp file is left", () => {
  const t = tempDir();
  try {
    const file = join(t.dir, "a.yaml");
    writeFileSync(file, "old\n");
    writeFileAtomic(file, "new\n");
    assert.equal(readFileSync(file, "utf8"), "new\n");
    assert.deepEqual(readdirSync(t.dir), ["a.yaml"]);
  } finally {
    t.done();
  }
});

test("a rename that fails throws and leaves no temp file", () => {
  const t = tempDir();
  try {
    // A non-empty directory where the file should go: the rename cannot replace it.
    mkdirSync(join(t.dir, "a.yaml"));
    writeFileSync(join(t.dir, "a.yaml", "keep"), "x");
    assert.throws(() => writeFileAtomic(join(t.dir, "a.yaml"), "new\n"));
    assert.deepEqual(readdirSync(t.dir), ["a.yaml"]);
    assert.deepEqual(readdirSync(join(t.dir, "a.yaml")), ["keep"]);
  } finally {
    t.done();
  }
});
