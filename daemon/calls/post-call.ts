// Post-call pipeline: from the flow's context to the stored outcome (transcript, extractive summary, tags, lead
// grade). Runs once per call after hang-up; an LLM summarizer can replace the extractive one behind `Summarizer`.
import type { CallContext } from "../flow/call-context.ts";
import { defaultLeadRules, gradeLead } from "../nlu/lead-grade.ts";
import { sentimentOf } from "../nlu/sentiment.ts";
import { type CallFacts, extractiveSummarizer, type Summarizer } from "../nlu/summary.ts";
import { tagsFor, type TagRule } from "../nlu/tags.ts";
import type { CallOutcome } from "../store/call-outcomes.ts";

export function callOutcome(
  ctx: CallContext,
  opts: { summarizer?: Summarizer; tagRules?: TagRule[]; now: number },
): Omit<CallOutcome, "status"> {
  const facts: CallFacts = {
    language: ctx.language,
    intent: ctx.intent,
    slots: ctx.displays,
    escalation: ctx.escalation,
    outcome: ctx.outcome,
    actions: ctx.actions.map((a) => ({ kind: a.action, state: a.state })),
    extra: { callback: ctx.outcome === "callback" ? "requested" : "" },
  };
  const callerText = ctx.transcript.filter((t) => t.speaker === "caller").map((t) => t.text);
  const lead = gradeLead(defaultLeadRules, {
    questions: callerText.filter((t) => /\?|^(wie|was|wann|wo|warum|how|what|when|where|why)\b/i.test(t)).length,
    refusals: callerText.filter((t) => /^(nein|no)\b/i.test(t.trim())).length,
    turns: callerText.length,
    slots: Object.keys(ctx.vars),
    intent: ctx.intent,
    sentiment: callerText.length ? sentimentOf(callerText.join(". ")).score : 0,
  });
  return {
    callId: ctx.callId,
    window: ctx.window,
    agents: ctx.agents,
    intent: ctx.intent,
    slots: ctx.vars,
    escalation: ctx.escalation,
    consent: ctx.consent,
    outcome: ctx.outcome ?? "completed",
    transferredTo: ctx.transferred,
    actions: ctx.actions,
    transcript: ctx.transcript,
    summary: (opts.summarizer ?? extractiveSummarizer).summarize(ctx.transcript, facts),
    tags: tagsFor(ctx.transcript, facts, opts.tagRules),
    leadGrade: lead.grade,
    createdAt: opts.now,
  };
}

/** What a disconnect action carries: the call's result, never the transcript (it stays on the box). */
export function disconnectPayload(o: Omit<CallOutcome, "status">, caller: string): Record<string, string> {
  return {
    ...o.slots,
    caller,
    call_id: o.callId,
    outcome: o.outcome,
    agent: o.agents.at(-1) ?? "",
    intent: o.intent ?? "",
    summary: o.summary,
    tags: o.tags.join(","),
    lead_grade: o.leadGrade ?? "",
    escalation: o.escalation ?? "",
    transferred_to: o.transferredTo ?? "",
  };
}
