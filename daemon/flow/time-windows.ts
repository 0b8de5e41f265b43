// Time windows pick the agent a call enters: the first window that matches the call's local time wins, and the last
// one is the `always` fallback. Local wall time comes from Intl, so DST changes need no code here: on the autumn
// fallback day 02:30 happens twice and matches twice, in spring 02:xx never happens.
//
// A range whose end is before its start crosses midnight and belongs to the day it starts on: the holiday rule and
// exceptions of that day decide, not those of the day it runs into. An exception names dates outright, so on its
// dates it overrides both the weekly ranges and the holiday rule.
import { z } from "zod";
import { slug } from "./ids.ts";
import { wallClock } from "../ops/wall-clock.ts";
import { type HolidayRegion, holidayOn, holidayRegions } from "./holidays.ts";

const weekdays = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"] as const;
export type Weekday = (typeof weekdays)[number];

const RANGE = /^(\d{2}):(\d{2})-(\d{2}):(\d{2})$/;
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const DAY_MINUTES = 1440;

interface ClockRange {
  text: string;
  start: number;
  end: number;
  /** Ends after midnight, on the next day. */
  crosses: boolean;
}

/** Parses "HH:MM-HH:MM" (24:00 only as an end); returns an error message instead when it is not one. */
function parseRange(text: string): ClockRange | string {
  const m = RANGE.exec(text);
  if (!m) return `"${text}" is not a time range HH:MM-HH:MM`;
  const [h1, m1, h2, m2] = m.slice(1).map(Number) as [number, number, number, number];
  if (h1 > 23 || m1 > 59) return `"${text}": start must be 00:00..23:59`;
  if (h2 > 24 || m2 > 59 || (h2 === 24 && m2 !== 0)) return `"${text}": end must be 00:00..24:00`;
  const start = h1 * 60 + m1;
  const end = h2 * 60 + m2;
  if (start === end) return `"${text}" starts and ends at the same time (the whole day is 00:00-24:00)`;
  return { text, start, end, crosses: end < start };
}

function isRealDate(text: string): boolean {
  const m = DATE.exec(text);
  if (!m) return false;
  const [y, mo, d] = m.slice(1).map(Number) as [number, number, number];
  const t = new Date(Date.UTC(y, mo - 1, d));
  return t.getUTCFullYear() === y && t.getUTCMonth() === mo - 1 && t.getUTCDate() === d;
}

const clockRange = z.string().superRefine((s, ctx) => {
  const r = parseRange(s);
  if (typeof r === "string") ctx.addIssue({ code: "custom", message: r });
});

const localDate = z.string().superRefine((s, ctx) => {
  if (!DATE.test(s)) ctx.addIssue({ code: "custom", message: `"${s}" is not a date YYYY-MM-DD` });
  else if (!isRealDate(s)) ctx.addIssue({ code: "custom", message: `${s} is not a day of the calendar` });
});

/** Ranges of one day may touch (08:00-12:00, 12:00-14:00) but not overlap; reported at the later one. */
function overlapProblems(ranges: readonly string[]): Array<{ index: number; message: string }> {
  const spans = ranges.map((t) => parseRange(t));
  const out: Array<{ index: number; message: string }> = [];
  spans.forEach((b, j) => {
    if (typeof b === "string") return;
    const bEnd = b.crosses ? b.end + DAY_MINUTES : b.end;
    for (let i = 0; i < j; i++) {
      const a = spans[i];
      if (typeof a === "string" || a === undefined) continue;
      const aEnd = a.crosses ? a.end + DAY_MINUTES : a.end;
      if (a.start < bEnd && b.start < aEnd) {
        out.push({ index: j, message: `${b.text} overlaps ${a.text}` });
        return;
      }
    }
  });
  return out;
}

const dayRanges = z.array(clockRange).superRefine((ranges, ctx) => {
  for (const p of overlapProblems(ranges)) ctx.addIssue({ code: "custom", message: p.message, path: [p.index] });
});

const weeklySchema = z
  .object({
    mon: dayRanges.optional(),
    tue: dayRanges.optional(),
    wed: dayRanges.optional(),
    thu: dayRanges.optional(),
    fri: dayRanges.optional(),
    sat: dayRanges.optional(),
    sun: dayRanges.optional(),
  })
  .strict();

const exceptionSchema = z
  .object({
    /** One local date ... */
    date: localDate.optional(),
    /** ... or an inclusive span of them. */
    from: localDate.optional(),
    to: localDate.optional(),
    /** Replace the weekly ranges on those dates; none or empty means closed. */
    ranges: dayRanges.optional(),
    note: z.string().optional(),
  })
  .strict()
  .superRefine((e, ctx) => {
    const issue = (path: string[], message: string) => ctx.addIssue({ code: "custom", message, path });
    if (e.date !== undefined && (e.from !== undefined || e.to !== undefined))
      issue(["date"], "give either date or from/to, not both");
    else if (e.date === undefined && e.from === undefined && e.to === undefined)
      issue([], "needs date, or from and to");
    else if (e.from !== undefined && e.to === undefined) issue(["to"], "from needs to (the last day, inclusive)");
    else if (e.to !== undefined && e.from === undefined) issue(["from"], "to needs from (the first day)");
    else if (e.from !== undefined && e.to !== undefined && isRealDate(e.from) && isRealDate(e.to) && e.to < e.from)
      issue(["to"], `${e.to} is before from ${e.from}`);
  });

export type WindowException = z.output<typeof exceptionSchema>;

export const timeWindowSchema = z
  .object({
    id: slug,
    /** The agent the call enters when this window is chosen. */
    agent: slug,
    /** The fallback: matches at every time. Must be the last window. */
    always: z.boolean().optional(),
    weekly: weeklySchema.optional(),
    /** closed (the default): no match on a public holiday; only: match on holidays only; ignore. */
    holidays: z.enum(["closed", "only", "ignore"]).optional(),
    exceptions: z.array(exceptionSchema).optional(),
  })
  .strict()
  .superRefine((w, ctx) => {
    if (w.always) {
      for (const key of ["weekly", "holidays", "exceptions"] as const)
        if (w[key] !== undefined)
          ctx.addIssue({
            code: "custom",
            message: `an always window matches at every time, ${key} does not apply to it`,
            path: [key],
          });
      return;
    }
    const exceptions = w.exceptions ?? [];
    exceptions.forEach((e, j) => {
      const span = spanOf(e);
      if (!span) return;
      const i = exceptions.findIndex((o, k) => k < j && spansOverlap(spanOf(o), span));
      if (i >= 0)
        ctx.addIssue({
          code: "custom",
          message: `dates overlap exceptions[${i}]: a date may have one exception only`,
          path: ["exceptions", j, e.date !== undefined ? "date" : "from"],
        });
    });
  })
  // Only on an otherwise valid window: a mistyped day or a bad range would make this message misleading.
  .superRefine(
    (w, ctx) => {
      if (w.always) return;
      const weeklyCount = Object.values(w.weekly ?? {}).reduce((n, rs) => n + (rs?.length ?? 0), 0);
      const exceptionCount = (w.exceptions ?? []).reduce((n, e) => n + (e.ranges?.length ?? 0), 0);
      if (weeklyCount === 0 && exceptionCount === 0 && w.holidays !== "only")
        ctx.addIssue({
          code: "custom",
          message: "matches no time: give weekly ranges, exceptions with ranges, holidays: only, or always: true",
          path: [],
        });
    },
    { when: (payload) => payload.issues.length === 0 },
  );

/** The list as the config holds it. The checks across windows are in `checkWindows` (it needs the agents). */
export const timeWindowsSchema = z.array(timeWindowSchema).min(1, "needs at least the always fallback window");

export const routingTimeSchema = z
  .object({
    /** IANA time zone the windows are read in. */
    timeZone: z
      .string()
      .superRefine((tz, ctx) => {
        if (!isTimeZone(tz))
          ctx.addIssue({
            code: "custom",
            message: `unknown time zone "${tz}": use an IANA name such as Europe/Berlin`,
          });
      })
      .default("Europe/Berlin"),
    /** Whose public holidays close a window: DE (nationwide only) or a state, e.g. DE-BY. */
    holidayRegion: z
      .enum(holidayRegions, { error: () => `must be DE or a federal state: ${holidayRegions.join(", ")}` })
      .default("DE"),
  })
  .strict();

export type TimeWindow = z.output<typeof timeWindowSchema>;
export type RoutingTime = z.output<typeof routingTimeSchema>;
export interface WindowChoice {
  window: TimeWindow;
  /** Why this window, in English, for the call record. */
  reason: string;
}
export interface WindowProblem {
  /** Relative to the window list, e.g. [2, "agent"]. */
  path: Array<string | number>;
  message: string;
}

function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/**
 * Cross-window checks with paths relative to the list: one always fallback, last; unique ids; known agents (when
 * `agentIds` is given).
 */
export function checkWindows(windows: readonly TimeWindow[], agentIds?: ReadonlySet<string>): WindowProblem[] {
  const problems: WindowProblem[] = [];
  if (windows.length === 0) return [{ path: [], message: "needs at least the always fallback window" }];
  const fallback = windows.findIndex((w) => w.always === true);
  if (fallback < 0)
    problems.push({
      path: [windows.length - 1],
      message: "the last window must be the fallback with always: true (no window matches otherwise)",
    });
  else
    for (let j = fallback + 1; j < windows.length; j++)
      problems.push({
        path: [j],
        message: `unreachable: the always window "${windows[fallback]!.id}" before it matches every call`,
      });
  const firstById = new Map<string, number>();
  windows.forEach((w, i) => {
    const first = firstById.get(w.id);
    if (first !== undefined)
      problems.push({ path: [i, "id"], message: `duplicate window id "${w.id}" (also window ${first})` });
    else firstById.set(w.id, i);
    if (agentIds && !agentIds.has(w.agent)) {
      const known = [...agentIds].sort().join(", ") || "none configured";
      problems.push({ path: [i, "agent"], message: `no agent with id "${w.agent}" (agents: ${known})` });
    }
  });
  return problems;
}

export interface LocalTime {
  /** YYYY-MM-DD */
  date: string;
  weekday: Weekday;
  /** Minutes since local midnight. */
  minute: number;
  /** "Tue 2026-11-24 09:12 Europe/Berlin" */
  text: string;
}

/** The wall-clock date and time of an instant in a time zone. */
export function localTimeOf(at: Date, timeZone: string): LocalTime {
  if (Number.isNaN(at.getTime())) throw new RangeError("selectWindow needs a valid instant");
  const w = wallClock(at, timeZone);
  const two = (n: number) => String(n).padStart(2, "0");
  const date = `${String(w.year).padStart(4, "0")}-${two(w.month)}-${two(w.day)}`;
  const weekday = weekdayOf(date);
  const text = `${weekday[0]!.toUpperCase()}${weekday.slice(1)} ${date} ${two(w.hour)}:${two(w.minute)} ${timeZone}`;
  return { date, weekday, minute: w.hour * 60 + w.minute, text };
}

function weekdayOf(date: string): Weekday {
  const [y, m, d] = date.split("-").map(Number) as [number, number, number];
  return weekdays[new Date(Date.UTC(y, m - 1, d)).getUTCDay()]!;
}

function previousDate(date: string): string {
  const [y, m, d] = date.split("-").map(Number) as [number, number, number];
  return new Date(Date.UTC(y, m - 1, d - 1)).toISOString().slice(0, 10);
}

interface Span {
  from: string;
  to: string;
}

function spanOf(e: WindowException): Span | undefined {
  if (e.date !== undefined) return { from: e.date, to: e.date };
  if (e.from !== undefined && e.to !== undefined) return { from: e.from, to: e.to };
  return undefined;
}

const spansOverlap = (a: Span | undefined, b: Span): boolean => a !== undefined && a.from <= b.to && b.from <= a.to;

/** What one window offers on one local date: its ranges, how to name them, and why it is shut when it is. */
interface DayPlan {
  ranges: ClockRange[];
  /** Names the source of the ranges, e.g. "tue" or "exception 2026-12-24 (Heiligabend)". */
  label: string;
  /** Appended to a matching range, e.g. "on public holiday Ostermontag (DE)". */
  suffix: string;
  closed?: string;
}

const allDay: ClockRange = { text: "all day", start: 0, end: DAY_MINUTES, crosses: false };

function parsedRanges(texts: readonly string[] | undefined): ClockRange[] {
  return (texts ?? []).map(parseRange).filter((r): r is ClockRange => typeof r !== "string");
}

function dayPlan(w: TimeWindow, date: string, region: HolidayRegion): DayPlan {
  const exception = w.exceptions?.find((e) => spansOverlap(spanOf(e), { from: date, to: date }));
  if (exception) {
    const span = spanOf(exception)!;
    const what = `exception ${span.from === span.to ? span.from : `${span.from}..${span.to}`}`;
    const note = exception.note ? ` (${exception.note})` : "";
    const ranges = parsedRanges(exception.ranges);
    return { ranges, label: what, suffix: note, closed: ranges.length ? undefined : `closed by ${what}${note}` };
  }
  const day = weekdayOf(date);
  const holiday = holidayOn(date, region);
  const mode = w.holidays ?? "closed";
  const holidayText = `public holiday ${holiday} (${region})`;
  if (holiday && mode === "closed") return { ranges: [], label: day, suffix: "", closed: holidayText };
  if (!holiday && mode === "only")
    return { ranges: [], label: day, suffix: "", closed: `no public holiday (${region})` };
  if (holiday && mode === "only" && !w.weekly) return { ranges: [allDay], label: "", suffix: ` on ${holidayText}` };
  const ranges = parsedRanges(w.weekly?.[day]);
  const suffix = holiday && mode === "only" ? ` on ${holidayText}` : "";
  return { ranges, label: day, suffix, closed: ranges.length ? undefined : `no hours on ${day}` };
}

/** Why the window matches at `local`, or undefined with the reason it does not. */
function matchWindow(w: TimeWindow, local: LocalTime, region: HolidayRegion): { within?: string; skipped?: string } {
  const today = dayPlan(w, local.date, region);
  const m = local.minute;
  for (const r of today.ranges)
    if (r.start <= m && m < (r.crosses ? DAY_MINUTES : r.end))
      return { within: `${today.label ? `${today.label} ` : ""}${r.text}${today.suffix}` };
  const yesterday = previousDate(local.date);
  const before = dayPlan(w, yesterday, region);
  for (const r of before.ranges)
    if (r.crosses && m < r.end) return { within: `${before.label} ${r.text}${before.suffix}, since ${yesterday}` };
  return { skipped: today.closed ?? `outside ${today.label} ${today.ranges.map((r) => r.text).join(", ")}` };
}

/**
 * The window a call at `at` enters: the first that matches, with the reason for the call record. Throws only for a
 * list `checkWindows` rejects (no always fallback) or an invalid instant.
 */
export function selectWindow(windows: readonly TimeWindow[], at: Date, settings: RoutingTime): WindowChoice {
  const local = localTimeOf(at, settings.timeZone);
  const skipped: string[] = [];
  const after = () => (skipped.length ? ` after ${skipped.join("; ")}` : "");
  for (const window of windows) {
    if (window.always) return { window, reason: `"${window.id}" (always): ${local.text}${after()}` };
    const r = matchWindow(window, local, settings.holidayRegion);
    if (r.within !== undefined) return { window, reason: `"${window.id}": ${local.text} within ${r.within}${after()}` };
    skipped.push(`"${window.id}": ${r.skipped}`);
  }
  throw new Error(`no time window matches ${local.text}${after()}; the list needs an always window last`);
}
