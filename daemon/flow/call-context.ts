// What a flow knows about its call and carries from agent to agent (and to the human on a transfer): who calls,
// the concern, the captured slots, the transcript so far. Text templates read from it ("{name}", "{summary}").
import type { TranscriptEntry } from "../nlu/summary.ts";

export interface CallContext {
  callId: string;
  caller: string;
  did: string;
  language: string;
  /** Time window that picked the first agent, and why. */
  window?: { id: string; reason: string };
  agent: string;
  /** Agents the call went through, in order. */
  agents: string[];
  intent?: string;
  /** Captured slots (canonical values) and what was set by `set` nodes. */
  vars: Record<string, string>;
  /** How each captured slot is read back. */
  displays: Record<string, string>;
  transcript: TranscriptEntry[];
  /** Lines for the call record: what the flow decided and why. */
  events: string[];
  /** Nodes run, as "agent/type/id" (id = "#index" when the node has none): the simulator's coverage evidence. */
  nodes: string[];
  escalation?: string;
  consent?: { recording: boolean; via: "dtmf" | "voice" | "none"; atMs: number };
  actions: { action: string; state: "delivered" | "failed" | "pending"; key: string }[];
  transferred?: string;
  outcome?: "completed" | "transferred" | "voicemail" | "callback" | "abandoned" | "hangup";
  /** Caller turns answered by "nomatch"/"noinput" in a row (an escalation trigger). */
  misses: number;
  startedAt: number;
}

export function newContext(init: {
  callId: string;
  caller: string;
  did: string;
  language: string;
  agent: string;
  now: number;
}): CallContext {
  return {
    callId: init.callId,
    caller: init.caller,
    did: init.did,
    language: init.language,
    agent: init.agent,
    agents: [init.agent],
    vars: {},
    displays: {},
    transcript: [],
    events: [],
    nodes: [],
    actions: [],
    misses: 0,
    startedAt: init.now,
  };
}

/** "Name Anna Schmidt, Telefon +49 30 1234567": the captured slots as the box reads them back. */
export function slotSummary(ctx: CallContext): string {
  return Object.entries(ctx.displays)
    .map(([k, v]) => `${k.replace(/_/g, " ")} ${v}`)
    .join(", ");
}

/** `{name}` becomes the variable; unknown names become empty, so a typo never reads out braces. */
export function render(text: string, ctx: CallContext): string {
  const fixed: Record<string, string> = {
    caller: ctx.caller,
    did: ctx.did,
    agent: ctx.agent,
    intent: ctx.intent ?? "",
    summary: slotSummary(ctx),
  };
  return text
    .replace(/\{([a-z_][a-z0-9_]*)\}/gi, (_, k: string) => ctx.displays[k] ?? ctx.vars[k] ?? fixed[k] ?? "")
    .replace(/\s{2,}/g, " ")
    .trim();
}

/** What the human hears before being connected: who calls, why, what was captured. */
export function whisperText(ctx: CallContext): string {
  const de = ctx.language.startsWith("de");
  const parts = [de ? `Anruf von ${spaced(ctx.caller, de)}.` : `Call from ${spaced(ctx.caller, de)}.`];
  if (ctx.intent) parts.push(de ? `Anliegen: ${ctx.intent}.` : `Concern: ${ctx.intent}.`);
  const s = slotSummary(ctx);
  if (s) parts.push(de ? `Erfasst: ${s}.` : `Captured: ${s}.`);
  if (ctx.escalation) parts.push(de ? `Grund: ${ctx.escalation}.` : `Reason: ${ctx.escalation}.`);
  return parts.join(" ");
}

function spaced(number: string, de: boolean): string {
  if (!number) return de ? "unbekannt" : "unknown";
  return /^\+?\d+$/.test(number) ? number.replace(/\d/g, "$& ").trim() : number;
}
