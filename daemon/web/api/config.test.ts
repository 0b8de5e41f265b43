import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { parseConfig } from "../../config/load.ts";
import type { Config } from "../../config/schema.ts";
import { REDACTED } from "../../config/secrets-mask.ts";
import { AuditLog } from "../audit.ts";
import { startTestWeb } from "../testkit.ts";
import { configRoutes } from "./config.ts";

const configText = `# the box under test
name: web-test

trunks:
  - id: main
    domain: sip.example.net
    username: "4930123"
    password: trunk-secret-1 # keep me

routing:
  windows:
    - id: office
      agent: desk
      weekly: { mon: ["08:00-17:00"] }
    - { id: closed, agent: desk, always: true }

agents:
  - id: desk
    template: voicemail

actions:
  - id: crm
    webhook: { url: "https://crm.example.com/hook", secret: webhook-secret-0123456789 }
`;

async function setup(opts: { refuse?: boolean } = {}) {
  const dir = mkdtempSync(join(tmpdir(), "sb-config-api-"));
  const configFile = join(dir, "switchboard.yaml");
  writeFileSync(configFile, configText);
  let current: Config = parseConfig(configText);
  const applied: Config[] = [];
  const web = await startTestWeb({
    routes: configRoutes({
      configFile,
      current: () => current,
      apply: (next) => {
        if (opts.refuse) throw new Error("agent desk does not compile");
        applied.push(next);
        current = next;
        return { version: "v2", restartNeeded: next.trunks.length ? ["trunks"] : [] };
      },
    }),
  });
  const admin = await web.login("admin");
  return {
    web,
    admin,
    configFile,
    applied,
    text: () => readFileSync(configFile, "utf8"),
    audit: () => new AuditLog(web.db).list({ limit: 10 }),
    async close() {
      await web.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

test("GET shows the file and its defaults with every secret as ********", async () => {
  const t = await setup();
  try {
    const r = await t.admin.get("/api/config");
    assert.equal(r.status, 200);
    for (const s of ["trunk-secret-1", "webhook-secret-0123456789"]) assert.ok(!r.text.includes(s), s);
    const body = r.json<{ version: string; config: Record<string, unknown>; effective: Config }>();
    assert.match(body.version, /^[0-9a-f]{64}$/);
    assert.equal(r.headers.etag, `"${body.version}"`);
    assert.deepEqual(body.config.trunks, [
      { id: "main", domain: "sip.example.net", username: "4930123", password: REDACTED },
    ]);
    assert.equal(body.effective.trunks[0]?.expiresS, 600, "defaults are filled in");
    const one = await t.admin.get(`/api/config/${encodeURIComponent("routing.windows[1]")}`);
    assert.deepEqual(one.json<{ value: unknown }>().value, { id: "closed", agent: "desk", always: true });
    const unknown = await t.admin.get("/api/config/nonsense");
    assert.equal(unknown.status, 404);
    assert.equal(unknown.json<{ where: string }>().where, "path.section");
    const staff = await t.web.login("staff");
    assert.equal((await staff.get("/api/config")).status, 403);
  } finally {
    await t.close();
  }
});

test("PUT: an invalid range is 422 at the field, a valid edit is saved, applied and audited, a stale one is 409", async () => {
  const t = await setup();
  try {
    const { version } = (await t.admin.get("/api/config/routing")).json<{ version: string }>();
    const routing = (await t.admin.get("/api/config/routing")).json<{ value: { windows: object[] } }>().value;
    const bad = structuredClone(routing) as { windows: { weekly?: { mon: string[] } }[] };
    bad.windows[0]!.weekly = { mon: ["08:00-12:00", "25:00-26:00"] };
    const r1 = await t.admin.put("/api/config/routing", { value: bad, version });
    assert.equal(r1.status, 422);
    const e1 = r1.json<{ problems: { path: string; message: string }[] }>();
    assert.deepEqual(
      e1.problems.map((p) => p.path),
      ["routing.windows[0].weekly.mon[1]"],
    );
    assert.equal(t.text(), configText);

    const noVersion = await t.admin.put("/api/config/routing", { value: routing });
    assert.equal(noVersion.status, 428);

    const good = structuredClone(routing) as { windows: { weekly?: { mon: string[] } }[] };
    good.windows[0]!.weekly = { mon: ["08:00-18:00"] };
    const r2 = await t.admin.put("/api/config/routing", { value: good }, { headers: { "if-match": `"${version}"` } });
    assert.equal(r2.status, 200, r2.text);
    const saved = r2.json<{ version: string; changed: string[]; configVersion: string }>();
    assert.notEqual(saved.version, version);
    assert.deepEqual(saved.changed, ["routing.windows[0].weekly.mon[0]"]);
    assert.equal(saved.configVersion, "v2");
    assert.ok(t.text().includes('weekly: { mon: ["08:00-18:00"] }') && t.text().includes("# keep me"));
    assert.deepEqual(t.applied[0]?.routing?.windows[0]?.weekly?.mon, ["08:00-18:00"]);
    const entry = t.audit()[0]!;
    assert.equal(entry.action, "config.update");
    assert.equal(entry.target, "routing");
    assert.equal(entry.user, "admin");
    assert.deepEqual(entry.detail.changed, ["routing.windows[0].weekly.mon[0]"]);

    // A second admin still holding the first version.
    const stale = await t.admin.put("/api/config/name", { value: "mine", version });
    assert.equal(stale.status, 409);
    assert.equal(stale.json<{ where: string }>().where, "version");
    assert.equal(t.applied.length, 1);
  } finally {
    await t.close();
  }
});

test("PUT with ******** keeps the stored secret; secrets never show in answers or the audit", async () => {
  const t = await setup();
  try {
    const got = (await t.admin.get("/api/config/trunks")).json<{ version: string; value: Record<string, unknown>[] }>();
    const trunks = [{ ...got.value[0], domain: "sip.other.net" }];
    const r = await t.admin.put("/api/config/trunks", { value: trunks, version: got.version });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json<{ restartNeeded: string[] }>().restartNeeded, ["trunks"]);
    assert.equal(t.applied[0]?.trunks[0]?.password, "trunk-secret-1");
    assert.ok(t.text().includes("password: trunk-secret-1 # keep me"));
    assert.ok(!JSON.stringify(t.audit()).includes("trunk-secret-1"));
    const again = await t.admin.get("/api/config/trunks");
    assert.ok(!again.text.includes("trunk-secret-1"));
  } finally {
    await t.close();
  }
});

test("a config the daemon refuses is 422 and the previous file stays in place", async () => {
  const t = await setup({ refuse: true });
  try {
    const { version } = (await t.admin.get("/api/config")).json<{ version: string }>();
    const r = await t.admin.put("/api/config/name", { value: "renamed", version });
    assert.equal(r.status, 422);
    assert.match(r.json<{ error: string }>().error, /does not compile/);
    assert.equal(t.text(), configText);
    assert.equal(t.audit().length, 0);
  } finally {
    await t.close();
  }
});

test("POST /api/config/validate answers problems without saving", async () => {
  const t = await setup();
  try {
    const r = await t.admin.post("/api/config/validate", {
      section: "agents",
      value: [{ id: "desk", template: "voicemail", flow: [{ type: "say", text: "Hi", next: "gone" }] }],
    });
    assert.equal(r.status, 200);
    assert.deepEqual(r.json(), {
      problems: [{ path: "agents[0].flow[0].next", message: 'no node with id "gone"' }],
      changed: [],
    });
    const ok = await t.admin.post("/api/config/validate", { section: "name", value: "x" });
    assert.deepEqual(ok.json(), { problems: [], changed: ["name"] });
    assert.equal(t.text(), configText);
  } finally {
    await t.close();
  }
});
