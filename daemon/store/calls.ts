// Call detail records: one row per call leg, written at start, updated at answer and end.
import type { Db } from "./db.ts";

export type CallDirection = "inbound" | "outbound";
export type HangupSide = "caller" | "box" | "callee" | "system";

export interface CallStart {
  id: string;
  direction: CallDirection;
  trunk?: string;
  fromUri: string;
  fromNumber?: string;
  toUri: string;
  did?: string;
  sipCallId: string;
  transport?: string;
  remoteAddress?: string;
  startedAt: number;
  linkedCallId?: string;
}

export interface CallEnd {
  endedAt: number;
  hangupCause: string;
  hangupSide: HangupSide;
  sipStatus?: number;
  mediaStats?: unknown;
}

export interface CallRecord extends CallStart {
  codec?: string;
  answeredAt?: number;
  endedAt?: number;
  durationMs?: number;
  hangupCause?: string;
  hangupSide?: HangupSide;
  sipStatus?: number;
  recordingPath?: string;
  dtmfLog: string;
  mediaStats?: unknown;
  events: { t: number; what: string }[];
}

interface Row {
  id: string;
  direction: CallDirection;
  trunk: string | null;
  from_uri: string;
  from_number: string | null;
  to_uri: string;
  did: string | null;
  sip_call_id: string;
  transport: string | null;
  remote_address: string | null;
  codec: string | null;
  started_at: number;
  answered_at: number | null;
  ended_at: number | null;
  duration_ms: number | null;
  hangup_cause: string | null;
  hangup_side: HangupSide | null;
  sip_status: number | null;
  recording_path: string | null;
  dtmf_log: string;
  linked_call_id: string | null;
  media_stats: string | null;
  events: string;
}

const opt = <T>(v: T | null): T | undefined => (v === null ? undefined : v);

function fromRow(r: Row): CallRecord {
  return {
    id: r.id,
    direction: r.direction,
    trunk: opt(r.trunk),
    fromUri: r.from_uri,
    fromNumber: opt(r.from_number),
    toUri: r.to_uri,
    did: opt(r.did),
    sipCallId: r.sip_call_id,
    transport: opt(r.transport),
    remoteAddress: opt(r.remote_address),
    codec: opt(r.codec),
    startedAt: r.started_at,
    answeredAt: opt(r.answered_at),
    endedAt: opt(r.ended_at),
    durationMs: opt(r.duration_ms),
    hangupCause: opt(r.hangup_cause),
    hangupSide: opt(r.hangup_side),
    sipStatus: opt(r.sip_status),
    recordingPath: opt(r.recording_path),
    dtmfLog: r.dtmf_log,
    linkedCallId: opt(r.linked_call_id),
    mediaStats: r.media_stats ? JSON.parse(r.media_stats) : undefined,
    events: JSON.parse(r.events),
  };
}

export class CallRecords {
  private readonly insertStmt;
  private readonly answerStmt;
  private readonly endStmt;
  private readonly dtmfStmt;
  private readonly eventStmt;
  private readonly recordingStmt;
  private readonly getStmt;

  constructor(private readonly db: Db) {
    this.insertStmt = db.prepare(
      `INSERT INTO calls (id, direction, trunk, from_uri, from_number, to_uri, did, sip_call_id, transport,
         remote_address, started_at, linked_call_id)
       VALUES (@id, @direction, @trunk, @fromUri, @fromNumber, @toUri, @did, @sipCallId, @transport,
         @remoteAddress, @startedAt, @linkedCallId)`,
    );
    this.answerStmt = db.prepare("UPDATE calls SET answered_at = ?, codec = ? WHERE id = ?");
    this.endStmt = db.prepare(
      `UPDATE calls SET ended_at = @endedAt, hangup_cause = @hangupCause, hangup_side = @hangupSide,
         sip_status = @sipStatus, media_stats = @mediaStats,
         duration_ms = CASE WHEN answered_at IS NULL THEN 0 ELSE @endedAt - answered_at END
       WHERE id = @id AND ended_at IS NULL`,
    );
    this.dtmfStmt = db.prepare("UPDATE calls SET dtmf_log = dtmf_log || ? WHERE id = ?");
    this.eventStmt = db.prepare("UPDATE calls SET events = json_insert(events, '$[#]', json(?)) WHERE id = ?");
    this.recordingStmt = db.prepare("UPDATE calls SET recording_path = ? WHERE id = ?");
    this.getStmt = db.prepare("SELECT * FROM calls WHERE id = ?");
  }

  start(c: CallStart): void {
    this.insertStmt.run({
      trunk: null,
      fromNumber: null,
      did: null,
      transport: null,
      remoteAddress: null,
      linkedCallId: null,
      ...c,
    });
  }

  answered(id: string, at: number, codec: string): void {
    this.answerStmt.run(at, codec, id);
  }

  ended(id: string, e: CallEnd): void {
    this.endStmt.run({
      id,
      endedAt: e.endedAt,
      hangupCause: e.hangupCause,
      hangupSide: e.hangupSide,
      sipStatus: e.sipStatus ?? null,
      mediaStats: e.mediaStats === undefined ? null : JSON.stringify(e.mediaStats),
    });
  }

  dtmf(id: string, digit: string): void {
    this.dtmfStmt.run(digit, id);
  }

  event(id: string, at: number, what: string): void {
    this.eventStmt.run(JSON.stringify({ t: at, what }), id);
  }

  recording(id: string, path: string): void {
    this.recordingStmt.run(path, id);
  }

  get(id: string): CallRecord | undefined {
    const r = this.getStmt.get(id) as Row | undefined;
    return r && fromRow(r);
  }

  list(opts: { limit?: number; since?: number } = {}): CallRecord[] {
    const rows = this.db
      .prepare("SELECT * FROM calls WHERE started_at >= ? ORDER BY started_at DESC LIMIT ?")
      .all(opts.since ?? 0, opts.limit ?? 100) as Row[];
    return rows.map(fromRow);
  }

  /** Calls left open by a crash or power cut: closed at start-up so KPIs stay honest. */
  closeOrphans(at: number): number {
    return this.db
      .prepare(
        `UPDATE calls SET ended_at = ?, hangup_cause = 'daemon restart', hangup_side = 'system',
           duration_ms = CASE WHEN answered_at IS NULL THEN 0 ELSE ? - answered_at END
         WHERE ended_at IS NULL`,
      )
      .run(at, at).changes;
  }
}
