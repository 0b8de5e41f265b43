// What a flow knows about its call and carries from agent to agent (and to the human on a transfer): who calls,
// the concern, the captured slots, the transcript so far. Text templates read from it ("{name}", "{summary}").
import type { TranscriptEntry } from "../nlu/summary.ts";
import { textsFor } from "./text-language.ts";

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
  const w = textsFor(ctx.language, WHISPER);
  const parts = [`${w.from} ${spaced(ctx.caller, w.unknown)}.`];
  if (ctx.intent) parts.push(`${w.concern} ${ctx.intent}.`);
  const s = slotSummary(ctx);
  if (s) parts.push(`${w.captured} ${s}.`);
  if (ctx.escalation) parts.push(`${w.reason} ${ctx.escalation}.`);
  return parts.join(" ");
}

const WHISPER = {
  de: { from: "Anruf von", concern: "Anliegen:", captured: "Erfasst:", reason: "Grund:", unknown: "unbekannt" },
  en: { from: "Call from", concern: "Concern:", captured: "Captured:", reason: "Reason:", unknown: "unknown" },
  zh: { from: "来电号码", concern: "事由：", captured: "已记录：", reason: "原因：", unknown: "未知" },
};

function spaced(number: string, unknown: string): string {
  if (!number) return unknown;
  return /^\+?\d+$/.test(number) ? number.replace(/\d/g, "$& ").trim() : number;
}
