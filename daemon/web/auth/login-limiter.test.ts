import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { openDb } from "../../store/db.ts";
import { delayAfter, LoginLimiter } from "./login-limiter.ts";
import { Users } from "./users.ts";

function setup(limits = { maxFailures: 5, lockoutMinutes: 15 }) {
  const db = openDb(":memory:");
  const clock = { t: 1_700_000_000_000 };
  const now = () => clock.t;
  const users = new Users(db, now);
  users.create({ name: "ann", role: "admin", passwordHash: "x", mustChange: false });
  return { clock, users, limiter: new LoginLimiter(users, () => limits, now) };
}

describe("login limiter", () => {
  it("delays grow exponentially after the free failures, up to a cap", () => {
    assert.deepEqual(
      [1, 2, 3, 4, 5, 6].map((n) => delayAfter(n, 2)),
      [0, 0, 1000, 2000, 4000, 8000],
    );
    assert.equal(delayAfter(40, 2), 300_000);
  });

  it("slows down a name, then locks a real account in the users table for lockoutMinutes", () => {
    const { clock, users, limiter } = setup();
    const failAndWait = () => {
      limiter.failed("ann", "192.0.2.1");
      const r = limiter.gate("ann", "192.0.2.1");
      if (r && !r.locked) clock.t += r.retryAfterS * 1000;
      return r;
    };
    assert.equal(limiter.gate("ann", "192.0.2.1"), undefined);
    assert.equal(failAndWait(), undefined);
    assert.equal(failAndWait(), undefined);
    assert.deepEqual(failAndWait(), { retryAfterS: 1, locked: false });
    assert.deepEqual(failAndWait(), { retryAfterS: 2, locked: false });
    assert.equal(users.get("ann")?.failedLogins, 4);
    const locked = failAndWait();
    assert.deepEqual(locked, { retryAfterS: 15 * 60, locked: true });
    assert.ok((users.get("ann")?.lockedUntil ?? 0) > clock.t, "the lock is stored with the user");
    clock.t += 14 * 60_000;
    assert.equal(limiter.gate("ann", "192.0.2.1")?.locked, true);
    clock.t += 60_000;
    assert.equal(limiter.gate("ann", "192.0.2.1"), undefined, "the lock ends");
  });

  it("treats unknown names the same way (in memory), so answers do not reveal which names exist", () => {
    const { limiter } = setup({ maxFailures: 3, lockoutMinutes: 10 });
    limiter.failed("ghost", "a");
    limiter.failed("ghost", "a");
    assert.equal(limiter.gate("ghost", "a"), undefined);
    limiter.failed("ghost", "a");
    assert.deepEqual(limiter.gate("ghost", "a"), { retryAfterS: 600, locked: true });
  });

  it("a success clears the count; an admin unlock clears the lock", () => {
    const { users, limiter } = setup({ maxFailures: 2, lockoutMinutes: 10 });
    limiter.failed("ann", "a");
    limiter.succeeded("ann");
    assert.equal(users.get("ann")?.failedLogins, 0);
    limiter.failed("ann", "a");
    limiter.failed("ann", "a");
    assert.equal(limiter.gate("ann", "a")?.locked, true);
    limiter.unlock("ann");
    assert.equal(users.get("ann")?.lockedUntil, undefined);
    assert.equal(limiter.gate("ann", "a"), undefined);
  });

  it("slows down an address guessing many names", () => {
    const { limiter } = setup();
    for (let i = 0; i < 10; i++) limiter.failed(`user${i}`, "198.51.100.7");
    assert.equal(limiter.gate("someone", "198.51.100.7"), undefined, "ten failures are free for an address");
    limiter.failed("user10", "198.51.100.7");
    assert.deepEqual(limiter.gate("someone", "198.51.100.7"), { retryAfterS: 1, locked: false });
    assert.equal(limiter.gate("someone", "203.0.113.1"), undefined, "another address is not slowed");
  });
});
