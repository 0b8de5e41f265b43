import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { g711Encode } from "./g711.ts";
import { encodeWav, parseWav, readWav, toMono, WavWriter } from "./wav.ts";

const dir = await mkdtemp(join(tmpdir(), "wav-test-"));
after(() => rm(dir, { recursive: true, force: true }));

function header(format: number, channels: number, rate: number, bits: number, dataBytes: number): Buffer {
  const h = encodeWav(new Int16Array(0), rate, channels);
  h.writeUInt16LE(format, 20);
  h.writeUInt16LE(bits, 34);
  h.writeUInt16LE((channels * bits) / 8, 32);
  h.writeUInt32LE((rate * channels * bits) / 8, 28);
  h.writeUInt32LE(dataBytes, 40);
  h.writeUInt32LE(36 + dataBytes, 4);
  return h;
}

const ramp = Int16Array.from({ length: 2000 }, (_, i) => ((i * 37) % 65536) - 32768);

test("streaming writer round trip at odd rates and stereo", async () => {
  for (const [rate, ch] of [
    [22050, 1],
    [44100, 2],
    [16000, 2],
  ]) {
    const p = join(dir, `rt-${rate}-${ch}.wav`);
    const w = await WavWriter.create(p, rate, ch);
    w.write(ramp.subarray(0, 1000));
    w.write(ramp.subarray(1000));
    await w.close();
    const a = await readWav(p);
    assert.equal(a.sampleRate, rate);
    assert.equal(a.channels, ch);
    assert.deepEqual(a.samples, ramp);
    assert.equal((await readFile(p)).length, 44 + ramp.length * 2);
  }
});

test("reads 8-bit, 24-bit, float, µ-law and A-law data", () => {
  const u8 = Buffer.concat([header(1, 1, 8000, 8, 3), Buffer.from([0, 128, 255]), Buffer.alloc(1)]);
  assert.deepEqual([...parseWav(u8).samples], [-32768, 0, 127 << 8]);
  const s24 = Buffer.alloc(6);
  s24.writeIntLE(0x123456, 0, 3);
  s24.writeIntLE(-0x100, 3, 3);
  assert.deepEqual([...parseWav(Buffer.concat([header(1, 1, 8000, 24, 6), s24])).samples], [0x1234, -1]);
  const f32 = Buffer.alloc(8);
  f32.writeFloatLE(0.5, 0);
  f32.writeFloatLE(-2, 4);
  assert.deepEqual([...parseWav(Buffer.concat([header(3, 1, 11025, 32, 8), f32])).samples], [16384, -32768]);
  const pcm = Int16Array.of(0, 1000, -1000, 30000);
  const mu = Buffer.from(g711Encode("ulaw", pcm));
  const muRead = parseWav(Buffer.concat([header(7, 1, 8000, 8, 4), mu])).samples;
  for (let i = 0; i < 4; i++) assert.ok(Math.abs(muRead[i] - pcm[i]) < 1000);
  const al = Buffer.from(g711Encode("alaw", pcm));
  const alRead = parseWav(Buffer.concat([header(6, 1, 8000, 8, 4), al])).samples;
  for (let i = 0; i < 4; i++) assert.ok(Math.abs(alRead[i] - pcm[i]) < 1000);
});

test("skips unknown chunks, accepts a zero data size, mixes to mono, rejects junk", async () => {
  const body = Buffer.from(Int16Array.of(100, 300, -100, -300).buffer);
  const h = header(1, 2, 44100, 16, 0); // streaming writer that never patched the size
  const list = Buffer.concat([Buffer.from("LIST"), Buffer.from([3, 0, 0, 0]), Buffer.from("abc"), Buffer.alloc(1)]);
  const file = Buffer.concat([h.subarray(0, 36), list, h.subarray(36), body]);
  const p = join(dir, "odd.wav");
  await writeFile(p, file);
  const a = await readWav(p);
  assert.deepEqual([...toMono(a.samples, a.channels)], [200, -200]);
  assert.throws(() => parseWav(Buffer.from("hello world, not a wav")));
});
