// The knowledge queue (table `unanswered_questions`, migration 4): questions an FAQ agent could not answer, kept so
// an admin can write the answer into the agent's knowledge (or dismiss them). IBANs and card numbers are masked
// before they are stored, whoever calls record().
import { maskSensitive } from "../nlu/mask.ts";
import type { Db } from "./db.ts";

export const questionStates = ["open", "answered", "dismissed"] as const;
export type QuestionState = (typeof questionStates)[number];

export interface NewQuestion {
  callId?: string;
  agent: string;
  language: string;
  text: string;
  askedAt: number;
}

export interface UnansweredQuestion {
  id: number;
  callId?: string;
  agent: string;
  language: string;
  text: string;
  askedAt: number;
  state: QuestionState;
}

interface Row {
  id: number;
  call_id: string | null;
  agent: string;
  language: string;
  text: string;
  asked_at: number;
  state: QuestionState;
}

/** A caller can talk for minutes; the queue keeps the question, not a monologue. */
const MAX_TEXT = 1000;

const fromRow = (r: Row): UnansweredQuestion => ({
  id: r.id,
  ...(r.call_id !== null && { callId: r.call_id }),
  agent: r.agent,
  language: r.language,
  text: r.text,
  askedAt: r.asked_at,
  state: r.state,
});

export class UnansweredQuestions {
  private readonly insertStmt;
  private readonly getStmt;
  private readonly stateStmt;

  constructor(private readonly db: Db) {
    this.insertStmt = db.prepare(
      "INSERT INTO unanswered_questions (call_id, agent, language, text, asked_at) VALUES (?, ?, ?, ?, ?)",
    );
    this.getStmt = db.prepare("SELECT * FROM unanswered_questions WHERE id = ?");
    this.stateStmt = db.prepare("UPDATE unanswered_questions SET state = ? WHERE id = ?");
  }

  /** Stores an open question; returns its id. */
  record(q: NewQuestion): number {
    const text = maskSensitive(q.text.trim()).slice(0, MAX_TEXT);
    const r = this.insertStmt.run(q.callId ?? null, q.agent, q.language, text, q.askedAt);
    return Number(r.lastInsertRowid);
  }

  /** Newest first; all states unless one is given. */
  list(state?: QuestionState, limit = 100, agent?: string): UnansweredQuestion[] {
    const where: string[] = [];
    const args: (string | number)[] = [];
    if (state !== undefined) {
      where.push("state = ?");
      args.push(state);
    }
    if (agent !== undefined) {
      where.push("agent = ?");
      args.push(agent);
    }
    const rows = this.db
      .prepare(
        `SELECT * FROM unanswered_questions ${where.length ? `WHERE ${where.join(" AND ")}` : ""}
         ORDER BY asked_at DESC, id DESC LIMIT ?`,
      )
      .all(...args, Math.max(1, Math.min(limit, 1000))) as Row[];
    return rows.map(fromRow);
  }

  get(id: number): UnansweredQuestion | undefined {
    const r = this.getStmt.get(id) as Row | undefined;
    return r && fromRow(r);
  }

  /** False when there is no such question. */
  setState(id: number, state: QuestionState): boolean {
    return this.stateStmt.run(state, id).changes > 0;
  }
}
