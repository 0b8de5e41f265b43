import assert from "node:assert/strict";
import { test } from "node:test";
import { numberValue, numeralize, spokenDigits, spokenNumbers } from "./numbers.ts";

const value = (text: string, language = "de-DE") => {
  const r = numberValue(text, language);
  return r.ok ? r.value : undefined;
};

test("German cardinals, compounds included", () => {
  const cases: [string, number][] = [
    ["siebenundvierzig", 47],
    ["dreihundertzwölf", 312],
    ["zwo", 2],
    ["elf", 11],
    ["neunzehnhundertachtzig", 1980],
    ["zweitausendsechsundzwanzig", 2026],
    ["einhunderteins", 101],
    ["tausendundeins", 1001],
    ["fünfundneunzig", 95],
    ["eine Million", 1_000_000],
    ["sieben und vierzig", 47],
    ["äh also so ungefähr fünfzig", 50],
  ];
  for (const [text, n] of cases) assert.equal(value(text), n, text);
});

test("English cardinals, hyphenated and with 'and'", () => {
  const cases: [string, number][] = [
    ["forty-seven", 47],
    ["forty seven", 47],
    ["one hundred and twelve", 112],
    ["a hundred", 100],
    ["two thousand five hundred", 2500],
    ["one thousand two hundred and thirty four", 1234],
    ["nineteen", 19],
    ["um, about twenty", 20],
  ];
  for (const [text, n] of cases) assert.equal(value(text, "en-US"), n, text);
});

test("decimals, signs and thousands separators follow the language", () => {
  assert.equal(value("drei Komma fünf"), 3.5);
  assert.equal(value("three point five", "en-US"), 3.5);
  assert.equal(value("3,5"), 3.5);
  assert.equal(value("1.000"), 1000, "German thousands separator");
  assert.equal(value("1,000", "en-GB"), 1000, "English thousands separator");
  assert.equal(value("minus fünf"), -5);
});

test("digits said one by one are one number; two numbers with words between are ambiguous", () => {
  assert.equal(value("vier sieben eins eins"), 4711);
  assert.equal(value("4711"), 4711);
  const r = numberValue("zwei oder drei");
  assert.equal(r.ok, false);
  assert.match(r.ok ? "" : r.detail, /more than one number/);
  assert.equal(numberValue("hallo").ok, false);
});

test("articles count as one only when nothing else is a number", () => {
  assert.equal(value("eine Person"), 1);
  assert.equal(value("einen Tisch für vier bitte"), 4);
});

test("digit strings: digit words, numerals, compounds read as their digits, double and triple", () => {
  const cases: [string, string][] = [
    ["null acht neun", "089"],
    ["089 one two three", "089123"],
    ["oh double five nine", "0559"],
    ["triple 7 2", "7772"],
    ["doppel null sieben", "007"],
    ["null eins sieben sechs zweiundvierzig dreizehn", "01764213"],
    ["nine oh five", "905"],
    ["eins null eins fünfzehn", "10115"],
    ["meine Nummer ist vier sieben eins eins danke", "4711"],
  ];
  for (const [text, digits] of cases) assert.equal(spokenDigits(text).digits, digits, text);
  assert.equal(spokenDigits("oh, I see").digits, "", "'oh' alone is not a zero");
  assert.equal(spokenDigits("eine Kundennummer: vier sieben").digits, "47", "an article is not a digit");
});

test("a correction word restarts the digit string; plus is noticed", () => {
  assert.equal(spokenDigits("vier sieben nein vier acht eins eins").digits, "4811");
  assert.deepEqual(spokenDigits("plus vier neun drei null"), { digits: "4930", plus: true });
  assert.deepEqual(spokenDigits("+49 30"), { digits: "4930", plus: true });
  assert.equal(spokenDigits("null vier null").plus, false);
});

test("numeralize keeps other words and turns ordinals into 'N.'", () => {
  assert.equal(numeralize("am fünften März um halb drei", { ordinals: true }), "am 5. März um halb 3");
  assert.equal(numeralize("the twenty-first of March", { ordinals: true }), "the 21. of March");
  assert.equal(numeralize("am einundzwanzigsten", { ordinals: true }), "am 21.");
  assert.equal(numeralize("in einer Woche", { articles: true }), "in 1 Woche");
  assert.equal(numeralize("in einer Woche"), "in einer Woche");
  assert.equal(numeralize("die Kosten"), "die Kosten", "a word ending like an ordinal stays");
  assert.equal(numeralize(`${"achtzehn".repeat(9)}x`), `${"achtzehn".repeat(9)}x`, "no number, and no blow-up");
  const ns = spokenNumbers("zehn Uhr dreißig");
  assert.deepEqual(
    ns.map((n) => n.value),
    [10, 30],
  );
});
