// Which time window and agent take a call: now or at a given time (explain), and over a week for the web page's week
// view. Both ask the running config through the same entryAgent the daemon routes calls with, so holidays,
// exceptions and DST nights look exactly as callers will meet them.
import { z } from "zod";
import type { Config } from "../../config/schema.ts";
import { entryAgent, type RoutingConfig } from "../../flow/routing.ts";
import { localTimeOf } from "../../flow/time-windows.ts";
import { HttpError, type Route, route } from "../route.ts";

export interface RoutingApiDeps {
  /** The running configuration. */
  current(): Config;
  now?: () => number;
}

/** "1767225600000" (ms) or an ISO time such as "2026-01-01T09:30:00+01:00". */
export function parseInstant(text: string | undefined, now: number, where: string): number {
  if (text === undefined || text === "") return now;
  const ms = /^\d+$/.test(text) ? Number(text) : Date.parse(text);
  if (!Number.isFinite(ms) || Math.abs(ms) > 8.64e15)
    throw new HttpError(400, `"${text}" is not a time (ms since epoch or ISO 8601)`, where);
  return ms;
}

const WEEK_MS = 7 * 86_400_000;
const MINUTE_MS = 60_000;

export interface WeekSegment {
  window: string;
  agent: string;
  from: number;
  to: number;
}

/** Local minutes of the day at which some window may begin or end: range bounds and midnight (dates change). */
function boundaryMinutes(r: RoutingConfig): Set<number> {
  const out = new Set([0]);
  const add = (range: string) => {
    const m = /^(\d{2}):(\d{2})-(\d{2}):(\d{2})$/.exec(range);
    if (!m) return;
    out.add((Number(m[1]) * 60 + Number(m[2])) % 1440);
    out.add((Number(m[3]) * 60 + Number(m[4])) % 1440);
  };
  for (const w of [...r.windows, ...r.numbers.flatMap((n) => n.windows)]) {
    for (const ranges of Object.values(w.weekly ?? {})) ranges?.forEach(add);
    for (const e of w.exceptions ?? []) e.ranges?.forEach(add);
  }
  return out;
}

/**
 * The windows of seven days from `from` (rounded down to the minute) as segments [from, to). The choice can only
 * change at a range bound, at local midnight or when the UTC offset changes (DST), so only those minutes (and every
 * full hour, where offsets change) are asked: a few hundred choices instead of 10080 on the daemon's main thread.
 */
export function weekSegments(config: Config, did: string, from: number): WeekSegment[] {
  const routing = config.routing;
  if (!routing) return [];
  const bounds = boundaryMinutes(routing);
  const start = Math.floor(from / MINUTE_MS) * MINUTE_MS;
  const end = start + WEEK_MS;
  const out: WeekSegment[] = [];
  const at = (t: number) => {
    const e = entryAgent(config, did, new Date(t));
    const last = out[out.length - 1];
    if (last && last.window === e.window && last.agent === e.agent) return;
    if (last) last.to = t;
    out.push({ window: e.window, agent: e.agent, from: t, to: end });
  };
  for (let hour = start; hour < end; hour += 60 * MINUTE_MS) {
    const local = localTimeOf(new Date(hour), routing.timeZone).minute;
    for (let k = 0; k < 60 && hour + k * MINUTE_MS < end; k++)
      if (k === 0 || bounds.has((local + k) % 1440)) at(hour + k * MINUTE_MS);
  }
  return out;
}

export function routingRoutes(deps: RoutingApiDeps): Route[] {
  const now = () => (deps.now ?? Date.now)();
  return [
    route<{ did?: string; at?: string }>({
      method: "GET",
      path: "/api/routing/explain",
      access: "staff",
      summary: "Which time window and agent take a call to a number now or at a given time, and why",
      tag: "config",
      query: z.object({
        did: z.string().max(64).optional().describe("the dialled number; default: the general windows"),
        at: z.string().max(40).optional().describe("ms since epoch or ISO 8601; default now"),
      }),
      response: z.object({
        did: z.string(),
        at: z.number(),
        local: z.string().optional(),
        window: z.string().nullable(),
        agent: z.string().nullable(),
        reason: z.string(),
      }),
      handle: ({ query }) => {
        const at = parseInstant(query.at, now(), "query.at");
        const did = query.did ?? "";
        const config = deps.current();
        if (!config.routing)
          return { did, at, window: null, agent: null, reason: "no routing configured: calls get the demo line" };
        const e = entryAgent(config, did, new Date(at));
        const local = localTimeOf(new Date(at), config.routing.timeZone).text;
        return { did, at, local, window: e.window, agent: e.agent, reason: e.reason };
      },
    }),
    route<{ did?: string; from?: string }>({
      method: "GET",
      path: "/api/routing/week",
      access: "staff",
      summary: "Seven days of time windows for a number: which window and agent take calls when",
      tag: "config",
      query: z.object({
        did: z.string().max(64).optional().describe("the dialled number; default: the general windows"),
        from: z.string().max(40).optional().describe("start, ms since epoch or ISO 8601; default now"),
      }),
      response: z.object({
        did: z.string(),
        timeZone: z.string(),
        from: z.number(),
        to: z.number(),
        segments: z.array(z.object({ window: z.string(), agent: z.string(), from: z.number(), to: z.number() })),
      }),
      handle: ({ query }) => {
        const from = parseInstant(query.from, now(), "query.from");
        const did = query.did ?? "";
        const config = deps.current();
        if (!config.routing) throw new HttpError(404, "no routing configured: calls get the demo line", "routing");
        const segments = weekSegments(config, did, from);
        return {
          did,
          timeZone: config.routing.timeZone,
          from: segments[0]!.from,
          to: segments[segments.length - 1]!.to,
          segments,
        };
      },
    }),
  ];
}
