import assert from "node:assert/strict";
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { loadConfig } from "../../config/load.ts";
import { startTestWeb } from "../testkit.ts";
import { type FlowGraph, flowGraph, flowGraphRoutes } from "./flow-graph.ts";

const example = new URL("../../../examples/receptionist.yaml", import.meta.url).pathname;

const edgeSet = (g: FlowGraph) => new Set(g.edges.map((e) => `${e.from} -> ${e.to}${e.label ? ` [${e.label}]` : ""}`));

async function setup() {
  const dir = mkdtempSync(join(tmpdir(), "sb-flow-graph-"));
  const configFile = join(dir, "receptionist.yaml");
  copyFileSync(example, configFile);
  const config = loadConfig(configFile);
  const web = await startTestWeb({ routes: flowGraphRoutes({ configFile, current: () => config }) });
  const admin = await web.login("admin");
  return {
    admin,
    configFile,
    async close() {
      await web.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

test("the graph of the shipped receptionist: intent routes, handovers, queue fallback, FAQ answers", async () => {
  const t = await setup();
  try {
    const r = await t.admin.get("/api/agents/empfang/graph");
    assert.equal(r.status, 200, r.text);
    const g = r.json<FlowGraph & { template: string; custom: boolean }>();
    assert.equal(g.template, "operator");
    assert.equal(g.custom, false);
    const edges = edgeSet(g);
    for (const e of [
      "#0 -> to-termin [termin]",
      "#0 -> to-rechnung [rechnung]",
      "#0 -> escalate [no match]",
      "to-termin -> $target:agent termine [hand over]",
      "to-rechnung -> $target:queue buchhaltung [attended]",
      "to-rechnung -> $fallback [no answer]",
      "escalate -> $target:agent zentrale [hand over]",
    ])
      assert.ok(edges.has(e), `${e} in ${[...edges].join("; ")}`);
    // A handover to an agent never comes back, and a voicemail ends the flow.
    assert.ok(!g.edges.some((e) => e.from === "to-termin" && e.label === "no answer"));
    assert.ok(!g.edges.some((e) => e.from === "message"));
    assert.deepEqual(
      g.nodes.find((n) => n.id === "#0"),
      { id: "#0", type: "intent", label: "Guten Tag, hier ist die Firma Muster. Worum geht es?", index: 0 },
    );

    const faq = edgeSet((await t.admin.get("/api/agents/info/graph")).json<FlowGraph>());
    for (const e of [
      "ask -> answer-0 [faq-0: Wann haben Sie geöffnet]",
      "ask -> unknown [no match]",
      "answer-0 -> more",
      "more -> bye [no]",
      "unknown -> escalate",
    ])
      assert.ok(faq.has(e), `${e} in ${[...faq].join("; ")}`);

    const missing = await t.admin.get("/api/agents/ghost/graph");
    assert.equal(missing.status, 404);
    assert.equal(missing.json<{ where: string }>().where, "path.id");
  } finally {
    await t.close();
  }
});

test("condition, gather and action outcomes, and jumps to nodes that do not exist", () => {
  const g = flowGraph([
    { type: "gather", id: "pin", prompt: "PIN?", expect: "digits", into: "pin", onFail: "bye" },
    { type: "condition", var: "pin", op: "eq", value: "1234", goto: "ok", else: "nope" },
    { type: "action", id: "ok", action: "crm", payload: {}, waitMs: 0, onFail: "bye" },
    { type: "hangup", id: "bye" },
  ]);
  const edges = edgeSet(g);
  for (const e of [
    "pin -> #1 [answered]",
    "pin -> bye [failed]",
    "#1 -> ok [true]",
    "#1 -> $missing:nope [false]",
    "ok -> bye [done or pending]",
    "ok -> bye [failed]",
  ])
    assert.ok(edges.has(e), `${e} in ${[...edges].join("; ")}`);
  assert.equal(g.nodes.find((n) => n.id === "$missing:nope")?.type, "missing");
  assert.ok(!g.edges.some((e) => e.from === "bye"));
});

test("validate: a draft with a broken node names the node, the file is not touched", async () => {
  const t = await setup();
  try {
    const before = readFileSync(t.configFile, "utf8");
    const draft = {
      id: "nachricht",
      template: "voicemail",
      flow: [
        { type: "say", text: "Hallo" },
        { type: "transfer", to: { queue: "ghost" }, onNoAnswer: "nowhere" },
        { type: "hangup" },
      ],
    };
    const r = await t.admin.post("/api/agents/validate", { agent: draft });
    assert.equal(r.status, 200, r.text);
    const body = r.json<{ index: number; problems: { path: string; message: string }[]; graph: FlowGraph }>();
    assert.equal(body.index, 4, "replaces the agent with the same id");
    const paths = body.problems.map((p) => p.path).sort();
    assert.deepEqual(paths, ["agents[4].flow[1].onNoAnswer", "agents[4].flow[1].to"]);
    assert.ok(edgeSet(body.graph).has("#1 -> $missing:nowhere [no answer]"));
    assert.equal(readFileSync(t.configFile, "utf8"), before);

    const fine = await t.admin.post("/api/agents/validate", { agent: { id: "neu", template: "voicemail" } });
    assert.deepEqual(fine.json<{ problems: unknown[]; index: number }>().problems, []);
    assert.equal(fine.json<{ index: number }>().index, 8);

    const badIndex = await t.admin.post("/api/agents/validate", { agent: { id: "x" }, index: 99 });
    assert.equal(badIndex.status, 400);
    assert.equal(badIndex.json<{ where: string }>().where, "body.index");
  } finally {
    await t.close();
  }
});
