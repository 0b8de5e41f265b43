import assert from "node:assert/strict";
import { test } from "node:test";
import {
  checkWindows,
  localTimeOf,
  type RoutingTime,
  routingTimeSchema,
  selectWindow,
  type TimeWindow,
  timeWindowSchema,
  timeWindowsSchema,
} from "./time-windows.ts";

const berlin: RoutingTime = routingTimeSchema.parse({});
const inRegion = (holidayRegion: string): RoutingTime => routingTimeSchema.parse({ holidayRegion });
const windows = (list: unknown[]): TimeWindow[] => timeWindowsSchema.parse(list);
const at = (iso: string) => new Date(iso);
const chosen = (ws: TimeWindow[], iso: string, settings = berlin) => selectWindow(ws, at(iso), settings).window.id;

const officeWeek = {
  mon: ["08:00-12:00", "13:00-17:00"],
  tue: ["08:00-12:00", "13:00-17:00"],
  wed: ["08:00-12:00", "13:00-17:00"],
  thu: ["08:00-12:00", "13:00-17:00"],
  fri: ["08:00-12:00"],
};
const fallback = { id: "closed", agent: "voicemail", always: true };
const office = windows([{ id: "business-hours", agent: "reception", weekly: officeWeek }, fallback]);

test("routing settings default to Europe/Berlin and nationwide holidays", () => {
  assert.deepEqual(berlin, { timeZone: "Europe/Berlin", holidayRegion: "DE" });
});

test("a call inside the weekly hours enters that window, and the reason names window, local time and range", () => {
  // November: Berlin is UTC+1.
  const c = selectWindow(office, at("2026-11-24T08:12:00Z"), berlin);
  assert.equal(c.window.id, "business-hours");
  assert.equal(c.window.agent, "reception");
  assert.equal(c.reason, `"business-hours": Tue 2026-11-24 09:12 Europe/Berlin within tue 08:00-12:00`);
  assert.equal(chosen(office, "2026-11-24T12:00:00Z"), "business-hours", "13:00, the afternoon range");
});

test("outside the hours the fallback is chosen and the skipped window says why", () => {
  const lunch = selectWindow(office, at("2026-11-24T11:30:00Z"), berlin);
  assert.equal(lunch.window.id, "closed");
  assert.equal(
    lunch.reason,
    `"closed" (always): Tue 2026-11-24 12:30 Europe/Berlin after "business-hours": outside tue 08:00-12:00, 13:00-17:00`,
  );
  const sunday = selectWindow(office, at("2026-11-29T10:00:00Z"), berlin);
  assert.match(sunday.reason, /"business-hours": no hours on sun/);
  assert.equal(chosen(office, "2026-11-24T16:00:00Z"), "closed", "17:00 is the end, exclusive");
  assert.equal(chosen(office, "2026-11-24T06:59:59Z"), "closed", "07:59:59");
});

test("the first matching window wins, later ones are not consulted", () => {
  const ws = windows([
    { id: "morning", agent: "a", weekly: { tue: ["08:00-10:00"] } },
    { id: "day", agent: "b", weekly: { tue: ["08:00-18:00"] } },
    fallback,
  ]);
  assert.equal(chosen(ws, "2026-11-24T08:30:00Z"), "morning", "09:30 is in both");
  const late = selectWindow(ws, at("2026-11-24T10:00:00Z"), berlin);
  assert.equal(late.window.id, "day");
  assert.equal(
    late.reason,
    `"day": Tue 2026-11-24 11:00 Europe/Berlin within tue 08:00-18:00 after "morning": outside tue 08:00-10:00`,
  );
  assert.equal(chosen(ws, "2026-11-24T18:00:00Z"), "closed");
});

test("holidays: closed by default, per region", () => {
  // Fri 2025-10-31, Reformationstag in Lower Saxony but not in Bavaria.
  const c = selectWindow(office, at("2025-10-31T09:00:00Z"), inRegion("DE-NI"));
  assert.equal(c.window.id, "closed");
  assert.equal(
    c.reason,
    `"closed" (always): Fri 2025-10-31 10:00 Europe/Berlin after "business-hours": public holiday Reformationstag (DE-NI)`,
  );
  assert.equal(chosen(office, "2025-10-31T09:00:00Z", inRegion("DE-BY")), "business-hours");
  assert.equal(chosen(office, "2025-10-31T09:00:00Z"), "business-hours", "DE: nationwide holidays only");
  assert.equal(chosen(office, "2026-04-06T08:00:00Z"), "closed", "Ostermontag everywhere");
});

test("holidays: ignore keeps the weekly hours, only matches on holidays alone", () => {
  const ignoring = windows([{ id: "hotline", agent: "a", weekly: officeWeek, holidays: "ignore" }, fallback]);
  assert.equal(chosen(ignoring, "2026-04-06T08:00:00Z"), "hotline", "Ostermontag 10:00");

  const ws = windows([
    { id: "holiday-line", agent: "emergency", holidays: "only" },
    { id: "business-hours", agent: "reception", weekly: officeWeek },
    fallback,
  ]);
  const easter = selectWindow(ws, at("2026-04-06T01:00:00Z"), berlin);
  assert.equal(easter.window.id, "holiday-line", "all day, also at 03:00");
  assert.match(
    easter.reason,
    /^"holiday-line": Mon 2026-04-06 03:00 Europe\/Berlin within all day on public holiday Ostermontag \(DE\)$/,
  );
  const workday = selectWindow(ws, at("2026-04-07T08:00:00Z"), berlin);
  assert.equal(workday.window.id, "business-hours");
  assert.match(workday.reason, /after "holiday-line": no public holiday \(DE\)$/);

  const holidayHours = windows([
    { id: "holiday-hours", agent: "emergency", holidays: "only", weekly: { mon: ["10:00-12:00"] } },
    fallback,
  ]);
  assert.equal(chosen(holidayHours, "2026-04-06T08:30:00Z"), "holiday-hours", "Ostermontag 10:30");
  assert.equal(chosen(holidayHours, "2026-04-06T07:30:00Z"), "closed", "Ostermontag 09:30");
  assert.equal(chosen(holidayHours, "2026-04-13T08:30:00Z"), "closed", "an ordinary Monday 10:30");
});

test("exceptions: a vacation span closes the window on every day of it", () => {
  const ws = windows([
    {
      id: "business-hours",
      agent: "reception",
      weekly: officeWeek,
      exceptions: [{ from: "2026-08-03", to: "2026-08-14", note: "Betriebsurlaub" }],
    },
    fallback,
  ]);
  // August: UTC+2.
  const c = selectWindow(ws, at("2026-08-05T08:00:00Z"), berlin);
  assert.equal(c.window.id, "closed");
  assert.match(c.reason, /"business-hours": closed by exception 2026-08-03\.\.2026-08-14 \(Betriebsurlaub\)/);
  assert.equal(chosen(ws, "2026-08-03T06:00:00Z"), "closed", "first day, 08:00");
  assert.equal(chosen(ws, "2026-08-14T08:00:00Z"), "closed", "last day, inclusive");
  assert.equal(chosen(ws, "2026-07-31T08:00:00Z"), "business-hours", "the Friday before");
  assert.equal(chosen(ws, "2026-08-17T08:00:00Z"), "business-hours", "the Monday after");
});

test("exceptions: one-off ranges replace the weekly ones on that date, even on a holiday", () => {
  const ws = windows([
    {
      id: "business-hours",
      agent: "reception",
      weekly: officeWeek,
      exceptions: [
        { date: "2026-11-24", ranges: ["08:00-10:00", "15:00-20:00"], note: "long lunch, late opening" },
        { date: "2026-05-14", ranges: ["10:00-14:00"], note: "open on Himmelfahrt" },
      ],
    },
    fallback,
  ]);
  assert.equal(chosen(ws, "2026-11-24T09:30:00Z"), "closed", "10:30, in the weekly range but not in the exception's");
  const late = selectWindow(ws, at("2026-11-24T18:30:00Z"), berlin);
  assert.equal(late.window.id, "business-hours");
  assert.equal(
    late.reason,
    `"business-hours": Tue 2026-11-24 19:30 Europe/Berlin within exception 2026-11-24 15:00-20:00 (long lunch, late opening)`,
  );
  assert.match(
    selectWindow(ws, at("2026-11-24T10:00:00Z"), berlin).reason,
    /"business-hours": outside exception 2026-11-24 08:00-10:00, 15:00-20:00/,
  );
  assert.equal(chosen(ws, "2026-11-25T18:30:00Z"), "closed", "the next day has its weekly hours again");
  assert.equal(chosen(ws, "2026-05-14T09:00:00Z"), "business-hours", "Christi Himmelfahrt 11:00");
  assert.equal(chosen(ws, "2026-05-14T13:00:00Z"), "closed", "Christi Himmelfahrt 15:00");
});

test("a window of exceptions alone matches only on its dates", () => {
  const ws = windows([
    { id: "fair", agent: "fair-desk", exceptions: [{ from: "2026-09-01", to: "2026-09-03", ranges: ["09:00-18:00"] }] },
    fallback,
  ]);
  assert.equal(chosen(ws, "2026-09-02T10:00:00Z"), "fair");
  assert.equal(chosen(ws, "2026-09-04T10:00:00Z"), "closed");
});

test("a range across midnight belongs to the day it starts on", () => {
  const ws = windows([{ id: "night", agent: "night-desk", weekly: { fri: ["22:00-06:00"] } }, fallback]);
  // Fri 2026-11-27, Sat 2026-11-28; UTC+1.
  assert.equal(chosen(ws, "2026-11-27T20:59:00Z"), "closed", "Fri 21:59");
  assert.equal(chosen(ws, "2026-11-27T21:00:00Z"), "night", "Fri 22:00");
  assert.equal(chosen(ws, "2026-11-27T22:59:59Z"), "night", "Fri 23:59:59");
  const early = selectWindow(ws, at("2026-11-28T04:59:00Z"), berlin);
  assert.equal(early.window.id, "night", "Sat 05:59");
  assert.equal(early.reason, `"night": Sat 2026-11-28 05:59 Europe/Berlin within fri 22:00-06:00, since 2026-11-27`);
  assert.equal(chosen(ws, "2026-11-28T05:00:00Z"), "closed", "Sat 06:00");
  assert.equal(chosen(ws, "2026-11-28T21:30:00Z"), "closed", "Sat 22:30: only Friday has it");

  const longDay = windows([{ id: "long", agent: "a", weekly: { tue: ["08:00-24:00"] } }, fallback]);
  assert.equal(chosen(longDay, "2026-11-24T22:59:59Z"), "long", "Tue 23:59:59");
  assert.equal(chosen(longDay, "2026-11-24T23:00:00Z"), "closed", "Wed 00:00");
});

test("the holiday rule of the starting day decides for a range across midnight", () => {
  const ws = windows([{ id: "night", agent: "a", weekly: { thu: ["22:00-06:00"], fri: ["22:00-06:00"] } }, fallback]);
  // Thu 2026-12-24 is a working day, Fri 2026-12-25 a holiday.
  assert.equal(chosen(ws, "2026-12-25T02:00:00Z"), "night", "Fri 03:00, started on Thursday");
  const sat = selectWindow(ws, at("2026-12-26T02:00:00Z"), berlin);
  assert.equal(sat.window.id, "closed", "Sat 03:00, would have started on the holiday");
  assert.match(sat.reason, /"night": public holiday 2\. Weihnachtstag \(DE\)/, "today's state explains the skip");
});

test("DST: in spring 02:xx does not exist, in autumn 02:30 happens twice", () => {
  const twoAm = windows([{ id: "two", agent: "a", weekly: { sun: ["02:00-03:00"] } }, fallback]);
  // 2026-03-29: 02:00 CET -> 03:00 CEST.
  assert.equal(localTimeOf(at("2026-03-29T00:59:00Z"), "Europe/Berlin").text, "Sun 2026-03-29 01:59 Europe/Berlin");
  assert.equal(localTimeOf(at("2026-03-29T01:00:00Z"), "Europe/Berlin").text, "Sun 2026-03-29 03:00 Europe/Berlin");
  for (const iso of ["2026-03-29T00:59:00Z", "2026-03-29T01:00:00Z", "2026-03-29T01:30:00Z"])
    assert.equal(chosen(twoAm, iso), "closed", iso);
  assert.equal(chosen(twoAm, "2026-03-22T01:30:00Z"), "two", "a week earlier 02:30 CET exists");
  assert.equal(chosen(office, "2026-03-30T06:00:00Z"), "business-hours", "Mon 08:00 CEST");
  assert.equal(chosen(office, "2026-03-30T05:59:00Z"), "closed", "Mon 07:59 CEST");

  // 2026-10-25: 03:00 CEST -> 02:00 CET.
  for (const iso of ["2026-10-25T00:30:00Z", "2026-10-25T01:30:00Z"]) {
    const c = selectWindow(twoAm, at(iso), berlin);
    assert.equal(c.window.id, "two", iso);
    assert.match(c.reason, /Sun 2026-10-25 02:30 Europe\/Berlin/);
  }
  assert.equal(chosen(twoAm, "2026-10-25T02:00:00Z"), "closed", "03:00 CET");
  assert.equal(chosen(office, "2026-10-26T07:00:00Z"), "business-hours", "Mon 08:00 CET");
  assert.equal(chosen(office, "2026-10-26T06:59:00Z"), "closed", "Mon 07:59 CET");
});

test("the time zone setting decides the local time", () => {
  const ny = routingTimeSchema.parse({ timeZone: "America/New_York" });
  const c = selectWindow(office, at("2026-11-24T14:12:00Z"), ny);
  assert.equal(c.reason, `"business-hours": Tue 2026-11-24 09:12 America/New_York within tue 08:00-12:00`);
  assert.equal(chosen(office, "2026-11-24T07:30:00Z", ny), "closed", "02:30 in New York");
  assert.equal(chosen(office, "2026-11-24T07:30:00Z"), "business-hours", "08:30 in Berlin");
});

test("a list without the always fallback throws when nothing matches", () => {
  const ws = timeWindowsSchema.parse([{ id: "only-tue", agent: "a", weekly: { tue: ["08:00-09:00"] } }]);
  assert.throws(() => selectWindow(ws, at("2026-11-25T08:00:00Z"), berlin), /always window last/);
  assert.throws(() => selectWindow(office, new Date(Number.NaN), berlin), /valid instant/);
});

type Issue = { path: PropertyKey[]; message: string };
const issuesOf = (list: unknown[]): Issue[] =>
  timeWindowsSchema.safeParse(list).error?.issues.map((i) => ({ path: i.path, message: i.message })) ?? [];
const oneIssue = (window: Record<string, unknown>): Issue => {
  const issues = issuesOf([{ id: "w", agent: "a", ...window }]);
  assert.equal(issues.length, 1, JSON.stringify(issues));
  return issues[0]!;
};

test("range errors name the day and the index", () => {
  let i = oneIssue({ weekly: { mon: ["8:00-12:00"] } });
  assert.deepEqual(i.path, [0, "weekly", "mon", 0]);
  assert.match(i.message, /"8:00-12:00" is not a time range HH:MM-HH:MM/);
  i = oneIssue({ weekly: { mon: ["08:00-12:00", "12:00-12:00"] } });
  assert.deepEqual(i.path, [0, "weekly", "mon", 1]);
  assert.match(i.message, /same time/);
  i = oneIssue({ weekly: { tue: ["24:00-06:00"] } });
  assert.deepEqual(i.path, [0, "weekly", "tue", 0]);
  assert.match(i.message, /start must be/);
  i = oneIssue({ weekly: { tue: ["08:00-24:30"] } });
  assert.match(i.message, /end must be 00:00\.\.24:00/);
  i = oneIssue({ weekly: { wed: ["08:00-12:00", "13:00-17:00", "11:30-13:00"] } });
  assert.deepEqual(i.path, [0, "weekly", "wed", 2]);
  assert.equal(i.message, "11:30-13:00 overlaps 08:00-12:00");
  i = oneIssue({ weekly: { fri: ["22:00-06:00", "23:00-23:30"] } });
  assert.deepEqual(i.path, [0, "weekly", "fri", 1]);
  assert.deepEqual(oneIssue({ weekly: { monday: ["08:00-12:00"] } }).path, [0, "weekly"], "unknown day");
});

test("touching ranges, a morning after a night range, and a whole day are valid", () => {
  assert.deepEqual(issuesOf([{ id: "w", agent: "a", weekly: { mon: ["08:00-12:00", "12:00-13:00"] } }]), []);
  assert.deepEqual(issuesOf([{ id: "w", agent: "a", weekly: { mon: ["22:00-06:00", "05:00-07:00"] } }]), []);
  assert.deepEqual(issuesOf([{ id: "w", agent: "a", weekly: { sun: ["00:00-24:00"] } }]), []);
});

test("exception errors carry the exception's index and field", () => {
  let i = oneIssue({ weekly: officeWeek, exceptions: [{ date: "2026-02-30" }] });
  assert.deepEqual(i.path, [0, "exceptions", 0, "date"]);
  assert.match(i.message, /2026-02-30 is not a day of the calendar/);
  i = oneIssue({ weekly: officeWeek, exceptions: [{ date: "2026-12-24" }, { from: "2026-2-1", to: "2026-02-03" }] });
  assert.deepEqual(i.path, [0, "exceptions", 1, "from"]);
  assert.match(i.message, /not a date YYYY-MM-DD/);
  i = oneIssue({ weekly: officeWeek, exceptions: [{ from: "2026-08-14", to: "2026-08-03" }] });
  assert.deepEqual(i.path, [0, "exceptions", 0, "to"]);
  assert.match(i.message, /2026-08-03 is before from 2026-08-14/);
  i = oneIssue({ weekly: officeWeek, exceptions: [{ date: "2026-08-03", from: "2026-08-03", to: "2026-08-04" }] });
  assert.deepEqual(i.path, [0, "exceptions", 0, "date"]);
  assert.match(i.message, /either date or from\/to/);
  i = oneIssue({ weekly: officeWeek, exceptions: [{ note: "when?" }] });
  assert.deepEqual(i.path, [0, "exceptions", 0]);
  i = oneIssue({ weekly: officeWeek, exceptions: [{ from: "2026-08-03" }] });
  assert.deepEqual(i.path, [0, "exceptions", 0, "to"]);
  i = oneIssue({ weekly: officeWeek, exceptions: [{ to: "2026-08-03" }] });
  assert.deepEqual(i.path, [0, "exceptions", 0, "from"]);
  i = oneIssue({ weekly: officeWeek, exceptions: [{ date: "2026-12-24", ranges: ["08:00-12:00", "09:00-10:00"] }] });
  assert.deepEqual(i.path, [0, "exceptions", 0, "ranges", 1]);
  i = oneIssue({
    weekly: officeWeek,
    exceptions: [
      { from: "2026-08-03", to: "2026-08-14" },
      { from: "2026-08-10", to: "2026-08-20" },
    ],
  });
  assert.deepEqual(i.path, [0, "exceptions", 1, "from"]);
  assert.match(i.message, /overlap exceptions\[0\]/);
  i = oneIssue({ weekly: officeWeek, exceptions: [{ date: "2026-12-24", range: ["08:00-12:00"] }] });
  assert.deepEqual(i.path, [0, "exceptions", 0], "unknown key");
});

test("window-level errors: id, holidays mode, always with conditions, a window that never matches", () => {
  assert.deepEqual(oneIssue({ id: "Bad id!", always: true }).path, [0, "id"]);
  assert.deepEqual(oneIssue({ weekly: officeWeek, holidays: "sometimes" }).path, [0, "holidays"]);
  let i = oneIssue({ always: true, weekly: officeWeek });
  assert.deepEqual(i.path, [0, "weekly"]);
  assert.match(i.message, /always window matches at every time/);
  assert.deepEqual(oneIssue({ always: true, holidays: "closed" }).path, [0, "holidays"]);
  i = oneIssue({});
  assert.deepEqual(i.path, [0]);
  assert.match(i.message, /matches no time/);
  assert.deepEqual(oneIssue({ weekly: {}, exceptions: [{ date: "2026-12-24" }] }).path, [0]);
  assert.deepEqual(oneIssue({ weekly: officeWeek, weekely: 1 }).path, [0], "unknown key");
  assert.deepEqual(issuesOf([{ id: "holiday-line", agent: "a", holidays: "only" }]), []);
  assert.deepEqual(issuesOf([]).length, 1, "an empty list");
  assert.deepEqual(timeWindowSchema.safeParse({ id: "x", agent: "", always: true }).error?.issues[0]?.path, ["agent"]);
});

test("routing settings: unknown time zone and region are reported at their field", () => {
  const tz = routingTimeSchema.safeParse({ timeZone: "Europe/Berln" }).error?.issues;
  assert.deepEqual(tz?.[0]?.path, ["timeZone"]);
  assert.match(tz?.[0]?.message ?? "", /unknown time zone "Europe\/Berln": use an IANA name such as Europe\/Berlin/);
  const region = routingTimeSchema.safeParse({ holidayRegion: "DE-XX" }).error?.issues;
  assert.deepEqual(region?.[0]?.path, ["holidayRegion"]);
  assert.match(region?.[0]?.message ?? "", /must be DE or a federal state: DE, DE-BW, DE-BY/);
  assert.deepEqual(routingTimeSchema.safeParse({ timezone: "UTC" }).error?.issues[0]?.path, [], "unknown key");
  assert.equal(routingTimeSchema.parse({ timeZone: "UTC", holidayRegion: "DE-SN" }).holidayRegion, "DE-SN");
});

test("checkWindows: the always fallback must exist and be last, ids unique, agents known", () => {
  assert.deepEqual(checkWindows(office, new Set(["reception", "voicemail"])), []);
  const noFallback = windows([{ id: "bh", agent: "a", weekly: officeWeek }]);
  assert.deepEqual(
    checkWindows(noFallback).map((p) => p.path),
    [[0]],
  );
  assert.match(checkWindows(noFallback)[0]!.message, /last window must be the fallback with always: true/);

  const early = windows([
    { id: "bh", agent: "a", weekly: officeWeek },
    fallback,
    { id: "night", agent: "a", weekly: { fri: ["22:00-06:00"] } },
    { ...fallback, id: "closed-2" },
  ]);
  const p = checkWindows(early);
  assert.deepEqual(
    p.map((x) => x.path),
    [[2], [3]],
  );
  assert.match(p[0]!.message, /unreachable: the always window "closed" before it matches every call/);

  const dup = windows([
    { id: "bh", agent: "reception", weekly: officeWeek },
    { id: "bh", agent: "nobody", weekly: { sat: ["10:00-12:00"] } },
    fallback,
  ]);
  const d = checkWindows(dup, new Set(["reception", "voicemail"]));
  assert.deepEqual(
    d.map((x) => x.path),
    [
      [1, "id"],
      [1, "agent"],
    ],
  );
  assert.equal(d[0]!.message, `duplicate window id "bh" (also window 0)`);
  assert.equal(d[1]!.message, `no agent with id "nobody" (agents: reception, voicemail)`);
  assert.deepEqual(
    checkWindows(dup).map((x) => x.path),
    [[1, "id"]],
    "agents unchecked without the set",
  );
  assert.deepEqual(
    checkWindows([]).map((x) => x.path),
    [[]],
  );
});
