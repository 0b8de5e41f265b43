import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { startTestWeb, type TestWeb } from "./testkit.ts";

interface AuditItems {
  items: { id: number; at: number; user: string; address: string; action: string; target: string; detail: object }[];
  nextBefore?: number;
}

describe("auth API: first boot", () => {
  let web: TestWeb;
  before(async () => {
    web = await startTestWeb({ users: false });
  });
  after(() => web.close());

  it("the generated secret is printed once, works until replaced (403 elsewhere meanwhile), then fails", async () => {
    const printed = web.console.join("");
    const secret = /^\s+([2-9a-z]{5}(?:-[2-9a-z]{5}){3})$/m.exec(printed)?.[1];
    assert.ok(secret, printed);
    assert.match(printed, new RegExp(web.fingerprint));

    const admin = web.anonymous();
    const login = await admin.post("/api/login", { user: "admin", password: secret });
    assert.equal(login.status, 200);
    assert.deepEqual(login.json().user, { name: "admin", role: "admin", mustChange: true });
    admin.csrf = login.json<{ csrf: string }>().csrf;

    for (const path of ["/api/users", "/api/audit"]) {
      const r = await admin.get(path);
      assert.equal(r.status, 403, path);
      assert.deepEqual(r.json(), { error: "password must be replaced", where: "password" });
    }
    assert.equal((await admin.get("/api/session")).status, 200);

    const reuse = await admin.post("/api/password", { current: secret, next: secret });
    assert.equal(reuse.status, 400);
    assert.equal(reuse.json().where, "body.next");
    const short = await admin.post("/api/password", { current: secret, next: "short" });
    assert.equal(short.json().where, "body.next");
    const wrong = await admin.post("/api/password", { current: "not-the-secret", next: "a good new password" });
    assert.equal(wrong.json().where, "body.current");
    assert.equal((await admin.post("/api/password", { current: secret, next: "a good new password" })).status, 204);

    assert.equal((await admin.get("/api/users")).status, 200, "the same session goes on, no longer restricted");
    const again = await web.anonymous().post("/api/login", { user: "admin", password: secret });
    assert.equal(again.status, 401, "the secret is spent");
    const fresh = await web.login("admin", "a good new password");
    assert.equal((await fresh.get("/api/session")).json<{ user: { mustChange: boolean } }>().user.mustChange, false);
    // Nobody can pick the old secret later either.
    const back = await fresh.post("/api/password", { current: "a good new password", next: secret });
    assert.equal(back.status, 400);
  });
});

describe("auth API: provisioned first-boot secret", () => {
  it("comes from <dataDir>/first-boot-secret, is not printed, and the file is gone", async () => {
    const web = await startTestWeb({ users: false, files: { "first-boot-secret": "bundle-secret-0123456789\n" } });
    try {
      assert.doesNotMatch(web.console.join(""), /bundle-secret/);
      assert.equal(existsSync(join(web.dataDir, "first-boot-secret")), false);
      const c = await web.login("admin", "bundle-secret-0123456789");
      assert.equal((await c.get("/api/session")).json<{ user: { mustChange: boolean } }>().user.mustChange, true);
    } finally {
      await web.close();
    }
  });
});

describe("auth API: login, sessions and users", () => {
  const clock = { t: Date.now() };
  let web: TestWeb;
  before(async () => {
    web = await startTestWeb({
      now: () => clock.t,
      config: {
        web: { login: { maxFailures: 4, lockoutMinutes: 15 }, session: { idleMinutes: 30, absoluteHours: 2 } },
      },
    });
  });
  after(() => web.close());

  it("login sets a __Host- cookie (Secure, HttpOnly, SameSite=Strict) and answers user and CSRF token", async () => {
    const c = web.anonymous();
    const r = await c.post("/api/login", { user: "staff", password: "staff-password-1" });
    assert.equal(r.status, 200);
    const cookie = String(r.headers["set-cookie"]);
    assert.match(cookie, /^__Host-sb_session=[A-Za-z0-9_-]{43}; Path=\/; Secure; HttpOnly; SameSite=Strict$/);
    const body = r.json<{ user: object; csrf: string }>();
    assert.deepEqual(body.user, { name: "staff", role: "staff", mustChange: false });
    assert.ok(!r.text.includes(c.token ?? "?"), "the token is only in the cookie");
    assert.equal((await c.get("/api/session")).json().csrf, body.csrf);
  });

  it("logout ends the session", async () => {
    const c = await web.login("staff");
    assert.equal((await c.post("/api/logout")).status, 204);
    assert.equal(c.token, undefined, "the cookie is cleared");
    assert.equal((await web.anonymous().get("/api/session")).status, 401);
  });

  it("a login POST must be JSON and same-origin", async () => {
    const form = await web.anonymous().request("POST", "/api/login", {
      raw: "user=staff&password=staff-password-1",
      headers: { "content-type": "application/x-www-form-urlencoded" },
    });
    assert.equal(form.status, 415);
    const cross = await web
      .anonymous()
      .post("/api/login", { user: "staff", password: "staff-password-1" }, { headers: { origin: "https://evil" } });
    assert.equal(cross.status, 403);
  });

  it("sessions end after the idle timeout and after the absolute timeout", async () => {
    const c = await web.login("staff");
    clock.t += 29 * 60_000;
    assert.equal((await c.get("/api/session")).status, 200);
    clock.t += 30 * 60_000;
    assert.equal((await c.get("/api/session")).status, 401);
    const d = await web.login("staff");
    for (let i = 0; i < 6; i++) {
      clock.t += 20 * 60_000;
      assert.equal((await d.get("/api/session")).status, i < 5 ? 200 : 401, `after ${(i + 1) * 20} min`);
    }
  });

  it("wrong passwords: 401, then 429 with Retry-After, then the account is locked", async () => {
    const c = web.anonymous();
    const attempt = (password: string) => c.post("/api/login", { user: "staff", password });
    assert.equal((await attempt("wrong-1")).status, 401);
    assert.equal((await attempt("wrong-2")).status, 401);
    const third = await attempt("wrong-3");
    assert.equal(third.status, 401);
    assert.deepEqual(third.json(), { error: "wrong user name or password", where: "password" });
    const slowed = await attempt("staff-password-1");
    assert.equal(slowed.status, 429, "too soon: refused without looking at the password");
    assert.equal(slowed.headers["retry-after"], "1");
    clock.t += 1000;
    const locked = await attempt("wrong-4");
    assert.equal(locked.status, 429);
    assert.equal(locked.headers["retry-after"], String(15 * 60));
    assert.match(String(locked.json().error), /locked/);
    clock.t += 10 * 60_000;
    assert.equal((await attempt("staff-password-1")).status, 429, "locked even with the right password");
    const admin = await web.login("admin");
    const listed = (await admin.get("/api/users")).json<{ name: string; lockedUntil?: number }[]>();
    assert.ok(listed.find((u) => u.name === "staff")?.lockedUntil);
    clock.t += 5 * 60_000;
    assert.equal((await attempt("staff-password-1")).status, 200, "the lock ends");
  });

  it("an admin unlocks a locked account", async () => {
    const c = web.anonymous();
    for (let i = 0; i < 4; i++) {
      await c.post("/api/login", { user: "staff", password: `nope-${i}` });
      clock.t += 10_000;
    }
    assert.equal((await c.post("/api/login", { user: "staff", password: "staff-password-1" })).status, 429);
    const admin = await web.login("admin");
    const r = await admin.patch("/api/users/staff", { unlock: true });
    assert.equal(r.status, 200);
    assert.equal(r.json().lockedUntil, undefined);
    assert.equal((await c.post("/api/login", { user: "staff", password: "staff-password-1" })).status, 200);
  });

  it("unknown users get the same answer as a wrong password", async () => {
    const r = await web.anonymous().post("/api/login", { user: "nobody", password: "whatever-pw" });
    assert.equal(r.status, 401);
    assert.deepEqual(r.json(), { error: "wrong user name or password", where: "password" });
  });

  it("admins create, change and delete users; each change is audited", async () => {
    const admin = await web.login("admin");
    const created = await admin.post("/api/users", {
      name: "bob",
      role: "staff",
      password: "bob-initial-pw",
      displayName: "Bob B.",
    });
    assert.equal(created.status, 201);
    assert.deepEqual(created.json(), { name: "bob", role: "staff", displayName: "Bob B.", mustChange: true });
    assert.equal((await admin.post("/api/users", { name: "bob", role: "staff", password: "0123456789" })).status, 409);
    const badName = await admin.post("/api/users", { name: "Bob Smith", role: "staff", password: "0123456789" });
    assert.equal(badName.json().where, "body.name");

    const bob = await web.login("bob", "bob-initial-pw");
    assert.equal((await bob.get("/api/session")).status, 200);
    const changed = await admin.patch("/api/users/bob", { role: "admin", displayName: null });
    assert.deepEqual(changed.json(), { name: "bob", role: "admin", mustChange: true });
    assert.equal((await admin.patch("/api/users/bob", { password: "reset-by-admin" })).status, 200);
    assert.equal((await bob.get("/api/session")).status, 401, "a reset ends the user's sessions");
    assert.equal((await admin.patch("/api/users/nobody", { role: "staff" })).status, 404);
    assert.equal((await admin.patch("/api/users/bob", {})).status, 400);

    assert.equal((await admin.delete("/api/users/bob")).status, 204);
    assert.equal((await admin.delete("/api/users/bob")).status, 404);
    const self = await admin.delete("/api/users/admin");
    assert.equal(self.status, 409);
    assert.equal((await admin.patch("/api/users/admin", { role: "staff" })).status, 409, "the last admin stays");

    const audit = (await admin.get("/api/audit?limit=10")).json<AuditItems>().items;
    const actions = audit.filter((i) => i.target === "bob").map((i) => i.action);
    assert.deepEqual(actions, ["user.delete", "user.update", "user.update", "user.create"]);
    const del = audit.find((i) => i.action === "user.delete");
    assert.equal(del?.user, "admin");
    assert.equal(del?.address, "127.0.0.1");
    assert.equal(del?.at, clock.t);
    assert.ok(!JSON.stringify(audit).includes("reset-by-admin"), "no password in the audit log");
  });

  it("the audit log pages with before/nextBefore and validates its query", async () => {
    const admin = await web.login("admin");
    const first = (await admin.get("/api/audit?limit=2")).json<AuditItems>();
    assert.equal(first.items.length, 2);
    assert.ok(first.nextBefore);
    const next = (await admin.get(`/api/audit?limit=2&before=${first.nextBefore}`)).json<AuditItems>();
    assert.ok(next.items.every((i) => i.id < (first.nextBefore ?? 0)));
    const bad = await admin.get("/api/audit?limit=0");
    assert.equal(bad.status, 400);
    assert.equal(bad.json().where, "query.limit");
  });

  it("a password change ends the user's other sessions but not this one", async () => {
    const a = await web.login("staff");
    const b = await web.login("staff");
    assert.equal(
      (await a.post("/api/password", { current: "staff-password-1", next: "staff-password-2" })).status,
      204,
    );
    assert.equal((await a.get("/api/session")).status, 200);
    assert.equal((await b.get("/api/session")).status, 401);
    assert.equal(
      (await web.anonymous().post("/api/login", { user: "staff", password: "staff-password-1" })).status,
      401,
    );
    await web.login("staff", "staff-password-2");
  });

  it("serves the OpenAPI document of all routes, publicly", async () => {
    const doc = (await web.anonymous().get("/api/openapi.json")).json<{
      openapi: string;
      paths: Record<string, Record<string, unknown>>;
    }>();
    assert.equal(doc.openapi, "3.1.0");
    assert.deepEqual(Object.keys(doc.paths["/api/users/{name}"]).sort(), ["delete", "patch"]);
    for (const p of ["/api/login", "/api/logout", "/api/session", "/api/password", "/api/users", "/api/audit"])
      assert.ok(doc.paths[p], p);
    assert.ok(doc.paths["/api/openapi.json"].get);
  });
});
