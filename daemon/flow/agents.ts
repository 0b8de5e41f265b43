// Agents are configured instances of templates (Operator, Workflow, Smart voicemail, FAQ, Human): typed parameters
// in, a flow out. An agent may also bring its own flow, which replaces the template's. Escalation, disclosure and
// recording consent are per agent and handled by the interpreter around whatever flow runs.
import { z } from "zod";
import { intentBandsSchema } from "../nlu/intents.ts";
import { slotSpecSchema } from "../nlu/slots.ts";
import { textsFor } from "./text-language.ts";
import {
  type Flow,
  type FlowNode,
  flowSchema,
  type TransferTarget,
  sayText,
  slug,
  transferTargetSchema,
  varName,
} from "./nodes.ts";

export const agentLanguage = z.enum(["de-DE", "en-US", "en-GB", "zh-CN"]);

const escalationSchema = z
  .object({
    /** Where a caller who wants a human goes. Without it the box offers voicemail instead. */
    to: transferTargetSchema.optional(),
    /** "Mitarbeiter", "agent", "转人工" ... in any turn. */
    keywords: z.boolean().default(true),
    /** Consecutive turns without a match or without input. 0 = off. */
    noMatchLimit: z.number().int().min(0).max(10).default(3),
    /** Sentiment (-1..1) at or below which an angry caller is handed over. */
    sentimentBelow: z.number().min(-1).max(0).optional(),
    /** A question the knowledge base cannot answer (FAQ) escalates instead of apologising. */
    outOfKnowledge: z.boolean().default(true),
    /** The caller asks the same thing twice. */
    repeatedQuestion: z.boolean().default(true),
  })
  .strict();

const slotDef = z.object({ name: varName, prompt: sayText, spec: slotSpecSchema, retry: sayText.optional() }).strict();

export const agentSchema = z
  .object({
    id: slug,
    name: z.string().optional(),
    template: z.enum(["operator", "workflow", "voicemail", "faq", "human"]),
    /** Default: speech.language. */
    language: agentLanguage.optional(),
    /** TTS voice id: "de-DE", "en-US", "en-GB" (Pico) or an installed neural voice's bundle name. Default: the
     * installed voice for the agent's language (neural before Pico), else the box's default voice. */
    voice: z.string().min(1).max(128).optional(),
    formality: z.enum(["sie", "du"]).default("sie"),
    greeting: sayText.optional(),
    /** EU AI Act Art. 50: callers are told they talk to an AI in the first turn. Default: a built-in sentence. */
    disclosure: sayText.optional(),
    /** Recording starts only after the caller agrees (key 1 or a spoken yes); "off" never records. */
    recording: z.enum(["consent", "off"]).default("consent"),
    intents: z.array(z.object({ id: slug, examples: z.array(z.string().min(1)).min(1) }).strict()).default([]),
    bands: intentBandsSchema.optional(),
    knowledge: z
      .array(z.object({ questions: z.array(z.string().min(1)).min(1), answer: sayText }).strict())
      .default([]),
    escalation: escalationSchema.default(escalationSchema.parse({})),
    /** Operator: where each concern goes. */
    routes: z.array(z.object({ intent: slug, to: transferTargetSchema }).strict()).default([]),
    /** Workflow: the form captured step by step, then `action`. */
    form: z.array(slotDef).default([]),
    action: slug.optional(),
    /** Human: whom to ring, and for how long before the fallback (voicemail or callback offer). */
    target: transferTargetSchema.optional(),
    timeoutS: z.number().int().min(5).max(300).default(25),
    /** Voicemail. */
    maxMessageS: z.number().int().min(5).max(600).default(120),
    /** Replaces the template's flow. */
    flow: flowSchema.optional(),
    /**
     * Disconnect flow: actions queued after the call when it ended with this agent (summary, outcome, slots, tags and
     * lead grade go with them), e.g. a CRM entry for every call or a mail for every message. `when` limits it to outcomes.
     */
    disconnect: z
      .array(
        z
          .object({
            action: slug,
            when: z
              .array(z.enum(["completed", "transferred", "voicemail", "callback", "abandoned", "hangup"]))
              .optional(),
          })
          .strict(),
      )
      .default([]),
  })
  .strict();
export type AgentConfig = z.infer<typeof agentSchema>;

/** Agent problems the schema cannot see alone (they need the other agents or the actions). */
export function checkAgent(
  a: AgentConfig,
  ids: { agents: ReadonlySet<string>; actions: ReadonlySet<string>; queues: ReadonlySet<string> },
): { path: (string | number)[]; message: string }[] {
  const { agents: agentIds, actions: actionIds } = ids;
  const out: { path: (string | number)[]; message: string }[] = [];
  const target = (path: (string | number)[], t: TransferTarget | undefined) => {
    if (t && "agent" in t && !agentIds.has(t.agent)) out.push({ path, message: `no agent "${t.agent}"` });
    if (t && "queue" in t && !ids.queues.has(t.queue)) out.push({ path, message: `no queue "${t.queue}"` });
  };
  target(["escalation", "to"], a.escalation.to);
  target(["target"], a.target);
  a.routes.forEach((r, i) => {
    target(["routes", i, "to"], r.to);
    if (!a.intents.some((x) => x.id === r.intent))
      out.push({ path: ["routes", i, "intent"], message: `the agent has no intent "${r.intent}"` });
  });
  if (a.action !== undefined && !actionIds.has(a.action))
    out.push({ path: ["action"], message: `no action "${a.action}"` });
  a.disconnect.forEach((d, i) => {
    if (!actionIds.has(d.action)) out.push({ path: ["disconnect", i, "action"], message: `no action "${d.action}"` });
  });
  if (!a.flow) {
    if (a.template === "workflow" && a.form.length === 0)
      out.push({ path: ["form"], message: "a workflow agent needs at least one form field" });
    if (a.template === "human" && !a.target) out.push({ path: ["target"], message: "a human agent needs a target" });
    if (a.template === "faq" && a.knowledge.length === 0)
      out.push({ path: ["knowledge"], message: "an FAQ agent needs knowledge entries" });
  }
  (a.flow ?? []).forEach((n, i) => {
    if (n.type === "transfer") target(["flow", i, "to"], n.to);
    if (n.type === "action" && !actionIds.has(n.action))
      out.push({ path: ["flow", i, "action"], message: `no action "${n.action}"` });
  });
  return out;
}

type Texts = (typeof TEXTS)["de"];
const TEXTS = {
  de: {
    greeting: "Guten Tag, hier ist die digitale Assistenz. Wie kann ich helfen?",
    disclosure: "Sie sprechen mit einem KI-Assistenten.",
    concern: "Worum geht es?",
    clarify: "Das habe ich nicht ganz verstanden. Worum geht es bitte?",
    confirmForm: "Ich habe {summary}. Stimmt das?",
    done: "Vielen Dank, das ist erledigt.",
    pending: "Vielen Dank. Ich habe alles aufgenommen, wir melden uns.",
    voicemail: "Bitte sprechen Sie Ihre Nachricht nach dem Ton.",
    name: "Wie ist Ihr Name?",
    callbackNumber: "Unter welcher Nummer können wir Sie zurückrufen?",
    faqAsk: "Was möchten Sie wissen?",
    faqMore: "Kann ich sonst noch helfen?",
    connecting: "Einen Moment, ich verbinde.",
    bye: "Auf Wiederhören.",
  },
  en: {
    greeting: "Hello, this is the digital assistant. How can I help?",
    disclosure: "You are speaking with an AI assistant.",
    concern: "What is it about?",
    clarify: "Sorry, I did not quite get that. What is it about?",
    confirmForm: "I have {summary}. Is that right?",
    done: "Thank you, that is done.",
    pending: "Thank you. I have noted everything and we will get back to you.",
    voicemail: "Please leave your message after the tone.",
    name: "May I have your name?",
    callbackNumber: "Which number can we call you back on?",
    faqAsk: "What would you like to know?",
    faqMore: "Is there anything else I can help with?",
    connecting: "One moment, I will connect you.",
    bye: "Goodbye.",
  },
  zh: {
    greeting: "您好，这里是智能助理。请问有什么可以帮您？",
    disclosure: "您正在与人工智能助理通话。",
    concern: "请问是什么事情？",
    clarify: "抱歉，我没有听清楚。请问是什么事情？",
    confirmForm: "我记录的是：{summary}。对吗？",
    done: "谢谢，已经办好了。",
    pending: "谢谢。我已经记录了所有信息，我们会尽快联系您。",
    voicemail: "请在提示音后留言。",
    name: "请问您贵姓？",
    callbackNumber: "我们应该拨打哪个号码给您回电？",
    faqAsk: "请问您想了解什么？",
    faqMore: "还有其他可以帮您的吗？",
    connecting: "请稍等，正在为您转接。",
    bye: "再见。",
  },
};

export function agentTexts(language: string): Texts {
  return textsFor(language, TEXTS);
}

/** The flow an agent runs: its own, or the one its template builds from the parameters. */
export function agentFlow(a: AgentConfig, language: string): Flow {
  if (a.flow) return a.flow;
  const t = agentTexts(language);
  const greeting = a.greeting ?? t.greeting;
  // Where an unclear concern or a wish for a human ends: the escalation target, else a message.
  const escalate: FlowNode = a.escalation.to
    ? {
        type: "transfer",
        id: "escalate",
        to: a.escalation.to,
        mode: "attended",
        text: t.connecting,
        timeoutS: 25,
      }
    : { type: "offer", id: "escalate" };
  const tail: Flow = [
    escalate,
    { type: "voicemail", id: "message", prompt: t.voicemail, maxS: a.maxMessageS },
    { type: "hangup", id: "bye", text: t.bye },
  ];
  switch (a.template) {
    case "operator":
      return [
        { type: "intent", prompt: greeting, clarify: t.clarify, onNoMatch: "escalate", routes: routes(a) },
        ...a.routes.map(
          (r): FlowNode => ({
            type: "transfer",
            id: `to-${r.intent}`,
            to: r.to,
            mode: "attended",
            text: t.connecting,
            timeoutS: 25,
          }),
        ),
        ...tail,
      ];
    case "workflow":
      return [
        { type: "say", text: greeting, legal: false },
        ...a.form.map(
          (f): FlowNode => ({
            type: "capture",
            id: `field-${f.name}`,
            slot: f.name,
            prompt: f.prompt,
            spec: f.spec,
            retry: f.retry,
            onFail: "escalate",
          }),
        ),
        { type: "confirm", id: "check", prompt: t.confirmForm, onNo: `field-${a.form[0]?.name ?? ""}` },
        ...(a.action
          ? [
              {
                type: "action",
                action: a.action,
                payload: {},
                waitMs: 5000,
                done: t.done,
                pending: t.pending,
              } as FlowNode,
            ]
          : []),
        { type: "hangup", text: t.bye },
        ...tail,
      ];
    case "voicemail":
      return [
        { type: "say", text: greeting, legal: false },
        { type: "capture", slot: "name", prompt: t.name, spec: { type: "name" }, attempts: 2, onFail: "number" },
        {
          type: "capture",
          id: "number",
          slot: "callback",
          prompt: t.callbackNumber,
          spec: { type: "phone" },
          attempts: 2,
          onFail: "message",
        },
        ...tail.slice(1),
      ];
    case "faq":
      return [
        { type: "intent", id: "ask", prompt: greeting, clarify: t.clarify, routes: faqRoutes(a), onNoMatch: "unknown" },
        ...a.knowledge.map(
          (k, i): FlowNode => ({ type: "say", id: `answer-${i}`, text: k.answer, legal: false, next: "more" }),
        ),
        { type: "confirm", id: "more", prompt: t.faqMore, onNo: "bye" },
        { type: "intent", prompt: t.faqAsk, clarify: t.clarify, routes: faqRoutes(a), onNoMatch: "unknown" },
        { type: "set", id: "unknown", var: "out_of_knowledge", value: "1", next: "escalate" },
        ...tail,
      ];
    case "human":
      return [
        {
          type: "transfer",
          to: a.target ?? { agent: a.id },
          mode: "attended",
          text: t.connecting,
          timeoutS: a.timeoutS,
        },
        ...tail.slice(1),
      ];
  }
}

function routes(a: AgentConfig) {
  return a.routes.map((r) => ({ intent: r.intent, goto: `to-${r.intent}` }));
}

/** FAQ entries are intents of their own: `faq-N`, trained from the entry's questions. */
function faqRoutes(a: AgentConfig) {
  return a.knowledge.map((_, i) => ({ intent: `faq-${i}`, goto: `answer-${i}` }));
}
