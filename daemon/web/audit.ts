// The audit log (table `audit_log`): who changed configuration, exported or deleted data, and managed users, from
// where and when. Entries are only appended; the web page lists them newest first.
import { redactedKeys } from "../ops/log.ts";
import type { Db } from "../store/db.ts";
import type { AuditEntry } from "./route.ts";

export interface AuditItem {
  id: number;
  at: number;
  user: string | null;
  address: string | null;
  action: string;
  target: string | null;
  detail: Record<string, unknown>;
}

interface Row {
  id: number;
  at: number;
  user_name: string | null;
  remote_address: string | null;
  action: string;
  target: string | null;
  detail: string;
}

const secretKey = new RegExp(`(${redactedKeys.join("|")})`, "i");

/** A detail must never carry a secret; keys that look like one are dropped as a last line of defence. */
function withoutSecrets(value: unknown, depth = 0): unknown {
  if (depth > 8 || value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) return value.map((v) => withoutSecrets(v, depth + 1));
  return Object.fromEntries(
    Object.entries(value)
      .filter(([k]) => !secretKey.test(k))
      .map(([k, v]) => [k, withoutSecrets(v, depth + 1)]),
  );
}

export class AuditLog {
  constructor(
    private readonly db: Db,
    private readonly now: () => number = Date.now,
  ) {}

  append(e: AuditEntry & { user?: string; address?: string; at?: number }): number {
    const r = this.db
      .prepare(
        "INSERT INTO audit_log (at, user_name, remote_address, action, target, detail) VALUES (?, ?, ?, ?, ?, ?)",
      )
      .run(
        e.at ?? this.now(),
        e.user ?? null,
        e.address ?? null,
        e.action,
        e.target ?? null,
        JSON.stringify(withoutSecrets(e.detail ?? {})),
      );
    return Number(r.lastInsertRowid);
  }

  /** Newest first; `before` is the id of the oldest item already seen (paging). */
  list(opts: { before?: number; limit: number }): AuditItem[] {
    const rows = this.db
      .prepare("SELECT * FROM audit_log WHERE id < ? ORDER BY id DESC LIMIT ?")
      .all(opts.before ?? Number.MAX_SAFE_INTEGER, opts.limit) as Row[];
    return rows.map((r) => ({
      id: r.id,
      at: r.at,
      user: r.user_name,
      address: r.remote_address,
      action: r.action,
      target: r.target,
      detail: JSON.parse(r.detail) as Record<string, unknown>,
    }));
  }
}
