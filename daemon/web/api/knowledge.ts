// The knowledge queue: questions FAQ agents could not answer. An admin answers one (the answer becomes a knowledge
// entry of the agent, saved and hot reloaded like any config edit, so the next caller gets it) or dismisses it.
import { z } from "zod";
import { readConfigFile } from "../../config/config-file.ts";
import { getIn } from "../../config/config-path.ts";
import type { Config } from "../../config/schema.ts";
import { sayText } from "../../flow/nodes.ts";
import { questionStates, type UnansweredQuestion, type UnansweredQuestions } from "../../store/unanswered.ts";
import { HttpError, type Route, route } from "../route.ts";
import { configHttpError, saveConfig } from "./config.ts";

export interface KnowledgeApiDeps {
  questions: UnansweredQuestions;
  configFile: string;
  apply(next: Config): { version: string; restartNeeded: string[] };
}

const questionSchema = z.object({
  id: z.number(),
  callId: z.string().optional(),
  agent: z.string(),
  language: z.string(),
  text: z.string(),
  askedAt: z.number(),
  state: z.enum(questionStates),
});

function questionId(text: string | undefined, where: string): number {
  if (!text || !/^\d{1,15}$/.test(text)) throw new HttpError(400, "must be a question id (a number)", where);
  return Number(text);
}

function found(q: UnansweredQuestion | undefined, id: number, where: string): UnansweredQuestion {
  if (!q) throw new HttpError(404, `no question ${id}`, where);
  return q;
}

export function knowledgeRoutes(deps: KnowledgeApiDeps): Route[] {
  return [
    route<{ state?: (typeof questionStates)[number]; agent?: string; limit: number }>({
      method: "GET",
      path: "/api/knowledge/unanswered",
      access: "admin",
      summary: "Questions FAQ agents could not answer, newest first",
      tag: "config",
      query: z.object({
        state: z.enum(questionStates).optional().describe("default: every state"),
        agent: z.string().max(64).optional(),
        limit: z.coerce.number().int().min(1).max(1000).default(100),
      }),
      response: z.object({ items: z.array(questionSchema) }),
      handle: ({ query }) => ({ items: deps.questions.list(query.state, query.limit, query.agent) }),
    }),
    route<unknown, { state: (typeof questionStates)[number] }>({
      method: "PATCH",
      path: "/api/knowledge/unanswered/:id",
      access: "admin",
      summary: "Dismiss a question (or open it again)",
      tag: "config",
      body: z.object({ state: z.enum(questionStates) }).strict(),
      response: questionSchema,
      handle: (ctx) => {
        const id = questionId(ctx.params.id, "path.id");
        if (!deps.questions.setState(id, ctx.body.state)) throw new HttpError(404, `no question ${id}`, "path.id");
        ctx.audit({ action: "knowledge.question", target: String(id), detail: { state: ctx.body.state } });
        return found(deps.questions.get(id), id, "path.id");
      },
    }),
    route<unknown, { questionId: number; agent?: string; answer: string; questions?: string[] }>({
      method: "POST",
      path: "/api/knowledge/answer",
      access: "admin",
      summary: "Answer a question: a knowledge entry is added to the FAQ agent, saved and reloaded",
      tag: "config",
      body: z
        .object({
          questionId: z.number().int().min(1),
          agent: z.string().max(64).optional().describe("default: the agent that was asked"),
          answer: sayText,
          questions: z
            .array(z.string().trim().min(1).max(500))
            .min(1)
            .max(50)
            .optional()
            .describe("ways callers ask it; default: the question as asked"),
        })
        .strict(),
      response: z.object({
        version: z.string(),
        restartNeeded: z.array(z.string()),
        agent: z.string(),
        entry: z.number().describe("index of the new entry in the agent's knowledge"),
        question: questionSchema,
      }),
      handle: (ctx) => {
        const { body } = ctx;
        const question = found(deps.questions.get(body.questionId), body.questionId, "body.questionId");
        const agentId = body.agent ?? question.agent;
        let raw: Record<string, unknown>;
        try {
          raw = readConfigFile(deps.configFile).raw;
        } catch (e) {
          throw configHttpError(e, "configFile");
        }
        const agents = Array.isArray(raw.agents) ? (raw.agents as unknown[]) : [];
        const index = agents.findIndex((a) => getIn(a, ["id"]) === agentId);
        if (index < 0) throw new HttpError(404, `no agent "${agentId}" in the configuration`, "body.agent");
        const agent = agents[index];
        // Knowledge entries are only asked by FAQ flows (or an agent's own flow routing the faq-N intents).
        if (getIn(agent, ["template"]) !== "faq" && getIn(agent, ["flow"]) === undefined)
          throw new HttpError(422, `agent "${agentId}" is not an FAQ agent`, "body.agent");
        const knowledge = getIn(agent, ["knowledge"]);
        const entries = Array.isArray(knowledge) ? knowledge : [];
        const entry = { questions: body.questions ?? [question.text], answer: body.answer };
        const out = saveConfig(deps, ctx, ["agents", index, "knowledge"], [...entries, entry], {
          detail: { questionId: question.id },
        });
        deps.questions.setState(question.id, "answered");
        return {
          version: out.version,
          restartNeeded: out.applied?.restartNeeded ?? [],
          agent: agentId,
          entry: entries.length,
          question: found(deps.questions.get(question.id), question.id, "body.questionId"),
        };
      },
    }),
  ];
}
