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
