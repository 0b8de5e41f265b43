import assert from "node:assert/strict";
import { test } from "node:test";
import { textLanguage, textsFor } from "./text-language.ts";

test("BCP-47 tags pick the German, Chinese or (by default) English sentences", () => {
  assert.equal(textLanguage("de-DE"), "de");
  assert.equal(textLanguage("zh-CN"), "zh");
  assert.equal(textLanguage("ZH-cn"), "zh");
  assert.equal(textLanguage("en-GB"), "en");
  assert.equal(textLanguage("fr-FR"), "en");
  assert.equal(textsFor("zh-CN", { de: 1, en: 2, zh: 3 }), 3);
});
