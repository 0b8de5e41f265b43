import assert from "node:assert/strict";
import { test } from "node:test";
import { splitCompound } from "./compounds.ts";

const known = (...words: string[]) => {
  const set = new Set(words);
  return (w: string) => set.has(w);
};

test("a compound splits into known words, with or without a linking letter", () => {
  assert.deepEqual(splitCompound("terminvereinbarung", known("termin", "vereinbarung")), ["termin", "vereinbarung"]);
  assert.deepEqual(splitCompound("oeffnungszeiten", known("oeffnung", "zeiten")), ["oeffnung", "zeiten"]);
  assert.deepEqual(splitCompound("kundendienst", known("kunde", "dienst")), ["kunde", "dienst"], "linking n");
  assert.deepEqual(splitCompound("ersatzteilbestellung", known("ersatz", "teil", "bestellung")), [
    "ersatz",
    "teil",
    "bestellung",
  ]);
});

test("fewest parts win, then the more even split", () => {
  const isKnown = known("geschenk", "karte", "geschenkkarte", "gutschein", "kar", "te");
  assert.deepEqual(splitCompound("geschenkkartegutschein", isKnown), ["geschenkkarte", "gutschein"]);
  assert.deepEqual(splitCompound("geschenkkarte", isKnown), ["geschenk", "karte"], "a known word may still split");
});

test("no split when a part is unknown, too short, or the word is short", () => {
  assert.equal(splitCompound("terminvereinbarung", known("termin")), undefined);
  assert.equal(splitCompound("abcdefgh", known("ab", "cdefgh")), undefined, "parts need 3 letters");
  assert.equal(splitCompound("bushof", known("bus", "hof")), undefined, "under 7 letters");
  assert.deepEqual(splitCompound("autobus", known("auto", "bus")), ["auto", "bus"], "7 letters split");
  assert.equal(splitCompound("termin", known("termin")), undefined, "the whole word alone is not a split");
});
