import assert from "node:assert/strict";
import { test } from "node:test";
import { easterSunday, germanHolidays, holidayOn, holidayRegions } from "./holidays.ts";

test("Easter Sunday by the Gregorian computus matches the published dates", () => {
  const known: Record<number, string> = {
    1818: "1818-03-22",
    2000: "2000-04-23",
    2019: "2019-04-21",
    2024: "2024-03-31",
    2025: "2025-04-20",
    2026: "2026-04-05",
    2027: "2027-03-28",
    2038: "2038-04-25",
    2285: "2285-03-22",
  };
  for (const [year, date] of Object.entries(known)) assert.equal(easterSunday(Number(year)), date, year);
  assert.throws(() => easterSunday(1500), /Gregorian/);
  assert.throws(() => easterSunday(2026.5), /Gregorian/);
});

test("nationwide holidays of 2026, with the Easter-based ones moved with Easter", () => {
  assert.deepEqual(germanHolidays(2026, "DE"), [
    { date: "2026-01-01", name: "Neujahr" },
    { date: "2026-04-03", name: "Karfreitag" },
    { date: "2026-04-06", name: "Ostermontag" },
    { date: "2026-05-01", name: "Tag der Arbeit" },
    { date: "2026-05-14", name: "Christi Himmelfahrt" },
    { date: "2026-05-25", name: "Pfingstmontag" },
    { date: "2026-10-03", name: "Tag der Deutschen Einheit" },
    { date: "2026-12-25", name: "1. Weihnachtstag" },
    { date: "2026-12-26", name: "2. Weihnachtstag" },
  ]);
  const in2024 = germanHolidays(2024, "DE").map((h) => h.date);
  assert.ok(in2024.includes("2024-03-29") && in2024.includes("2024-04-01"), "Karfreitag, Ostermontag 2024");
  assert.ok(in2024.includes("2024-05-09") && in2024.includes("2024-05-20"), "Himmelfahrt, Pfingstmontag 2024");
});

test("Bavaria adds Heilige Drei Könige, Fronleichnam, Mariä Himmelfahrt and Allerheiligen", () => {
  const by = germanHolidays(2026, "DE-BY");
  assert.equal(by.length, 13);
  assert.deepEqual(
    by.filter((h) => !germanHolidays(2026, "DE").some((n) => n.date === h.date)),
    [
      { date: "2026-01-06", name: "Heilige Drei Könige" },
      { date: "2026-06-04", name: "Fronleichnam" },
      { date: "2026-08-15", name: "Mariä Himmelfahrt" },
      { date: "2026-11-01", name: "Allerheiligen" },
    ],
  );
  const dates = by.map((h) => h.date);
  assert.deepEqual(dates, [...dates].sort(), "sorted by date");
});

test("Buß- und Bettag is the Wednesday before 23 November, in Saxony only", () => {
  assert.equal(holidayOn("2026-11-18", "DE-SN"), "Buß- und Bettag");
  assert.equal(holidayOn("2024-11-20", "DE-SN"), "Buß- und Bettag");
  assert.equal(holidayOn("2023-11-22", "DE-SN"), "Buß- und Bettag", "22 Nov itself when it is a Wednesday");
  assert.equal(holidayOn("2022-11-16", "DE-SN"), "Buß- und Bettag", "23 Nov a Wednesday: the week before");
  assert.equal(holidayOn("2022-11-23", "DE-SN"), undefined);
  assert.equal(holidayOn("2026-11-18", "DE-BY"), undefined);
  assert.equal(holidayOn("2026-11-18", "DE"), undefined);
});

test("Reformationstag: the eastern states always, four northern states from 2018, everyone in 2017", () => {
  for (const r of ["DE-BB", "DE-MV", "DE-SN", "DE-ST", "DE-TH"] as const)
    assert.equal(holidayOn("2016-10-31", r), "Reformationstag", r);
  for (const r of ["DE-HB", "DE-HH", "DE-NI", "DE-SH"] as const) {
    assert.equal(holidayOn("2016-10-31", r), undefined, r);
    assert.equal(holidayOn("2018-10-31", r), "Reformationstag", r);
  }
  for (const r of holidayRegions) assert.equal(holidayOn("2017-10-31", r), "Reformationstag", r);
  assert.equal(holidayOn("2018-10-31", "DE-BY"), undefined);
  assert.equal(holidayOn("2026-10-31", "DE"), undefined);
});

test("holidays introduced recently start in their year", () => {
  assert.equal(holidayOn("2018-03-08", "DE-BE"), undefined);
  assert.equal(holidayOn("2019-03-08", "DE-BE"), "Internationaler Frauentag");
  assert.equal(holidayOn("2022-03-08", "DE-MV"), undefined);
  assert.equal(holidayOn("2023-03-08", "DE-MV"), "Internationaler Frauentag");
  assert.equal(holidayOn("2018-09-20", "DE-TH"), undefined);
  assert.equal(holidayOn("2019-09-20", "DE-TH"), "Weltkindertag");
  assert.equal(holidayOn("2026-09-20", "DE-SN"), undefined);
});

test("state lists: Fronleichnam, Allerheiligen, Epiphany, Mariä Himmelfahrt, Brandenburg's Sundays", () => {
  const has = (date: string, region: (typeof holidayRegions)[number]) => holidayOn(date, region) !== undefined;
  const fronleichnam = holidayRegions.filter((r) => has("2026-06-04", r));
  assert.deepEqual(fronleichnam, ["DE-BW", "DE-BY", "DE-HE", "DE-NW", "DE-RP", "DE-SL"]);
  assert.deepEqual(
    holidayRegions.filter((r) => has("2026-11-01", r)),
    ["DE-BW", "DE-BY", "DE-NW", "DE-RP", "DE-SL"],
  );
  assert.deepEqual(
    holidayRegions.filter((r) => has("2026-01-06", r)),
    ["DE-BW", "DE-BY", "DE-ST"],
  );
  assert.deepEqual(
    holidayRegions.filter((r) => has("2026-08-15", r)),
    ["DE-BY", "DE-SL"],
  );
  assert.equal(holidayOn("2026-04-05", "DE-BB"), "Ostersonntag");
  assert.equal(holidayOn("2026-05-24", "DE-BB"), "Pfingstsonntag");
  assert.equal(holidayOn("2026-04-05", "DE-BE"), undefined);
});

test("two holidays on one day are both named", () => {
  // Easter 2008 was 23 March, so Christi Himmelfahrt fell on 1 May.
  assert.equal(holidayOn("2008-05-01", "DE"), "Tag der Arbeit / Christi Himmelfahrt");
  assert.equal(germanHolidays(2008, "DE").filter((h) => h.date === "2008-05-01").length, 2);
});

test("holidayOn rejects what is not a date", () => {
  assert.throws(() => holidayOn("2026-1-1", "DE"), /not a date/);
  assert.equal(holidayOn("2026-12-24", "DE"), undefined, "Heiligabend is not a public holiday");
});
