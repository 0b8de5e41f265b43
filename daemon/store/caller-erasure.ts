// GDPR erasure of one caller: every call of that number (inbound from it, and calls the box placed to it), the legs
// linked to those calls (transfers, queue dials), what the flow made of them, their outbox items (undelivered ones are
// thereby cancelled), unanswered questions, tickets and appointments, and the recording and voicemail files. The rows
// go in one transaction; the files are removed after the commit, so a crash in between leaves at worst an orphaned
// file (reported), never a row pointing at nothing or a half-deleted caller.
import { unlink as unlinkFile } from "node:fs/promises";
import { join } from "node:path";
import { callerKey, uriUser } from "./chats.ts";
import type { Db } from "./db.ts";

export interface ErasureResult {
  /** Call rows deleted (linked legs included). */
  calls: number;
  /** Recording and voicemail files deleted (missing files are not counted). */
  recordings: number;
  /** Outbox items deleted, delivered or not. */
  outbox: number;
  /** Of those, items not yet delivered (pending, delivering, dead): they will never be sent. */
  cancelled: number;
  questions: number;
  tickets: number;
  appointments: number;
  /** Calls of the number still in progress: kept (their rows are still being written); erase again after they end. */
  inProgress: number;
  /** Files that could not be deleted although their rows are gone: remove them by hand. */
  filesFailed: { path: string; error: string }[];
}

export interface ErasureOptions {
  voicemailDir: string;
  /** The country whose national prefix 0 a stored number may carry (default 49). */
  countryCode?: string;
  /** For tests: how a file is removed. */
  unlink?: (path: string) => Promise<void>;
}

interface CallRow {
  id: string;
  direction: "inbound" | "outbound";
  from_number: string | null;
  from_uri: string;
  to_uri: string;
  linked_call_id: string | null;
  ended_at: number | null;
  recording_path: string | null;
}

/** Which of these calls belong to the caller: theirs, the box's calls to them, and every leg linked to those. */
function callsOf(rows: CallRow[], key: string, countryCode: string): { erase: CallRow[]; running: number } {
  const matches = (raw: string | null | undefined) => raw != null && callerKey(raw, countryCode) === key;
  const picked = new Set<string>();
  for (const r of rows) {
    const own =
      r.linked_call_id === null &&
      (r.direction === "inbound" ? matches(r.from_number ?? uriUser(r.from_uri)) : matches(uriUser(r.to_uri)));
    if (own) picked.add(r.id);
  }
  // Legs of legs (a transfer from a queue dial): follow the links until nothing new turns up.
  const children = new Map<string, CallRow[]>();
  for (const r of rows)
    if (r.linked_call_id !== null) children.set(r.linked_call_id, [...(children.get(r.linked_call_id) ?? []), r]);
  const queue = [...picked];
  while (queue.length > 0) {
    for (const leg of children.get(queue.pop()!) ?? [])
      if (!picked.has(leg.id)) {
        picked.add(leg.id);
        queue.push(leg.id);
      }
  }
  const byId = new Map(rows.map((r) => [r.id, r]));
  const rootOf = (id: string): string => {
    let r = byId.get(id)!;
    for (let hops = 0; r.linked_call_id !== null && byId.has(r.linked_call_id) && hops < 100; hops++)
      r = byId.get(r.linked_call_id)!;
    return r.id;
  };
  // A call still running keeps its whole family (its legs and its parent are still being written).
  const busyRoots = new Set([...picked].filter((id) => byId.get(id)!.ended_at === null).map(rootOf));
  const erase = [...picked].filter((id) => !busyRoots.has(rootOf(id))).map((id) => byId.get(id)!);
  return { erase, running: busyRoots.size };
}

/** Erases everything stored about `number` (any of its forms, see callerKey). Throws for an empty or anonymous one. */
export async function eraseCaller(db: Db, number: string, opts: ErasureOptions): Promise<ErasureResult> {
  const countryCode = opts.countryCode ?? "49";
  const key = callerKey(number, countryCode);
  if (key === undefined) throw new RangeError(`"${number}" names no caller (empty or anonymous)`);
  const rows = db
    .prepare("SELECT id, direction, from_number, from_uri, to_uri, linked_call_id, ended_at, recording_path FROM calls")
    .all() as CallRow[];
  const { erase, running } = callsOf(rows, key, countryCode);
  const ids = JSON.stringify(erase.map((r) => r.id));
  const inIds = "(SELECT value FROM json_each(@ids))";

  const counts = db.transaction(() => {
    // Outbox items belong to a call by call_id, or by the idempotency keys the flow recorded for its actions.
    const keys = db
      .prepare(`SELECT a.value ->> 'key' FROM call_outcomes o, json_each(o.actions) a WHERE o.call_id IN ${inIds}`)
      .pluck()
      .all({ ids }) as string[];
    const outboxWhere = `call_id IN ${inIds} OR idempotency_key IN (SELECT value FROM json_each(@keys))`;
    const params = { ids, keys: JSON.stringify(keys) };
    const cancelled = db
      .prepare(`SELECT count(*) FROM outbox WHERE (${outboxWhere}) AND state <> 'delivered'`)
      .pluck()
      .get(params) as number;
    const outbox = db.prepare(`DELETE FROM outbox WHERE ${outboxWhere}`).run(params).changes;
    const questions = db.prepare(`DELETE FROM unanswered_questions WHERE call_id IN ${inIds}`).run({ ids }).changes;
    const tickets = db.prepare(`DELETE FROM tickets WHERE call_id IN ${inIds}`).run({ ids }).changes;
    const appointments = db.prepare(`DELETE FROM appointments WHERE call_id IN ${inIds}`).run({ ids }).changes;
    // Explicit, although the foreign key cascades: a connection without foreign_keys=ON must not leave outcomes.
    db.prepare(`DELETE FROM call_outcomes WHERE call_id IN ${inIds}`).run({ ids });
    const calls = db.prepare(`DELETE FROM calls WHERE id IN ${inIds}`).run({ ids }).changes;
    return { calls, outbox, cancelled, questions, tickets, appointments };
  })();

  const unlink = opts.unlink ?? unlinkFile;
  const files = erase.flatMap((r) => [
    ...(r.recording_path ? [r.recording_path] : []),
    join(opts.voicemailDir, `${r.id}.wav`),
  ]);
  let recordings = 0;
  const filesFailed: ErasureResult["filesFailed"] = [];
  for (const path of files) {
    try {
      await unlink(path);
      recordings++;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== "ENOENT") filesFailed.push({ path, error: code ?? (e as Error).message });
    }
  }
  return { ...counts, recordings, inProgress: running, filesFailed };
}
