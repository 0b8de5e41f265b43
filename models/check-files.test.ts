import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { assertModelFiles, ModelFileError } from "./check-files.ts";
import { needModel, sharedModelsDir } from "./testing/shared-models.ts";

const dir = await mkdtemp(join(tmpdir(), "check-files-"));
after(() => rm(dir, { recursive: true, force: true }));

test("reports every problem with the file name", async () => {
  const f = (name: string) => join(dir, name);
  await writeFile(f("empty.onnx"), "");
  await writeFile(f("lfs.onnx"), "version https://git-lfs.github.com/spec/v1\noid sha256:abc\nsize 123\n");
  await writeFile(f("page.onnx"), "<!DOCTYPE html><html><body>404 Not Found</body></html>");
  await writeFile(f("random.onnx"), Buffer.alloc(100, 0xff));
  await writeFile(f("bad-ir.onnx"), Buffer.from([0x08, 0x00, ...Buffer.alloc(30, 1)]));
  await writeFile(f("tokens.txt"), "a 1\n");
  await mkdir(f("adir"));
  const files = ["missing.onnx", "empty.onnx", "lfs.onnx", "page.onnx", "random.onnx", "bad-ir.onnx", "adir"].map(f);
  await assert.rejects(assertModelFiles([...files, f("tokens.txt")]), (e: Error) => {
    assert.ok(e instanceof ModelFileError);
    const text = e.problems.join("\n");
    assert.equal(e.problems.length, files.length, text);
    assert.match(text, /missing\.onnx: does not exist/);
    assert.match(text, /empty\.onnx: empty/);
    assert.match(text, /lfs\.onnx: is a Git LFS pointer/);
    assert.match(text, /page\.onnx: looks like HTML/);
    assert.match(text, /random\.onnx: does not start like an ONNX protobuf/);
    assert.match(text, /bad-ir\.onnx: has an implausible ONNX ir_version/);
    assert.match(text, /adir: not a regular file/);
    return true;
  });
  await assertModelFiles([f("tokens.txt")]);
});

test("accepts the real ONNX models", async (t) => {
  const files = [
    join(sharedModelsDir, "silero-vad", "silero_vad.onnx"),
    join(sharedModelsDir, "gtcrn", "gtcrn_simple.sherpa.onnx"),
  ];
  if (!needModel(t, "silero-vad", files[0]) || !needModel(t, "gtcrn", files[1])) return;
  await assertModelFiles(files);
});
