// The users of the web page (table `users`): name, role, password hash, the must-change flag, and the failed-login
// count and lock that survive a restart.
import type { Db } from "../../store/db.ts";
import type { Role } from "../route.ts";

export interface User {
  name: string;
  role: Role;
  passwordHash: string;
  mustChange: boolean;
  displayName?: string;
  createdAt: number;
  updatedAt: number;
  failedLogins: number;
  lockedUntil?: number;
}

/** What the API shows of a user: never the hash. */
export interface PublicUser {
  name: string;
  role: Role;
  displayName?: string;
  mustChange: boolean;
  /** Only while the lock lasts. */
  lockedUntil?: number;
}

interface Row {
  name: string;
  role: Role;
  password_hash: string;
  must_change: number;
  display_name: string | null;
  created_at: number;
  updated_at: number;
  failed_logins: number;
  locked_until: number | null;
}

function fromRow(r: Row): User {
  return {
    name: r.name,
    role: r.role,
    passwordHash: r.password_hash,
    mustChange: r.must_change === 1,
    ...(r.display_name !== null && { displayName: r.display_name }),
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    failedLogins: r.failed_logins,
    ...(r.locked_until !== null && { lockedUntil: r.locked_until }),
  };
}

export function publicUser(u: User, now: number): PublicUser {
  return {
    name: u.name,
    role: u.role,
    ...(u.displayName !== undefined && { displayName: u.displayName }),
    mustChange: u.mustChange,
    ...(u.lockedUntil !== undefined && u.lockedUntil > now && { lockedUntil: u.lockedUntil }),
  };
}

export interface UserChange {
  role?: Role;
  /** null clears it. */
  displayName?: string | null;
  passwordHash?: string;
  mustChange?: boolean;
}

export class Users {
  constructor(
    private readonly db: Db,
    private readonly now: () => number = Date.now,
  ) {}

  get(name: string): User | undefined {
    const r = this.db.prepare("SELECT * FROM users WHERE name = ?").get(name) as Row | undefined;
    return r && fromRow(r);
  }

  list(): User[] {
    return (this.db.prepare("SELECT * FROM users ORDER BY name").all() as Row[]).map(fromRow);
  }

  count(): number {
    return (this.db.prepare("SELECT count(*) AS n FROM users").get() as { n: number }).n;
  }

  admins(): number {
    return (this.db.prepare("SELECT count(*) AS n FROM users WHERE role = 'admin'").get() as { n: number }).n;
  }

  /** False when the name is taken. */
  create(u: { name: string; role: Role; passwordHash: string; mustChange: boolean; displayName?: string }): boolean {
    const t = this.now();
    const r = this.db
      .prepare(
        `INSERT INTO users (name, role, password_hash, must_change, display_name, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (name) DO NOTHING`,
      )
      .run(u.name, u.role, u.passwordHash, u.mustChange ? 1 : 0, u.displayName ?? null, t, t);
    return r.changes === 1;
  }

  /** False when there is no such user. */
  update(name: string, c: UserChange): boolean {
    const sets: string[] = ["updated_at = @t"];
    if (c.role !== undefined) sets.push("role = @role");
    if (c.displayName !== undefined) sets.push("display_name = @displayName");
    if (c.passwordHash !== undefined) sets.push("password_hash = @passwordHash");
    if (c.mustChange !== undefined) sets.push("must_change = @mustChange");
    const r = this.db.prepare(`UPDATE users SET ${sets.join(", ")} WHERE name = @name`).run({
      t: this.now(),
      name,
      role: c.role ?? null,
      displayName: c.displayName ?? null,
      passwordHash: c.passwordHash ?? null,
      mustChange: c.mustChange ? 1 : 0,
    });
    return r.changes === 1;
  }

  /** Their sessions go with them (foreign key ON DELETE CASCADE). */
  delete(name: string): boolean {
    return this.db.prepare("DELETE FROM users WHERE name = ?").run(name).changes === 1;
  }

  /** Counts a wrong password; the `max`-th in a row locks the account until `now + lockMs` and starts over. */
  recordFailure(name: string, max: number, lockMs: number): { failures: number; lockedUntil?: number } {
    const u = this.get(name);
    if (!u) return { failures: 0 };
    const failures = u.failedLogins + 1;
    if (failures >= max) {
      const lockedUntil = this.now() + lockMs;
      this.db.prepare("UPDATE users SET failed_logins = 0, locked_until = ? WHERE name = ?").run(lockedUntil, name);
      return { failures, lockedUntil };
    }
    this.db.prepare("UPDATE users SET failed_logins = ? WHERE name = ?").run(failures, name);
    return { failures };
  }

  /** After a successful login, and when an admin unlocks the account. */
  clearFailures(name: string): void {
    this.db.prepare("UPDATE users SET failed_logins = 0, locked_until = NULL WHERE name = ?").run(name);
  }
}
