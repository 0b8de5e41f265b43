import assert from "node:assert/strict";
import { test } from "node:test";
import { formatChat } from "./chat.ts";
import { TextStream } from "./text-stream.ts";

// A fake vocabulary: ids index strings; 100+ are UTF-8 bytes (like SentencePiece byte fallback).
const VOCAB = ["Hello", " world", ",", " Stop", "!", "\n", "User", ":", " ok", " St"];
function decode(ids: readonly number[]): string {
  const bytes: number[] = [];
  for (const id of ids) {
    if (id >= 100) bytes.push(id - 100);
    else bytes.push(...Buffer.from(VOCAB[id]));
  }
  return new TextDecoder().decode(Uint8Array.from(bytes));
}

function run(ids: number[], stops: string[] = [], trim = false) {
  const deltas: string[] = [];
  const s = new TextStream(decode, stops, (d) => deltas.push(d), trim);
  let stoppedAt = -1;
  for (let i = 0; i < ids.length; i++) {
    if (s.push(ids[i])) {
      stoppedAt = i;
      break;
    }
  }
  return { text: s.finish(), deltas, stoppedAt };
}

test("TextStream: deltas per token concatenate to the text", () => {
  const r = run([0, 1, 2, 8]);
  assert.deepEqual(r.deltas, ["Hello", " world", ",", " ok"]);
  assert.equal(r.text, "Hello world, ok");
});

test("TextStream: a multi-byte character split over byte tokens is emitted whole", () => {
  const euro = [...Buffer.from("€")].map((b) => b + 100);
  const r = run([0, ...euro, 4]);
  assert.deepEqual(r.deltas, ["Hello", "€", "!"]);
  // An incomplete sequence at the end is released by finish (as U+FFFD).
  const cut = run([0, euro[0]]);
  assert.equal(cut.text, "Hello\uFFFD");
  assert.equal(cut.deltas.join(""), cut.text);
});

test("TextStream: stop string cuts the text, is never emitted, and a near miss is released", () => {
  const r = run([0, 1, 3, 4, 0], [" Stop"]);
  assert.equal(r.stoppedAt, 2);
  assert.equal(r.text, "Hello world");
  assert.deepEqual(r.deltas, ["Hello", " world"]);
  // " St" could start " Stop": held back, then released when " ok" shows it was not.
  const miss = run([0, 9, 8], [" Stop"]);
  assert.deepEqual(miss.deltas, ["Hello", " St ok"]);
  assert.equal(miss.stoppedAt, -1);
  // Held text is released at the end of generation.
  const tail = run([0, 9], [" Stop"]);
  assert.deepEqual(tail.deltas, ["Hello", " St"]);
  // Stop string spanning tokens; the earliest of several wins.
  const span = run([0, 5, 6, 7, 8], ["\nUser:", "ok"]);
  assert.equal(span.text, "Hello");
  assert.equal(span.stoppedAt, 3);
  assert.throws(() => new TextStream(decode, [""]), RangeError);
});

test("TextStream: trimStart drops the answer's leading whitespace only", () => {
  const r = run([5, 1, 8], [], true);
  assert.equal(r.text, "world ok");
  assert.equal(r.deltas.join(""), r.text);
});

test("formatChat: role-prefixed lines ending in 'Assistant:'", () => {
  assert.equal(
    formatChat([
      { role: "system", content: "Du bist die Telefonzentrale. " },
      { role: "user", content: "Hallo?" },
      { role: "assistant", content: "Guten Tag!" },
      { role: "user", content: "Ich möchte einen Termin." },
    ]),
    "System: Du bist die Telefonzentrale.\nUser: Hallo?\nAssistant: Guten Tag!\nUser: Ich möchte einen Termin.\nAssistant:",
  );
});
