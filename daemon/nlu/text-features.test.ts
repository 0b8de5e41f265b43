import assert from "node:assert/strict";
import { test } from "node:test";
import { conceptLexicon, languageOf, lexiconWords, textFeatures } from "./text-features.ts";

const keys = (text: string, lexicon?: ReadonlySet<string>) => [...textFeatures(text, { lexicon }).keys()];
const shared = (a: string, b: string, prefix: string, lexicon?: ReadonlySet<string>) => {
  const kb = new Set(keys(b, lexicon));
  return keys(a, lexicon).filter((k) => k.startsWith(prefix) && kb.has(k));
};

test("inflected forms share a stem feature; stop words add nothing", () => {
  assert.deepEqual(shared("Ich habe bestellt", "Meine Bestellung", "s:"), ["s:bestell"]);
  assert.deepEqual(shared("I ordered a fridge", "my orders", "s:"), ["s:order"]);
  assert.deepEqual(keys("ich und der"), [], "only stop words");
});

test("synonyms meet on a concept feature across words and languages", () => {
  assert.deepEqual(shared("Ich brauche eine Quittung", "Schicken Sie mir die Rechnung", "c:"), ["c:invoice"]);
  assert.deepEqual(shared("Can I have a receipt?", "发票丢了", "c:"), ["c:invoice"]);
  assert.deepEqual(shared("Please call off my order", "I want to cancel", "c:"), ["c:cancel"], "a two-word entry");
  assert.deepEqual(shared("Can you put me through", "transfer me", "c:"), ["c:connect"], "a stop word in between");
  assert.deepEqual(shared("wie ist das Wetter", "Rechnung", "c:"), []);
});

test("a German compound adds its parts when they are known words", () => {
  const lexicon = new Set([...conceptLexicon(), ...lexiconWords("Ich möchte den Termin absagen")]);
  const f = keys("Terminabsage für morgen", lexicon);
  assert.ok(f.includes("s:termin") && f.includes("c:appointment") && f.includes("c:cancel"), f.join(" "));
  assert.ok(!keys("Terminabsage für morgen").includes("s:termin"), "no lexicon, no split");
  assert.ok(keys("Öffnungszeiten", lexicon).includes("c:open_close"), "Öffnungszeit is in the table");
});

test("a separable verb's particle at the end is joined to its verb", () => {
  assert.ok(keys("Sagen Sie den Termin bitte ab").includes("c:cancel"), "ab + sagen = absagen");
  assert.ok(keys("Rufen Sie mich bitte zurück").includes("c:callback"), "zurück + rufen = zurückrufen");
  assert.ok(!keys("Sagen Sie mir den Preis").includes("c:cancel"), "no particle, no join");
});

test("Chinese: character uni- and bigrams and concepts; grammar characters only in bigrams", () => {
  const f = keys("我要退款");
  assert.ok(f.includes("hh:退款") && f.includes("h:退") && f.includes("c:refund"), f.join(" "));
  assert.ok(!f.includes("h:我") && f.includes("hh:我要"));
});

test("the language decides the stemmer: a German text is not stemmed as English", () => {
  assert.equal(languageOf("Ich habe die Rechnungen nicht bekommen"), "de");
  assert.ok(keys("Ich habe die Rechnungen nicht bekommen").includes("s:rechn"));
  assert.ok(keys("my invoices").includes("s:invoic"));
});
