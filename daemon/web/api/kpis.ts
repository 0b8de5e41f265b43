// The dashboard's figures for one day in the box's time zone (definitions at DayKpis in store/chats.ts).
import { z } from "zod";
import { Chats, isDay, localDate } from "../../store/chats.ts";
import type { Db } from "../../store/db.ts";
import { HttpError, type Route, route } from "../route.ts";

export interface KpisDeps {
  db: Db;
  /** The box's IANA time zone (routing.timeZone). */
  timeZone: () => string;
  now?: () => number;
}

const rate = z.number().nullable();

export const dayKpisSchema = z.object({
  day: z.string(),
  calls: z.number(),
  answered: z.number(),
  handledByAi: z.number(),
  transferred: z.number(),
  abandoned: z.number(),
  avgHandleMs: rate.describe("null when no call was answered"),
  firstCallResolution: rate.describe("0..1; null when no identifiable caller was answered"),
  avgResponseLatencyMs: rate.describe("null when no answer of the box was measured"),
});

export function kpisRoutes(deps: KpisDeps): Route[] {
  const chats = new Chats(deps.db);
  return [
    route({
      method: "GET",
      path: "/api/kpis",
      access: "staff",
      summary: "Calls, handled by AI, transferred, abandoned, handle time, first-call resolution, latency of a day",
      tag: "calls",
      query: z.object({ day: z.string().max(10).optional().describe("YYYY-MM-DD, default today (box time zone)") }),
      response: dayKpisSchema,
      handle: ({ query }) => {
        const timeZone = deps.timeZone();
        const day = query.day ?? localDate((deps.now ?? Date.now)(), timeZone);
        if (!isDay(day)) throw new HttpError(400, `day must be a date YYYY-MM-DD, not "${day}"`, "query.day");
        return chats.kpis(day, timeZone);
      },
    }),
  ];
}
