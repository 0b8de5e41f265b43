import assert from "node:assert/strict";
import { test } from "node:test";
import { germanStems, stemEnglish, stemGerman, stems } from "./stem.ts";

const shareKey = (a: string[], b: string[]) => a.some((k) => b.includes(k));

test("German: inflections and the noun in -ung meet the verb", () => {
  for (const group of [
    ["bestellen", "bestellt", "bestellte", "bestellung", "bestellungen", "bestelle"],
    ["liefern", "lieferung", "geliefert", "liefert"],
    ["oeffnen", "geoeffnet", "oeffnet"],
    ["kaufen", "kauft", "gekauft"],
    ["termin", "termine", "terminen"],
    ["rechnung", "rechnungen"],
  ]) {
    const first = germanStems(group[0] as string);
    for (const w of group) assert.ok(shareKey(first, germanStems(w)), `${w} ${germanStems(w)} vs ${first}`);
  }
});

test("German: short words, and words whose ending is not an inflection, stay whole", () => {
  assert.equal(stemGerman("tag"), "tag");
  assert.equal(stemGerman("zeit"), "zeit");
  assert.equal(stemGerman("preis"), "preis", "the s of preis is not a plural (i before s)");
  assert.equal(stemGerman("preise"), "preis");
  assert.equal(stemGerman("autos"), "autos", "s after a vowel is left alone, as Snowball does");
  assert.deepEqual(germanStems("termin"), ["termin"], "no t/n ending to drop");
});

test("German: the main stem comes first, the extra keys after it", () => {
  assert.deepEqual(germanStems("geschickt"), ["geschickt", "geschick", "schickt", "schick"]);
  assert.equal(stems("bestellung", "de")[0], "bestell");
});

test("English: plurals, -ed, -ing, -ly and a silent e", () => {
  for (const [w, s] of [
    ["orders", "order"],
    ["ordered", "order"],
    ["ordering", "order"],
    ["shipped", "ship"],
    ["shipping", "ship"],
    ["deliveries", "delivery"],
    ["changed", "chang"],
    ["change", "chang"],
    ["boxes", "box"],
    ["quickly", "quick"],
  ])
    assert.equal(stemEnglish(w as string), s, w);
  for (const w of ["status", "address", "this", "bus"]) assert.equal(stemEnglish(w), w, `${w} keeps its s`);
  assert.equal(stemEnglish("bed"), "bed", "too short to strip");
});
