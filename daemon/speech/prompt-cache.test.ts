import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { PICO_VOICES, PicoTts } from "./pico-tts.ts";
import { PromptCache } from "./prompt-cache.ts";
import { haveModel, PICO_DIR } from "./testutil.ts";
import type { Tts, TtsChunk, TtsOptions } from "./types.ts";

const FILES = [join(PICO_DIR, PICO_VOICES["en-US"].ta), join(PICO_DIR, PICO_VOICES["en-US"].sg)];
const GREETING = "Thank you for calling. This call may be recorded for quality purposes.";
let pico: PicoTts | undefined;
let dir: string;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "prompt-cache-"));
  if (FILES.every((f) => existsSync(f))) pico = await PicoTts.create({ langDir: PICO_DIR, voices: ["en-US"] });
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** Test double: wraps a real Tts and counts synthesize() calls. */
class CountingTts implements Tts {
  calls = 0;
  constructor(private readonly inner: Tts) {}
  get voices() {
    return this.inner.voices;
  }
  synthesize(text: string, opts: TtsOptions): AsyncIterable<TtsChunk> {
    this.calls++;
    return this.inner.synthesize(text, opts);
  }
}

test("synthesizes once (all sentences), then serves from memory, then from disk in a new cache", async (t) => {
  if (!haveModel(t, "svox-pico", ...FILES) || !pico) return;
  const tts = new CountingTts(pico);
  const cache = new PromptCache({ dir: join(dir, "a"), tts, maxMemoryBytes: 4 * 1024 * 1024 });
  const [a, b] = await Promise.all([cache.get("en-US", GREETING), cache.get("en-US", GREETING)]);
  assert.equal(tts.calls, 1, "concurrent gets share one synthesis");
  assert.equal(a, b);
  const seconds = a.length / 16000;
  t.diagnostic(`greeting: ${seconds.toFixed(2)} s of 16 kHz audio`);
  assert.ok(seconds > 3 && seconds < 12, "both sentences are in it");
  const again = await cache.get("en-US", GREETING);
  assert.equal(tts.calls, 1, "second get from memory");
  assert.equal(again, a);
  assert.equal(cache.stats.memoryHits, 1);
  const file = cache.path("en-US", GREETING);
  assert.ok(file.startsWith(join(dir, "a", "en-US")) && existsSync(file));
  assert.equal(readdirSync(join(dir, "a", "en-US")).length, 1, "no temp files left");

  const tts2 = new CountingTts(pico);
  const fresh = new PromptCache({ dir: join(dir, "a"), tts: tts2 });
  const fromDisk = await fresh.get("en-US", GREETING);
  assert.equal(tts2.calls, 0, "served from disk");
  assert.equal(fresh.stats.diskHits, 1);
  assert.deepEqual(fromDisk, a);
});

test("a corrupt or truncated cache file is synthesized again and rewritten", async (t) => {
  if (!haveModel(t, "svox-pico", ...FILES) || !pico) return;
  const text = "Please hold.";
  const first = new PromptCache({ dir: join(dir, "b"), tts: pico, engineId: "pico" });
  const good = await first.get("en-US", text);
  const file = first.path("en-US", text);
  const bytes = readFileSync(file);
  for (const damage of [
    (b: Buffer) => b.subarray(0, b.length - 100), // torn write
    (b: Buffer) => {
      const c = Buffer.from(b);
      c[c.length - 10] ^= 0xff; // flipped payload bit
      return c;
    },
    () => Buffer.from("garbage"),
  ]) {
    writeFileSync(file, damage(bytes));
    const tts = new CountingTts(pico);
    const cache = new PromptCache({ dir: join(dir, "b"), tts, engineId: "pico" });
    const pcm = await cache.get("en-US", text);
    assert.equal(tts.calls, 1);
    assert.equal(cache.stats.corruptFiles, 1);
    // Pico's output is not bit-identical from one synthesis to the next (engine state), so compare lengths.
    assert.ok(Math.abs(pcm.length - good.length) < good.length * 0.1, `${pcm.length} vs ${good.length}`);
    const check = new CountingTts(pico);
    const reread = await new PromptCache({ dir: join(dir, "b"), tts: check, engineId: "pico" }).get("en-US", text);
    assert.equal(check.calls, 0, "rewritten file is valid");
    assert.deepEqual(reread, pcm);
  }
});

test("memory LRU stays within maxMemoryBytes; warm() fills it; key covers engine, voice and text", async (t) => {
  if (!haveModel(t, "svox-pico", ...FILES) || !pico) return;
  const tts = new CountingTts(pico);
  const texts = ["One moment please.", "Are you still there?", "Goodbye."];
  const cache = new PromptCache({ dir: join(dir, "c"), tts, maxMemoryBytes: 40_000 });
  await cache.warm(texts.map((text) => ({ voice: "en-US", text })));
  assert.equal(tts.calls, 3);
  assert.ok(cache.stats.memoryBytes <= 40_000, `${cache.stats.memoryBytes} bytes`);
  assert.ok(cache.has("en-US", "Goodbye."), "most recent kept");
  assert.ok(!cache.has("en-US", "One moment please."), "least recent evicted");
  await cache.get("en-US", "One moment please.");
  assert.equal(tts.calls, 3, "evicted from memory, still on disk");
  const other = new PromptCache({ dir: join(dir, "c"), tts, engineId: "other-engine" });
  assert.notEqual(other.key("en-US", "Goodbye."), cache.key("en-US", "Goodbye."));
  assert.notEqual(cache.key("en-GB", "Goodbye."), cache.key("en-US", "Goodbye."));
});
