import assert from "node:assert/strict";
import { test } from "node:test";
import { commandWords, digitsOf, yesNoOf } from "./commands.ts";

test("recognizer tokens and free text in German and English give the same digit string", () => {
  for (const text of [
    "4 7 1 1",
    "vier sieben eins eins",
    "Meine Nummer ist vier, sieben, eins, eins.",
    "four seven one one please",
    "4711",
    "47 11",
    "äh vier sieben eins eins danke",
  ])
    assert.equal(digitsOf(commandWords(text)), "4711", text);
  assert.equal(digitsOf(commandWords("null zwo zwei")), "022");
  assert.equal(digitsOf(commandWords("oh double five nine")), "0559");
  assert.equal(digitsOf(commandWords("double 5")), "55", "the recognizer's own token for double");
  assert.equal(digitsOf(commandWords("triple seven")), "777");
});

test("a digit string with other words inside is marked broken, fillers around it are not", () => {
  assert.equal(commandWords("meine Nummer ist vier sieben").brokenDigits, false);
  assert.equal(commandWords("vier sieben äh nein eins").brokenDigits, true);
  assert.equal(commandWords("vier sieben ähm eins").brokenDigits, true);
  assert.equal(commandWords("double five six").brokenDigits, false);
  assert.equal(digitsOf(commandWords("vier sieben Mitarbeiter")), undefined, "not only digits");
  assert.equal(digitsOf(commandWords("hallo")), undefined);
});

test("yes and no with their variants, negation and conflicts", () => {
  for (const t of ["ja", "ja genau", "jawohl", "richtig", "yes please", "yeah", "yep", "correct", "是的"])
    assert.equal(yesNoOf(commandWords(t)), "yes", t);
  for (const t of ["nein", "nein danke", "nö", "no thanks", "nope", "das stimmt nicht", "not correct", "不是"])
    assert.equal(yesNoOf(commandWords(t)), "no", t);
  assert.equal(yesNoOf(commandWords("ja nein")), undefined, "both: no answer");
  assert.equal(yesNoOf(commandWords("vielleicht")), undefined);
});

test("escalation, repeat, cancel and menu words, incl. Chinese escalation phrases", () => {
  const w = (t: string) => commandWords(t).words;
  assert.deepEqual(w("einen Mitarbeiter bitte"), ["agent"]);
  assert.deepEqual(w("I want to talk to a human"), ["agent"]);
  assert.deepEqual(w("operator"), ["agent"]);
  assert.deepEqual(w("转人工"), ["agent"]);
  assert.deepEqual(w("我要人工客服"), ["agent"]);
  assert.deepEqual(w("können Sie das wiederholen"), ["repeat"]);
  assert.deepEqual(w("abbrechen"), ["cancel"]);
  assert.deepEqual(w("ich habe eine Frage zur Rechnung"), ["billing"]);
  assert.deepEqual(w("einen Termin bitte"), ["appointment"]);
  assert.deepEqual(w("Vertrieb"), ["sales"]);
  assert.equal(commandWords("ich habe eine Frage zur Rechnung").other, 5);
});
