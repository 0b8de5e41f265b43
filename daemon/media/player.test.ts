import assert from "node:assert/strict";
import { mkdtempSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { loadPlaySource } from "./player.ts";
import { encodeWav } from "./wav.ts";

test("a played file is decoded to 16 kHz, served as a fresh copy, and re-read when it changes", async () => {
  const dir = mkdtempSync(join(tmpdir(), "sb-player-"));
  const file = join(dir, "p.wav");
  writeFileSync(file, encodeWav(new Int16Array(8000).fill(1000), 8000));
  const a = await loadPlaySource({ file });
  assert.equal(a.length, 16000);
  const b = await loadPlaySource({ file });
  assert.notEqual(a.buffer, b.buffer, "each play gets its own buffer (it is transferred to the worker)");
  assert.deepEqual(a, b);
  writeFileSync(file, encodeWav(new Int16Array(4000).fill(-500), 8000));
  utimesSync(file, new Date(), new Date(Date.now() + 5000));
  const c = await loadPlaySource({ file });
  assert.equal(c.length, 8000);
  assert.ok(Math.abs(c[4000] + 500) < 5);
});
