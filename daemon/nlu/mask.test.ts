import assert from "node:assert/strict";
import { test } from "node:test";
import { checkIban, luhnValid, maskSensitive } from "./mask.ts";

test("IBAN check: length per country, account layout, mod-97", () => {
  assert.deepEqual(checkIban("DE89370400440532013000"), { ok: true });
  assert.deepEqual(checkIban("GB29NWBK60161331926819"), { ok: true });
  assert.deepEqual(checkIban("AT611904300234573201"), { ok: true });
  assert.equal(checkIban("DE88370400440532013000").ok, false);
  const bad = checkIban("DE88370400440532013000");
  assert.equal(bad.ok === false && bad.reason, "checksum");
  const short = checkIban("DE8937040044053201300");
  assert.equal(short.ok === false && short.reason, "format");
  const unknown = checkIban("XX89370400440532013000");
  assert.equal(unknown.ok === false && unknown.detail, "IBANs from XX are not supported");
});

test("Luhn", () => {
  assert.equal(luhnValid("4111111111111111"), true);
  assert.equal(luhnValid("4111111111111112"), false);
  assert.equal(luhnValid("378282246310005"), true);
});

test("IBANs are masked written spaced, compact or lower case: first four and last two stay", () => {
  assert.equal(maskSensitive("IBAN DE89 3704 0044 0532 0130 00 bitte"), "IBAN DE89 **** **** **** **** 00 bitte");
  assert.equal(maskSensitive("de89370400440532013000."), "DE89 **** **** **** **** 00.");
  assert.equal(maskSensitive("GB29NWBK60161331926819"), "GB29 **** **** **** **** 19");
  assert.equal(maskSensitive("AT61 1904 3002 3457 3201"), "AT61 **** **** **** **01");
});

test("payment cards are masked to the last four, spaced, dashed or compact", () => {
  assert.equal(maskSensitive("Karte 4111 1111 1111 1111"), "Karte **** **** **** 1111");
  assert.equal(maskSensitive("card 5555-5555-5555-4444 exp 12/28"), "card **** **** **** 4444 exp 12/28");
  assert.equal(maskSensitive("4012888888881881"), "**** **** **** 1881");
  assert.equal(maskSensitive("Amex 3782 822463 10005."), "Amex **** **** **** 0005.");
});

test("phone numbers, order numbers and invalid IBANs stay readable", () => {
  const keep = [
    "Rufen Sie mich an unter 0176 12345678",
    "+49 176 1234 5678 9",
    "0049 30 1234567890",
    "Bestellnummer 1234567890123",
    "order 4111 1111 1111 1112",
    "DE88 3704 0044 0532 0130 00",
    "Termin am 2026-10-25 um 10:30",
    "Kundennummer K-12345",
    "ABC4111111111111111",
  ];
  for (const text of keep) assert.equal(maskSensitive(text), text, text);
});

test("an IBAN and a card in one sentence are both masked", () => {
  assert.equal(
    maskSensitive("IBAN DE89370400440532013000, Karte 4111111111111111"),
    "IBAN DE89 **** **** **** **** 00, Karte **** **** **** 1111",
  );
});
