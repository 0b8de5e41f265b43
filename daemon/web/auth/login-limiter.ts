// Slows down password guessing. Per user name and per client address, failures in a row make the next attempt wait
// exponentially longer (answered 429 with Retry-After, without looking at the password). After `maxFailures` in a row
// an account is locked for `lockoutMinutes`: for real users the count and lock live in the users table (they survive
// a restart); names that do not exist get the same treatment in memory, so the answers do not reveal which exist.
import type { Users } from "./users.ts";

export interface LoginLimits {
  maxFailures: number;
  lockoutMinutes: number;
}

export interface LoginRefusal {
  retryAfterS: number;
  /** The account is locked (not just slowed down). */
  locked: boolean;
}

interface Strikes {
  failures: number;
  last: number;
  lockedUntil?: number;
}

/** Failures that cost nothing, then the wait doubles from 1 s up to the cap. */
const freeFailures = { name: 2, address: 10 };
const maxDelayMs = 5 * 60_000;
/** Strikes are forgotten after this long without a failure. */
const forgetAfterMs = 60 * 60_000;
/** Bound on remembered names and addresses (random names must not grow memory). */
const maxEntries = 10_000;

export function delayAfter(failures: number, free: number): number {
  return failures <= free ? 0 : Math.min(1000 * 2 ** (failures - free - 1), maxDelayMs);
}

export class LoginLimiter {
  private readonly byName = new Map<string, Strikes>();
  private readonly byAddress = new Map<string, Strikes>();

  constructor(
    private readonly users: Users,
    private readonly limits: () => LoginLimits,
    private readonly now: () => number = Date.now,
  ) {}

  /** Undefined: check the password. Otherwise refuse the attempt for that long. */
  gate(name: string, address: string): LoginRefusal | undefined {
    const t = this.now();
    const user = this.users.get(name);
    const nameStrikes = this.strikes(this.byName, name, t);
    const lockedUntil = user ? user.lockedUntil : nameStrikes?.lockedUntil;
    if (lockedUntil !== undefined && lockedUntil > t) return { retryAfterS: seconds(lockedUntil - t), locked: true };
    const byAddress = this.strikes(this.byAddress, address, t);
    const wait = Math.max(
      nameStrikes ? nameStrikes.last + delayAfter(nameStrikes.failures, freeFailures.name) - t : 0,
      byAddress ? byAddress.last + delayAfter(byAddress.failures, freeFailures.address) - t : 0,
    );
    return wait > 0 ? { retryAfterS: seconds(wait), locked: false } : undefined;
  }

  /** A wrong password: returns the lock it caused, if any. */
  failed(name: string, address: string): { lockedUntil?: number } {
    const t = this.now();
    const { maxFailures, lockoutMinutes } = this.limits();
    const lockMs = lockoutMinutes * 60_000;
    this.strike(this.byAddress, address, t);
    const s = this.strike(this.byName, name, t);
    let lockedUntil: number | undefined;
    if (this.users.get(name)) lockedUntil = this.users.recordFailure(name, maxFailures, lockMs).lockedUntil;
    else if (s.failures >= maxFailures) lockedUntil = s.lockedUntil = t + lockMs;
    // A lock starts the count over, the same way for real and unknown names.
    if (lockedUntil !== undefined) s.failures = 0;
    return lockedUntil === undefined ? {} : { lockedUntil };
  }

  succeeded(name: string): void {
    this.byName.delete(name);
    this.users.clearFailures(name);
  }

  /** An admin unlocked the account. */
  unlock(name: string): void {
    this.succeeded(name);
  }

  private strikes(map: Map<string, Strikes>, key: string, t: number): Strikes | undefined {
    const s = map.get(key);
    if (s && t - s.last >= forgetAfterMs && !(s.lockedUntil !== undefined && s.lockedUntil > t)) {
      map.delete(key);
      return undefined;
    }
    return s;
  }

  private strike(map: Map<string, Strikes>, key: string, t: number): Strikes {
    const s = this.strikes(map, key, t) ?? { failures: 0, last: t };
    s.failures++;
    s.last = t;
    map.delete(key); // re-insert: the Map's order is then least recently failed first
    map.set(key, s);
    while (map.size > maxEntries) map.delete(map.keys().next().value as string);
    return s;
  }
}

function seconds(ms: number): number {
  return Math.max(1, Math.ceil(ms / 1000));
}
