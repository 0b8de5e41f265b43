// The Chats view's API: the call list with filters and keyset paging, one call's full record, the staff's status,
// the recording (WAV with Range requests, only from the recording and voicemail directories) and the transcript as a
// download. The filter parsing here is shared with the exports.
import { createReadStream } from "node:fs";
import { realpath, stat } from "node:fs/promises";
import type { IncomingMessage, ServerResponse } from "node:http";
import { isAbsolute, join, relative, resolve, sep } from "node:path";
import { pipeline } from "node:stream/promises";
import { z } from "zod";
import {
  type ChatDetail,
  type ChatFilter,
  Chats,
  chatStatuses,
  decodeCursor,
  isDay,
  isoInZone,
  localDayRange,
} from "../../store/chats.ts";
import type { Db } from "../../store/db.ts";
import { HttpError, type Route, route, SENT } from "../route.ts";

export interface CallsDeps {
  db: Db;
  /** The box's IANA time zone (routing.timeZone): dates in filters and exports are read in it. */
  timeZone: () => string;
  /** Where call recordings are written (recording.dir, default <dataDir>/recordings). */
  recordingsDir: string;
  /** Where voicemails are written (<dataDir>/voicemail), one <callId>.wav per call. */
  voicemailDir: string;
}

const statusSchema = z.enum(chatStatuses);
const timeParam = z.string().max(24).describe("YYYY-MM-DD (a whole day in the box's time zone) or ms since epoch");

/** The filters the list and the exports share. */
export const callFilterQuery = z.object({
  from: timeParam.optional(),
  to: timeParam.optional().describe("YYYY-MM-DD (that day included) or ms since epoch (excluded)"),
  status: statusSchema.optional(),
  agent: z.string().min(1).max(100).optional(),
  caller: z.string().min(1).max(100).optional(),
  q: z.string().max(200).optional().describe("words that must all occur in caller, DID, summary, tags or transcript"),
});
export type CallFilterQuery = z.infer<typeof callFilterQuery>;

const listQuery = callFilterQuery.extend({
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().max(600).optional(),
});

export const chatCardSchema = z.object({
  id: z.string(),
  direction: z.enum(["inbound", "outbound"]),
  startedAt: z.number(),
  answeredAt: z.number().optional(),
  endedAt: z.number().optional(),
  durationMs: z.number().optional(),
  caller: z.string(),
  callerUri: z.string(),
  did: z.string().optional(),
  lastAgent: z.string().optional(),
  agents: z.array(z.string()),
  summary: z.string(),
  tags: z.array(z.string()),
  status: statusSchema,
  leadGrade: z.string().optional(),
  escalation: z.string().optional(),
  outcome: z.string().optional(),
  intent: z.string().optional(),
  transferredTo: z.string().optional(),
  hasRecording: z.boolean(),
});

const transcriptLineSchema = z.object({
  atMs: z.number(),
  speaker: z.string(),
  text: z.string(),
  dtmf: z.string().optional(),
  agent: z.string().optional(),
  latencyMs: z.number().optional(),
});

const detailSchema = z.object({
  card: chatCardSchema,
  transcript: z.array(transcriptLineSchema),
  slots: z.record(z.string(), z.string()),
  actions: z.array(
    z.object({
      action: z.string(),
      state: z.string(),
      key: z.string(),
      attempts: z.number().optional(),
      lastError: z.string().optional(),
    }),
  ),
  consent: z.object({ recording: z.boolean(), via: z.string(), atMs: z.number() }).optional(),
  window: z.object({ id: z.string(), reason: z.string() }).optional(),
  events: z.array(z.object({ t: z.number(), what: z.string() })),
  hangupCause: z.string().optional(),
  hangupSide: z.string().optional(),
  codec: z.string().optional(),
});

/** A filter bound: a local day (from: its start; to: the next day's start, so the day is included) or ms. */
function timeBound(value: string, which: "from" | "to", timeZone: string): number {
  if (/^\d{1,15}$/.test(value)) return Number(value);
  if (isDay(value)) {
    const day = localDayRange(value, timeZone);
    return which === "from" ? day.start : day.end;
  }
  throw new HttpError(400, `${which} must be a day (YYYY-MM-DD) or ms since epoch, not "${value}"`, `query.${which}`);
}

/** The store's filter from the query; HttpError naming the parameter for a bad time or an empty range. */
export function filterOf(q: CallFilterQuery, timeZone: string): ChatFilter {
  const f: ChatFilter = { status: q.status, agent: q.agent, caller: q.caller, q: q.q?.trim() || undefined };
  if (q.from !== undefined) f.from = timeBound(q.from, "from", timeZone);
  if (q.to !== undefined) f.to = timeBound(q.to, "to", timeZone);
  if (f.from !== undefined && f.to !== undefined && f.from >= f.to)
    throw new HttpError(400, "to must be after from", "query.to");
  return f;
}

/** "[01:05] caller: text" per line, the header naming the call; times from the answer. */
export function transcriptText(d: ChatDetail, timeZone: string): string {
  const c = d.card;
  const head = [
    `Call ${c.id}`,
    `Caller: ${c.caller || "unknown"}${c.did ? `  Number dialled: ${c.did}` : ""}`,
    `Started: ${isoInZone(c.startedAt, timeZone)} (${timeZone})`,
    ...(c.agents.length ? [`Agents: ${c.agents.join(", ")}`] : []),
    ...(c.summary ? [`Summary: ${oneLine(c.summary)}`] : []),
    "",
  ];
  const lines = d.transcript.map((t) => {
    const s = Math.max(0, Math.floor(t.atMs / 1000));
    const mmss = `${String(Math.floor(s / 60)).padStart(2, "0")}:${String(s % 60).padStart(2, "0")}`;
    const who = t.agent && t.speaker !== "caller" ? `${t.speaker} (${t.agent})` : t.speaker;
    const keys = t.dtmf ? ` [keys ${t.dtmf}]` : "";
    return `[${mmss}] ${who}: ${oneLine(t.text)}${keys}`;
  });
  return `${[...head, ...lines].join("\n")}\n`;
}

const oneLine = (s: string) => s.replace(/\s*[\r\n]+\s*/g, " ");

/** A file name safe in Content-Disposition (ids are UUIDs; anything else is replaced). */
export const safeFileName = (s: string) => s.replace(/[^A-Za-z0-9._-]/g, "_").slice(0, 100);

export type ByteRange = { start: number; end: number } | "unsatisfiable" | undefined;

/**
 * One byte range of a `Range` header (RFC 9110 14.2) for a file of `size` bytes: inclusive start and end, or
 * "unsatisfiable" (416), or undefined when the header is absent, malformed or asks for several ranges (the whole
 * file is sent then, which the RFC allows).
 */
export function parseRange(header: string | undefined, size: number): ByteRange {
  if (!header) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === "" && m[2] === "")) return undefined;
  if (m[1] === "") {
    const suffix = Number(m[2]);
    if (suffix === 0 || size === 0) return "unsatisfiable";
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === "" ? Number.POSITIVE_INFINITY : Number(m[2]);
  if (end < start) return undefined;
  if (start >= size) return "unsatisfiable";
  return { start, end: Math.min(end, size - 1) };
}

const inside = (file: string, dir: string) => {
  const rel = relative(dir, file);
  return rel !== "" && rel !== ".." && !rel.startsWith(`..${sep}`) && !isAbsolute(rel);
};

async function realDir(dir: string): Promise<string> {
  try {
    return await realpath(dir);
  } catch {
    return resolve(dir);
  }
}

/** Streams a WAV file that lies (after resolving links) inside one of `dirs`, honouring a single byte range. */
async function sendWav(
  ctx: { req: IncomingMessage; res: ServerResponse },
  path: string,
  dirs: string[],
  name: string,
): Promise<typeof SENT> {
  let real: string;
  try {
    real = await realpath(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") throw new HttpError(404, "the recording file is gone", "id");
    throw e;
  }
  const roots = await Promise.all(dirs.map(realDir));
  if (!roots.some((d) => inside(real, d)))
    throw new HttpError(403, "the recording lies outside the recording directories", "id");
  const st = await stat(real);
  if (!st.isFile()) throw new HttpError(404, "the recording file is gone", "id");
  const etag = `"${st.size.toString(16)}-${Math.floor(st.mtimeMs).toString(16)}"`;
  const ifRange = ctx.req.headers["if-range"];
  const range = ifRange !== undefined && ifRange !== etag ? undefined : parseRange(ctx.req.headers.range, st.size);
  const headers: Record<string, string | number> = {
    "content-type": "audio/wav",
    "accept-ranges": "bytes",
    etag,
    "content-disposition": `inline; filename="${safeFileName(name)}"`,
    "cache-control": "private, no-store",
  };
  if (range === "unsatisfiable") {
    ctx.res.writeHead(416, { ...headers, "content-range": `bytes */${st.size}`, "content-length": 0 });
    ctx.res.end();
    return SENT;
  }
  const { start, end } = range ?? { start: 0, end: st.size - 1 };
  ctx.res.writeHead(range ? 206 : 200, {
    ...headers,
    "content-length": Math.max(0, end - start + 1),
    ...(range && { "content-range": `bytes ${start}-${end}/${st.size}` }),
  });
  if (end < start) {
    ctx.res.end();
    return SENT;
  }
  // A listener who seeks or leaves aborts the request: that ends the stream, and is no error of ours.
  await pipeline(createReadStream(real, { start, end }), ctx.res).catch(() => ctx.res.destroy());
  return SENT;
}

export function callsRoutes(deps: CallsDeps): Route[] {
  const chats = new Chats(deps.db);
  const detailOr404 = (id: string) => {
    const d = chats.detail(id);
    if (!d) throw new HttpError(404, `no call ${id}`, "id");
    return d;
  };
  return [
    route({
      method: "GET",
      path: "/api/calls",
      access: "staff",
      summary: "Calls newest first, filtered, one page at a time (cursor from nextCursor)",
      tag: "calls",
      query: listQuery,
      response: z.object({ items: z.array(chatCardSchema), nextCursor: z.string().optional(), total: z.number() }),
      handle: ({ query }) => {
        const cursor = query.cursor === undefined ? undefined : decodeCursor(query.cursor);
        if (query.cursor !== undefined && !cursor)
          throw new HttpError(400, "cursor is not one this API gave out (use nextCursor as is)", "query.cursor");
        return chats.list(filterOf(query, deps.timeZone()), { limit: query.limit, cursor });
      },
    }),
    route({
      method: "GET",
      path: "/api/calls/:id",
      access: "staff",
      summary: "One call: card, transcript, captured data, actions, consent, events",
      tag: "calls",
      response: detailSchema,
      handle: ({ params }) => detailOr404(params.id!),
    }),
    route({
      method: "PATCH",
      path: "/api/calls/:id",
      access: "staff",
      summary: "Set the call's status (new, in_progress, done)",
      tag: "calls",
      body: z.object({ status: statusSchema }).strict(),
      response: chatCardSchema,
      handle: ({ params, body }) => {
        const card = chats.setStatus(params.id!, body.status);
        if (!card) throw new HttpError(404, `no call ${params.id}`, "id");
        return card;
      },
    }),
    route({
      method: "GET",
      path: "/api/calls/:id/recording",
      access: "staff",
      summary: "The call's recording (or voicemail) as WAV; Range requests answer 206",
      tag: "calls",
      query: z.object({
        kind: z
          .enum(["call", "voicemail"])
          .optional()
          .describe("default: the call recording if there is one, else the voicemail"),
      }),
      produces: "audio/wav",
      handle: async (ctx) => {
        const id = ctx.params.id!;
        const rec = chats.recordingOf(id);
        if (!rec) throw new HttpError(404, `no call ${id}`, "id");
        const kind = ctx.query.kind ?? (rec.recordingPath ? "call" : "voicemail");
        if (kind === "call" && !rec.recordingPath) throw new HttpError(404, "the call was not recorded", "query.kind");
        if (kind === "voicemail" && !rec.voicemail)
          throw new HttpError(404, "the call left no voicemail", "query.kind");
        const path = kind === "call" ? rec.recordingPath! : join(deps.voicemailDir, `${id}.wav`);
        return sendWav(ctx, path, [deps.recordingsDir, deps.voicemailDir], `call-${id}-${kind}.wav`);
      },
    }),
    route({
      method: "GET",
      path: "/api/calls/:id/transcript",
      access: "staff",
      summary: "The transcript as a text file ([mm:ss] speaker: text) or JSON; audited as calls.export",
      tag: "calls",
      query: z.object({ format: z.enum(["txt", "json"]).default("txt") }),
      produces: "text/plain",
      handle: ({ params, query, res, audit }) => {
        const d = detailOr404(params.id!);
        audit({ action: "calls.export", target: d.card.id, detail: { what: "transcript", format: query.format } });
        if (query.format === "json")
          return { callId: d.card.id, caller: d.card.caller, startedAt: d.card.startedAt, transcript: d.transcript };
        const body = Buffer.from(transcriptText(d, deps.timeZone()), "utf8");
        res.writeHead(200, {
          "content-type": "text/plain; charset=utf-8",
          "content-length": body.length,
          "content-disposition": `attachment; filename="${safeFileName(`call-${d.card.id}-transcript.txt`)}"`,
        });
        res.end(body);
        return SENT;
      },
    }),
  ];
}
