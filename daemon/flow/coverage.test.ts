// The flow engine's coverage suite: testdata/coverage.yaml has agents whose flows together use every node type and
// routing with edges (midnight, DST nights, Bavarian holidays, exceptions, DIDs); testdata/scripts/ holds one
// simulator script per behaviour. A node type no passing script runs fails the suite, so a new node type needs a
// script; broken variants of the config prove that loading names the YAML path of the broken node.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { ConfigError, parseConfig } from "../config/load.ts";
import { nodeSchema } from "./nodes.ts";
import { loadScript, type SimResult, scriptSchema, simulate } from "./simulator.ts";

const dir = new URL("./testdata/", import.meta.url).pathname;
const configFile = join(dir, "coverage.yaml");
const configText = readFileSync(configFile, "utf8");
const config = parseConfig(configText, configFile);
const scripts = readdirSync(join(dir, "scripts"))
  .filter((f) => f.endsWith(".yaml"))
  .sort();

/**
 * Scripts that expect the correct behaviour where the engine has a known bug: skipped until it is fixed (then
 * delete the entry). Each names what happens instead.
 */
const knownBugs: Record<string, string> = {};

/** Node types a script need not cover (being added elsewhere). */
const notCovered = new Set(["queue"]);

const runs = new Map<string, Promise<SimResult>>();
function run(script: string): Promise<SimResult> {
  let r = runs.get(script);
  if (!r) {
    r = simulate(config, loadScript(join(dir, "scripts", script)));
    runs.set(script, r);
  }
  return r;
}

test("every known-bug entry names an existing script", () => {
  for (const s of Object.keys(knownBugs)) assert.ok(scripts.includes(s), `${s} is not in testdata/scripts`);
});

for (const s of scripts) {
  test(`coverage script ${s}`, { skip: knownBugs[s] ?? false }, async () => {
    const r = await run(s);
    assert.deepEqual(r.failures, [], `${r.transcript}\n${r.ctx.events.join("\n")}\nnodes: ${r.ctx.nodes.join(" ")}`);
  });
}

test("the passing scripts together run every node type of the schema", async () => {
  const types = nodeSchema.options.map((o) => o.shape.type.value).filter((t) => !notCovered.has(t));
  assert.ok(types.length >= 15, `node types: ${types.join(", ")}`);
  const ran = new Set<string>();
  for (const s of scripts) {
    if (knownBugs[s]) continue;
    for (const n of (await run(s)).ctx.nodes) ran.add(n.split("/")[1] ?? "");
  }
  const missing = types.filter((t) => !ran.has(t));
  assert.deepEqual(missing, [], `no script runs a node of type ${missing.join(", ")}`);
});

test("notSaid, nodes and events expectations report what differed", async () => {
  const script = scriptSchema.parse({
    call: { at: "2026-11-24T10:00:00+01:00" },
    caller: [{ dtmf: "7" }],
    expect: {
      notSaid: ["nach dem Ton"],
      nodes: ["empfang/voicemail/nachricht", "empfang/offer/angebot"],
      events: ["voicemail 12.0 s", "escalation:"],
    },
  });
  const r = await simulate(config, script);
  assert.deepEqual(r.failures, [
    'notSaid: the box said "nach dem Ton"',
    'nodes: "empfang/offer/angebot" never ran',
    'events: no event line contains "escalation:"',
  ]);
});

/** The config text with `from` replaced by `to`; `from` must occur exactly once, so no variant goes stale silently. */
function variant(from: string, to: string): string {
  const at = configText.indexOf(from);
  assert.ok(at >= 0 && configText.indexOf(from, at + 1) < 0, `"${from}" must occur once in coverage.yaml`);
  return configText.slice(0, at) + to + configText.slice(at + from.length);
}

/** Broken variants: the text edit and the problem line (YAML path and message) loading must report. */
const broken: { name: string; from: string; to: string; problem: RegExp; skip?: string }[] = [
  {
    name: "unknown goto of a condition",
    from: "op: gt, value: 1000, goto: freigabe,",
    to: "op: gt, value: 1000, goto: freigabe-fehlt,",
    problem: /agents\[2\]\.flow\[6\]\.goto: no node with id "freigabe-fehlt"/,
  },
  {
    name: "unknown next",
    from: "var: plz, value: unbekannt, next: datum }",
    to: "var: plz, value: unbekannt, next: tag }",
    problem: /agents\[3\]\.flow\[10\]\.next: no node with id "tag"/,
  },
  {
    name: "unknown onFail of a capture",
    from: "onFail: ohne-plz",
    to: "onFail: ohne-postleitzahl",
    problem: /agents\[3\]\.flow\[3\]\.onFail: no node with id "ohne-postleitzahl"/,
  },
  {
    name: "unknown intent route target",
    from: "{ intent: bestellung, goto: bestellen }",
    to: "{ intent: bestellung, goto: kaufen }",
    problem: /agents\[1\]\.flow\[0\]\.routes\[1\]\.goto: no node with id "kaufen"/,
  },
  {
    name: "unknown onNo of a confirm",
    from: "onNo: abbruch",
    to: "onNo: abbrechen",
    problem: /agents\[1\]\.flow\[3\]\.onNo: no node with id "abbrechen"/,
  },
  {
    name: "unknown onNoAnswer of a transfer",
    from: "onNoAnswer: buchhaltung-weg",
    to: "onNoAnswer: weg",
    problem: /agents\[0\]\.flow\[6\]\.onNoAnswer: no node with id "weg"/,
  },
  {
    name: "duplicate node id",
    from: "{ id: telefon, type: capture",
    to: "{ id: name, type: capture",
    problem: /agents\[3\]\.flow\[2\]\.id: duplicate node id "name"/,
  },
  {
    name: "unknown slot type",
    from: "spec: { type: postcode }",
    to: "spec: { type: postleitzahl }",
    problem: /agents\[3\]\.flow\[3\]\.spec\.type: /,
  },
  {
    name: "pattern slot without a pattern",
    from: 'spec: { type: pattern, pattern: "A[0-9]{6}" }',
    to: "spec: { type: pattern }",
    problem: /agents\[1\]\.flow\[1\]\.spec\.pattern: a pattern slot needs a pattern/,
  },
  {
    name: "future on a time slot",
    from: "spec: { type: time }",
    to: "spec: { type: time, future: true }",
    problem: /agents\[3\]\.flow\[5\]\.spec\.future: future applies to date and datetime slots only/,
  },
  {
    name: "slot range upside down",
    from: "spec: { type: number, min: 1, max: 8 }",
    to: "spec: { type: number, min: 9, max: 8 }",
    problem: /agents\[3\]\.flow\[6\]\.spec\.min: min 9 is greater than max 8/,
  },
  {
    name: "unknown agent in a transfer of a flow",
    from: "{ id: zu-bank, type: transfer, to: { agent: bank } }",
    to: "{ id: zu-bank, type: transfer, to: { agent: bankdaten } }",
    problem: /agents\[0\]\.flow\[4\]\.to: no agent "bankdaten"/,
  },
  {
    name: "unknown agent as escalation target",
    from: "    escalation:\n      to: { agent: zentrale }\n      sentimentBelow: -0.6",
    to: "    escalation:\n      to: { agent: zentral }\n      sentimentBelow: -0.6",
    problem: /agents\[1\]\.escalation\.to: no agent "zentral"/,
  },
  {
    name: "unknown agent of a DID's window",
    from: "{ id: zh-line, agent: kefu, always: true }",
    to: "{ id: zh-line, agent: kundendienst, always: true }",
    problem: /routing\.numbers\[5\]\.windows\[0\]\.agent: no agent with id "kundendienst"/,
  },
  {
    name: "unknown intent of a route",
    from: "{ intent: bestellung, goto: bestellen }",
    to: "{ intent: bestellungen, goto: bestellen }",
    problem: /agents\[1\]\.flow\[0\]\.routes\[1\]\.intent: the agent has no intent "bestellungen"/,
  },
  {
    name: "unknown intent of a menu option",
    from: '{ key: "2", goto: hours }',
    to: '{ key: "2", intent: opening, goto: hours }',
    problem: /agents\[5\]\.flow\[1\]\.options\[1\]\.intent: the agent has no intent "opening"/,
  },
  {
    name: "unknown action",
    from: "action: bankdaten\n",
    to: "action: bank-daten\n",
    problem: /agents\[2\]\.flow\[17\]\.action: no action "bank-daten"/,
  },
  {
    name: "missing always window",
    from: "    - id: closed\n      agent: nachricht\n      always: true\n",
    to: "",
    problem: /routing\.windows\[5\]: the last window must be the fallback with always: true/,
  },
  {
    name: "missing always window of a DID",
    from: "        - { id: en-closed, agent: voicemail-en, always: true }\n",
    to: "",
    problem: /routing\.numbers\[4\]\.windows\[0\]: the last window must be the fallback with always: true/,
  },
  {
    name: "always window not last",
    from: "    - id: feiertag\n      agent: nachricht\n      holidays: only\n    - id: closed\n      agent: nachricht\n      always: true\n",
    to: "    - id: closed\n      agent: nachricht\n      always: true\n    - id: feiertag\n      agent: nachricht\n      holidays: only\n",
    problem: /routing\.windows\[6\]: unreachable: the always window "closed" before it matches every call/,
  },
  {
    name: "a typo'd key in a node",
    from: "onFail: ohne-datum",
    to: "onfail: ohne-datum",
    problem: /agents\[3\]\.flow\[4\]\.onfail: unknown key \(typo\?\)/,
  },
];

test("the coverage config itself loads", () => {
  assert.ok(config.agents.length > 0 && config.routing !== undefined);
});

for (const b of broken) {
  test(`a broken config is rejected at the node's path: ${b.name}`, { skip: b.skip ?? false }, () => {
    const text = variant(b.from, b.to);
    assert.throws(
      () => parseConfig(text, "coverage.yaml"),
      (e: unknown) => {
        assert.ok(e instanceof ConfigError, String(e));
        const line = e.message.split("\n").find((l) => b.problem.test(l));
        assert.ok(line, `expected ${b.problem} in:\n${e.message}`);
        // file:line:column too, so the installer finds the node.
        assert.match(line, /^ {2}coverage\.yaml:\d+:\d+ {2}/);
        return true;
      },
    );
  });
}
