import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { checkEspeakData, checkOnnx, checkSileroSampleRate, readTokens } from "./model-files.ts";
import { ESPEAK_DATA, FAKE_PIPER, GTCRN, haveModel, SILERO } from "./testutil.ts";
import { EngineLoadError } from "./types.ts";

test("real ONNX files pass and expose ir_version and metadata", (t) => {
  if (!haveModel(t, "silero-vad + gtcrn + fake-piper", SILERO, GTCRN, join(FAKE_PIPER, "fake-de.onnx"))) return;
  assert.equal(checkOnnx(SILERO).irVersion, 8);
  const g = checkOnnx(GTCRN);
  assert.equal(g.metadata.model_type, "gtcrn");
  assert.equal(g.metadata.sample_rate, "16000");
  const p = checkOnnx(join(FAKE_PIPER, "fake-de.onnx"));
  assert.equal(p.metadata.comment, "piper");
});

test("corrupt ONNX variants are rejected with the path and a reason", (t) => {
  if (!haveModel(t, "silero-vad", SILERO)) return;
  const dir = mkdtempSync(join(tmpdir(), "onnx-bad-"));
  try {
    const real = readFileSync(SILERO);
    const variants: Record<string, Buffer> = {
      "empty.onnx": Buffer.alloc(0),
      "text.onnx": Buffer.from("<html>404 Not Found</html>"),
      "lfs.onnx": Buffer.from("version https://git-lfs.github.com/spec/v1\noid sha256:abc\nsize 2327524\n"),
      "random.onnx": Buffer.concat([
        Buffer.from([0x08]),
        Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 131 + 7) & 0xff)),
      ]),
      "truncated.onnx": real.subarray(0, real.length - 1000),
      "nograph.onnx": Buffer.from([0x08, 0x07, 0x12, 0x01, 0x41]),
      "trailing.onnx": Buffer.concat([real, Buffer.from([0x3a])]),
    };
    for (const [name, bytes] of Object.entries(variants)) {
      const p = join(dir, name);
      writeFileSync(p, bytes);
      assert.throws(
        () => checkOnnx(p),
        (e: unknown) => e instanceof EngineLoadError && e.modelPath === p && e.reason.length > 0,
        name,
      );
    }
    assert.throws(() => checkOnnx(join(dir, "absent.onnx")), /missing/);
    assert.throws(() => checkOnnx(dir), /not a regular file/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("silero sample rate, tokens and espeak-ng data checks", (t) => {
  checkSileroSampleRate(16000);
  assert.throws(() => checkSileroSampleRate(8000), EngineLoadError);
  if (!haveModel(t, "fake-piper-vits tokens + espeak-ng-data", join(FAKE_PIPER, "tokens-de.txt"), ESPEAK_DATA)) return;
  const tokens = readTokens(join(FAKE_PIPER, "tokens-de.txt"));
  assert.equal(tokens.get(" "), 3, "a space symbol is a valid token");
  assert.equal(tokens.get("ç"), 40);
  checkEspeakData(ESPEAK_DATA);
  assert.throws(() => checkEspeakData(FAKE_PIPER), /phontab/);
});
