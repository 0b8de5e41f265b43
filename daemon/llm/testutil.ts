// Test helpers for the LLM adapter: the RANDOM-weight fixture from the shared models (its text is meaningless; it
// only proves code paths), the skip rule, and throwaway copies of it to damage.
import { copyFileSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestContext } from "node:test";
import { needModel, sharedModelsDir } from "../../models/testing/shared-models.ts";

export const TINY_LLAMA = join(sharedModelsDir, "test-fixtures/tiny-random-llama-fp16");

export function haveTinyLlama(t: TestContext): boolean {
  return needModel(t, "tiny-random-llama-fp16 (test fixture)", join(TINY_LLAMA, "model.onnx"));
}

const FILES = ["genai_config.json", "model.onnx", "model.onnx.data", "tokenizer.json", "tokenizer_config.json"];

/**
 * A temp copy of the fixture (tokenizer.json symlinked: read-only JS input, 3.6 MB), removed after the test.
 * ORT validates that external data lies in the model's directory, so the ONNX files are real copies.
 */
export function fixtureCopy(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), "llm-fixture-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  for (const f of FILES) {
    if (f === "tokenizer.json") symlinkSync(join(TINY_LLAMA, f), join(dir, f));
    else copyFileSync(join(TINY_LLAMA, f), join(dir, f));
  }
  return dir;
}
