// Numbered schema migrations. Append only: a shipped migration is never edited, a new one is added.
import type Database from "better-sqlite3";

const migrations: readonly string[] = [
  // 1: call detail records
  `CREATE TABLE calls (
     id TEXT PRIMARY KEY,
     direction TEXT NOT NULL CHECK (direction IN ('inbound', 'outbound')),
     trunk TEXT,
     from_uri TEXT NOT NULL,
     from_number TEXT,
     to_uri TEXT NOT NULL,
     did TEXT,
     sip_call_id TEXT NOT NULL,
     transport TEXT,
     remote_address TEXT,
     codec TEXT,
     started_at INTEGER NOT NULL,
     answered_at INTEGER,
     ended_at INTEGER,
     duration_ms INTEGER,
     hangup_cause TEXT,
     hangup_side TEXT CHECK (hangup_side IN ('caller', 'box', 'callee', 'system')),
     sip_status INTEGER,
     recording_path TEXT,
     dtmf_log TEXT NOT NULL DEFAULT '',
     linked_call_id TEXT,
     media_stats TEXT,
     events TEXT NOT NULL DEFAULT '[]'
   );
   CREATE INDEX calls_started ON calls(started_at);
   CREATE INDEX calls_from_number ON calls(from_number);`,
  // 2: the action outbox (side effects a caller triggers, delivered at least once) and the tickets and appointments
  // kept on the box. call_id has no foreign key: retention deletes old calls, their outbox history stays.
  `CREATE TABLE outbox (
     id INTEGER PRIMARY KEY,
     kind TEXT NOT NULL,
     payload TEXT NOT NULL,
     idempotency_key TEXT NOT NULL UNIQUE,
     call_id TEXT,
     state TEXT NOT NULL CHECK (state IN ('pending', 'delivering', 'delivered', 'dead')),
     attempts INTEGER NOT NULL DEFAULT 0,
     max_attempts INTEGER NOT NULL,
     last_error TEXT,
     next_attempt_at INTEGER NOT NULL,
     created_at INTEGER NOT NULL,
     updated_at INTEGER NOT NULL,
     delivered_at INTEGER
   );
   CREATE INDEX outbox_due ON outbox(state, next_attempt_at);
   CREATE INDEX outbox_call ON outbox(call_id);
   CREATE TABLE tickets (
     id TEXT PRIMARY KEY,
     call_id TEXT,
     created_at INTEGER NOT NULL,
     fields TEXT NOT NULL,
     state TEXT NOT NULL CHECK (state IN ('open', 'closed'))
   );
   CREATE INDEX tickets_created ON tickets(created_at);
   CREATE TABLE appointments (
     id TEXT PRIMARY KEY,
     call_id TEXT,
     created_at INTEGER NOT NULL,
     resource TEXT NOT NULL,
     starts_at INTEGER NOT NULL,
     ends_at INTEGER NOT NULL CHECK (ends_at > starts_at),
     fields TEXT NOT NULL,
     state TEXT NOT NULL CHECK (state IN ('booked', 'cancelled'))
   );
   CREATE INDEX appointments_slot ON appointments(resource, starts_at);`,
  // 3: what the flow made of each call (post-call pipeline): agent path, concern, captured data, consent, summary
  `CREATE TABLE call_outcomes (
     call_id TEXT PRIMARY KEY REFERENCES calls(id) ON DELETE CASCADE,
     window_id TEXT,
     window_reason TEXT,
     agents TEXT NOT NULL,
     last_agent TEXT NOT NULL,
     intent TEXT,
     slots TEXT NOT NULL,
     escalation TEXT,
     consent_recording INTEGER,
     consent_via TEXT,
     consent_at_ms INTEGER,
     outcome TEXT NOT NULL,
     transferred_to TEXT,
     actions TEXT NOT NULL,
     transcript TEXT NOT NULL,
     summary TEXT NOT NULL,
     tags TEXT NOT NULL,
     lead_grade TEXT,
     status TEXT NOT NULL DEFAULT 'new' CHECK (status IN ('new', 'in_progress', 'done')),
     created_at INTEGER NOT NULL
   );
   CREATE INDEX call_outcomes_status ON call_outcomes(status, created_at);`,
  // 4: the web page: users with roles, login sessions (only a hash of the token is stored), the audit log of every
  // configuration change, export and deletion, and the questions FAQ agents could not answer (the knowledge queue).
  `CREATE TABLE users (
     name TEXT PRIMARY KEY,
     role TEXT NOT NULL CHECK (role IN ('admin', 'staff')),
     password_hash TEXT NOT NULL,
     must_change INTEGER NOT NULL DEFAULT 0,
     display_name TEXT,
     language TEXT,
     created_at INTEGER NOT NULL,
     updated_at INTEGER NOT NULL,
     failed_logins INTEGER NOT NULL DEFAULT 0,
     locked_until INTEGER
   );
   CREATE TABLE sessions (
     token_hash TEXT PRIMARY KEY,
     user_name TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,
     csrf_token TEXT NOT NULL,
     created_at INTEGER NOT NULL,
     last_seen_at INTEGER NOT NULL,
     remote_address TEXT
   );
   CREATE INDEX sessions_user ON sessions(user_name);
   CREATE TABLE audit_log (
     id INTEGER PRIMARY KEY,
     at INTEGER NOT NULL,
     user_name TEXT,
     remote_address TEXT,
     action TEXT NOT NULL,
     target TEXT,
     detail TEXT NOT NULL DEFAULT '{}'
   );
   CREATE INDEX audit_at ON audit_log(at);
   CREATE TABLE unanswered_questions (
     id INTEGER PRIMARY KEY,
     call_id TEXT,
     agent TEXT NOT NULL,
     language TEXT NOT NULL,
     text TEXT NOT NULL,
     asked_at INTEGER NOT NULL,
     state TEXT NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'answered', 'dismissed'))
   );
   CREATE INDEX unanswered_state ON unanswered_questions(state, asked_at);
   CREATE INDEX call_outcomes_agent ON call_outcomes(last_agent, created_at);
   CREATE INDEX calls_did ON calls(did);`,
  // 5: Chats at 10,000+ calls: partial/covering indexes for the filters, and a trigram full-text index over each
  // call's summary, tags and transcript (substring search, case and accents ignored), kept by triggers. Keyed by
  // calls.rowid: after a VACUUM, chats.rebuildChatSearch(db) renumbers it.
  `CREATE INDEX calls_conversations ON calls(started_at, id) WHERE linked_call_id IS NULL;
   CREATE INDEX call_outcomes_status_call ON call_outcomes(status, call_id);
   CREATE INDEX call_outcomes_agents ON call_outcomes(agents, call_id);
   CREATE VIRTUAL TABLE chat_search USING fts5(summary, tags, transcript,
     content='', contentless_delete=1, tokenize='trigram remove_diacritics 1');
   CREATE TRIGGER chat_search_outcome AFTER INSERT ON call_outcomes BEGIN
     DELETE FROM chat_search WHERE rowid = (SELECT rowid FROM calls WHERE id = new.call_id);
     INSERT INTO chat_search (rowid, summary, tags, transcript)
       SELECT c.rowid, new.summary, (SELECT group_concat(value, ' ') FROM json_each(new.tags)),
       (SELECT group_concat(concat_ws(' ', value ->> 'agent', value ->> 'text'), char(10))
        FROM json_each(new.transcript)) FROM calls c WHERE c.id = new.call_id;
   END;
   CREATE TRIGGER chat_search_call_gone AFTER DELETE ON calls BEGIN
     DELETE FROM chat_search WHERE rowid = old.rowid;
   END;
   INSERT INTO chat_search (rowid, summary, tags, transcript)
     SELECT c.rowid, o.summary, (SELECT group_concat(value, ' ') FROM json_each(o.tags)),
     (SELECT group_concat(concat_ws(' ', value ->> 'agent', value ->> 'text'), char(10))
      FROM json_each(o.transcript)) FROM call_outcomes o JOIN calls c ON c.id = o.call_id;`,
];

export function migrate(db: Database.Database): number {
  const current = db.pragma("user_version", { simple: true }) as number;
  if (current > migrations.length) {
    throw new Error(`database schema version ${current} is newer than this software (${migrations.length})`);
  }
  for (let v = current; v < migrations.length; v++) {
    db.transaction(() => {
      db.exec(migrations[v]);
      db.pragma(`user_version = ${v + 1}`);
    })();
  }
  return migrations.length;
}
