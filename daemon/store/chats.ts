// The web page's Chats view, read side: one card per conversation (a call's CDR with what the flow made of it), the
// full record of one call, the staff's status, the day's KPIs and the rows of a CDR export. Only calls that are not a
// leg of another call are conversations: the legs a transfer or a queue dials (linked_call_id set) belong to their call.
import type Database from "better-sqlite3";
import { wallClock } from "../ops/wall-clock.ts";
import type { Db } from "./db.ts";

export const chatStatuses = ["new", "in_progress", "done"] as const;
export type ChatStatus = (typeof chatStatuses)[number];

export interface ChatCard {
  id: string;
  direction: "inbound" | "outbound";
  startedAt: number;
  answeredAt?: number;
  endedAt?: number;
  durationMs?: number;
  /** The calling number: from_number, else the user part of the From URI. */
  caller: string;
  callerUri: string;
  did?: string;
  lastAgent?: string;
  agents: string[];
  summary: string;
  tags: string[];
  /** Set by staff; a call without a stored outcome is "new". */
  status: ChatStatus;
  leadGrade?: string;
  escalation?: string;
  outcome?: string;
  intent?: string;
  transferredTo?: string;
  /** A call recording or a voicemail exists for the call. */
  hasRecording: boolean;
}

export interface TranscriptLine {
  atMs: number;
  speaker: string;
  text: string;
  dtmf?: string;
  agent?: string;
  latencyMs?: number;
}

export interface ChatAction {
  action: string;
  /** The outbox's current state when it holds the item (pending, delivering, delivered, dead), else the call's. */
  state: string;
  key: string;
  attempts?: number;
  lastError?: string;
}

export interface ChatDetail {
  card: ChatCard;
  transcript: TranscriptLine[];
  slots: Record<string, string>;
  actions: ChatAction[];
  consent?: { recording: boolean; via: string; atMs: number };
  window?: { id: string; reason: string };
  events: { t: number; what: string }[];
  hangupCause?: string;
  hangupSide?: string;
  codec?: string;
}

export interface ChatFilter {
  /** Started at or after (ms). */
  from?: number;
  /** Started before (ms, exclusive). */
  to?: number;
  status?: ChatStatus;
  /** Any agent the call went through. */
  agent?: string;
  /** One caller, the same number in any of its written forms (see callerForms). */
  caller?: string;
  /**
   * Free text: every word must occur (case-insensitive) in the caller, DID, summary, tags or transcript (the texts and
   * who spoke them: agent or staff name).
   */
  q?: string;
}

export interface ChatCursor {
  startedAt: number;
  id: string;
}

export interface ChatPage {
  items: ChatCard[];
  nextCursor?: string;
  total: number;
}

/**
 * The day's figures for the dashboard, over the conversations (inbound calls that are not legs of another call) that
 * started on that local day in the box's time zone. Definitions:
 * - calls: all of them, answered or not.
 * - answered: the box picked up (answered_at set).
 * - handledByAi: answered and finished without a human: the outcome is neither "transferred" nor "abandoned" (calls
 *   without a flow outcome, e.g. the demo line, count as handled by the box).
 * - transferred: answered and handed to a human or queue (outcome "transferred").
 * - abandoned: the caller gave up: hung up before the box answered, or the flow's outcome is "abandoned" (e.g. no
 *   consent, or hung up while waiting).
 * - avgHandleMs: mean duration_ms (answer to hang-up of the caller's leg, human time included) of answered calls that
 *   ended; null when there are none.
 * - firstCallResolution: of the distinct identifiable callers (a number, not anonymous) whose call was answered that
 *   day, the share settled by exactly one call: one call that day, not abandoned, and no other call from the same
 *   number (any written form, answered or not) in the 7 days before it. Backward-looking (the "repeat caller" rule), so
 *   a finished day's value does not change later; null when there is no such caller.
 * - avgResponseLatencyMs: mean decision latency of the box's answers (transcript latencyMs: the caller's input
 *   reaching the flow to the prompt starting) over all its answers that day; null when none was measured.
 */
export interface DayKpis {
  day: string;
  calls: number;
  answered: number;
  handledByAi: number;
  transferred: number;
  abandoned: number;
  avgHandleMs: number | null;
  firstCallResolution: number | null;
  avgResponseLatencyMs: number | null;
}

/** One CDR export line: the card plus the columns only the export shows. */
export interface ExportRow extends ChatCard {
  hangupCause?: string;
  hangupSide?: string;
  codec?: string;
}

export const FCR_WINDOW_MS = 7 * 86_400_000;

// ---------------------------------------------------------------------------------------------------------------
// Proposed migration 5: indexes and the search index

const searchText = (o: string) =>
  `${o}.summary, (SELECT group_concat(value, ' ') FROM json_each(${o}.tags)),
       (SELECT group_concat(concat_ws(' ', value ->> 'agent', value ->> 'text'), char(10))
        FROM json_each(${o}.transcript))`;
const backfillSql = `INSERT INTO chat_search (rowid, summary, tags, transcript)
     SELECT c.rowid, ${searchText("o")} FROM call_outcomes o JOIN calls c ON c.id = o.call_id;`;

/**
 * Search: migration 5's chat_search (FTS5, trigram tokenizer, over summary, tags and transcript texts with who spoke
 * them) finds a term of 3+ characters anywhere inside a word ("rechnung" finds "Stromrechnung"), ignoring case and
 * diacritics; shorter terms (and a database without the index) use LIKE scans with the same meaning. Contentless:
 * the text stays in call_outcomes only. Keyed by calls.rowid; a VACUUM may renumber rowids, so rebuild after one.
 */
/** Refills the search index from call_outcomes (after a VACUUM renumbered rowids); false when there is no index. */
export function rebuildChatSearch(db: Db): boolean {
  if (!hasTable(db, "chat_search")) return false;
  db.transaction(() => {
    db.exec("INSERT INTO chat_search (chat_search) VALUES ('delete-all')");
    db.exec(backfillSql);
  })();
  return true;
}

function hasTable(db: Db, name: string): boolean {
  return db.prepare("SELECT 1 FROM sqlite_schema WHERE name = ?").get(name) !== undefined;
}

// ---------------------------------------------------------------------------------------------------------------
// Numbers

const anonymousCallers = new Set(["anonymous", "unknown", "restricted", "unavailable", "private", "withheld"]);

/**
 * One key per caller: "+49301234567" for +49 30 1234567, 0049301234567 and 0301234567 (a single leading 0 is the
 * national prefix of `countryCode`); other digit strings stay as they are (internal extensions, numbers already
 * without prefix), so "49301234567" is not taken for +49. Spaces, dashes, dots, slashes and parentheses are ignored.
 * A non-number (a SIP user name) is its lower-case self; empty or anonymous callers have no key.
 */
export function callerKey(raw: string, countryCode = "49"): string | undefined {
  const s = raw.trim();
  if (!s || anonymousCallers.has(s.toLowerCase())) return undefined;
  const compact = s.replace(/[\s\-./()]/g, "");
  if (!/^\+?\d+$/.test(compact)) return s.toLowerCase();
  if (compact.startsWith("+")) return compact;
  if (compact.startsWith("00")) return `+${compact.slice(2)}`;
  if (compact.startsWith("0")) return `+${countryCode}${compact.slice(1)}`;
  return compact;
}

/** The forms a trunk may write the caller's number in (the CDR keeps what the trunk sent), for exact SQL lookups. */
export function callerForms(raw: string, countryCode = "49"): string[] {
  const key = callerKey(raw, countryCode);
  if (key === undefined) return [];
  if (!key.startsWith("+")) return [key];
  const forms = [key, `00${key.slice(1)}`];
  if (key.startsWith(`+${countryCode}`)) forms.push(`0${key.slice(1 + countryCode.length)}`);
  return forms;
}

/** The user part of a SIP/tel URI, possibly inside a name-addr ("Anna" <sip:+4930123@host;user=phone>). */
export function uriUser(uri: string): string | undefined {
  // A SIP URI without "@" has no user part (sip:host); a tel URI is all number.
  const m = /(?:^|<|\s)(?:sips?:([^@;>?\s]+)@|tel:([^;>?\s]+))/i.exec(uri);
  const user = m?.[1] ?? m?.[2];
  if (!user) return undefined;
  try {
    return decodeURIComponent(user);
  } catch {
    return user;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Time zones

function zoneParts(ms: number, timeZone: string): number[] {
  const w = wallClock(ms, timeZone);
  return [w.year, w.month, w.day, w.hour, w.minute, w.second];
}

/** The zone's offset from UTC at an instant in ms (Europe/Berlin in summer: 7_200_000). */
export function zoneOffsetMs(ms: number, timeZone: string): number {
  const [y, mo, d, h, mi, s] = zoneParts(ms, timeZone);
  const wholeSeconds = Math.floor(ms / 1000) * 1000;
  return Date.UTC(y!, mo! - 1, d!, h!, mi!, s!) - wholeSeconds;
}

/** YYYY-MM-DD of an instant in a time zone. */
export function localDate(ms: number, timeZone: string): string {
  const [y, mo, d] = zoneParts(ms, timeZone);
  return `${String(y).padStart(4, "0")}-${String(mo).padStart(2, "0")}-${String(d).padStart(2, "0")}`;
}

/** "2025-03-30T03:15:00+02:00": the local wall time with its offset, what the exports show. */
export function isoInZone(ms: number, timeZone: string): string {
  const off = Math.round(zoneOffsetMs(ms, timeZone) / 60_000);
  const local = new Date(ms + off * 60_000).toISOString().slice(0, 19);
  const a = Math.abs(off);
  const sign = off < 0 ? "-" : "+";
  return `${local}${sign}${String(Math.floor(a / 60)).padStart(2, "0")}:${String(a % 60).padStart(2, "0")}`;
}

const dayPattern = /^(\d{4})-(\d{2})-(\d{2})$/;

/** A YYYY-MM-DD that names a real calendar day. */
export function isDay(day: string): boolean {
  const m = dayPattern.exec(day);
  if (!m) return false;
  const t = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
  return t.toISOString().slice(0, 10) === day;
}

/** The first instant of a local day (where midnight falls into a DST gap, the first instant that exists). */
export function localDayStart(day: string, timeZone: string): number {
  if (!isDay(day)) throw new RangeError(`not a day: "${day}" (expected YYYY-MM-DD)`);
  const utc = Date.parse(`${day}T00:00:00Z`);
  let t = utc - zoneOffsetMs(utc, timeZone);
  t = utc - zoneOffsetMs(t, timeZone); // again, when a DST change lies between UTC and local midnight
  if (localDate(t, timeZone) === day && localDate(t - 1, timeZone) < day) return t;
  // Midnight does not exist there that day (a DST gap at 00:00): find the day's first minute, then its first second.
  let lo = utc - 15 * 3_600_000;
  let hi = utc + 15 * 3_600_000;
  while (hi - lo > 1000) {
    const mid = Math.floor((lo + hi) / 2000) * 1000;
    if (localDate(mid, timeZone) < day) lo = mid;
    else hi = mid;
  }
  return hi;
}

/** [start, end) of a local day in ms; 23 or 25 hours long on DST change days. */
export function localDayRange(day: string, timeZone: string): { start: number; end: number } {
  const next = new Date(Date.parse(`${day}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);
  return { start: localDayStart(day, timeZone), end: localDayStart(next, timeZone) };
}

// ---------------------------------------------------------------------------------------------------------------
// Cursor

export function encodeCursor(c: ChatCursor): string {
  return Buffer.from(`${c.startedAt}~${c.id}`, "utf8").toString("base64url");
}

/** undefined for anything this module did not produce. */
export function decodeCursor(s: string): ChatCursor | undefined {
  if (!/^[A-Za-z0-9_-]{1,400}$/.test(s)) return undefined;
  const text = Buffer.from(s, "base64url").toString("utf8");
  const i = text.indexOf("~");
  if (i <= 0) return undefined;
  const startedAt = Number(text.slice(0, i));
  const id = text.slice(i + 1);
  if (!Number.isSafeInteger(startedAt) || !id) return undefined;
  return { startedAt, id };
}

// ---------------------------------------------------------------------------------------------------------------
// Queries

interface CardRow {
  id: string;
  direction: ChatCard["direction"];
  from_uri: string;
  from_number: string | null;
  did: string | null;
  started_at: number;
  answered_at: number | null;
  ended_at: number | null;
  duration_ms: number | null;
  has_recording: number;
  agents: string | null;
  last_agent: string | null;
  intent: string | null;
  escalation: string | null;
  outcome: string | null;
  transferred_to: string | null;
  summary: string | null;
  tags: string | null;
  lead_grade: string | null;
  status: ChatStatus;
}

interface ExportDbRow extends CardRow {
  hangup_cause: string | null;
  hangup_side: string | null;
  codec: string | null;
}

interface DetailRow extends ExportDbRow {
  slots: string | null;
  actions: string | null;
  transcript: string | null;
  consent_recording: number | null;
  consent_via: string | null;
  consent_at_ms: number | null;
  window_id: string | null;
  window_reason: string | null;
  events: string;
}

// The voicemail's path is only in the call's events ("voicemail <path> <ms> ms (<reason>)", see flow-line.ts).
const cardColumns = `c.id, c.direction, c.from_uri, c.from_number, c.did, c.started_at, c.answered_at, c.ended_at,
  c.duration_ms, (c.recording_path IS NOT NULL OR instr(c.events, '"voicemail ') > 0) AS has_recording,
  o.agents, o.last_agent, o.intent, o.escalation, o.outcome, o.transferred_to, o.summary, o.tags, o.lead_grade,
  COALESCE(o.status, 'new') AS status`;
const exportColumns = `${cardColumns}, c.hangup_cause, c.hangup_side, c.codec`;
const fromCalls = "FROM calls c LEFT JOIN call_outcomes o ON o.call_id = c.id";
const newestFirst = "ORDER BY c.started_at DESC, c.id DESC";

/**
 * One page: first the calls (rowids only) that pass the filter, newest first, then their columns and outcomes. Joined
 * in one query, SQLite may read the outcome row of every match before sorting; this way it reads @limit of them.
 */
const pageSql = (columns: string, where: string) =>
  `SELECT ${columns} FROM (SELECT c.rowid AS r FROM calls c WHERE ${where} ${newestFirst} LIMIT @limit) AS page
   JOIN calls c ON c.rowid = page.r LEFT JOIN call_outcomes o ON o.call_id = c.id ${newestFirst}`;

const nonEmpty = (s: string | null | undefined): string | undefined => (s ? s : undefined);
const opt = <T>(v: T | null): T | undefined => (v === null ? undefined : v);

function parseJson<T>(text: string | null | undefined, fallback: T): T {
  if (!text) return fallback;
  try {
    return JSON.parse(text) as T;
  } catch {
    return fallback;
  }
}

function cardOf(r: CardRow): ChatCard {
  return {
    id: r.id,
    direction: r.direction,
    startedAt: r.started_at,
    answeredAt: opt(r.answered_at),
    endedAt: opt(r.ended_at),
    durationMs: opt(r.duration_ms),
    caller: r.from_number ?? uriUser(r.from_uri) ?? "",
    callerUri: r.from_uri,
    did: opt(r.did),
    lastAgent: nonEmpty(r.last_agent),
    agents: parseJson<string[]>(r.agents, []),
    summary: r.summary ?? "",
    tags: parseJson<string[]>(r.tags, []),
    status: r.status,
    leadGrade: opt(r.lead_grade),
    escalation: opt(r.escalation),
    outcome: nonEmpty(r.outcome),
    intent: opt(r.intent),
    transferredTo: opt(r.transferred_to),
    hasRecording: r.has_recording === 1,
  };
}

/** LIKE pattern for "contains", with the wildcards of the text escaped (ESCAPE '\'). */
export function containsPattern(text: string): string {
  return `%${text.replace(/[\\%_]/g, "\\$&")}%`;
}

/** Search words: split at white space, "quoted phrases" kept whole; at most 8, each at most 100 characters. */
export function searchTerms(q: string): string[] {
  const terms: string[] = [];
  for (const m of q.matchAll(/"([^"]+)"|(\S+)/g)) {
    const t = (m[1] ?? m[2] ?? "").trim();
    if (t) terms.push(t.slice(0, 100));
  }
  return terms.slice(0, 8);
}

/** A national number also matches its +CC form in the stored caller/DID: "030 123" finds "+4930123...". */
function numberVariants(term: string, countryCode: string): string[] {
  const compact = term.replace(/[\s\-./()]/g, "");
  if (!/^\+?\d{3,}$/.test(compact)) return [];
  const key = callerKey(compact, countryCode);
  return key && key !== term ? [key] : [];
}

// What the transcript JSON holds besides the texts: keys and speaker values (see TranscriptLine).
const transcriptSyntax = ["atms", "speaker", "text", "dtmf", "agent", "latencyms", "caller", "human", "system"];

/** JSON.stringify writes these characters escaped: a term holding one cannot match the stored text as it is. */
const escapedInJson = (term: string) => /["\\\u0000-\u001f]/.test(term);

/**
 * A term with a letter, without digits (numbers, DTMF, times), JSON punctuation, and not inside a key or speaker name
 * can only match the stored transcript JSON inside a text or agent value: a LIKE over the raw JSON is then exact.
 */
function rawTranscriptExact(term: string): boolean {
  const t = term.toLowerCase();
  return /\p{L}/u.test(t) && !/[\d"\\{}[\]:,\u0000-\u001f]/.test(t) && !transcriptSyntax.some((k) => k.includes(t));
}

/** The tags JSON (["a","b"]) holds only the tags and ", []: a term without those matches inside one tag. */
const rawTagsExact = (term: string) => !/["\\,[\]\u0000-\u001f]/.test(term);

interface Built {
  sql: string;
  params: Record<string, unknown>;
}

export interface ChatsOptions {
  /** Country code whose national prefix 0 callers' numbers may carry (default 49, Germany). */
  countryCode?: string;
}

export class Chats {
  private readonly statements = new Map<string, Database.Statement>();
  private readonly fts: boolean;
  private readonly countryCode: string;

  constructor(
    private readonly db: Db,
    opts: ChatsOptions = {},
  ) {
    this.fts = hasTable(db, "chat_search");
    this.countryCode = opts.countryCode ?? "49";
  }

  /** Whether q uses the FTS5 index (migration 5) or scans with LIKE. */
  get indexed(): boolean {
    return this.fts;
  }

  /** Newest first, `limit` cards after `cursor`, and how many match the filter in all. */
  list(filter: ChatFilter, page: { limit: number; cursor?: ChatCursor }): ChatPage {
    const limit = Math.max(1, Math.min(1000, Math.floor(page.limit)));
    const w = this.where(filter);
    const params: Record<string, unknown> = { ...w.params, limit: limit + 1 };
    let keyset = "";
    if (page.cursor) {
      keyset = " AND (c.started_at, c.id) < (@cursorAt, @cursorId)";
      params.cursorAt = page.cursor.startedAt;
      params.cursorId = page.cursor.id;
    }
    const rows = this.stmt(pageSql(cardColumns, w.sql + keyset)).all(params) as CardRow[];
    const total = this.stmt(`SELECT count(*) AS n FROM calls c WHERE ${w.sql}`).get(w.params) as { n: number };
    const items = rows.slice(0, limit).map(cardOf);
    const last = items.at(-1);
    return {
      items,
      nextCursor: rows.length > limit && last ? encodeCursor({ startedAt: last.startedAt, id: last.id }) : undefined,
      total: total.n,
    };
  }

  card(id: string): ChatCard | undefined {
    const r = this.stmt(`SELECT ${cardColumns} ${fromCalls} WHERE c.id = ?`).get(id) as CardRow | undefined;
    return r && cardOf(r);
  }

  detail(id: string): ChatDetail | undefined {
    const r = this.stmt(
      `SELECT ${exportColumns}, o.slots, o.actions, o.transcript, o.consent_recording, o.consent_via, o.consent_at_ms,
         o.window_id, o.window_reason, c.events ${fromCalls} WHERE c.id = ?`,
    ).get(id) as DetailRow | undefined;
    if (!r) return undefined;
    return {
      card: cardOf(r),
      transcript: parseJson<TranscriptLine[]>(r.transcript, []),
      slots: parseJson<Record<string, string>>(r.slots, {}),
      actions: this.actionsOf(id, parseJson<{ action: string; state: string; key: string }[]>(r.actions, [])),
      consent:
        r.consent_recording === null
          ? undefined
          : { recording: r.consent_recording === 1, via: r.consent_via ?? "", atMs: r.consent_at_ms ?? 0 },
      window: r.window_id ? { id: r.window_id, reason: r.window_reason ?? "" } : undefined,
      events: parseJson<{ t: number; what: string }[]>(r.events, []),
      hangupCause: opt(r.hangup_cause),
      hangupSide: opt(r.hangup_side),
      codec: opt(r.codec),
    };
  }

  /** The call's own recording path and whether its events name a voicemail; undefined when there is no such call. */
  recordingOf(id: string): { recordingPath?: string; voicemail: boolean } | undefined {
    const r = this.stmt(
      `SELECT recording_path, instr(events, '"voicemail ') > 0 AS voicemail FROM calls WHERE id = ?`,
    ).get(id) as { recording_path: string | null; voicemail: number } | undefined;
    return r && { recordingPath: opt(r.recording_path), voicemail: r.voicemail === 1 };
  }

  /**
   * Sets the staff's status. A call without a flow outcome (demo line, missed call) gets an empty outcome row to hold
   * it. undefined when there is no such call; a RangeError for a status that is not one of chatStatuses.
   */
  setStatus(id: string, status: ChatStatus, now = Date.now()): ChatCard | undefined {
    if (!(chatStatuses as readonly string[]).includes(status))
      throw new RangeError(`status must be one of ${chatStatuses.join(", ")} (got ${JSON.stringify(status)})`);
    const changed = this.db.transaction(() => {
      if (this.stmt("UPDATE call_outcomes SET status = ? WHERE call_id = ?").run(status, id).changes > 0) return true;
      return (
        this.stmt(
          `INSERT INTO call_outcomes (call_id, agents, last_agent, slots, outcome, actions, transcript, summary, tags,
             status, created_at)
           SELECT id, '[]', '', '{}', '', '[]', '[]', '', '[]', ?, ? FROM calls WHERE id = ?`,
        ).run(status, now, id).changes > 0
      );
    })();
    return changed ? this.card(id) : undefined;
  }

  /** The day's KPIs (definitions at DayKpis). */
  kpis(day: string, timeZone: string): DayKpis {
    const { start, end } = localDayRange(day, timeZone);
    const conversations = "c.direction = 'inbound' AND c.linked_call_id IS NULL";
    const inDay = `${conversations} AND c.started_at >= @start AND c.started_at < @end`;
    const counts = this.stmt(
      `SELECT count(*) AS calls,
         count(c.answered_at) AS answered,
         sum(c.answered_at IS NOT NULL AND COALESCE(o.outcome, '') NOT IN ('transferred', 'abandoned')) AS ai,
         sum(c.answered_at IS NOT NULL AND o.outcome = 'transferred') AS transferred,
         sum((c.answered_at IS NULL AND c.hangup_side = 'caller') OR o.outcome = 'abandoned') AS abandoned,
         avg(CASE WHEN c.answered_at IS NOT NULL AND c.ended_at IS NOT NULL THEN c.duration_ms END) AS handle
       ${fromCalls} WHERE ${inDay}`,
    ).get({ start, end }) as {
      calls: number;
      answered: number;
      ai: number | null;
      transferred: number | null;
      abandoned: number | null;
      handle: number | null;
    };
    const latency = this.stmt(
      `SELECT avg(t.value ->> 'latencyMs') AS ms
       FROM calls c JOIN call_outcomes o ON o.call_id = c.id, json_each(o.transcript) t
       WHERE ${inDay} AND c.answered_at IS NOT NULL AND t.value ->> 'latencyMs' IS NOT NULL`,
    ).get({ start, end }) as { ms: number | null };
    return {
      day,
      calls: counts.calls,
      answered: counts.answered,
      handledByAi: counts.ai ?? 0,
      transferred: counts.transferred ?? 0,
      abandoned: counts.abandoned ?? 0,
      avgHandleMs: counts.handle === null ? null : Math.round(counts.handle),
      firstCallResolution: this.firstCallResolution(start, end),
      avgResponseLatencyMs: latency.ms === null ? null : Math.round(latency.ms),
    };
  }

  /**
   * The export's rows, newest first, read in batches of `batch` by keyset so no read holds the connection between
   * batches (better-sqlite3 refuses other statements while an iterator is open) and memory stays at one batch.
   */
  *exportRows(filter: ChatFilter, batch = 500): Generator<ExportRow> {
    const w = this.where(filter);
    const first = this.stmt(pageSql(exportColumns, w.sql));
    const next = this.stmt(pageSql(exportColumns, `${w.sql} AND (c.started_at, c.id) < (@cursorAt, @cursorId)`));
    let cursor: ChatCursor | undefined;
    for (;;) {
      const rows = (
        cursor
          ? next.all({ ...w.params, limit: batch, cursorAt: cursor.startedAt, cursorId: cursor.id })
          : first.all({ ...w.params, limit: batch })
      ) as ExportDbRow[];
      for (const r of rows)
        yield { ...cardOf(r), hangupCause: opt(r.hangup_cause), hangupSide: opt(r.hangup_side), codec: opt(r.codec) };
      if (rows.length < batch) return;
      const last = rows.at(-1)!;
      cursor = { startedAt: last.started_at, id: last.id };
    }
  }

  private firstCallResolution(start: number, end: number): number | null {
    const rows = this.stmt(
      `SELECT c.from_number AS number, count(*) AS n, min(c.started_at) AS first,
         count(CASE WHEN o.outcome = 'abandoned' THEN 1 END) AS abandoned
       ${fromCalls} WHERE c.direction = 'inbound' AND c.linked_call_id IS NULL AND c.answered_at IS NOT NULL
         AND c.started_at >= @start AND c.started_at < @end AND c.from_number IS NOT NULL
       GROUP BY c.from_number`,
    ).all({ start, end }) as { number: string; n: number; first: number; abandoned: number }[];
    // Group the day's numbers by caller key: a trunk may write one caller in several forms.
    const byCaller = new Map<string, { n: number; first: number; abandoned: number }>();
    for (const r of rows) {
      const key = callerKey(r.number, this.countryCode);
      if (key === undefined) continue;
      const seen = byCaller.get(key);
      byCaller.set(key, {
        n: (seen?.n ?? 0) + r.n,
        first: Math.min(seen?.first ?? r.first, r.first),
        abandoned: (seen?.abandoned ?? 0) + r.abandoned,
      });
    }
    if (byCaller.size === 0) return null;
    const dayCalls = this.stmt(
      `SELECT count(*) AS n FROM calls c WHERE c.direction = 'inbound' AND c.linked_call_id IS NULL
         AND c.from_number IN (SELECT value FROM json_each(@forms)) AND c.started_at >= @since AND c.started_at < @until`,
    );
    let resolved = 0;
    for (const [key, v] of byCaller) {
      if (v.n !== 1 || v.abandoned > 0) continue;
      const forms = JSON.stringify(callerForms(key, this.countryCode));
      // Any call of the day counts too (an unanswered second try means the first did not settle it).
      const before = dayCalls.get({ forms, since: v.first - FCR_WINDOW_MS, until: v.first }) as { n: number };
      const sameDay = dayCalls.get({ forms, since: start, until: end }) as { n: number };
      if (before.n === 0 && sameDay.n === 1) resolved++;
    }
    return resolved / byCaller.size;
  }

  private actionsOf(callId: string, recorded: { action: string; state: string; key: string }[]): ChatAction[] {
    const rows = this.stmt(
      `SELECT idempotency_key AS key, kind, payload ->> 'target' AS target, state, attempts, last_error
       FROM outbox WHERE call_id = @callId OR idempotency_key IN (SELECT value FROM json_each(@keys))
       ORDER BY id`,
    ).all({ callId, keys: JSON.stringify(recorded.map((a) => a.key)) }) as {
      key: string;
      kind: string;
      target: string | null;
      state: string;
      attempts: number;
      last_error: string | null;
    }[];
    const byKey = new Map(rows.map((r) => [r.key, r]));
    const withOutbox = (a: { action: string; state: string; key: string }, r = byKey.get(a.key)): ChatAction =>
      r ? { ...a, state: r.state, attempts: r.attempts, lastError: opt(r.last_error) } : { ...a };
    const listed = new Set(recorded.map((a) => a.key));
    return [
      ...recorded.map((a) => withOutbox(a)),
      // Items queued for the call outside the flow's own steps (disconnect actions, ticket forwarding).
      ...rows
        .filter((r) => !listed.has(r.key))
        .map((r) => withOutbox({ action: r.target ?? r.kind, state: r.state, key: r.key }, r)),
    ];
  }

  /**
   * The filter over `calls c` alone: what lives in call_outcomes is asked through IN (SELECT ...) subqueries, which
   * SQLite runs once per statement (over an index where migration 5 gave one), so neither the count nor the walk down
   * the list reads an outcome row (status and agents sit behind the large transcript) and the count needs no join.
   * The unary + keeps SQLite from driving the query by those lists (thousands of lookups, then a sort): it walks the
   * conversations newest first instead, checks each against the lists, and stops when the page is full.
   */
  private where(f: ChatFilter): Built {
    const clauses = ["c.linked_call_id IS NULL"];
    const params: Record<string, unknown> = {};
    if (f.from !== undefined) {
      clauses.push("c.started_at >= @from");
      params.from = f.from;
    }
    if (f.to !== undefined) {
      clauses.push("c.started_at < @to");
      params.to = f.to;
    }
    if (f.status !== undefined) {
      const having = "+c.id IN (SELECT call_id FROM call_outcomes WHERE status = @status)";
      // A call without an outcome row is new.
      clauses.push(f.status === "new" ? `(${having} OR +c.id NOT IN (SELECT call_id FROM call_outcomes))` : having);
      params.status = f.status;
    }
    if (f.agent !== undefined) {
      // agents is a JSON array of strings: its quoted element matches exactly one agent id.
      clauses.push("+c.id IN (SELECT call_id FROM call_outcomes WHERE instr(agents, json_quote(@agent)) > 0)");
      params.agent = f.agent;
    }
    if (f.caller !== undefined) {
      const forms = callerForms(f.caller, this.countryCode);
      clauses.push("c.from_number IN (SELECT value FROM json_each(@callerForms))");
      params.callerForms = JSON.stringify(forms.length ? forms : [f.caller.trim()]);
    }
    searchTerms(f.q ?? "").forEach((term, i) => {
      const p = `q${i}`;
      params[p] = containsPattern(term);
      const like = (col: string, param = p) => `${col} LIKE @${param} ESCAPE '\\'`;
      // Caller and DID through their indexes (a scan of the index, not of the calls table).
      const numbers = (param: string) => [
        `+c.rowid IN (SELECT rowid FROM calls WHERE ${like("from_number", param)})`,
        `+c.rowid IN (SELECT rowid FROM calls WHERE ${like("did", param)})`,
      ];
      const fields = numbers(p);
      numberVariants(term, this.countryCode).forEach((v, j) => {
        params[`${p}n${j}`] = containsPattern(v);
        fields.push(...numbers(`${p}n${j}`));
      });
      if (this.fts && [...term].length >= 3) {
        // A trigram phrase: the term's characters in a row, anywhere in summary, tags or transcript.
        params[`${p}f`] = `"${term.replace(/"/g, '""')}"`;
        fields.push(`+c.rowid IN (SELECT rowid FROM chat_search WHERE chat_search MATCH @${p}f)`);
      } else {
        const said = `${like("value ->> 'text'")} OR ${like("value ->> 'agent'")}`;
        const spoken = `EXISTS (SELECT 1 FROM json_each(transcript) WHERE ${said})`;
        const tagged = `EXISTS (SELECT 1 FROM json_each(tags) WHERE ${like("value")})`;
        const text = [
          like("summary"),
          // Scanning the JSON text as it is stored is cheap; where a match could fall on JSON syntax, a key, a speaker
          // or a number, json_each checks the values (after the raw text matched, when escaping cannot differ).
          rawTagsExact(term) ? like("tags") : escapedInJson(term) ? tagged : `(${like("tags")} AND ${tagged})`,
          rawTranscriptExact(term)
            ? like("transcript")
            : `(${escapedInJson(term) ? "" : `${like("transcript")} AND `}${spoken})`,
        ];
        fields.push(`+c.id IN (SELECT call_id FROM call_outcomes WHERE ${text.join(" OR ")})`);
      }
      clauses.push(`(${fields.join(" OR ")})`);
    });
    return { sql: clauses.join(" AND "), params };
  }

  private stmt(sql: string): Database.Statement {
    let s = this.statements.get(sql);
    if (!s) {
      // Filter combinations are few, but q's word count multiplies them: keep the cache bounded.
      if (this.statements.size >= 200) this.statements.clear();
      s = this.db.prepare(sql);
      this.statements.set(sql, s);
    }
    return s;
  }
}
