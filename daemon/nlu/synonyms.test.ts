import assert from "node:assert/strict";
import { test } from "node:test";
import { stems } from "./stem.ts";
import { CONCEPTS, ConceptIndex } from "./synonyms.ts";
import { foldUmlauts } from "./text-features.ts";

const index = new ConceptIndex(foldUmlauts, stems);
const wordConcepts = (w: string, l: "de" | "en") => {
  const folded = foldUmlauts(w.toLowerCase());
  return index.word(folded, stems(folded, l), l);
};

test("German and English words find their concept in any inflected form", () => {
  assert.deepEqual(wordConcepts("Quittungen", "de"), ["invoice"]);
  assert.deepEqual(wordConcepts("Abrechnung", "de"), ["invoice"]);
  assert.deepEqual(wordConcepts("stornierte", "de"), ["cancel"]);
  assert.deepEqual(wordConcepts("Rückerstattung", "de"), ["refund"]);
  assert.deepEqual(wordConcepts("Rueckerstattung", "de"), ["refund"], "umlaut-free spelling");
  assert.deepEqual(wordConcepts("receipts", "en"), ["invoice"]);
  assert.deepEqual(wordConcepts("rescheduling", "en"), ["reschedule"]);
  assert.deepEqual(wordConcepts("weather", "en"), []);
  assert.deepEqual(wordConcepts("Quittung", "en"), [], "each language has its own words");
});

test("two-word English entries match on the stems of adjacent words", () => {
  assert.deepEqual(index.pair("call", "off"), ["cancel"]);
  assert.deepEqual(index.pair("gift", "card"), ["voucher"]);
  assert.deepEqual(index.pair("off", "call"), [], "order matters");
});

test("Chinese keys match inside a run, longest first, without overlaps", () => {
  assert.deepEqual(index.han("我要退款"), ["refund"], "退款 is a refund, not 退 (return) + 款 (money)");
  assert.deepEqual(index.han("我想退货"), ["return"]);
  assert.deepEqual(index.han("发票丢了能补吗"), ["invoice"]);
  assert.deepEqual(index.han("能退吗，钱呢"), ["return", "money"]);
  assert.deepEqual(index.han("今天天气怎么样"), []);
});

test("the table: every concept has words in all three languages, and no word stands under two concepts", () => {
  for (const l of ["de", "en", "zh"] as const) {
    const owner = new Map<string, string>();
    for (const [concept, entry] of Object.entries(CONCEPTS)) {
      const words = entry[l].split(/\s+/).filter(Boolean);
      assert.ok(words.length > 0, `${concept}.${l} is empty`);
      for (const w of words) {
        assert.equal(w, w.toLowerCase(), `${concept}.${l}: "${w}" must be lower case`);
        const before = owner.get(w);
        assert.ok(before === undefined || before === concept, `${l} "${w}" under ${before} and ${concept}`);
        owner.set(w, concept);
      }
    }
  }
  assert.ok(index.germanLexicon().includes("rechnung"), "the German words are a compound lexicon");
});

test("a custom table is indexed the same way", () => {
  const small = new ConceptIndex(foldUmlauts, stems, { fridge: { de: "kühlschrank", en: "fridge", zh: "冰箱" } });
  assert.deepEqual(small.word("kuehlschrank", ["kuehlschrank"], "de"), ["fridge"]);
  assert.deepEqual(small.word("fridges", stems("fridges", "en"), "en"), ["fridge"]);
  assert.deepEqual(small.han("我的冰箱坏了"), ["fridge"]);
});
