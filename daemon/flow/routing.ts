// Entry routing: the dialled number picks a window list, the first matching time window picks the agent. Agents
// are compiled once per config version (flow built from the template, intents trained), so a call holds the version
// it started with while a reload compiles the next one.
import { z } from "zod";
import type { Config } from "../config/schema.ts";
import { IntentModel } from "../nlu/intents.ts";
import { agentFlow } from "./agents.ts";
import type { CompiledAgent } from "./interpreter.ts";
import { routingTimeSchema, selectWindow, timeWindowsSchema } from "./time-windows.ts";

export const routingSchema = z
  .object({
    ...routingTimeSchema.shape,
    /** Windows for calls to any number not listed under `numbers`. */
    windows: timeWindowsSchema,
    /** Numbers (DIDs, as they arrive in the Request-URI) with windows of their own. */
    numbers: z.array(z.object({ did: z.string().min(1), windows: timeWindowsSchema }).strict()).default([]),
  })
  .strict();
export type RoutingConfig = z.infer<typeof routingSchema>;

export function compileAgents(config: Config): Map<string, CompiledAgent> {
  const out = new Map<string, CompiledAgent>();
  for (const a of config.agents) {
    const language = a.language ?? config.speech.language;
    const intents = [
      ...a.intents,
      // FAQ entries are intents too, so "Wann haben Sie offen?" finds the opening-hours answer.
      ...a.knowledge.map((k, i) => ({ id: `faq-${i}`, examples: k.questions })),
    ];
    out.set(a.id, {
      config: a,
      language,
      flow: agentFlow(a, language),
      intents: intents.length ? IntentModel.train(intents, a.bands ? { bands: a.bands } : undefined) : undefined,
    });
  }
  return out;
}

/** Which agent a call to `did` at `at` starts with, and why (for the call record). */
export function entryAgent(config: Config, did: string, at: Date): { agent: string; window: string; reason: string } {
  const r = config.routing;
  if (!r) throw new Error("no routing configured");
  const digits = (s: string) => s.replace(/[^\d]/g, "");
  const number = r.numbers.find((n) => n.did === did || (digits(n.did) !== "" && digits(n.did) === digits(did)));
  const choice = selectWindow(number?.windows ?? r.windows, at, r);
  return {
    agent: choice.window.agent,
    window: choice.window.id,
    reason: `${number ? `number ${number.did}: ` : ""}${choice.reason}`,
  };
}
