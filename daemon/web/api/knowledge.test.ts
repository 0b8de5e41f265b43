import assert from "node:assert/strict";
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { parseConfig } from "../../config/load.ts";
import type { Config } from "../../config/schema.ts";
import { UnansweredQuestions } from "../../store/unanswered.ts";
import { AuditLog } from "../audit.ts";
import { startTestWeb } from "../testkit.ts";
import { knowledgeRoutes } from "./knowledge.ts";

const example = new URL("../../../examples/receptionist.yaml", import.meta.url).pathname;

interface Item {
  id: number;
  agent: string;
  text: string;
  state: string;
}

async function setup() {
  const dir = mkdtempSync(join(tmpdir(), "sb-knowledge-"));
  const configFile = join(dir, "receptionist.yaml");
  copyFileSync(example, configFile);
  const applied: Config[] = [];
  let questions: UnansweredQuestions | undefined;
  const web = await startTestWeb({
    routes: (deps) => {
      questions = new UnansweredQuestions(deps.db);
      return knowledgeRoutes({
        questions,
        configFile,
        apply: (next) => {
          applied.push(next);
          return { version: "v2", restartNeeded: [] };
        },
      });
    },
  });
  const admin = await web.login("admin");
  return {
    web,
    admin,
    configFile,
    applied,
    questions: questions!,
    async close() {
      await web.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

test("the knowledge queue: list, answer into the FAQ agent (saved and reloaded), dismiss", async () => {
  const t = await setup();
  try {
    const before = readFileSync(t.configFile, "utf8");
    const parking = t.questions.record({
      callId: "c1",
      agent: "info",
      language: "de-DE",
      text: "Haben Sie Parkplätze?",
      askedAt: 1000,
    });
    const pets = t.questions.record({ agent: "info", language: "de-DE", text: "Darf mein Hund mit?", askedAt: 2000 });

    const open = await t.admin.get("/api/knowledge/unanswered?state=open");
    assert.equal(open.status, 200);
    assert.deepEqual(
      open.json<{ items: Item[] }>().items.map((q) => q.text),
      ["Darf mein Hund mit?", "Haben Sie Parkplätze?"],
    );

    const r = await t.admin.post("/api/knowledge/answer", {
      questionId: parking,
      answer: "Ja, im Hof gibt es drei Parkplätze.",
      questions: ["Haben Sie Parkplätze", "Wo kann ich parken"],
    });
    assert.equal(r.status, 200, r.text);
    const body = r.json<{ agent: string; entry: number; question: Item }>();
    assert.equal(body.agent, "info");
    assert.equal(body.entry, 2);
    assert.equal(body.question.state, "answered");
    // The new entry is in the file (appended to that agent's knowledge only) and in the config handed to reload.
    const text = readFileSync(t.configFile, "utf8");
    assert.ok(text.includes("Ja, im Hof gibt es drei Parkplätze."));
    assert.equal(text.replace(/ {6}- questions:\n(.*\n){3}/, ""), before);
    const info = t.applied[0]?.agents.find((a) => a.id === "info");
    assert.deepEqual(info?.knowledge[2], {
      questions: ["Haben Sie Parkplätze", "Wo kann ich parken"],
      answer: "Ja, im Hof gibt es drei Parkplätze.",
    });
    assert.equal(parseConfig(text).agents.find((a) => a.id === "info")?.knowledge.length, 3);
    const audit = new AuditLog(t.web.db).list({ limit: 5 });
    assert.equal(audit[0]?.action, "config.update");
    assert.equal(audit[0]?.target, "agents[2].knowledge");
    assert.equal(audit[0]?.detail.questionId, parking);

    const dismissed = await t.admin.patch(`/api/knowledge/unanswered/${pets}`, { state: "dismissed" });
    assert.equal(dismissed.status, 200);
    assert.equal(dismissed.json<Item>().state, "dismissed");
    assert.deepEqual((await t.admin.get("/api/knowledge/unanswered?state=open")).json<{ items: Item[] }>().items, []);
  } finally {
    await t.close();
  }
});

test("the knowledge queue refuses bad ids, unknown questions and agents that are not FAQ agents", async () => {
  const t = await setup();
  try {
    const id = t.questions.record({ agent: "empfang", language: "de-DE", text: "Was kostet das?", askedAt: 1 });
    const before = readFileSync(t.configFile, "utf8");
    const notFaq = await t.admin.post("/api/knowledge/answer", { questionId: id, answer: "Nichts." });
    assert.equal(notFaq.status, 422);
    assert.equal(notFaq.json<{ where: string }>().where, "body.agent");
    const unknownAgent = await t.admin.post("/api/knowledge/answer", { questionId: id, agent: "nobody", answer: "x" });
    assert.equal(unknownAgent.status, 404);
    const unknownQuestion = await t.admin.post("/api/knowledge/answer", { questionId: 999, answer: "x" });
    assert.equal(unknownQuestion.status, 404);
    assert.equal(unknownQuestion.json<{ where: string }>().where, "body.questionId");
    assert.equal(readFileSync(t.configFile, "utf8"), before);
    assert.equal(t.applied.length, 0);
    assert.equal(t.questions.get(id)?.state, "open");

    const badId = await t.admin.patch("/api/knowledge/unanswered/abc", { state: "dismissed" });
    assert.equal(badId.status, 400);
    assert.equal(badId.json<{ where: string }>().where, "path.id");
    assert.equal((await t.admin.patch("/api/knowledge/unanswered/999", { state: "dismissed" })).status, 404);
    assert.equal((await t.admin.patch(`/api/knowledge/unanswered/${id}`, { state: "gone" })).status, 400);
    const staff = await t.web.login("staff");
    assert.equal((await staff.get("/api/knowledge/unanswered")).status, 403);
  } finally {
    await t.close();
  }
});
