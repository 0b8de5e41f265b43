// Login sessions (table `sessions`). The browser holds a random 32-byte token in the `__Host-sb_session` cookie; the
// table keeps only its SHA-256, so a copy of the database cannot be replayed as a login. Each session has its own
// CSRF token. A session ends after `idleMinutes` without a request or `absoluteHours` after login, whichever first.
import { createHash, randomBytes } from "node:crypto";
import type { IncomingMessage } from "node:http";
import type { Db } from "../../store/db.ts";

export const sessionCookieName = "__Host-sb_session";

export interface SessionLimits {
  idleMinutes: number;
  absoluteHours: number;
}

export interface Session {
  /** sha256(token), hex: what identifies the session server-side (never the token). */
  id: string;
  userName: string;
  csrf: string;
  createdAt: number;
  lastSeenAt: number;
}

interface Row {
  token_hash: string;
  user_name: string;
  csrf_token: string;
  created_at: number;
  last_seen_at: number;
}

/** A request within this long (or a tenth of the idle timeout) of the last recorded one does not write last_seen_at
 * again: each write is an fsync. */
const touchEveryMs = 30_000;

export function hashToken(token: string): string {
  return createHash("sha256").update(token).digest("hex");
}

export class Sessions {
  constructor(
    private readonly db: Db,
    private readonly limits: () => SessionLimits,
    private readonly now: () => number = Date.now,
  ) {}

  /** A new session: the token goes into the cookie and nowhere else. */
  create(userName: string, remoteAddress: string): { token: string; session: Session } {
    const t = this.now();
    this.purgeExpired();
    const token = randomBytes(32).toString("base64url");
    const session: Session = {
      id: hashToken(token),
      userName,
      csrf: randomBytes(32).toString("base64url"),
      createdAt: t,
      lastSeenAt: t,
    };
    this.db
      .prepare(
        `INSERT INTO sessions (token_hash, user_name, csrf_token, created_at, last_seen_at, remote_address)
         VALUES (?, ?, ?, ?, ?, ?)`,
      )
      .run(session.id, userName, session.csrf, t, t, remoteAddress);
    return { token, session };
  }

  /** The live session of a token (and it counts as activity), or undefined when unknown or expired. */
  lookup(token: string): Session | undefined {
    const id = hashToken(token);
    const r = this.db.prepare("SELECT * FROM sessions WHERE token_hash = ?").get(id) as Row | undefined;
    if (!r) return undefined;
    const t = this.now();
    if (this.expired(r, t)) {
      this.db.prepare("DELETE FROM sessions WHERE token_hash = ?").run(id);
      return undefined;
    }
    if (t - r.last_seen_at >= Math.min(touchEveryMs, this.limitsMs().idleMs / 10)) {
      this.db.prepare("UPDATE sessions SET last_seen_at = ? WHERE token_hash = ?").run(t, id);
      r.last_seen_at = t;
    }
    return { id, userName: r.user_name, csrf: r.csrf_token, createdAt: r.created_at, lastSeenAt: r.last_seen_at };
  }

  /** Logout. */
  drop(token: string): void {
    this.db.prepare("DELETE FROM sessions WHERE token_hash = ?").run(hashToken(token));
  }

  /** Every session of a user (password changed or reset), except `keepId` (the session that changed it). */
  dropUser(userName: string, keepId?: string): number {
    return this.db.prepare("DELETE FROM sessions WHERE user_name = ? AND token_hash != ?").run(userName, keepId ?? "")
      .changes;
  }

  purgeExpired(): number {
    const t = this.now();
    const { idleMs, absoluteMs } = this.limitsMs();
    return this.db
      .prepare("DELETE FROM sessions WHERE last_seen_at <= ? OR created_at <= ?")
      .run(t - idleMs, t - absoluteMs).changes;
  }

  private expired(r: Row, t: number): boolean {
    const { idleMs, absoluteMs } = this.limitsMs();
    return t - r.last_seen_at >= idleMs || t - r.created_at >= absoluteMs;
  }

  private limitsMs(): { idleMs: number; absoluteMs: number } {
    const l = this.limits();
    return { idleMs: l.idleMinutes * 60_000, absoluteMs: l.absoluteHours * 3_600_000 };
  }
}

/** The session token a request carries in its cookie, if any. */
export function sessionTokenOf(req: IncomingMessage): string | undefined {
  const header = req.headers.cookie;
  if (!header) return undefined;
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0 && part.slice(0, eq).trim() === sessionCookieName) {
      const value = part.slice(eq + 1).trim();
      return /^[A-Za-z0-9_-]{43}$/.test(value) ? value : undefined;
    }
  }
  return undefined;
}

/** `__Host-` pins the cookie to this origin: Secure, Path=/, no Domain. No Max-Age: it ends with the browser. */
export function sessionCookie(token: string): string {
  return `${sessionCookieName}=${token}; Path=/; Secure; HttpOnly; SameSite=Strict`;
}

export function clearedSessionCookie(): string {
  return `${sessionCookieName}=; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=0`;
}
