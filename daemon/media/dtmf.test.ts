import assert from "node:assert/strict";
import { test } from "node:test";
import { DTMF_EVENTS, DtmfReceiver, DtmfSender } from "./dtmf-rfc4733.ts";
import { g711Decode, g711Encode } from "./g711.ts";
import { DtmfDetector } from "./goertzel.ts";

const ROWS = [697, 770, 852, 941];
const COLS = [1209, 1336, 1477, 1633];

function rng(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s * 1103515245 + 12345) & 0x7fffffff;
    return s / 0x7fffffff;
  };
}

function dtmfTone(digit: string, rate: number, ms: number, amp = 6000, noise = 0, r = rng(1)): Int16Array {
  // layout lookup: build from the keypad so the mapping is independent of the detector's table
  const pad = ["123A", "456B", "789C", "*0#D"];
  const row = pad.findIndex((s) => s.includes(digit));
  const col = pad[row].indexOf(digit);
  const n = Math.round((rate * ms) / 1000);
  return Int16Array.from({ length: n }, (_, k) => {
    const t = k / rate;
    const v = amp * (Math.sin(2 * Math.PI * ROWS[row] * t) + Math.sin(2 * Math.PI * COLS[col] * t));
    return Math.round(v + noise * (r() * 2 - 1));
  });
}

function detectAll(det: DtmfDetector, pcm: Int16Array, chunk: number): string {
  let s = "";
  for (let i = 0; i < pcm.length; i += chunk) for (const d of det.process(pcm.subarray(i, i + chunk))) s += d.digit;
  return s;
}

function sequence(digits: string, rate: number, noise = 0): Int16Array {
  const parts: Int16Array[] = [];
  const r = rng(42);
  for (const d of digits) {
    parts.push(dtmfTone(d, rate, 80, 6000, noise, r));
    parts.push(Int16Array.from({ length: (rate * 80) / 1000 }, () => Math.round(noise * (r() * 2 - 1))));
  }
  const total = parts.reduce((a, p) => a + p.length, 0);
  const out = new Int16Array(total);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

test("RFC 4733 send -> receive round trip", () => {
  const tx = new DtmfSender();
  const rx = new DtmfReceiver();
  tx.enqueue("1", 100);
  tx.enqueue("#", 60);
  let ts = 1000;
  const got: string[] = [];
  const packets: { marker: boolean; ts: number; end: boolean; dur: number }[] = [];
  for (let f = 0; f < 40; f++, ts += 160) {
    const p = tx.next(ts);
    if (p === undefined || p === "gap") continue;
    packets.push({
      marker: p.marker,
      ts: p.timestamp,
      end: (p.payload[1] & 0x80) !== 0,
      dur: (p.payload[2] << 8) | p.payload[3],
    });
    const d = rx.receive(p.payload, p.timestamp);
    if (d) got.push(`${d.digit}:${d.durationMs}`);
  }
  assert.deepEqual(got, ["1:100", "#:60"]);
  const first = packets.filter((p) => p.ts === 1000);
  assert.equal(first.filter((p) => p.marker).length, 1);
  assert.ok(first[0].marker);
  assert.equal(first.filter((p) => p.end).length, 3);
  assert.deepEqual(
    first.slice(0, 5).map((p) => p.dur),
    [160, 320, 480, 640, 800],
  );
  assert.equal(tx.busy, false);
});

test("receiver reports a digit whose End packets were lost", () => {
  const rx = new DtmfReceiver();
  assert.equal(rx.receive(Uint8Array.of(5, 10, 0, 160), 8000), undefined);
  assert.equal(rx.receive(Uint8Array.of(5, 10, 1, 64), 8000), undefined);
  assert.ok(rx.pending);
  assert.deepEqual(rx.flush(), { digit: "5", durationMs: 40 });
  assert.equal(rx.flush(), undefined);
});

for (const rate of [8000, 16000] as const) {
  test(`Goertzel detects all 16 digits at ${rate} Hz`, () => {
    const digits = DTMF_EVENTS;
    assert.equal(detectAll(new DtmfDetector(rate), sequence(digits, rate), rate / 50), digits);
    // with noise at about 20 dB SNR
    assert.equal(detectAll(new DtmfDetector(rate), sequence(digits, rate, 1500), rate / 50), digits);
  });
}

test("Goertzel detects digits after G.711 µ-law and A-law", () => {
  for (const law of ["ulaw", "alaw"] as const) {
    const pcm = g711Decode(law, g711Encode(law, sequence("159#0*D", 8000, 300)));
    assert.equal(detectAll(new DtmfDetector(8000), pcm, 160), "159#0*D", law);
  }
});

test("Goertzel does not trigger on sweeps, noise, or harmonic-rich voice-like signals", () => {
  const rate = 8000;
  const r = rng(5);
  const n = rate * 10;
  // chirp 300..3400 Hz over 10 s plus a two-tone chirp pair that passes through DTMF-like frequency pairs quickly
  let phase = 0;
  let phase2 = 0;
  const sweep = Int16Array.from({ length: n }, (_, k) => {
    const f = 300 + (3100 * k) / n;
    phase += (2 * Math.PI * f) / rate;
    phase2 += (2 * Math.PI * (f * 1.5)) / rate; // a fifth: never a DTMF row/column pair
    return Math.round(6000 * Math.sin(phase) + 4000 * Math.sin(phase2));
  });
  assert.equal(detectAll(new DtmfDetector(rate), sweep, 160), "");
  const noise = Int16Array.from({ length: n }, () => Math.round(8000 * (r() * 2 - 1)));
  assert.equal(detectAll(new DtmfDetector(rate), noise, 160), "");
  // vowel-like: 140 Hz glottal pulse train with formants -> many harmonics, some near DTMF frequencies
  const voice = new Int16Array(n);
  for (let k = 0; k < n; k++) {
    const f0 = 120 + 40 * Math.sin((2 * Math.PI * k) / (rate * 1.3));
    let v = 0;
    for (let h = 1; h < 25; h++) v += Math.sin((2 * Math.PI * f0 * h * k) / rate) / h;
    voice[k] = Math.round(5000 * v);
  }
  assert.equal(detectAll(new DtmfDetector(rate), voice, 160), "");
});
