import assert from "node:assert/strict";
import { test } from "node:test";
import { extractSlot, type SlotContext, type SlotRejection, type SlotSpec, slotSpecSchema } from "./slots.ts";

// Saturday 21 November 2026, 11:00 in Berlin.
const de: SlotContext = { language: "de-DE", now: new Date("2026-11-21T10:00:00Z"), timeZone: "Europe/Berlin" };
const en: SlotContext = { ...de, language: "en-US" };

function value(text: string, spec: SlotSpec, ctx = de): string {
  const r = extractSlot(text, spec, ctx);
  assert.ok(r.ok, `${spec.type} "${text}": ${r.ok ? "" : `${r.reason}: ${r.detail}`}`);
  return r.value;
}

function display(text: string, spec: SlotSpec, ctx = de): string {
  const r = extractSlot(text, spec, ctx);
  assert.ok(r.ok, `${spec.type} "${text}"`);
  return r.display;
}

function rejected(text: string, spec: SlotSpec, reason: SlotRejection, detail?: RegExp, ctx = de): void {
  const r = extractSlot(text, spec, ctx);
  assert.equal(r.ok, false, `${spec.type} "${text}" should be rejected, got ${r.ok ? r.value : ""}`);
  if (r.ok) return;
  assert.equal(r.reason, reason, `${spec.type} "${text}": ${r.detail}`);
  if (detail) assert.match(r.detail, detail);
}

test("spec schema: strict, country default, pattern compiled, contradictions named by path", () => {
  assert.deepEqual(slotSpecSchema.parse({ type: "phone" }), { type: "phone", country: "DE" });
  const issues = (spec: unknown) => {
    const r = slotSpecSchema.safeParse(spec);
    return r.success ? [] : r.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
  };
  assert.match(issues({ type: "pattern", pattern: "K-(\\d{5}" })[0], /^pattern: not a valid regular expression/);
  assert.match(issues({ type: "pattern" })[0], /^pattern: a pattern slot needs a pattern/);
  assert.match(issues({ type: "number", min: 5, max: 1 })[0], /^min: min 5 is greater than max 1/);
  assert.match(issues({ type: "phone", future: true })[0], /^future:/);
  assert.equal(issues({ type: "phone", prefix: "0" }).length, 1, "unknown keys are rejected");
  assert.equal(issues({ type: "phone", country: "XX" }).length, 1);
  assert.equal(issues({ type: "date", future: true }).length, 0);
});

test("empty turns: nothing, fillers only, a bare DTMF terminator", () => {
  rejected("", { type: "text" }, "empty");
  rejected("  äh  ", { type: "name" }, "empty");
  rejected("ähm, hm", { type: "number" }, "empty");
  rejected("#", { type: "digits" }, "empty");
});

test("numbers from words, digits and keys, with range limits", () => {
  const n: SlotSpec = { type: "number" };
  assert.equal(value("siebenundvierzig", n), "47");
  assert.equal(value("äh also dreihundertzwölf", n), "312");
  assert.equal(value("neunzehnhundertachtzig", n), "1980");
  assert.equal(value("forty-seven", n, en), "47");
  assert.equal(value("one hundred and twelve", n, en), "112");
  assert.equal(value("4711#", n), "4711");
  assert.equal(value("drei Komma fünf", n), "3.5");
  assert.equal(display("drei Komma fünf", n), "3,5");
  assert.equal(value("für zwei Personen", { type: "number", min: 1, max: 8 }), "2");
  rejected("zwölf Personen", { type: "number", min: 1, max: 8 }, "range", /above the maximum of 8/);
  rejected("null", { type: "number", min: 1 }, "range", /below the minimum/);
  rejected("zwei oder drei", n, "format", /more than one number/);
  rejected("keine Ahnung", n, "format", /no number/);
});

test("digit strings: spoken, mixed, repeated, keypad; length limits are a range", () => {
  const d: SlotSpec = { type: "digits" };
  assert.equal(value("vier sieben eins eins", d), "4711");
  assert.equal(display("vier sieben eins eins", d), "4 7 1 1");
  assert.equal(value("meine Kundennummer ist null acht neun", d), "089");
  assert.equal(value("089 one two three", d, en), "089123");
  assert.equal(value("oh double five nine", d, en), "0559");
  assert.equal(value("triple 7 2", d, en), "7772");
  assert.equal(value("4*7#", d), "47", "keypad star is ignored");
  rejected("vier sieben", { type: "digits", minLength: 4 }, "range", /at least 4 digits, heard 2/);
  rejected("1234567", { type: "digits", maxLength: 6 }, "range", /at most 6 digits/);
  rejected("weiß ich nicht", d, "format", /no digits/);
});

test("phone numbers become E.164: national, international, spoken, with trunk zero in brackets", () => {
  const p: SlotSpec = { type: "phone" };
  assert.equal(value("089 1234567", p), "+49891234567");
  assert.equal(value("null eins sieben sechs, zwei drei vier fünf sechs sieben acht", p), "+491762345678");
  assert.equal(
    value("meine Nummer ist null eins sieben sechs zweiundvierzig dreizehn siebenundachtzig", p),
    "+49176421387",
  );
  assert.equal(value("+49 30 1234567", p), "+49301234567");
  assert.equal(value("0049 30 1234567", p), "+49301234567");
  assert.equal(value("+49 (0)30 1234567", p), "+49301234567");
  assert.equal(value("plus vier neun drei null eins zwei drei vier fünf sechs", p), "+4930123456");
  assert.equal(value("0176 / 234 567 89", p), "+4917623456789");
  assert.equal(value("08912345678#", p), "+498912345678", "DTMF");
  assert.equal(value("0041 44 668 18 00", p), "+41446681800");
  assert.equal(
    value("my number is oh two oh seven nine four six oh double one two", { type: "phone", country: "GB" }, en),
    "+442079460112",
  );
  assert.equal(
    value("two one two five five five one two three four", { type: "phone", country: "US" }, en),
    "+12125551234",
  );
  assert.equal(value("01 42 68 53 00", { type: "phone", country: "FR" }), "+33142685300");
  assert.equal(display("089 1234567", p), "0 8 9 1 2 3 4 5 6 7");
  assert.equal(display("+43 1 5880", p), "+43 1 5 8 8 0");
  rejected("1234567", p, "format", /area code is missing/);
  rejected("0 3 0", p, "format", /too short/);
  rejected("+49 30 12345678901234", p, "format", /too long/);
  rejected("ich habe kein Telefon", p, "format", /no phone number/);
});

test("email addresses, spoken and written, lower-cased and checked", () => {
  const e: SlotSpec = { type: "email" };
  assert.equal(value("max punkt mustermann at gmail punkt com", e), "max.mustermann@gmail.com");
  assert.equal(display("max punkt mustermann at gmail punkt com", e), "max punkt mustermann at gmail punkt com");
  assert.equal(value("john dot doe at example dot org", e, en), "john.doe@example.org");
  assert.equal(display("john dot doe at example dot org", e, en), "john dot doe at example dot org");
  assert.equal(value("meine E-Mail ist Info@Firma.de", e), "info@firma.de");
  assert.equal(
    value("Meine E-Mail-Adresse ist anna minus lena unterstrich schmidt at t-online punkt de danke", e),
    "anna-lena_schmidt@t-online.de",
  );
  assert.equal(value("you can reach me at john underscore doe at example dot org", e, en), "john_doe@example.org");
  assert.equal(value("m a x at web punkt de", e), "max@web.de");
  assert.equal(value("peter bindestrich paul eins zwei at gmx punkt net", e), "peter-paul12@gmx.net");
  rejected("max at gmail", e, "format", /no email/);
  rejected("max punkt at gmail punkt com", e, "format", /dot is misplaced/);
  rejected("müller at web punkt de", e, "format", /contains "ü"/);
  rejected("info at firma punkt x", e, "format", /top-level domain/);
});

test("dates, times and date-times with read-back in both languages", () => {
  assert.equal(value("morgen", { type: "date" }), "2026-11-22");
  assert.equal(display("morgen", { type: "date" }), "Sonntag, 22. November");
  assert.equal(value("am 5. März", { type: "date" }), "2027-03-05");
  assert.equal(display("am 5. März", { type: "date" }), "Freitag, 5. März 2027");
  assert.equal(value("on March 5th", { type: "date" }, en), "2027-03-05");
  assert.equal(value("in two weeks", { type: "date" }, en), "2026-12-05");
  assert.equal(value("viertel nach neun", { type: "time" }), "09:15");
  assert.equal(value("halb drei", { type: "time" }), "14:30");
  assert.equal(value("zehn", { type: "time" }), "10:00");
  assert.equal(display("15:45", { type: "time" }), "15:45 Uhr");
  const dt: SlotSpec = { type: "datetime", future: true };
  assert.equal(value("nächsten Dienstag um 10", dt), "2026-11-24T10:00");
  assert.equal(display("nächsten Dienstag um 10", dt), "Dienstag, 24. November um 10:00 Uhr");
  assert.equal(value("heute um halb drei", dt), "2026-11-21T14:30");
  assert.equal(value("tomorrow at 3 pm", dt, en), "2026-11-22T15:00");
  assert.equal(display("next Tuesday at 10", dt, en), "Tuesday, November 24 at 10:00 AM");
  assert.equal(display("next Tuesday at 10", dt, { ...en, language: "en-GB" }), "Tuesday 24 November at 10:00");
});

test("date rejections: past with future set, impossible dates, a date-time without a time", () => {
  rejected("am 20. November", { type: "date", future: true }, "past", /2026-11-20 is in the past/);
  assert.equal(value("am 20. November", { type: "date" }), "2026-11-20", "without future the past is fine");
  assert.equal(value("heute", { type: "date", future: true }), "2026-11-21", "today is not past");
  rejected("heute um 9", { type: "datetime", future: true }, "past");
  rejected("gestern um 15 Uhr", { type: "datetime", future: true }, "past");
  rejected("am 30. Februar", { type: "date" }, "format", /no day 30/);
  rejected("Montag, den 5. März", { type: "date" }, "format", /is a Friday, not a Monday/);
  rejected("morgen", { type: "datetime" }, "format", /no time of day/);
  rejected("irgendwann", { type: "date" }, "format", /no date/);
});

test("around the October DST change in Berlin the local day counts, and past is judged by the instant", () => {
  // 2026-10-24 22:30 UTC = Sunday 25 October 00:30 CEST; the clocks go back at 03:00 CEST.
  const night: SlotContext = { ...de, now: new Date("2026-10-24T22:30:00Z") };
  assert.equal(value("heute", { type: "date" }, night), "2026-10-25");
  assert.equal(value("morgen", { type: "date", future: true }, night), "2026-10-26");
  assert.equal(value("heute um halb drei", { type: "datetime", future: true }, night), "2026-10-25T14:30");
  assert.equal(value("heute um 2:30 Uhr nachts", { type: "datetime", future: true }, night), "2026-10-25T02:30");
  rejected("gestern um 23 Uhr", { type: "datetime", future: true }, "past", undefined, night);
  // Later that night, after 02:59 CEST became 02:00 CET again: 02:30 (first time) is past.
  const after: SlotContext = { ...de, now: new Date("2026-10-25T01:10:00Z") };
  rejected("heute um 2:30 Uhr nachts", { type: "datetime", future: true }, "past", undefined, after);
  // In March 02:30 does not exist on the night the clocks go forward.
  const march: SlotContext = { ...de, now: new Date("2026-03-28T12:00:00Z") };
  rejected("morgen um 2:30 Uhr nachts", { type: "datetime" }, "format", /does not exist/, march);
  assert.equal(value("morgen um 3:30 Uhr nachts", { type: "datetime" }, march), "2026-03-29T03:30");
});

test("postcodes: German five digits, spoken in groups, keypad", () => {
  const pc: SlotSpec = { type: "postcode" };
  assert.equal(value("10115", pc), "10115");
  assert.equal(value("zehn eins eins fünf", pc), "10115");
  assert.equal(value("PLZ 80331 München", pc), "80331");
  assert.equal(value("eins null eins fünfzehn", pc), "10115");
  assert.equal(value("80331#", pc), "80331");
  assert.equal(value("eins null eins null", { type: "postcode", country: "AT" }), "1010");
  rejected("1234", pc, "format", /5 digits, heard 4/);
  rejected("00123", pc, "format", /do not start with 00/);
  rejected("SW1A 1AA", { type: "postcode", country: "GB" }, "format", /not supported/);
});

test("IBANs: written, spelled letters (names, DIN, NATO), digits in words, checksum and length", () => {
  const iban: SlotSpec = { type: "iban" };
  const de89 = "DE89370400440532013000";
  assert.equal(value("DE89 3704 0044 0532 0130 00", iban), de89);
  assert.equal(display("DE89 3704 0044 0532 0130 00", iban), "DE89 3704 0044 0532 0130 00");
  assert.equal(
    value(
      "meine IBAN ist D E acht neun drei sieben null vier null null vier vier null fünf drei zwei null eins drei null null null",
      iban,
    ),
    de89,
  );
  assert.equal(
    value(
      "de neunundachtzig siebenunddreißig null vier null null vier vier null fünf drei zwei null eins drei null null null",
      iban,
    ),
    de89,
  );
  assert.equal(value("Dora Emil 89 3704 0044 0532 0130 00", iban), de89);
  assert.equal(value("D wie Dora E wie Emil 89 3704 0044 0532 0130 00", iban), de89);
  assert.equal(
    value(
      "Delta Echo acht neun, drei sieben null vier, null null vier vier, null fünf drei zwei, null eins drei null, null null",
      iban,
      en,
    ),
    de89,
  );
  assert.equal(value("GB29 NWBK 6016 1331 9268 19", iban), "GB29NWBK60161331926819");
  assert.equal(value("AT61 1904 3002 3457 3201", iban), "AT611904300234573201");
  assert.equal(value("CH93 0076 2011 6238 5295 7", iban), "CH9300762011623852957");
  assert.equal(value("NL91ABNA0417164300", iban), "NL91ABNA0417164300");
  assert.equal(value("FR14 2004 1010 0505 0001 3M02 606", iban), "FR1420041010050500013M02606");
  assert.equal(value("IT60 X054 2811 1010 0000 0123 456", iban), "IT60X0542811101000000123456");
  assert.equal(value("ES91 2100 0418 4502 0005 1332", iban), "ES9121000418450200051332");
  assert.equal(value("BE68 5390 0754 7034", iban), "BE68539007547034");
  assert.equal(value("LU28 0019 4006 4475 0000", iban), "LU280019400644750000");
  rejected("DE88 3704 0044 0532 0130 00", iban, "checksum", /IBAN checksum does not match/);
  rejected("DE89 3704 0044 0532 0130 0", iban, "format", /has 22 characters, heard 21/);
  rejected("meine Kontonummer weiß ich nicht", iban, "format", /no IBAN/);
});

test("pattern slots match the whole normalised answer, spelled or written", () => {
  const k: SlotSpec = { type: "pattern", pattern: "K-?\\d{5}" };
  assert.equal(value("K-12345", k), "K-12345");
  assert.equal(value("meine Kundennummer ist K minus eins zwei drei vier fünf", k), "K-12345");
  assert.equal(value("Ka eins zwei drei vier fünf", k), "K12345");
  assert.equal(value("k 12345", k), "K12345");
  assert.equal(display("K-12345", k), "K - 1 2 3 4 5");
  rejected("K 1234", k, "format");
  rejected("XK-123456", k, "format", undefined);
  assert.equal(value("Bestellung AB 2024 0815", { type: "pattern", pattern: "[A-Z]{2}\\d{8}" }), "AB20240815");
  assert.equal(value("Farbe blau bitte", { type: "pattern", pattern: "rot|grün|blau" }), "blau");
});

test("yes and no through the command words", () => {
  const yn: SlotSpec = { type: "yesno" };
  assert.equal(value("ja genau", yn), "yes");
  assert.equal(display("ja genau", yn), "ja");
  assert.equal(value("nein danke", yn), "no");
  assert.equal(value("das stimmt nicht", yn), "no");
  assert.equal(value("yes please", yn, en), "yes");
  assert.equal(display("yes please", yn, en), "yes");
  assert.equal(display("是的", yn, { ...de, language: "zh-CN" }), "是");
  rejected("vielleicht", yn, "format", /no clear yes or no/);
  rejected("ja nein", yn, "format");
});

test("names after an introduction, or a short capitalised answer", () => {
  const nm: SlotSpec = { type: "name" };
  assert.equal(value("mein Name ist anna schmidt", nm), "Anna Schmidt");
  assert.equal(value("ich bin Peter Müller und ich habe eine Frage", nm), "Peter Müller");
  assert.equal(value("hier ist Frau Schmidt", nm), "Schmidt");
  assert.equal(value("ja hallo, hier spricht Hans-Peter von der Heide.", nm), "Hans-Peter von der Heide");
  assert.equal(value("my name is john o'brien", nm, en), "John O'Brien");
  assert.equal(value("this is Mary-Jane Watson.", nm, en), "Mary-Jane Watson");
  assert.equal(value("Anna Schmidt", nm), "Anna Schmidt");
  assert.equal(value("äh Schmidt", nm), "Schmidt");
  assert.equal(value("Ronald McDonald", nm, en), "Ronald McDonald");
  rejected("ja", nm, "format", /no name/);
  rejected("ich bin mir nicht sicher", nm, "format");
  rejected("ich möchte einen Termin vereinbaren", nm, "format");
  rejected("Hallo", nm, "format");
  rejected("it's me", nm, "format");
});

test("free text is trimmed and length-limited", () => {
  assert.equal(value("  Die Heizung ist kaputt.  ", { type: "text" }), "Die Heizung ist kaputt.");
  rejected("ok", { type: "text", minLength: 5 }, "range", /at least 5 characters/);
});

test("a pattern on another slot type constrains its value", () => {
  assert.equal(
    value("null eins sieben sechs eins zwei drei vier fünf sechs sieben", {
      type: "phone",
      pattern: "\\+4915\\d+|\\+4916\\d+|\\+4917\\d+",
    }),
    "+491761234567",
  );
  rejected("030 1234567", { type: "phone", pattern: "\\+491[5-7]\\d+" }, "format", /expected form/);
});
