import assert from "node:assert/strict";
import { test } from "node:test";
import { allDemoTexts, choiceFromText, demoText, fillReply } from "./demo-texts.ts";

test("spoken menu choices in German and English, and no guess for anything else", () => {
  for (const s of ["Eins bitte", "one", "I want to leave a message", "Nachricht.", "1"])
    assert.equal(choiceFromText(s), "1", s);
  for (const s of ["null", "Zero!", "operator please", "einen Mitarbeiter bitte", "a human", "0"])
    assert.equal(choiceFromText(s), "0", s);
  for (const s of ["", "hello", "someone", "zweiundzwanzig", "ones", "nullify"])
    assert.equal(choiceFromText(s), undefined, s);
});

test("{seconds} is the turn length with the language's decimal separator", () => {
  assert.equal(fillReply("Sie sprachen {seconds} Sekunden.", "de-DE", 2350), "Sie sprachen 2,4 Sekunden.");
  assert.equal(fillReply("You spoke {seconds} s, {seconds} s.", "en-US", 1000), "You spoke 1.0 s, 1.0 s.");
  assert.equal(fillReply("no placeholder", "en-US", 1000), "no placeholder");
});

test("every language has every text, and the no-recognizer reply points to the keypad", () => {
  assert.equal(allDemoTexts("de-DE").length, allDemoTexts("en-GB").length);
  assert.match(demoText("de-DE", "reply"), /Tastatur/);
  assert.match(demoText("en-US", "reply"), /keypad/);
  assert.equal(new Set(allDemoTexts("de-DE")).size, allDemoTexts("de-DE").length);
});
