import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { openDb } from "../../store/db.ts";
import { hashToken, Sessions } from "./sessions.ts";
import { Users } from "./users.ts";

function setup(limits = { idleMinutes: 30, absoluteHours: 12 }) {
  const db = openDb(":memory:");
  const clock = { t: 1_700_000_000_000 };
  const now = () => clock.t;
  const users = new Users(db, now);
  users.create({ name: "ann", role: "admin", passwordHash: "x", mustChange: false });
  users.create({ name: "bob", role: "staff", passwordHash: "x", mustChange: false });
  return { db, clock, users, sessions: new Sessions(db, () => limits, now) };
}

describe("sessions", () => {
  it("stores only the token's hash and a per-session CSRF token", () => {
    const { db, sessions } = setup();
    const a = sessions.create("ann", "192.0.2.1");
    const b = sessions.create("ann", "192.0.2.1");
    assert.equal(Buffer.from(a.token, "base64url").length, 32);
    assert.notEqual(a.token, b.token);
    assert.notEqual(a.session.csrf, b.session.csrf);
    const rows = db.prepare("SELECT * FROM sessions").all() as Record<string, unknown>[];
    assert.equal(rows.length, 2);
    for (const r of rows) assert.ok(!Object.values(r).includes(a.token) && !Object.values(r).includes(b.token));
    assert.equal(rows.filter((r) => r.token_hash === hashToken(a.token)).length, 1);
    assert.equal(sessions.lookup(a.token)?.userName, "ann");
    assert.equal(sessions.lookup("not-a-token"), undefined);
  });

  it("ends after the idle timeout, and activity keeps it alive", () => {
    const { clock, sessions } = setup();
    const { token } = sessions.create("ann", "a");
    clock.t += 29 * 60_000;
    assert.ok(sessions.lookup(token), "29 min idle is fine");
    clock.t += 29 * 60_000;
    assert.ok(sessions.lookup(token), "29 min after the last request is fine too");
    clock.t += 30 * 60_000;
    assert.equal(sessions.lookup(token), undefined, "30 min idle ends it");
    clock.t -= 30 * 60_000;
    assert.equal(sessions.lookup(token), undefined, "an ended session stays ended");
  });

  it("ends after the absolute timeout however active", () => {
    const { clock, sessions } = setup({ idleMinutes: 30, absoluteHours: 2 });
    const { token } = sessions.create("ann", "a");
    for (let i = 0; i < 11; i++) {
      clock.t += 10 * 60_000;
      assert.ok(sessions.lookup(token), `after ${(i + 1) * 10} min`);
    }
    clock.t += 10 * 60_000; // 120 min
    assert.equal(sessions.lookup(token), undefined);
  });

  it("drops all sessions of a user except the one kept, and logout drops one", () => {
    const { sessions } = setup();
    const keep = sessions.create("ann", "a");
    const other = sessions.create("ann", "b");
    const bob = sessions.create("bob", "c");
    assert.equal(sessions.dropUser("ann", keep.session.id), 1);
    assert.ok(sessions.lookup(keep.token));
    assert.equal(sessions.lookup(other.token), undefined);
    assert.ok(sessions.lookup(bob.token));
    sessions.drop(bob.token);
    assert.equal(sessions.lookup(bob.token), undefined);
  });

  it("deleting a user ends their sessions", () => {
    const { users, sessions } = setup();
    const { token } = sessions.create("bob", "a");
    users.delete("bob");
    assert.equal(sessions.lookup(token), undefined);
  });

  it("purges expired sessions when a new one is made", () => {
    const { db, clock, sessions } = setup();
    sessions.create("ann", "a");
    clock.t += 31 * 60_000;
    sessions.create("bob", "b");
    assert.equal((db.prepare("SELECT count(*) AS n FROM sessions").get() as { n: number }).n, 1);
  });
});
