// Login, logout, the session, password change, user management (admin), the audit log (admin) and the OpenAPI
// document. Every change to users is audited; passwords and tokens never leave this module except as the cookie.
import { readFileSync } from "node:fs";
import { z } from "zod";
import { AuditLog } from "../audit.ts";
import { FirstBoot, firstBootUser } from "../auth/first-boot.ts";
import { LoginLimiter } from "../auth/login-limiter.ts";
import { decoyHash, hashPassword, maxPasswordLength, verifyPassword } from "../auth/passwords.ts";
import { clearedSessionCookie, sessionCookie, Sessions, sessionTokenOf } from "../auth/sessions.ts";
import { publicUser, type UserChange, Users } from "../auth/users.ts";
import { openApiDocument } from "../openapi.ts";
import { HttpError, type Route, type RouteContext, route } from "../route.ts";
import type { WebDeps } from "../routes.ts";

const roleSchema = z.enum(["admin", "staff"]);
const userName = z
  .string()
  .regex(
    /^[a-z0-9][a-z0-9._-]{0,63}$/,
    "1-64 lowercase letters, digits, '.', '_' or '-', starting with a letter or digit",
  );
const newPassword = z
  .string()
  .min(10, "at least 10 characters")
  .max(maxPasswordLength, `at most ${maxPasswordLength} characters`);
const displayName = z.string().trim().min(1).max(100);

const sessionUserSchema = z.object({ name: z.string(), role: roleSchema, mustChange: z.boolean() });
const userSchema = z.object({
  name: z.string(),
  role: roleSchema,
  displayName: z.string().optional(),
  mustChange: z.boolean(),
  lockedUntil: z.number().int().optional().describe("ms since epoch, only while locked"),
});
const sessionAnswer = z.object({ user: sessionUserSchema, csrf: z.string() });

export function authRoutes(deps: WebDeps, allRoutes: () => Route[]): Route[] {
  const now = deps.now ?? Date.now;
  const users = new Users(deps.db, now);
  const sessions = new Sessions(deps.db, () => deps.config().web.session, now);
  const limiter = new LoginLimiter(users, () => deps.config().web.login, now);
  const firstBoot = new FirstBoot(deps.dataDir, users, now, deps.scryptCost);
  const audit = new AuditLog(deps.db, now);
  const hash = (password: string) => hashPassword(password, deps.scryptCost);
  const log = deps.log;

  const refuseIfLimited = (ctx: RouteContext, name: string) => {
    const refusal = limiter.gate(name, ctx.remoteAddress);
    if (!refusal) return;
    ctx.res.setHeader("retry-after", String(refusal.retryAfterS));
    throw refusal.locked
      ? new HttpError(429, `account locked after too many wrong passwords; try again in ${minutes(refusal)}`, "user")
      : new HttpError(429, `too many wrong passwords; wait ${refusal.retryAfterS} s`, "password");
  };
  const wrongPassword = (ctx: RouteContext, name: string, where: string, message: string, status: number) => {
    const { lockedUntil } = limiter.failed(name, ctx.remoteAddress);
    const known = users.get(name) !== undefined;
    log.info({ ...(known && { user: name }), address: ctx.remoteAddress, locked: lockedUntil !== undefined }, message);
    if (lockedUntil !== undefined) refuseIfLimited(ctx, name);
    return new HttpError(status, message, where);
  };
  const existing = (name: string) => {
    const u = users.get(name);
    if (!u) throw new HttpError(404, `no user "${name}"`, "path.name");
    return u;
  };
  const currentSessionId = (ctx: RouteContext) => {
    const token = sessionTokenOf(ctx.req);
    return token ? sessions.lookup(token)?.id : undefined;
  };

  return [
    route<unknown, { user: string; password: string }>({
      method: "POST",
      path: "/api/login",
      access: "public",
      tag: "auth",
      summary: `Log in; sets the session cookie. First start: user "${firstBootUser}" with the one-time secret.`,
      body: z.object({ user: z.string().min(1).max(64), password: z.string().min(1).max(maxPasswordLength) }).strict(),
      response: sessionAnswer,
      async handle(ctx) {
        const { user: name, password } = ctx.body;
        refuseIfLimited(ctx, name);
        const u = users.get(name);
        // Unknown names cost the same scrypt time, so the answer time does not tell which names exist.
        const ok = await verifyPassword(password, u?.passwordHash ?? (await decoyHash()));
        if (!u || !ok) throw wrongPassword(ctx, name, "password", "wrong user name or password", 401);
        limiter.succeeded(u.name);
        const old = sessionTokenOf(ctx.req);
        if (old) sessions.drop(old); // a login never continues a session it did not create
        const { token, session } = sessions.create(u.name, ctx.remoteAddress);
        ctx.res.setHeader("set-cookie", sessionCookie(token));
        log.info({ user: u.name, address: ctx.remoteAddress, mustChange: u.mustChange }, "login");
        return { user: { name: u.name, role: u.role, mustChange: u.mustChange }, csrf: session.csrf };
      },
    }),
    route({
      method: "POST",
      path: "/api/logout",
      access: "staff",
      tag: "auth",
      summary: "End this session.",
      handle(ctx) {
        const token = sessionTokenOf(ctx.req);
        if (token) sessions.drop(token);
        ctx.res.setHeader("set-cookie", clearedSessionCookie());
      },
    }),
    route({
      method: "GET",
      path: "/api/session",
      access: "staff",
      tag: "auth",
      summary: "The logged-in user and the session's CSRF token; 401 without a session.",
      response: sessionAnswer,
      handle(ctx) {
        const token = sessionTokenOf(ctx.req);
        const session = token ? sessions.lookup(token) : undefined;
        if (!session || !ctx.user) throw new HttpError(401, "not logged in", "session");
        return { user: ctx.user, csrf: session.csrf };
      },
    }),
    route<unknown, { current: string; next: string }>({
      method: "POST",
      path: "/api/password",
      access: "staff",
      tag: "auth",
      summary: "Replace the own password (required after first boot or a reset). Other sessions of the user end.",
      body: z.object({ current: z.string().min(1).max(maxPasswordLength), next: newPassword }).strict(),
      async handle(ctx) {
        const name = ctx.user?.name as string;
        refuseIfLimited(ctx, name);
        const u = existing(name);
        if (!(await verifyPassword(ctx.body.current, u.passwordHash)))
          throw wrongPassword(ctx, name, "body.current", "the current password is wrong", 400);
        if (ctx.body.next === ctx.body.current)
          throw new HttpError(400, "the new password must differ from the current one", "body.next");
        if (await firstBoot.isSecret(ctx.body.next))
          throw new HttpError(400, "the new password must not be the first-boot secret", "body.next");
        users.update(name, { passwordHash: await hash(ctx.body.next), mustChange: false });
        sessions.dropUser(name, currentSessionId(ctx));
        if (u.name === firstBootUser && u.mustChange) firstBoot.replaced();
        ctx.audit({ action: "user.password", target: name });
      },
    }),
    route({
      method: "GET",
      path: "/api/users",
      access: "admin",
      tag: "users",
      summary: "All users.",
      response: z.array(userSchema),
      handle: () => users.list().map((u) => publicUser(u, now())),
    }),
    route<unknown, { name: string; role: "admin" | "staff"; password: string; displayName?: string }>({
      method: "POST",
      path: "/api/users",
      access: "admin",
      tag: "users",
      summary: "Create a user; they must replace the given password at their first login.",
      body: z
        .object({ name: userName, role: roleSchema, password: newPassword, displayName: displayName.optional() })
        .strict(),
      response: userSchema,
      async handle(ctx) {
        const { name, role, password } = ctx.body;
        const created = users.create({
          name,
          role,
          passwordHash: await hash(password),
          mustChange: true,
          ...(ctx.body.displayName !== undefined && { displayName: ctx.body.displayName }),
        });
        if (!created) throw new HttpError(409, `user "${name}" exists`, "body.name");
        ctx.audit({ action: "user.create", target: name, detail: { role } });
        ctx.res.statusCode = 201;
        return publicUser(existing(name), now());
      },
    }),
    route<unknown, { role?: "admin" | "staff"; displayName?: string | null; password?: string; unlock?: true }>({
      method: "PATCH",
      path: "/api/users/:name",
      access: "admin",
      tag: "users",
      summary: "Change a user's role or display name, reset their password (they must replace it), or unlock them.",
      body: z
        .object({
          role: roleSchema.optional(),
          displayName: displayName.nullable().optional(),
          password: newPassword.optional(),
          unlock: z.literal(true).optional(),
        })
        .strict()
        .refine((b) => Object.keys(b).length > 0, "nothing to change"),
      response: userSchema,
      async handle(ctx) {
        const u = existing(ctx.params.name);
        const b = ctx.body;
        if (b.role === "staff" && u.role === "admin" && users.admins() <= 1)
          throw new HttpError(409, "the last admin cannot become staff", "body.role");
        const change: UserChange = {};
        if (b.role !== undefined) change.role = b.role;
        if (b.displayName !== undefined) change.displayName = b.displayName;
        if (b.password !== undefined) Object.assign(change, { passwordHash: await hash(b.password), mustChange: true });
        users.update(u.name, change);
        if (b.password !== undefined)
          sessions.dropUser(u.name, u.name === ctx.user?.name ? currentSessionId(ctx) : undefined);
        if (b.unlock) limiter.unlock(u.name);
        const changed = Object.keys(b).map((k) => (k === "password" ? "passwordReset" : k));
        ctx.audit({ action: "user.update", target: u.name, detail: { changed, ...(b.role && { role: b.role }) } });
        return publicUser(existing(u.name), now());
      },
    }),
    route({
      method: "DELETE",
      path: "/api/users/:name",
      access: "admin",
      tag: "users",
      summary: "Delete a user (not yourself, not the last admin); their sessions end.",
      handle(ctx) {
        const u = existing(ctx.params.name);
        if (u.name === ctx.user?.name) throw new HttpError(409, "you cannot delete yourself", "path.name");
        if (u.role === "admin" && users.admins() <= 1)
          throw new HttpError(409, "the last admin cannot be deleted", "path.name");
        users.delete(u.name);
        ctx.audit({ action: "user.delete", target: u.name, detail: { role: u.role } });
      },
    }),
    route<{ before?: number; limit: number }>({
      method: "GET",
      path: "/api/audit",
      access: "admin",
      tag: "audit",
      summary: "The audit log, newest first; page with before = the id of the oldest item seen (nextBefore).",
      query: z
        .object({
          before: z.coerce.number().int().positive().optional(),
          limit: z.coerce.number().int().min(1).max(500).default(100),
        })
        .strict(),
      response: z.object({
        items: z.array(
          z.object({
            id: z.number().int(),
            at: z.number().int(),
            user: z.string().nullable(),
            address: z.string().nullable(),
            action: z.string(),
            target: z.string().nullable(),
            detail: z.record(z.string(), z.unknown()),
          }),
        ),
        nextBefore: z.number().int().optional(),
      }),
      handle(ctx) {
        const items = audit.list({ before: ctx.query.before, limit: ctx.query.limit });
        const last = items.at(-1);
        return { items, ...(items.length === ctx.query.limit && last && { nextBefore: last.id }) };
      },
    }),
    route({
      method: "GET",
      path: "/api/openapi.json",
      access: "public",
      tag: "meta",
      summary: "This API as an OpenAPI 3.1 document.",
      handle: () => openApiDocument(allRoutes(), { version: deps.version ?? packageVersion() }),
    }),
  ];
}

function minutes(r: { retryAfterS: number }): string {
  return r.retryAfterS < 120 ? `${r.retryAfterS} s` : `${Math.ceil(r.retryAfterS / 60)} min`;
}

let version: string | undefined;
function packageVersion(): string {
  version ??= (
    JSON.parse(readFileSync(new URL("../../../package.json", import.meta.url), "utf8")) as { version: string }
  ).version;
  return version;
}
