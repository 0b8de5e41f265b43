import assert from "node:assert/strict";
import { test } from "node:test";
import { sameNumber } from "./routing.ts";

test("a DID matches however the trunk writes it: +49, 0049, 49 and the national 0 form", () => {
  for (const form of ["+49 89 100600", "004989100600", "4989100600", "089100600", "sip:+4989100600@pbx"])
    assert.ok(sameNumber("+4989100600", form), form);
  assert.ok(sameNumber("089100600", "0049 89 100600"));
});

test("different lines, short extensions and other countries do not match", () => {
  assert.ok(!sameNumber("+4989100600", "+4989100601"));
  assert.ok(!sameNumber("+4989100600", "+4389100600"), "Austria is not Germany");
  assert.ok(!sameNumber("+4989100600", "0600"), "a short extension is not the line");
  assert.ok(!sameNumber("+4989100600", "anonymous"));
  assert.ok(!sameNumber("089100600", "089100601"));
});
