import assert from "node:assert/strict";
import { test } from "node:test";
import { allDemoTexts, demoText, fillReply, spokenWords } from "./demo-texts.ts";

test("command words are read back one digit at a time, in the caller's language", () => {
  assert.equal(spokenWords("de-DE", ["4", "7", "1", "1"]), "4 7 1 1");
  assert.equal(spokenWords("de-DE", ["yes", "agent"]), "ja Mitarbeiter");
  assert.equal(spokenWords("en-US", ["no", "billing"]), "no billing");
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
