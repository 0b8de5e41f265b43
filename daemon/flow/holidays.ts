// German public holidays, nationwide and per federal state, as time windows need them ("closed on holidays").
// Rules are today's law plus the introduction years listed below; older changes (Buß- und Bettag was nationwide until
// 1994) are not modelled. Holidays of single communities are not modelled either: Fronleichnam in parts of Saxony and
// Thuringia, the Augsburger Friedensfest. Mariä Himmelfahrt is a holiday only in the Catholic-majority communities of
// Bavaria; we treat all of DE-BY as having it, because closing on a day that is a holiday for most Bavarian callers
// beats answering "open" when the office is shut.

export const holidayRegions = [
  "DE",
  "DE-BW",
  "DE-BY",
  "DE-BE",
  "DE-BB",
  "DE-HB",
  "DE-HH",
  "DE-HE",
  "DE-MV",
  "DE-NI",
  "DE-NW",
  "DE-RP",
  "DE-SL",
  "DE-SN",
  "DE-ST",
  "DE-SH",
  "DE-TH",
] as const;

/** "DE" is the nationwide holidays only; "DE-XX" adds those of one federal state (ISO 3166-2). */
export type HolidayRegion = (typeof holidayRegions)[number];

export interface Holiday {
  /** Local date, YYYY-MM-DD. */
  date: string;
  name: string;
}

type State = Exclude<HolidayRegion, "DE"> extends `DE-${infer S}` ? S : never;

/** A state-level holiday: the states that have it, and from which year where it was introduced recently. */
interface StateRule {
  name: string;
  day: (year: number, easter: number) => number;
  states: Partial<Record<State, number>>;
  /** Every state in that one year (Reformationstag 2017, the 500th anniversary). */
  everywhereIn?: number;
}

const DAY_MS = 86_400_000;

/** Days since the epoch of a calendar date (UTC arithmetic, so no DST in date steps). */
const dayNumber = (year: number, month: number, day: number): number => Date.UTC(year, month - 1, day) / DAY_MS;
const isoDate = (days: number): string => new Date(days * DAY_MS).toISOString().slice(0, 10);

/** Easter Sunday by the anonymous Gregorian algorithm (Meeus/Jones/Butcher), as YYYY-MM-DD. */
export function easterSunday(year: number): string {
  return isoDate(easterDay(checkYear(year)));
}

function easterDay(year: number): number {
  const a = year % 19;
  const b = Math.floor(year / 100);
  const c = year % 100;
  const d = Math.floor(b / 4);
  const e = b % 4;
  const f = Math.floor((b + 8) / 25);
  const g = Math.floor((b - f + 1) / 3);
  const h = (19 * a + b - d - g + 15) % 30;
  const i = Math.floor(c / 4);
  const k = c % 4;
  const l = (32 + 2 * e + 2 * i - h - k) % 7;
  const m = Math.floor((a + 11 * h + 22 * l) / 451);
  const month = Math.floor((h + l - 7 * m + 114) / 31);
  const day = ((h + l - 7 * m + 114) % 31) + 1;
  return dayNumber(year, month, day);
}

function checkYear(year: number): number {
  if (!Number.isInteger(year) || year < 1583 || year > 9999)
    throw new RangeError(`year ${year} is outside the Gregorian years 1583..9999`);
  return year;
}

const fixed = (month: number, day: number) => (year: number) => dayNumber(year, month, day);
const afterEaster = (days: number) => (_year: number, easter: number) => easter + days;

const nationwide: Array<{ name: string; day: (year: number, easter: number) => number }> = [
  { name: "Neujahr", day: fixed(1, 1) },
  { name: "Karfreitag", day: afterEaster(-2) },
  { name: "Ostermontag", day: afterEaster(1) },
  { name: "Tag der Arbeit", day: fixed(5, 1) },
  { name: "Christi Himmelfahrt", day: afterEaster(39) },
  { name: "Pfingstmontag", day: afterEaster(50) },
  { name: "Tag der Deutschen Einheit", day: fixed(10, 3) },
  { name: "1. Weihnachtstag", day: fixed(12, 25) },
  { name: "2. Weihnachtstag", day: fixed(12, 26) },
];

/** The Wednesday before 23 November: the latest Wednesday on or before 22 November. */
function bussUndBettag(year: number): number {
  const nov22 = dayNumber(year, 11, 22);
  const weekday = new Date(nov22 * DAY_MS).getUTCDay();
  return nov22 - ((weekday - 3 + 7) % 7);
}

// The number is the first year the state has the holiday; 0 means "long before any year we are asked about".
const stateRules: StateRule[] = [
  { name: "Heilige Drei Könige", day: fixed(1, 6), states: { BW: 0, BY: 0, ST: 0 } },
  { name: "Internationaler Frauentag", day: fixed(3, 8), states: { BE: 2019, MV: 2023 } },
  { name: "Ostersonntag", day: afterEaster(0), states: { BB: 0 } },
  { name: "Pfingstsonntag", day: afterEaster(49), states: { BB: 0 } },
  { name: "Fronleichnam", day: afterEaster(60), states: { BW: 0, BY: 0, HE: 0, NW: 0, RP: 0, SL: 0 } },
  { name: "Mariä Himmelfahrt", day: fixed(8, 15), states: { SL: 0, BY: 0 } },
  { name: "Weltkindertag", day: fixed(9, 20), states: { TH: 2019 } },
  {
    name: "Reformationstag",
    day: fixed(10, 31),
    states: { BB: 0, MV: 0, SN: 0, ST: 0, TH: 0, HB: 2018, HH: 2018, NI: 2018, SH: 2018 },
    everywhereIn: 2017,
  },
  { name: "Allerheiligen", day: fixed(11, 1), states: { BW: 0, BY: 0, NW: 0, RP: 0, SL: 0 } },
  { name: "Buß- und Bettag", day: bussUndBettag, states: { SN: 0 } },
];

function appliesTo(rule: StateRule, region: HolidayRegion, year: number): boolean {
  if (rule.everywhereIn === year) return true;
  if (region === "DE") return false;
  const since = rule.states[region.slice(3) as State];
  return since !== undefined && year >= since;
}

/** The public holidays of one year in a region, sorted by date (two on one day stay two entries). */
export function germanHolidays(year: number, region: HolidayRegion): Holiday[] {
  const easter = easterDay(checkYear(year));
  const days = [
    ...nationwide.map((h) => ({ name: h.name, day: h.day(year, easter) })),
    ...stateRules.filter((r) => appliesTo(r, region, year)).map((r) => ({ name: r.name, day: r.day(year, easter) })),
  ];
  return days.sort((a, b) => a.day - b.day).map((h) => ({ date: isoDate(h.day), name: h.name }));
}

// Routing asks for the same few years on every call; a year's list is 9 to 13 entries.
const yearCache = new Map<string, Map<string, string>>();

/** The holiday's name on a local date (YYYY-MM-DD), or undefined. Two holidays on one day are joined with " / ". */
export function holidayOn(localDate: string, region: HolidayRegion): string | undefined {
  const m = /^(\d{4})-\d{2}-\d{2}$/.exec(localDate);
  if (!m) throw new RangeError(`"${localDate}" is not a date YYYY-MM-DD`);
  const key = `${m[1]}:${region}`;
  let byDate = yearCache.get(key);
  if (!byDate) {
    byDate = new Map();
    for (const h of germanHolidays(Number(m[1]), region)) {
      const before = byDate.get(h.date);
      byDate.set(h.date, before ? `${before} / ${h.name}` : h.name);
    }
    yearCache.set(key, byDate);
  }
  return byDate.get(localDate);
}
