import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { ConfigError, loadConfig, parseConfig } from "../config/load.ts";
import { loadScript, scriptSchema, simulate } from "./simulator.ts";

const root = new URL("../../", import.meta.url).pathname;
const config = loadConfig(join(root, "examples/receptionist.yaml"));
const scripts = readdirSync(join(root, "examples/sim"))
  .filter((f) => f.endsWith(".yaml"))
  .sort();

test("the shipped example scripts cover German and English and every template", () => {
  assert.ok(scripts.some((s) => s.startsWith("de-")) && scripts.some((s) => s.startsWith("en-")));
  const reached = new Set<string>();
  for (const s of scripts)
    for (const a of loadScript(join(root, "examples/sim", s)).expect.agents ?? []) reached.add(a);
  for (const s of scripts) {
    const a = loadScript(join(root, "examples/sim", s)).expect.agent;
    if (a) reached.add(a);
  }
  const templates = new Set(config.agents.filter((a) => reached.has(a.id)).map((a) => a.template));
  assert.deepEqual([...templates].sort(), ["faq", "human", "operator", "voicemail", "workflow"]);
});

for (const s of scripts) {
  test(`example script ${s} meets its expectations`, async () => {
    const r = await simulate(config, loadScript(join(root, "examples/sim", s)));
    assert.deepEqual(r.failures, [], `${r.transcript}\n${r.ctx.events.join("\n")}`);
  });
}

test("a failing expectation is reported, naming what differed", async () => {
  const script = scriptSchema.parse({
    call: { at: "2026-11-24T09:15:00+01:00" },
    caller: [{ hangup: true }],
    expect: { window: "closed", said: ["something never said"] },
  });
  const r = await simulate(config, script);
  assert.ok(
    r.failures.some((f) => f.startsWith('window: expected "closed", got "business-hours"')),
    r.failures.join(),
  );
  assert.ok(r.failures.some((f) => f.includes("something never said")));
});

test("the disclosure comes first and cannot be interrupted; IBANs are masked in the transcript", async () => {
  const r = await simulate(
    config,
    scriptSchema.parse({
      call: { at: "2026-11-24T09:15:00+01:00" },
      caller: [{ dtmf: "2" }, { say: "meine IBAN ist DE89 3704 0044 0532 0130 00" }, { hangup: true }],
    }),
  );
  assert.match(r.ctx.transcript[0]?.text ?? "", /KI-Assistent/);
  assert.ok(r.ctx.events[1]?.startsWith("disclosure said"), r.ctx.events.join("\n"));
  const said = r.ctx.transcript
    .filter((t) => t.speaker === "caller")
    .map((t) => t.text)
    .join(" ");
  assert.doesNotMatch(said, /3704 0044 0532/);
  assert.equal(r.ctx.consent?.recording, false);
});

test("bad flow definitions are rejected with the node path", () => {
  const bad = `
routing:
  windows: [{ id: all, agent: a, always: true }]
agents:
  - id: a
    template: operator
    flow:
      - { type: say, text: Hallo }
      - { type: menu, prompt: Eins oder zwei, options: [{ key: "1", goto: nowhere }, { goto: start }] }
      - { type: condition, var: x, op: in, value: a, goto: start }
      - { type: transfer, to: { agent: ghost } }
      - { type: action, action: missing }
      - { type: teleport }
`;
  assert.throws(
    () => parseConfig(bad, "bad.yaml"),
    (e: unknown) => {
      assert.ok(e instanceof ConfigError);
      const msg = e.message;
      assert.match(msg, /agents\[0\]\.flow\[5\]\.type/);
      return true;
    },
  );
  const semantic = bad.replace("      - { type: teleport }\n", "");
  assert.throws(
    () => parseConfig(semantic, "bad.yaml"),
    (e: unknown) => {
      assert.ok(e instanceof ConfigError);
      const msg = e.message;
      assert.match(msg, /agents\[0\]\.flow\[1\]\.options\[0\]\.goto: no node with id "nowhere"/);
      assert.match(msg, /agents\[0\]\.flow\[1\]\.options\[1\]: an option needs a key/);
      assert.match(msg, /agents\[0\]\.flow\[2\]\.value: `in` needs a list/);
      assert.match(msg, /agents\[0\]\.flow\[3\]\.to: no agent "ghost"/);
      assert.match(msg, /agents\[0\]\.flow\[4\]\.action: no action "missing"/);
      return true;
    },
  );
});

test("routing problems: missing fallback window and unknown agents are named at their path", () => {
  const text = `
routing:
  windows:
    - { id: day, agent: nobody, weekly: { mon: ["08:00-17:00"] } }
agents:
  - { id: a, template: voicemail }
`;
  assert.throws(
    () => parseConfig(text, "r.yaml"),
    (e: unknown) => {
      assert.ok(e instanceof ConfigError);
      assert.match(e.message, /routing\.windows/);
      assert.match(e.message, /nobody/);
      return true;
    },
  );
});

test("switchboard simulate prints the transcript and exits 1 when an expectation fails", () => {
  const dir = mkdtempSync(join(tmpdir(), "sim-"));
  const failing = join(dir, "fail.yaml");
  writeFileSync(
    failing,
    'call: { at: "2026-11-22T11:00:00+01:00" }\ncaller: [{ hangup: true }]\nexpect: { agent: empfang }\n',
  );
  const cli = (script: string) =>
    spawnSync(
      process.execPath,
      [
        join(root, "daemon/switchboard.mjs"),
        "simulate",
        "--config",
        join(root, "examples/receptionist.yaml"),
        "--script",
        script,
      ],
      {
        encoding: "utf8",
        timeout: 60_000,
      },
    );
  const ok = cli(join(root, "examples/sim/de-termin.yaml"));
  assert.equal(ok.status, 0, ok.stderr);
  assert.match(ok.stdout, /KI-Assistent/);
  assert.match(ok.stdout, /"outcome": "completed"/);
  const bad = cli(failing);
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /agent: expected "empfang", got "nachricht"/);
});
