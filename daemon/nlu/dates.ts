// Dates and times a caller says, in German or English, relative to now in the box's time zone: "morgen um 10",
// "nächsten Dienstag", "am 5. März", "5.3.", "heute um halb drei", "viertel nach neun", "tomorrow at 3 pm",
// "next Tuesday at 10", "on March 5th", "in two weeks". Calendar arithmetic runs on civil dates (no instants), so
// "morgen" is the next calendar day across a DST change; instants appear only to compare with now.
//
// Rules a caller cannot tell us and we therefore fix:
// - An hour 1–7 without a morning word ("am", "morgens", "früh", "vormittags") is afternoon: "um 3" is 15:00,
//   "halb drei" is 14:30. Appointments at 3 a.m. are rarer than callers who drop "nachmittags". A leading zero
//   ("07:30") is taken as a 24-hour time and kept.
// - A weekday alone, "nächsten Dienstag" and "next Tuesday" are the first such day after today; "diesen Dienstag" /
//   "this Tuesday" may be today; "übernächsten Dienstag" is one week later; "Dienstag nächste Woche" is in the next
//   calendar week (weeks start on Monday).
// - A day and month without a year ("5. März") is the occurrence nearest to today (at most six months away); a day
//   alone ("am fünften") is the next such day of a month, today included.

import { numeralize } from "./numbers.ts";

export interface LocalDate {
  year: number;
  month: number;
  day: number;
}

export interface LocalTime {
  hour: number;
  minute: number;
}

export interface WallClock extends LocalDate, LocalTime {
  second: number;
}

const formats = new Map<string, Intl.DateTimeFormat>();

function wallFormat(timeZone: string): Intl.DateTimeFormat {
  let f = formats.get(timeZone);
  if (!f) {
    try {
      f = new Intl.DateTimeFormat("en-US", {
        timeZone,
        hourCycle: "h23",
        year: "numeric",
        month: "numeric",
        day: "numeric",
        hour: "numeric",
        minute: "numeric",
        second: "numeric",
      });
    } catch {
      throw new Error(`slot context: unknown time zone "${timeZone}"`);
    }
    formats.set(timeZone, f);
  }
  return f;
}

/** The wall clock in a time zone at an instant. */
export function wallClock(instant: Date, timeZone: string): WallClock {
  const parts: Record<string, number> = {};
  for (const p of wallFormat(timeZone).formatToParts(instant))
    if (p.type !== "literal") parts[p.type] = Number(p.value);
  return {
    year: parts.year,
    month: parts.month,
    day: parts.day,
    hour: parts.hour,
    minute: parts.minute,
    second: parts.second,
  };
}

function offsetAt(ms: number, timeZone: string): number {
  const w = wallClock(new Date(ms), timeZone);
  return Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second) - Math.floor(ms / 1000) * 1000;
}

/**
 * The instant a wall-clock time happens in a time zone: the earlier one when the clock goes back (the hour runs
 * twice), undefined when the clock goes forward over it (02:30 on the last Sunday of March in Europe).
 */
export function instantOf(date: LocalDate, time: LocalTime, timeZone: string): Date | undefined {
  const guess = Date.UTC(date.year, date.month - 1, date.day, time.hour, time.minute);
  const day = 86_400_000;
  const candidates = [guess - offsetAt(guess - day, timeZone), guess - offsetAt(guess + day, timeZone)]
    .filter((t) => {
      const w = wallClock(new Date(t), timeZone);
      return w.day === date.day && w.hour === time.hour && w.minute === time.minute;
    })
    .sort((a, b) => a - b);
  return candidates.length > 0 ? new Date(candidates[0]) : undefined;
}

export function addDays(d: LocalDate, days: number): LocalDate {
  const t = new Date(Date.UTC(d.year, d.month - 1, d.day + days));
  return { year: t.getUTCFullYear(), month: t.getUTCMonth() + 1, day: t.getUTCDate() };
}

/** Same day n months later, clamped to the month's end (31 January + 1 month = 28 or 29 February). */
export function addMonths(d: LocalDate, months: number): LocalDate {
  const first = new Date(Date.UTC(d.year, d.month - 1 + months, 1));
  const year = first.getUTCFullYear();
  const month = first.getUTCMonth() + 1;
  return { year, month, day: Math.min(d.day, daysInMonth(year, month)) };
}

export function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/** 0 = Sunday … 6 = Saturday. */
export function weekdayOf(d: LocalDate): number {
  return new Date(Date.UTC(d.year, d.month - 1, d.day)).getUTCDay();
}

function dayNumber(d: LocalDate): number {
  return Date.UTC(d.year, d.month - 1, d.day) / 86_400_000;
}

export function compareDates(a: LocalDate, b: LocalDate): number {
  return dayNumber(a) - dayNumber(b);
}

const pad = (n: number) => String(n).padStart(2, "0");

export function isoDate(d: LocalDate): string {
  return `${d.year}-${pad(d.month)}-${pad(d.day)}`;
}

export function isoTime(t: LocalTime): string {
  return `${pad(t.hour)}:${pad(t.minute)}`;
}

// ---- reading ----

const MONTHS: Record<string, number> = {
  januar: 1,
  jänner: 1,
  january: 1,
  jan: 1,
  februar: 2,
  feber: 2,
  february: 2,
  feb: 2,
  märz: 3,
  maerz: 3,
  march: 3,
  mar: 3,
  april: 4,
  apr: 4,
  mai: 5,
  may: 5,
  juni: 6,
  june: 6,
  jun: 6,
  juli: 7,
  july: 7,
  jul: 7,
  august: 8,
  aug: 8,
  september: 9,
  sept: 9,
  sep: 9,
  oktober: 10,
  october: 10,
  okt: 10,
  oct: 10,
  november: 11,
  nov: 11,
  dezember: 12,
  december: 12,
  dez: 12,
  dec: 12,
};

const WEEKDAYS: Record<string, number> = {
  sonntag: 0,
  sunday: 0,
  montag: 1,
  monday: 1,
  dienstag: 2,
  tuesday: 2,
  mittwoch: 3,
  wednesday: 3,
  donnerstag: 4,
  thursday: 4,
  freitag: 5,
  friday: 5,
  samstag: 6,
  sonnabend: 6,
  saturday: 6,
};

const EN_WEEKDAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];
const EN_MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September"].concat([
  "October",
  "November",
  "December",
]);

const alt = (words: Record<string, number>) =>
  Object.keys(words)
    .sort((a, b) => b.length - a.length)
    .join("|");
const MONTH = `(${alt(MONTHS)})`;
const WEEKDAY = `(${alt(WEEKDAYS)})s?`;
/** Word boundaries that know umlauts (\b does not: "übermorgen"). */
const B = "(?<![\\p{L}\\d])";
const E = "(?![\\p{L}\\d])";
const rx = (source: string) => new RegExp(source.replaceAll("\\b<", B).replaceAll("\\b>", E), "u");

export interface WhenContext {
  language: string;
  now: Date;
  timeZone: string;
}

export interface WhenOptions {
  /** A lone number is an hour ("zehn" answering "what time?"). */
  bareHour?: boolean;
}

export type WhenReading = { ok: true; date?: LocalDate; time?: LocalTime } | { ok: false; detail: string };

/** What the caller said about the day and the time of day, with now as the reference. */
export function readWhen(text: string, ctx: WhenContext, opts: WhenOptions = {}): WhenReading {
  const nowWall = wallClock(ctx.now, ctx.timeZone);
  const today: LocalDate = { year: nowWall.year, month: nowWall.month, day: nowWall.day };
  const english = ctx.language.toLowerCase().startsWith("en");
  let s = ` ${numeralize(text.toLowerCase(), { ordinals: true, articles: true })} `
    .replace(/[,;!?"“”„]/g, " ")
    .replace(/(\d)\s*(st|nd|rd|th)\b/g, "$1.")
    // "heute Morgen", "am Morgen" are a time of day, "morgen" alone is tomorrow.
    .replace(rx("\\b<(heute|gestern|am|guten|jeden|morgen)\\s+morgen\\b>"), "$1 vormittags");
  const take = (source: string): RegExpExecArray | null => {
    const m = rx(source).exec(s);
    if (m) s = s.slice(0, m.index) + " ".repeat(m[0].length) + s.slice(m.index + m[0].length);
    return m;
  };
  const num = (v: string | undefined) => (v === undefined ? undefined : Number(v));

  // Relative to now by the clock: "in zwei Stunden", "in 30 minutes".
  const inClock = take("\\b<in\\s+(\\d+|a|an|half an?)\\s+(stunden?|minuten?|hours?|minutes?)\\b>");
  if (inClock) {
    const n = /^\d+$/.test(inClock[1]) ? Number(inClock[1]) : inClock[1].startsWith("half") ? 0.5 : 1;
    const minutes = /^(stunde|hour)/.test(inClock[2]) ? n * 60 : n;
    const w = wallClock(new Date(ctx.now.getTime() + minutes * 60_000), ctx.timeZone);
    return { ok: true, date: { year: w.year, month: w.month, day: w.day }, time: { hour: w.hour, minute: w.minute } };
  }

  // ---- time of day ----
  let time: { hour: number; minute: number; twentyFour: boolean } | undefined;
  // "noon" ("um 1 mittags") needs nothing beyond the rule for hours 1–7.
  let meridiem: "am" | "pm" | "night" | "noon" | undefined;
  const setTime = (hour: number, minute: number, twentyFour = false) => {
    time ??= { hour, minute, twentyFour };
  };
  const ampm = take(
    `\\b<(?:um|at|gegen|around|by)?\\s*(\\d{1,2})(?:[:.](\\d{2}))?\\s*(${english ? "am|" : ""}pm|a\\.m\\.|p\\.m\\.)(?![\\p{L}])`,
  );
  if (ampm) {
    setTime(Number(ampm[1]), num(ampm[2]) ?? 0);
    meridiem = ampm[3].startsWith("p") ? "pm" : "am";
  }
  const iso = take("\\b<(\\d{4})-(\\d{1,2})-(\\d{1,2})(?:[t ](\\d{1,2}):(\\d{2}))?\\b>");
  const clock =
    take("\\b<(?:um|at|gegen|ab|around|by)?\\s*(\\d{1,2})[:](\\d{2})(?:\\s*uhr)?\\b>") ??
    take("\\b<(\\d{1,2})\\.(\\d{2})\\s*uhr\\b>") ??
    take("\\b<(?:um|at|gegen)\\s+(\\d{1,2})\\.(\\d{2})(?!\\.?\\d)");
  if (iso?.[4]) setTime(Number(iso[4]), Number(iso[5]), true);
  if (clock) setTime(Number(clock[1]), Number(clock[2]), clock[1].length === 2 && clock[1].startsWith("0"));
  const relHalf = take("\\b<(\\d{1,2})\\s+(?:minuten\\s+)?(vor|nach)\\s+halb\\s+(\\d{1,2})\\b>");
  if (relHalf)
    setTime(Number(relHalf[3]) - 1, relHalf[2] === "vor" ? 30 - Number(relHalf[1]) : 30 + Number(relHalf[1]));
  const quarter = take("\\b<(viertel|quarter)\\s+(vor|nach|past|after|to|of)\\s+(\\d{1,2})\\b>");
  if (quarter) {
    const before = ["vor", "to", "of"].includes(quarter[2]);
    setTime(Number(quarter[3]) - (before ? 1 : 0), before ? 45 : 15);
  }
  const threeQuarter = take("\\b<(?:drei ?viertel|3 viertel)\\s+(\\d{1,2})\\b>");
  if (threeQuarter) setTime(Number(threeQuarter[1]) - 1, 45);
  const halfPast = take("\\b<half\\s+past\\s+(\\d{1,2})\\b>") ?? take("\\b<half\\s+(\\d{1,2})\\b>");
  if (halfPast) setTime(Number(halfPast[1]), 30);
  const half = take("\\b<halb\\s+(\\d{1,2})\\b>");
  if (half) setTime(Number(half[1]) - 1, 30);
  const quarterOf = take("\\b<viertel\\s+(\\d{1,2})\\b>");
  if (quarterOf) setTime(Number(quarterOf[1]) - 1, 15);
  const minutesRel = take(
    "\\b<(\\d{1,2})\\s+(?:minuten\\s+|minutes\\s+)?(vor|nach|past|after|to|of)\\s+(\\d{1,2})\\b>",
  );
  if (minutesRel) {
    const n = Number(minutesRel[1]);
    const before = ["vor", "to", "of"].includes(minutesRel[2]);
    if (n >= 1 && n < 30 && (!before || n % 5 === 0))
      setTime(Number(minutesRel[3]) - (before ? 1 : 0), before ? 60 - n : n);
  }
  const uhr = take(
    "\\b<(?:um|at|gegen|ab)?\\s*(\\d{1,2})\\s*(?:uhr|h|o'clock|oclock)(?:\\s+(\\d{1,2})(?!\\s*(?:\\.|uhr|tag|wochen?|monat)))?\\b>",
  );
  if (uhr) setTime(Number(uhr[1]), num(uhr[2]) ?? 0);
  const at = take("\\b<(?:um|at|gegen|around|by|ab)\\s+(\\d{1,2})(?:\\s+(\\d{2})|\\s+0\\s+(\\d))?(?!\\s*\\.)\\b>");
  if (at) setTime(Number(at[1]), num(at[2]) ?? num(at[3]) ?? 0, at[1].length === 2 && at[1].startsWith("0"));

  // Time-of-day words: they set the half of the day, or are the time themselves ("Mitternacht", "noon").
  const words = ` ${s} `;
  const has = (source: string) => rx(source).test(words);
  if (has("\\b<(?:p\\.?m\\.?|nachmittags?|abends?|tonight|afternoon|evening)\\b>")) meridiem ??= "pm";
  else if (has("\\b<(?:nachts|nacht|night)\\b>")) meridiem ??= "night";
  else if (has("\\b<(?:morgens|früh|vormittags?|morning|a\\.m\\.)\\b>")) meridiem ??= "am";
  else if (has("\\b<(?:mittags?|noon|midday)\\b>")) meridiem ??= "noon";
  if (!time && has("\\b<(?:mitternacht|midnight)\\b>")) setTime(0, 0, true);
  if (!time && has("\\b<(?:mittag|noon|midday)\\b>")) setTime(12, 0, true);

  // ---- the day ----
  let date: LocalDate | undefined;
  let dateError: string | undefined;
  const explicit = (day: number, month: number, year: number | undefined) => {
    if (date || dateError) return;
    if (month < 1 || month > 12) {
      dateError = `there is no month ${month}`;
      return;
    }
    const y = year === undefined ? nearestYear(day, month, today) : year < 100 ? 2000 + year : year;
    if (day < 1 || day > daysInMonth(y, month)) {
      dateError = `${EN_MONTHS[month - 1]} ${y} has no day ${day}`;
      return;
    }
    date = { year: y, month, day };
  };
  if (iso) explicit(Number(iso[3]), Number(iso[2]), Number(iso[1]));
  const dotted = take("\\b<(\\d{1,2})\\.\\s?(\\d{1,2})\\.(?:\\s?(\\d{4}|\\d{2})(?![\\d:.]))?");
  if (dotted) explicit(Number(dotted[1]), Number(dotted[2]), num(dotted[3]));
  const slashed = take("\\b<(\\d{1,2})/(\\d{1,2})(?:/(\\d{4}|\\d{2}))?\\b>");
  if (slashed) {
    const [a, b] = [Number(slashed[1]), Number(slashed[2])];
    if (ctx.language === "en-US") explicit(b, a, num(slashed[3]));
    else explicit(a, b, num(slashed[3]));
  }
  const dayMonth = take(`\\b<(\\d{1,2})\\.?\\s*(?:of\\s+)?${MONTH}\\b>(?:\\s+(\\d{4})\\b>)?`);
  if (dayMonth) explicit(Number(dayMonth[1]), MONTHS[dayMonth[2]], num(dayMonth[3]));
  const monthDay = take(`\\b<${MONTH}\\s+(?:the\\s+)?(\\d{1,2})\\.?(?!\\d)(?:\\s*(\\d{4})\\b>)?`);
  if (monthDay) explicit(Number(monthDay[2]), MONTHS[monthDay[1]], num(monthDay[3]));
  const dayOnly = take("\\b<(?:am|den|zum|the|on the|on)\\s+(\\d{1,2})\\.(?!\\d)");
  if (dayOnly && !date && !dateError) {
    const day = Number(dayOnly[1]);
    if (day < 1 || day > 31) dateError = `there is no day ${day}`;
    else {
      let d: LocalDate = { ...today, day };
      if (day < today.day) d = { ...addMonths({ ...today, day: 1 }, 1), day };
      while (day > daysInMonth(d.year, d.month)) d = { ...addMonths({ ...d, day: 1 }, 1), day };
      date = d;
    }
  }

  const relative: [string, number][] = [
    ["übermorgen|uebermorgen|day after tomorrow", 2],
    ["vorgestern|day before yesterday", -2],
    ["morgen|tomorrow", 1],
    ["gestern|yesterday", -1],
    ["heute|today|tonight|this (?:morning|afternoon|evening)", 0],
  ];
  let base: LocalDate | undefined;
  for (const [phrase, days] of relative) if (!base && take(`\\b<(?:${phrase})\\b>`)) base = addDays(today, days);
  const later = take(
    "\\b<in\\s+(\\d+|a|an|one|einer|einem)\\s+(tag|tagen|tage|day|days|wochen?|weeks?|monat|monaten|months?|jahr|jahren|years?)\\b>",
  );
  if (later) {
    const n = /^\d+$/.test(later[1]) ? Number(later[1]) : 1;
    const from = base ?? today;
    const unit = later[2];
    base = /^(tag|day)/.test(unit)
      ? addDays(from, n)
      : /^(woche|week)/.test(unit)
        ? addDays(from, 7 * n)
        : /^(monat|month)/.test(unit)
          ? addMonths(from, n)
          : addMonths(from, 12 * n);
  }

  const nextWeek = take(
    "\\b<(?:(über)?nächste|(über)?naechste|kommende)\\s+woche\\b>|\\b<(week after next|next week)\\b>",
  );
  const thisWeek = take("\\b<(?:diese|this)\\s+woche\\b>|\\b<this week\\b>");
  const weekday = take(
    `\\b<(?:(übernächsten|übernächster|nächsten|nächster|nächste|naechsten|kommenden|kommender|next|coming|diesen|dieser|diese|this|letzten|letzter|vergangenen|last)\\s+)?(?:am\\s+|on\\s+)?${WEEKDAY}\\b>`,
  );
  let weekdayDate: LocalDate | undefined;
  if (weekday) {
    const wd = WEEKDAYS[weekday[2]];
    const mod = weekday[1] ?? "";
    const todayWd = weekdayOf(today);
    if (nextWeek || thisWeek) {
      const weeks = nextWeek ? (nextWeek[1] || nextWeek[2] || nextWeek[3] === "week after next" ? 2 : 1) : 0;
      const monday = addDays(today, -((todayWd + 6) % 7) + 7 * weeks);
      weekdayDate = addDays(monday, (wd + 6) % 7);
    } else if (/^(letzt|vergangen|last)/.test(mod)) {
      weekdayDate = addDays(today, -(((todayWd - wd + 6) % 7) + 1));
    } else if (/^(dies|this)/.test(mod)) {
      weekdayDate = addDays(today, (wd - todayWd + 7) % 7);
    } else {
      weekdayDate = addDays(today, ((wd - todayWd + 6) % 7) + 1 + (/^über/.test(mod) ? 7 : 0));
    }
  }

  if (dateError) return { ok: false, detail: dateError };
  if (date && weekday) {
    const wd = WEEKDAYS[weekday[2]];
    if (weekdayOf(date) !== wd)
      return {
        ok: false,
        detail: `${EN_MONTHS[date.month - 1]} ${date.day}, ${date.year} is a ${EN_WEEKDAYS[weekdayOf(date)]}, not a ${EN_WEEKDAYS[wd]}`,
      };
  }
  date ??= base ?? weekdayDate;

  if (!time && opts.bareHour) {
    const bare = take("\\b<(\\d{1,2})\\b>");
    if (bare) setTime(Number(bare[1]), 0);
  }
  if (!time) return { ok: true, date };
  const t = time;
  let hour = t.hour;
  if (t.minute > 59) return { ok: false, detail: `there is no minute ${t.minute}` };
  if (meridiem === "pm" && hour >= 1 && hour < 12) hour += 12;
  else if (meridiem === "am" && hour === 12) hour = 0;
  else if (meridiem === "night" && hour >= 8 && hour < 12) hour += 12;
  else if (meridiem === "night" && hour === 12) hour = 0;
  else if (!meridiem && !t.twentyFour && hour >= 1 && hour <= 7) hour += 12;
  if (hour === 24 && t.minute === 0) hour = 0;
  if (hour < 0 || hour > 23) return { ok: false, detail: `there is no hour ${t.hour}` };
  return { ok: true, date, time: { hour, minute: t.minute } };
}

/** The year that puts day.month nearest to today (ties go forward). */
function nearestYear(day: number, month: number, today: LocalDate): number {
  let best = today.year;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const year of [today.year, today.year + 1, today.year - 1]) {
    const d = Math.min(day, daysInMonth(year, month));
    const distance = Math.abs(compareDates({ year, month, day: d }, today));
    if (distance < bestDistance) {
      best = year;
      bestDistance = distance;
    }
  }
  return best;
}

// ---- saying ----

function lang(language: string): "de" | "zh" | "en" {
  const l = language.toLowerCase();
  return l.startsWith("de") ? "de" : l.startsWith("zh") ? "zh" : "en";
}

/** "Dienstag, 24. November" / "Tuesday, November 24"; the year only when it is not this year. */
export function sayDate(d: LocalDate, language: string, thisYear: number): string {
  const opts: Intl.DateTimeFormatOptions = { timeZone: "UTC", weekday: "long", month: "long", day: "numeric" };
  if (d.year !== thisYear) opts.year = "numeric";
  return new Intl.DateTimeFormat(language, opts).format(new Date(Date.UTC(d.year, d.month - 1, d.day, 12)));
}

/** "10:00 Uhr" / "10:00 AM" (en-US) / "10:00" (en-GB and others). */
export function sayTime(t: LocalTime, language: string): string {
  const clock = new Intl.DateTimeFormat(language, { timeZone: "UTC", hour: "numeric", minute: "2-digit" }).format(
    new Date(Date.UTC(2000, 0, 1, t.hour, t.minute)),
  );
  return lang(language) === "de" ? `${clock} Uhr` : clock;
}

/** "Dienstag, 24. November um 10:00 Uhr" / "Tuesday, November 24 at 10:00 AM". */
export function sayDateTime(d: LocalDate, t: LocalTime, language: string, thisYear: number): string {
  const date = sayDate(d, language, thisYear);
  const l = lang(language);
  return l === "de"
    ? `${date} um ${sayTime(t, language)}`
    : l === "zh"
      ? `${date} ${sayTime(t, language)}`
      : `${date} at ${sayTime(t, language)}`;
}
