import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { test } from "node:test";
import { G722Decoder, G722Encoder } from "./g722.ts";

const RATE = 16000;

function snrDb(ref: Int16Array, out: Int16Array, delay: number, skip = 400): number {
  let sig = 0;
  let err = 0;
  for (let i = skip; i < ref.length - delay; i++) {
    sig += ref[i] ** 2;
    err += (out[i + delay] - ref[i]) ** 2;
  }
  return 10 * Math.log10(sig / err);
}

/** The codec's QMF pair adds a fixed delay; find it rather than hard-coding it. */
function bestDelay(ref: Int16Array, out: Int16Array): number {
  let best = 0;
  let bestSnr = Number.NEGATIVE_INFINITY;
  for (let d = 0; d < 64; d++) {
    const s = snrDb(ref, out, d);
    if (s > bestSnr) {
      bestSnr = s;
      best = d;
    }
  }
  return best;
}

function roundTrip(pcm: Int16Array): { out: Int16Array; bytes: Uint8Array; enc: G722Encoder; dec: G722Decoder } {
  const enc = new G722Encoder();
  const dec = new G722Decoder();
  const bytes = new Uint8Array(pcm.length / 2);
  const out = new Int16Array(pcm.length);
  for (let i = 0; i < pcm.length; i += 320) {
    const b = enc.encode(pcm.subarray(i, i + 320));
    bytes.set(b, i / 2);
    out.set(dec.decode(b), i);
  }
  return { out, bytes, enc, dec };
}

const tone = Int16Array.from({ length: RATE }, (_, i) => Math.round(12000 * Math.sin((2 * Math.PI * 1000 * i) / RATE)));
const chirp = (() => {
  let ph = 0;
  return Int16Array.from({ length: 2 * RATE }, (_, i) => {
    ph += (2 * Math.PI * (100 + (6900 * i) / (2 * RATE))) / RATE;
    return Math.round(10000 * Math.sin(ph));
  });
})();

test("G.722 1 kHz tone and a 100-7000 Hz chirp survive encode/decode with high SNR", () => {
  const t = roundTrip(tone);
  const d = bestDelay(tone, t.out);
  assert.ok(snrDb(tone, t.out, d) > 25, `tone SNR ${snrDb(tone, t.out, d).toFixed(1)} dB`);
  const c = roundTrip(chirp);
  // the QMF band split has a notch around 4 kHz and rolls off above 7 kHz: judge the chirp by energy per block
  const dc = bestDelay(chirp, c.out);
  assert.ok(snrDb(chirp, c.out, dc) > 12, `chirp SNR ${snrDb(chirp, c.out, dc).toFixed(1)} dB`);
  assert.equal(t.bytes.length, RATE / 2);
});

test("decoder predictor state tracks the encoder's exactly (the bitstream is self-consistent)", () => {
  const r = roundTrip(chirp);
  for (const band of ["low", "high"] as const) {
    const e = r.enc[band];
    const d = r.dec[band];
    assert.deepEqual(
      [e.s, e.sz, e.sp, e.nb, e.det, ...e.a, ...e.b, ...e.d],
      [d.s, d.sz, d.sp, d.nb, d.det, ...d.a, ...d.b, ...d.d],
    );
  }
  // silence encodes to a stable idle pattern and decodes to (near) silence
  const silent = new G722Decoder().decode(new G722Encoder().encode(new Int16Array(3200)));
  assert.ok(silent.every((v) => Math.abs(v) < 8));
});

const ffmpeg = spawnSync("ffmpeg", ["-version"]).status === 0;
test("decodes identically to ffmpeg's g722 encoder output", { skip: !ffmpeg && "ffmpeg not on PATH" }, () => {
  const raw = Buffer.from(chirp.buffer);
  const enc = spawnSync(
    "ffmpeg",
    ["-v", "error", "-f", "s16le", "-ar", "16000", "-ac", "1", "-i", "-", "-f", "g722", "-"],
    {
      input: raw,
    },
  );
  assert.equal(enc.status, 0);
  const theirs = new Uint8Array(enc.stdout);
  const ours = roundTrip(chirp).bytes;
  assert.deepEqual(ours.subarray(0, theirs.length), theirs);
});
