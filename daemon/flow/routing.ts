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
  const number = r.numbers.find((n) => n.did === did || sameNumber(n.did, did));
  const choice = selectWindow(number?.windows ?? r.windows, at, r);
  return {
    agent: choice.window.agent,
    window: choice.window.id,
    reason: `${number ? `number ${number.did}: ` : ""}${choice.reason}`,
  };
}

/**
 * Whether two ways of writing a number are the same line: "+49 89 100600", "004989100600" and "4989100600" are;
 * a national "089100600" matches an international number that ends in "89100600" (trunks differ in what they put
 * in the Request-URI, and the config cannot know the box's country).
 */
export function sameNumber(a: string, b: string): boolean {
  const x = international(a);
  const y = international(b);
  if (!x.digits || !y.digits) return false;
  if (x.international === y.international) return x.digits === y.digits;
  const [nat, intl] = x.international ? [y.digits, x.digits] : [x.digits, y.digits];
  // A national number drops its trunk prefix 0; at least 6 digits must agree so short extensions never match.
  const core = nat.replace(/^0/, "");
  return nat.startsWith("0") && core.length >= 6 && intl.endsWith(core) && intl.length - core.length <= 3;
}

function international(s: string): { digits: string; international: boolean } {
  const t = s
    .trim()
    .replace(/^sips?:/i, "")
    .replace(/@.*$/, "");
  const digits = t.replace(/\D/g, "");
  if (t.startsWith("+")) return { digits, international: true };
  if (digits.startsWith("00")) return { digits: digits.slice(2), international: true };
  // Without a prefix: national (leading 0) or already international without "+" (e.g. 4989...).
  return { digits, international: !digits.startsWith("0") };
}
