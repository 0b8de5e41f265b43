import assert from "node:assert/strict";
import { test } from "node:test";
import { addDays, addMonths, instantOf, readWhen, sayDate, sayDateTime, wallClock, type WhenContext } from "./dates.ts";

// Saturday 21 November 2026, 11:00 in Berlin.
const sat = (language = "de-DE"): WhenContext => ({
  language,
  now: new Date("2026-11-21T10:00:00Z"),
  timeZone: "Europe/Berlin",
});

/** "YYYY-MM-DD" and/or "HH:MM" of what readWhen understood, or "error: …". */
function when(text: string, ctx: WhenContext = sat(), bareHour = false): string {
  const r = readWhen(text, ctx, { bareHour });
  if (!r.ok) return `error: ${r.detail}`;
  const pad = (n: number) => String(n).padStart(2, "0");
  const d = r.date ? `${r.date.year}-${pad(r.date.month)}-${pad(r.date.day)}` : "";
  const t = r.time ? `${pad(r.time.hour)}:${pad(r.time.minute)}` : "";
  return [d, t].filter((x) => x !== "").join(" ");
}

test("German days: relative words, weekdays with their modifiers, explicit dates", () => {
  const cases: [string, string][] = [
    ["heute", "2026-11-21"],
    ["morgen", "2026-11-22"],
    ["übermorgen", "2026-11-23"],
    ["gestern", "2026-11-20"],
    ["Montag", "2026-11-23"],
    ["nächsten Dienstag", "2026-11-24"],
    ["übernächsten Dienstag", "2026-12-01"],
    ["Samstag", "2026-11-28"],
    ["diesen Samstag", "2026-11-21"],
    ["Mittwoch nächste Woche", "2026-11-25"],
    ["letzten Freitag", "2026-11-20"],
    ["am 5. März", "2027-03-05"],
    ["am fünften März", "2027-03-05"],
    ["5.3.", "2027-03-05"],
    ["24.12.2026", "2026-12-24"],
    ["am 20. November", "2026-11-20"],
    ["am ersten", "2026-12-01"],
    ["in zwei Wochen", "2026-12-05"],
    ["in einer Woche", "2026-11-28"],
    ["in drei Tagen", "2026-11-24"],
    ["in einem Monat", "2026-12-21"],
  ];
  for (const [text, expected] of cases) assert.equal(when(text), expected, text);
});

test("German times: half, quarter, minutes before/after, and the afternoon rule for 1–7", () => {
  const cases: [string, string][] = [
    ["heute um halb drei", "2026-11-21 14:30"],
    ["viertel nach neun", "09:15"],
    ["viertel vor zehn", "09:45"],
    ["dreiviertel zehn", "09:45"],
    ["um fünf vor halb drei", "14:25"],
    ["zwanzig nach vier", "16:20"],
    ["um 10", "10:00"],
    ["um 3", "15:00"],
    ["um 7 Uhr morgens", "07:00"],
    ["um 07:30", "07:30"],
    ["zehn Uhr dreißig", "10:30"],
    ["um 10.30 Uhr", "10:30"],
    ["heute Abend um 8", "2026-11-21 20:00"],
    ["um 11 Uhr nachts", "23:00"],
    ["um 2 Uhr nachts", "02:00"],
    ["morgen früh um acht", "2026-11-22 08:00"],
    ["heute Morgen um 9", "2026-11-21 09:00"],
    ["um Mitternacht", "00:00"],
    ["morgen Mittag", "2026-11-22 12:00"],
    ["nächsten Dienstag um 10", "2026-11-24 10:00"],
  ];
  for (const [text, expected] of cases) assert.equal(when(text), expected, text);
});

test("English dates and times", () => {
  const us = sat("en-US");
  const cases: [string, string][] = [
    ["tomorrow at 3 pm", "2026-11-22 15:00"],
    ["next Tuesday at 10", "2026-11-24 10:00"],
    ["on March 5th", "2027-03-05"],
    ["the fifth of March", "2027-03-05"],
    ["in two weeks", "2026-12-05"],
    ["the day after tomorrow at quarter to five", "2026-11-23 16:45"],
    ["Tuesday next week at 9:30 am", "2026-11-24 09:30"],
    ["December twenty-first at 11 am", "2026-12-21 11:00"],
    ["this Saturday at 6 in the evening", "2026-11-21 18:00"],
    ["3/5 at 4:15 pm", "2027-03-05 16:15"],
    ["at half past nine", "09:30"],
    ["at noon", "12:00"],
    ["at 12 am", "00:00"],
  ];
  for (const [text, expected] of cases) assert.equal(when(text, us), expected, text);
  assert.equal(when("3/5", sat("en-GB")), "2027-05-03", "day first outside the US");
  assert.equal(when("half nine tomorrow", sat("en-GB")), "2026-11-22 09:30");
});

test("impossible dates and times are errors that say why; a weekday must fit its date", () => {
  assert.equal(when("am 30. Februar"), "error: February 2027 has no day 30");
  assert.equal(when("31.2."), "error: February 2027 has no day 31");
  assert.equal(when("um 25 Uhr"), "error: there is no hour 25");
  assert.equal(when("Montag, den 5. März"), "error: March 5, 2027 is a Friday, not a Monday");
  assert.equal(when("Freitag, den 5. März"), "2027-03-05");
});

test("a lone number is an hour only when the slot asks for a time", () => {
  assert.equal(when("zehn", sat(), true), "10:00");
  assert.equal(when("zehn"), "");
});

test("near the DST change in Berlin the local day and wall clock are used, not UTC", () => {
  // 2026-10-24 22:30 UTC is already Sunday 25 October 00:30 in Berlin (CEST); the clocks go back at 03:00.
  const night: WhenContext = { language: "de-DE", now: new Date("2026-10-24T22:30:00Z"), timeZone: "Europe/Berlin" };
  assert.equal(when("heute", night), "2026-10-25");
  assert.equal(when("morgen um 10", night), "2026-10-26 10:00");
  assert.equal(when("in einer Stunde", night), "2026-10-25 01:30");
  assert.equal(when("in zwei Stunden", night), "2026-10-25 02:30", "the first 02:30 of the night");
  // A week later in Berlin crosses the change and stays on the calendar.
  assert.equal(when("in einer Woche", { ...night, now: new Date("2026-10-20T10:00:00Z") }), "2026-10-27");
  assert.deepEqual(wallClock(new Date("2026-10-25T01:30:00Z"), "Europe/Berlin").hour, 2, "second 02:30 (CET)");
});

test("instants of wall-clock times: the hour that repeats and the hour that does not exist", () => {
  const tz = "Europe/Berlin";
  assert.equal(
    instantOf({ year: 2026, month: 10, day: 25 }, { hour: 2, minute: 30 }, tz)?.toISOString(),
    "2026-10-25T00:30:00.000Z",
  );
  assert.equal(
    instantOf({ year: 2026, month: 10, day: 25 }, { hour: 12, minute: 0 }, tz)?.toISOString(),
    "2026-10-25T11:00:00.000Z",
  );
  assert.equal(instantOf({ year: 2026, month: 3, day: 29 }, { hour: 2, minute: 30 }, tz), undefined);
  assert.equal(
    instantOf({ year: 2026, month: 3, day: 29 }, { hour: 3, minute: 0 }, tz)?.toISOString(),
    "2026-03-29T01:00:00.000Z",
  );
  assert.throws(() => wallClock(new Date(), "Mars/Olympus"), /unknown time zone "Mars\/Olympus"/);
});

test("calendar arithmetic clamps months and crosses years", () => {
  assert.deepEqual(addMonths({ year: 2027, month: 1, day: 31 }, 1), { year: 2027, month: 2, day: 28 });
  assert.deepEqual(addDays({ year: 2026, month: 12, day: 31 }, 1), { year: 2027, month: 1, day: 1 });
});

test("read-back texts per language; the year only when it is not this year", () => {
  const d = { year: 2026, month: 11, day: 24 };
  const t = { hour: 10, minute: 0 };
  assert.equal(sayDateTime(d, t, "de-DE", 2026), "Dienstag, 24. November um 10:00 Uhr");
  assert.equal(sayDateTime(d, t, "en-US", 2026), "Tuesday, November 24 at 10:00 AM");
  assert.equal(sayDateTime(d, t, "en-GB", 2026), "Tuesday 24 November at 10:00");
  assert.equal(sayDate({ year: 2027, month: 3, day: 5 }, "de-DE", 2026), "Freitag, 5. März 2027");
});
