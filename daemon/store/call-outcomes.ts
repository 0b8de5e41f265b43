// What the flow made of a call, one row per call beside its CDR: the web page's Chats card reads it.
import type { Db } from "./db.ts";

export interface CallOutcome {
  callId: string;
  window?: { id: string; reason: string };
  agents: string[];
  intent?: string;
  slots: Record<string, string>;
  escalation?: string;
  consent?: { recording: boolean; via: string; atMs: number };
  outcome: string;
  transferredTo?: string;
  actions: { action: string; state: string; key: string }[];
  transcript: { atMs: number; speaker: string; text: string; dtmf?: string; agent?: string; latencyMs?: number }[];
  summary: string;
  tags: string[];
  leadGrade?: string;
  status: "new" | "in_progress" | "done";
  createdAt: number;
}

interface Row {
  call_id: string;
  window_id: string | null;
  window_reason: string | null;
  agents: string;
  intent: string | null;
  slots: string;
  escalation: string | null;
  consent_recording: number | null;
  consent_via: string | null;
  consent_at_ms: number | null;
  outcome: string;
  transferred_to: string | null;
  actions: string;
  transcript: string;
  summary: string;
  tags: string;
  lead_grade: string | null;
  status: CallOutcome["status"];
  created_at: number;
}

export class CallOutcomes {
  private readonly saveStmt;
  private readonly getStmt;

  constructor(db: Db) {
    this.saveStmt = db.prepare(
      `INSERT OR REPLACE INTO call_outcomes (call_id, window_id, window_reason, agents, last_agent, intent, slots,
           escalation, consent_recording, consent_via, consent_at_ms, outcome, transferred_to, actions, transcript,
           summary, tags, lead_grade, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.getStmt = db.prepare("SELECT * FROM call_outcomes WHERE call_id = ?");
  }

  save(o: Omit<CallOutcome, "status">): void {
    this.saveStmt.run(
      o.callId,
      o.window?.id ?? null,
      o.window?.reason ?? null,
      JSON.stringify(o.agents),
      o.agents[o.agents.length - 1] ?? "",
      o.intent ?? null,
      JSON.stringify(o.slots),
      o.escalation ?? null,
      o.consent ? (o.consent.recording ? 1 : 0) : null,
      o.consent?.via ?? null,
      o.consent?.atMs ?? null,
      o.outcome,
      o.transferredTo ?? null,
      JSON.stringify(o.actions),
      JSON.stringify(o.transcript),
      o.summary,
      JSON.stringify(o.tags),
      o.leadGrade ?? null,
      o.createdAt,
    );
  }

  get(callId: string): CallOutcome | undefined {
    const r = this.getStmt.get(callId) as Row | undefined;
    if (!r) return undefined;
    return {
      callId: r.call_id,
      window: r.window_id ? { id: r.window_id, reason: r.window_reason ?? "" } : undefined,
      agents: JSON.parse(r.agents),
      intent: r.intent ?? undefined,
      slots: JSON.parse(r.slots),
      escalation: r.escalation ?? undefined,
      consent:
        r.consent_recording === null
          ? undefined
          : { recording: r.consent_recording === 1, via: r.consent_via ?? "", atMs: r.consent_at_ms ?? 0 },
      outcome: r.outcome,
      transferredTo: r.transferred_to ?? undefined,
      actions: JSON.parse(r.actions),
      transcript: JSON.parse(r.transcript),
      summary: r.summary,
      tags: JSON.parse(r.tags),
      leadGrade: r.lead_grade ?? undefined,
      status: r.status,
      createdAt: r.created_at,
    };
  }
}
