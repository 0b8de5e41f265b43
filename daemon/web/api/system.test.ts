import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { test } from "node:test";
import type { ListedName } from "../../../models/store.ts";
import type { HealthReport } from "../../ops/health.ts";
import { createLog } from "../../ops/log.ts";
import { LogRing } from "../../ops/log-ring.ts";
import type { Route, RouteContext } from "../route.ts";
import { liveRoutes } from "./live.ts";
import { packageVersion, systemRoutes } from "./system.ts";

const report: HealthReport = {
  at: 1,
  cpuLoadPct: 12.5,
  memUsedBytes: 1,
  memTotalBytes: 2,
  diskFreeBytes: 3,
  diskTotalBytes: 4,
  warnings: [],
};

const bundle = (name: string, task: "vad" | "tts", languages: string[]): ListedName => ({
  name,
  source: "built-in",
  dir: `/secret/path/${name}`,
  bundle: {
    dir: `/secret/path/${name}`,
    source: "built-in",
    versions: [],
    manifest: {
      name,
      version: "1.0.0",
      task,
      engine: "x",
      languages,
      sampleRate: 16000,
      files: [{ path: "m.onnx", sha256: "0".repeat(64), bytes: 1 }],
      licence: "MIT",
    },
  },
});

/** Runs a route's handler the way the server does: query through its schema first. */
async function call(r: Route | undefined, rawQuery: Record<string, string> = {}): Promise<unknown> {
  assert.ok(r);
  const query = r.query ? r.query.parse(rawQuery) : {};
  const ctx = { query, params: {}, body: undefined, user: { name: "admin", role: "admin", mustChange: false } };
  return r.handle(ctx as unknown as RouteContext);
}

function routes(opts: { sampled?: boolean } = {}) {
  const ring = new LogRing(50);
  const log = createLog("debug", new Writable({ write: (_c, _e, cb) => cb() }), { ring });
  let samples = 0;
  const rs = systemRoutes({
    configVersion: () => "abc123",
    speech: () => ({ vad: "silero", denoiser: "off", tts: "pico de", asr: "not installed" }),
    models: {
      list: async () => [
        bundle("silero-vad", "vad", ["*"]),
        bundle("pico", "tts", ["de", "en"]),
        { name: "broken", source: "installed", dir: "/x", error: "no active version" },
      ],
    },
    health: {
      current: opts.sampled ? report : undefined,
      sample: async () => {
        samples++;
        return report;
      },
    },
    logs: ring,
    uptimeS: () => 61.4,
  });
  return { rs, log, samples: () => samples };
}

test("GET /api/system: version, config version, uptime, health, speech and models (no paths)", async () => {
  const { rs, samples } = routes();
  const r = rs.find((x) => x.path === "/api/system");
  assert.equal(r?.access, "admin");
  const out = (await call(r)) as Record<string, unknown>;
  assert.equal(out.version, packageVersion());
  assert.match(String(out.version), /^\d+\.\d+\.\d+/);
  assert.equal(out.configVersion, "abc123");
  assert.equal(out.uptimeS, 61);
  assert.deepEqual(out.health, report);
  assert.equal(samples(), 1, "no report yet: sampled once");
  assert.deepEqual(out.models, [
    { task: "vad", name: "silero-vad", version: "1.0.0", source: "built-in" },
    { task: "tts", name: "pico", version: "1.0.0", source: "built-in", language: "de, en" },
    { task: "unknown", name: "broken", version: "", source: "installed", error: "no active version" },
  ]);
  assert.ok(!JSON.stringify(out).includes("/secret/path"));
  assert.equal((out.speech as Record<string, string>).asr, "not installed");
});

test("GET /api/system/logs: newest first, level and limit; bad limit names the parameter", async () => {
  const { rs, log } = routes({ sampled: true });
  const r = rs.find((x) => x.path === "/api/system/logs");
  log.child({ part: "sip" }).info({ password: "pw" }, "one");
  log.warn("two");
  log.error("three");
  const all = (await call(r)) as { items: { msg: string; part?: string; detail?: unknown }[] };
  assert.deepEqual(
    all.items.map((i) => i.msg),
    ["three", "two", "one"],
  );
  assert.equal(all.items[2]?.part, "sip");
  assert.deepEqual(all.items[2]?.detail, { password: "[redacted]" });
  const some = (await call(r, { level: "warn", limit: "1" })) as { items: { msg: string }[] };
  assert.deepEqual(
    some.items.map((i) => i.msg),
    ["three"],
  );
  const bad = r?.query?.safeParse({ limit: "0" });
  assert.equal(bad?.success, false);
  assert.deepEqual(bad?.error?.issues[0]?.path, ["limit"]);
  assert.equal(r?.query?.safeParse({ level: "loud" }).success, false);
});

test("GET /api/live: calls, queues and trunks from their sources", async () => {
  const [r] = liveRoutes({
    registry: { live: () => [{ id: "c1", direction: "inbound", caller: "+49", startedAt: 1, state: "queued" }] },
    queues: { snapshot: () => [{ id: "support", waiting: [], members: [] }] },
    trunks: () => [{ id: "t1", state: "failed", detail: "403 Forbidden" }],
  });
  assert.equal(r?.access, "staff");
  const out = await call(r);
  assert.deepEqual(out, {
    calls: [{ id: "c1", direction: "inbound", caller: "+49", startedAt: 1, state: "queued" }],
    queues: [{ id: "support", waiting: [], members: [] }],
    trunks: [{ id: "t1", state: "failed", detail: "403 Forbidden" }],
  });
  assert.equal(r?.response?.safeParse(out).success, true, "the answer matches its documented schema");
});
