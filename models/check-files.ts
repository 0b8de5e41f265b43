// Pre-flight checks for model files. sherpa-onnx aborts the whole process (or returns an unusable object) on some
// bad inputs, so the daemon checks every file before it constructs an engine and fails with a readable message.
import { open, stat } from "node:fs/promises";

export class ModelFileError extends Error {
  constructor(readonly problems: string[]) {
    super(`model files unusable:\n  ${problems.join("\n  ")}`);
    this.name = "ModelFileError";
  }
}

// ModelProto field tags a serializer can put first: ir_version (1, varint), producer_name/version, domain (2-4),
// model_version (5), doc_string (6), graph (7), opset_import (8), metadata_props (14). Writers emit field 1 first.
const onnxFirstTags = new Set([0x08, 0x12, 0x1a, 0x22, 0x28, 0x32, 0x3a, 0x42, 0x72]);

/** Why the first bytes do not look like an ONNX ModelProto, or undefined when they do. */
export function onnxHeaderProblem(head: Buffer): string | undefined {
  const text = head.toString("latin1");
  if (text.startsWith("version https://git-lfs")) return "is a Git LFS pointer, not the model (fetch the LFS object)";
  if (/^\s*</.test(text)) return "looks like HTML/XML (a download error page?), not ONNX";
  if (head.length < 16) return "is too short to be an ONNX model";
  if (!onnxFirstTags.has(head[0])) return `does not start like an ONNX protobuf (first byte 0x${head[0].toString(16)})`;
  // ir_version is 1..~12 today; a wild value means this is some other protobuf or random data.
  if (head[0] === 0x08 && (head[1] < 1 || head[1] > 32)) return `has an implausible ONNX ir_version (${head[1]})`;
  return undefined;
}

/** Checks each file exists, is a non-empty readable regular file and, for .onnx, starts like ONNX. Throws all problems. */
export async function assertModelFiles(files: string[]): Promise<void> {
  const problems: string[] = [];
  for (const f of files) {
    let fh: Awaited<ReturnType<typeof open>> | undefined;
    try {
      // stat before open: opening a FIFO for reading would block forever.
      const st = await stat(f);
      if (!st.isFile()) {
        problems.push(`${f}: not a regular file`);
        continue;
      }
      if (st.size === 0) {
        problems.push(`${f}: empty`);
        continue;
      }
      fh = await open(f, "r");
      const head = Buffer.alloc(Math.min(64, st.size));
      await fh.read(head, 0, head.length, 0);
      if (head.toString("latin1").startsWith("version https://git-lfs"))
        problems.push(`${f}: is a Git LFS pointer, not the real file`);
      else if (f.toLowerCase().endsWith(".onnx")) {
        const why = onnxHeaderProblem(head);
        if (why) problems.push(`${f}: ${why}`);
      }
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      problems.push(
        code === "ENOENT"
          ? `${f}: does not exist`
          : code === "EACCES"
            ? `${f}: not readable (permission denied)`
            : code === "EISDIR"
              ? `${f}: is a directory`
              : `${f}: ${(e as Error).message}`,
      );
    } finally {
      await fh?.close();
    }
  }
  if (problems.length) throw new ModelFileError(problems);
}
