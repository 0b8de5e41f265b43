import assert from "node:assert/strict";
import { test } from "node:test";
import { splitSentences } from "./sentences.ts";

const cases: [string, string[]][] = [
  ["Hallo. Wie geht es Ihnen?", ["Hallo.", "Wie geht es Ihnen?"]],
  ["Das kostet z. B. 1.000 Euro. Danke!", ["Das kostet z. B. 1.000 Euro.", "Danke!"]],
  ["Bitte wenden Sie sich an Dr. Meier. Er hilft.", ["Bitte wenden Sie sich an Dr. Meier.", "Er hilft."]],
  ["Ihre Kundennr. ist Nr. 12345. Bitte notieren.", ["Ihre Kundennr. ist Nr. 12345.", "Bitte notieren."]],
  ["Der Zins beträgt 3,5 Prozent. Sonst noch etwas?", ["Der Zins beträgt 3,5 Prozent.", "Sonst noch etwas?"]],
  ["Der Termin ist am 3. Mai um 10.30 Uhr. Passt das?", ["Der Termin ist am 3. Mai um 10.30 Uhr.", "Passt das?"]],
  ["Er wurde 2. bester Fahrer. Toll.", ["Er wurde 2. bester Fahrer.", "Toll."]],
  ["Das ist d. h. erledigt, usw. Weiter geht's.", ["Das ist d. h. erledigt, usw. Weiter geht's."]],
  ["Mr. Smith called at 3 p.m. today. He left a message.", ["Mr. Smith called at 3 p.m. today.", "He left a message."]],
  ["Use e.g. the web form. Or call J. Doe.", ["Use e.g. the web form.", "Or call J. Doe."]],
  ["Really?! Yes... I think so.", ["Really?!", "Yes...", "I think so."]],
  ['He said "Stop." Then he left.', ['He said "Stop."', "Then he left."]],
  ["The price is $1,000.50 today. Thanks.", ["The price is $1,000.50 today.", "Thanks."]],
  ["Erster Absatz ohne Punkt\n\nZweiter Absatz", ["Erster Absatz ohne Punkt", "Zweiter Absatz"]],
  ["  Nur ein Satz  ", ["Nur ein Satz"]],
  ["", []],
  ["...", []],
  ["Version 2.5 ist da.", ["Version 2.5 ist da."]],
];

for (const [input, expected] of cases) {
  test(`splitSentences ${JSON.stringify(input)}`, () => {
    assert.deepEqual(splitSentences(input), expected);
  });
}

test("long sentences are cut at a comma, else at a space, within maxChars", () => {
  const long = `${"eins zwei drei vier fünf, ".repeat(20)}Ende.`;
  const parts = splitSentences(long, { maxChars: 80 });
  assert.ok(parts.length > 5);
  for (const p of parts) assert.ok(p.length <= 80, p);
  assert.equal(parts.join(" ").replace(/\s+/g, " "), long.trim());
  const noComma = "a".repeat(50) + " " + "b".repeat(50);
  assert.deepEqual(splitSentences(noComma, { maxChars: 60 }), ["a".repeat(50), "b".repeat(50)]);
});
