import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { extractTar } from "../../models/tar.ts";
import { writeTar } from "./tar-writer.ts";

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function collect(g: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of g) parts.push(c);
  return Buffer.concat(parts);
}

const long = `${"deep/".repeat(30)}file-ü.txt`;

test("what it writes, the safe reader and GNU tar read back (long and non-ASCII names through pax)", async () => {
  const tar = await collect(
    writeTar([
      { path: "d", type: "directory" },
      { path: "d/a.bin", type: "file", data: Buffer.from([0, 1, 2, 3]) },
      {
        path: long,
        type: "file",
        size: 5,
        data: (async function* () {
          yield Buffer.from("he");
          yield Buffer.from("llo");
        })(),
      },
      { path: "empty", type: "file", data: Buffer.alloc(0) },
    ]),
  );
  assert.equal(tar.length % 512, 0);
  const dir = await mkdtemp(join(tmpdir(), "tarw-"));
  dirs.push(dir);
  const files = await extractTar(
    (async function* () {
      yield tar;
    })(),
    dir,
  );
  assert.deepEqual(
    files.map((f) => [f.path, f.bytes]),
    [
      ["d/a.bin", 4],
      [long, 5],
      ["empty", 0],
    ],
  );
  assert.equal(await readFile(join(dir, long), "utf8"), "hello");
  const file = join(dir, "x.tar");
  await writeFile(file, tar);
  const listing = execFileSync("tar", ["-tf", file], { encoding: "utf8" }).trim().split("\n");
  assert.deepEqual(listing, ["d/", "d/a.bin", long, "empty"]);
});

test("a file that yields more or fewer bytes than declared fails the archive", async () => {
  await assert.rejects(collect(writeTar([{ path: "a", type: "file", size: 3, data: Buffer.from("abcd") }])), /grew/);
  await assert.rejects(collect(writeTar([{ path: "a", type: "file", size: 5, data: Buffer.from("abcd") }])), /shrank/);
});
