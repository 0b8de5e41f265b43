// The flow interpreter: runs an agent's nodes against one caller (CallerIo) and the box's services, and keeps the
// call's context. The same code runs real calls and the simulator; only CallerIo and FlowServices differ.
// Around every flow it does what no flow may forget: the AI disclosure first, recording only after consent, and
// escalation to a human on any trigger (keyword, repeated misses, anger, a question asked twice), with the captured
// context handed over and voicemail or a callback when nobody answers.
import type { CallerIo } from "../calls/caller-io.ts";
import { gather, gatherTexts, readKeys } from "../calls/gather.ts";
import { commandWords } from "../speech/commands.ts";
import type { IntentModel } from "../nlu/intents.ts";
import { sentimentOf } from "../nlu/sentiment.ts";
import { extractSlot, type SlotSpec } from "../nlu/slots.ts";
import { maskSensitive } from "../nlu/mask.ts";
import { type AgentConfig, agentTexts } from "./agents.ts";
import { type CallContext, render, whisperText } from "./call-context.ts";
import type { Flow, FlowNode, TransferTarget } from "./nodes.ts";
import { type QueueConfig, positionText, queueTexts } from "./queues.ts";
import type { TranscriptEntry } from "../nlu/summary.ts";
import { textsFor } from "./text-language.ts";

export interface CompiledAgent {
  config: AgentConfig;
  language: string;
  flow: Flow;
  intents?: IntentModel;
}

export type ConnectResult = "connected" | "noanswer" | "failed";

/** A caller's place in a customer queue (the real queue, or the simulator's). */
export interface QueueWait {
  readonly config: QueueConfig;
  /** 1 = next. */
  position(): number;
  /** Connected: a human took the call and it is bridged; timeout: maxWaitS passed; callback: the place is kept. */
  readonly done: Promise<"connected" | "timeout" | "left" | "callback">;
  leave(): void;
  /** Drop the line, keep the place: the queue calls back on `number` when it is this caller's turn. */
  callback(number: string): void;
}

/** What a flow can make the box do beyond talking: the real daemon and the simulator implement it differently. */
export interface FlowServices {
  now(): Date;
  /** The routing's time zone: dates and times the caller says are read in it. */
  readonly timeZone: string;
  agent(id: string): CompiledAgent | undefined;
  /** Queue the action in the outbox and wait up to waitMs for its first delivery. */
  action(
    id: string,
    payload: Record<string, string>,
    key: string,
    waitMs: number,
  ): Promise<"delivered" | "failed" | "pending">;
  /** Ring a human (number, SIP URI or queue), play the whisper to them, and bridge the caller on answer. */
  connect(
    target: Exclude<TransferTarget, { agent: string } | { queue: string }>,
    whisper: string,
    opts: { mode: "blind" | "attended"; timeoutS: number; beforeBridge: () => Promise<void> },
  ): Promise<ConnectResult>;
  /**
   * Join a customer queue; undefined when it is full. `beforeBridge` runs once a human has answered and heard the
   * whisper, just before the caller is connected (the customer whisper).
   */
  queue(id: string, whisper: string, beforeBridge: () => Promise<void>): QueueWait | undefined;
  /** Record a message from the caller after the prompt. */
  voicemail(maxS: number): Promise<{ durationMs: number }>;
  /** Start recording the call (after consent). */
  record(): void;
  /** The box records calls at all (recording.calls); without it no consent is asked. */
  readonly recordingEnabled: boolean;
  /** Each transcript line as it happens (masked), e.g. for the web page's live transcript. */
  transcript?(entry: TranscriptEntry): void;
  /** Another agent has the call now (the dashboard's live view). */
  agentChanged?(agent: string): void;
  /** An FAQ agent had no answer to this question (masked text). */
  unanswered?(text: string): void;
}

type Step = { goto?: string; end?: CallContext["outcome"] };

const MAX_STEPS = 500;
const MAX_AGENT_HOPS = 6;

const TEXTS = {
  de: {
    consent: "Dürfen wir dieses Gespräch aufzeichnen? Sagen Sie ja oder drücken Sie die 1, sonst nein oder die 2.",
    noHuman: "Leider ist gerade niemand erreichbar. Ich habe Ihre Angaben notiert.",
    offer: "Möchten Sie eine Nachricht hinterlassen, dann drücken Sie die 1, für einen Rückruf die 2.",
    callbackDone: "Gut, wir rufen Sie unter {callback} zurück.",
    repeatedEscalation: "Ich verbinde Sie mit einem Menschen.",
  },
  en: {
    consent: "May we record this call? Say yes or press 1, otherwise say no or press 2.",
    noHuman: "Unfortunately nobody is available right now. I have noted your details.",
    offer: "To leave a message press 1, for a call back press 2.",
    callbackDone: "Fine, we will call you back on {callback}.",
    repeatedEscalation: "Let me put you through to a person.",
  },
  zh: {
    consent: "我们可以为本次通话录音吗？同意请说“是”或按1，不同意请说“不”或按2。",
    noHuman: "抱歉，目前没有工作人员可以接听。我已经记下了您的信息。",
    offer: "留言请按1，需要回电请按2。",
    callbackDone: "好的，我们会拨打{callback}给您回电。",
    repeatedEscalation: "我为您转接人工服务。",
  },
};

export class FlowRun {
  private readonly io: CallerIo;
  private readonly services: FlowServices;
  readonly ctx: CallContext;
  private agent: CompiledAgent;
  private lastCallerTexts: string[] = [];
  /** The caller's concern in their own words, handed to the next agent so they need not say it again. */
  private carry: string | undefined;
  private lastCallerText = "";

  constructor(io: CallerIo, services: FlowServices, ctx: CallContext, agent: CompiledAgent) {
    this.services = services;
    this.ctx = ctx;
    this.agent = agent;
    this.io = transcribed(
      io,
      ctx,
      () => this.elapsed(),
      () => this.agent.config.id,
      (e) => services.transcript?.(e),
    );
  }

  private elapsed(): number {
    return this.services.now().getTime() - this.ctx.startedAt;
  }

  private event(line: string): void {
    this.ctx.events.push(line);
  }

  private get t() {
    return textsFor(this.ctx.language, TEXTS);
  }

  /** The whole call: compliance first, then agent after agent until a hang-up, transfer or the flow's end. */
  async run(): Promise<CallContext> {
    const a = this.agent.config;
    const tx = agentTexts(this.ctx.language);
    await this.io.say({ text: a.disclosure ?? tx.disclosure }, { interruptible: false });
    this.event(`disclosure said (agent ${a.id})`);
    if (this.services.recordingEnabled && a.recording === "consent") {
      if (!(await this.askConsent())) {
        this.ctx.outcome = "abandoned";
        return this.ctx;
      }
    } else this.ctx.consent = { recording: false, via: "none", atMs: this.elapsed() };
    let hops = 0;
    let agentId: string | undefined = a.id;
    while (agentId && hops++ < MAX_AGENT_HOPS) {
      const next = this.services.agent(agentId);
      if (!next) {
        this.event(`agent "${agentId}" does not exist: ending`);
        break;
      }
      if (next !== this.agent) {
        this.agent = next;
        this.ctx.agent = next.config.id;
        this.ctx.agents.push(next.config.id);
        this.services.agentChanged?.(next.config.id);
        // The next agent speaks its own language with its own voice (and the box's sentences follow it).
        if (next.language !== this.ctx.language || next.config.voice) {
          this.ctx.language = next.language;
          this.io.speakAs(next.language, next.config.voice);
        }
      }
      agentId = await this.runAgent();
    }
    this.ctx.outcome ??= "completed";
    return this.ctx;
  }

  /** False when the caller hung up (or went silent for good) instead of answering. */
  private async askConsent(): Promise<boolean> {
    const r = await gather(this.io, {
      prompt: { text: this.t.consent },
      expect: { kind: "yesno" },
      attempts: 2,
      confirm: "never",
    });
    const yes = r.outcome === "match" && r.value === "yes";
    this.ctx.consent = { recording: yes, via: r.outcome === "match" ? r.via : "none", atMs: this.elapsed() };
    this.event(
      `recording consent: ${yes ? "yes" : "no"}${r.outcome === "match" ? ` via ${r.via}` : ` (${r.outcome})`}`,
    );
    if (yes) this.services.record();
    return r.outcome !== "hangup" && r.outcome !== "idle";
  }

  /** Runs the current agent's flow; returns the next agent when the flow hands the call on. */
  private async runAgent(): Promise<string | undefined> {
    const flow = this.agent.flow;
    const index = new Map(flow.map((n, i) => [n.id ?? `#${i}`, i]));
    let i = 0;
    for (let steps = 0; steps < MAX_STEPS && i < flow.length; steps++) {
      const node = flow[i] as FlowNode;
      this.ctx.nodes.push(`${this.agent.config.id}/${node.type}/${node.id ?? `#${i}`}`);
      let step: Step;
      try {
        // An escalation may itself hand the call to another agent (escalation.to: { agent }).
        step = await this.exec(node).catch((e) =>
          e instanceof Escalate ? this.escalate(e.reason) : Promise.reject(e),
        );
      } catch (e) {
        if (e instanceof Handover) {
          this.carry = this.lastCallerTexts.length ? this.lastCallerText : undefined;
          return e.agent;
        }
        throw e;
      }
      if (this.ctx.outcome && this.ctx.outcome !== "completed") return undefined;
      if (step.end) {
        this.ctx.outcome = step.end;
        return undefined;
      }
      const target = step.goto ?? node.next;
      if (target === undefined) i++;
      else {
        const j = index.get(target);
        if (j === undefined) throw new Error(`flow of agent ${this.agent.config.id}: no node "${target}"`);
        i = j;
      }
    }
    return undefined;
  }

  private async exec(n: FlowNode): Promise<Step> {
    const say = (text: string, legal = false) => this.sayTemplate(text, { interruptible: !legal });
    switch (n.type) {
      case "say":
        await this.io.say(
          { text: render(n.text, this.ctx), file: n.file },
          { interruptible: !n.legal, fresh: /\{/.test(n.text) },
        );
        return {};
      case "play":
        await this.io.say({ text: "", file: n.file }, { interruptible: !n.legal });
        return {};
      case "gather": {
        const r = await gather(
          this.io,
          {
            prompt: { text: render(n.prompt, this.ctx) },
            expect:
              n.expect === "digits"
                ? { kind: "digits", min: n.min, max: n.max, finishKey: n.finishKey }
                : { kind: "yesno" },
            noInputMs: n.noInputMs,
            attempts: n.attempts,
            confirm: n.confirm,
            escalation: this.agent.config.escalation.keywords,
          },
          { event: (e) => this.event(e) },
        );
        if (r.outcome === "match") {
          this.ctx.vars[n.into] = r.value;
          this.hit();
          return {};
        }
        return this.failed(r.outcome, n.onFail, n.attempts ?? 3);
      }
      case "menu": {
        const r = await gather(
          this.io,
          {
            prompt: { text: render(n.prompt, this.ctx) },
            expect: {
              kind: "menu",
              options: n.options.map((o, k) => ({
                id: String(k),
                key: o.key,
                words: o.words,
                phrases: o.phrases,
                label: o.label,
              })),
            },
            attempts: n.attempts,
            escalation: this.agent.config.escalation.keywords,
          },
          { event: (e) => this.event(e) },
        );
        if (r.outcome === "match") {
          this.hit();
          return { goto: n.options[Number(r.value)]?.goto };
        }
        return this.failed(r.outcome, n.onFail, n.attempts ?? 3);
      }
      case "intent":
        return this.intent(n);
      case "capture":
        return this.capture(n);
      case "confirm": {
        const r = await gather(
          this.io,
          {
            prompt: { text: render(n.prompt, this.ctx) },
            expect: { kind: "yesno" },
            attempts: n.attempts,
            confirm: "never",
            escalation: this.agent.config.escalation.keywords,
          },
          { event: (e) => this.event(e) },
        );
        if (r.outcome === "match") return r.value === "yes" ? {} : { goto: n.onNo };
        return this.failed(r.outcome, n.onNo);
      }
      case "condition":
        return { goto: condition(n, this.ctx) ? n.goto : n.else };
      case "set":
        this.ctx.vars[n.var] = render(n.value, this.ctx);
        return {};
      case "action":
        return this.action(n);
      case "transfer":
        if (n.text) await say(n.text);
        return this.transfer(n.to, {
          mode: n.mode,
          timeoutS: n.timeoutS,
          whisper: n.whisper,
          customerWhisper: n.customerWhisper,
          onNoAnswer: n.onNoAnswer,
        });
      case "voicemail":
        await say(n.prompt ?? agentTexts(this.ctx.language).voicemail);
        {
          const m = await this.services.voicemail(n.maxS);
          this.event(`voicemail ${(m.durationMs / 1000).toFixed(1)} s`);
        }
        this.ctx.outcome = "voicemail";
        return { end: "voicemail" };
      case "callback":
        return this.callback(n.prompt);
      case "offer":
        return this.fallback(false);
      case "hangup":
        if (n.text) await say(n.text);
        return { end: "completed" };
    }
  }

  /** Configured text with `{variables}` filled in; text with variables differs per call, so it is not cached. */
  private sayTemplate(text: string, o: { interruptible?: boolean } = {}): Promise<void> {
    return this.io.say({ text: render(text, this.ctx) }, { interruptible: o.interruptible, fresh: /\{/.test(text) });
  }

  /** A turn answered: the miss streak is over. */
  private hit(): void {
    this.ctx.misses = 0;
  }

  /** A gather that failed after `turns` tries: every unanswered turn counts towards the escalation limit. */
  private failed(outcome: string, onFail: string | undefined, turns = 1): Step {
    if (outcome === "hangup" || outcome === "idle") return { end: "abandoned" };
    if (outcome === "escalate") throw new Escalate("keyword");
    if (outcome === "nomatch" || outcome === "noinput" || outcome === "unheard") {
      this.ctx.misses += Math.max(0, turns - 1);
      this.miss(outcome);
    }
    return onFail ? { goto: onFail } : {};
  }

  private miss(what: string): void {
    this.ctx.misses++;
    const limit = this.agent.config.escalation.noMatchLimit;
    if (limit > 0 && this.ctx.misses >= limit) throw new Escalate(`${this.ctx.misses} times ${what}`);
  }

  /** One free turn (speech text, or keys until # or a pause), with the escalation checks every turn gets. */
  private async turn(
    noInputMs = 6000,
  ): Promise<{ text: string; via: "voice" | "dtmf" } | "timeout" | "hangup" | "unheard"> {
    const first = await this.io.next(noInputMs);
    if (first === undefined || (first !== "timeout" && first.kind === "idle")) return "hangup";
    if (first === "timeout") return "timeout";
    if (first.kind === "digit") {
      const typed = await readKeys(this.io, first.digit, { max: 40 });
      return typed === "hangup" || typed === "idle" ? "hangup" : { text: typed, via: "dtmf" };
    }
    if (first.text === undefined) return "unheard";
    const text = first.text.trim();
    const esc = this.agent.config.escalation;
    if (esc.keywords && commandWords(text).words.includes("agent")) throw new Escalate("keyword");
    if (esc.sentimentBelow !== undefined) {
      const s = sentimentOf(text);
      if (s.score <= esc.sentimentBelow) throw new Escalate(`sentiment ${s.score.toFixed(2)}`);
    }
    const norm = text
      .toLowerCase()
      .replace(/[^\p{L}\p{N}]+/gu, " ")
      .trim();
    if (esc.repeatedQuestion && norm.split(" ").length >= 3 && this.lastCallerTexts.includes(norm))
      throw new Escalate("same question twice");
    this.lastCallerTexts.push(norm);
    this.lastCallerText = text;
    return { text, via: "voice" };
  }

  private async intent(n: Extract<FlowNode, { type: "intent" }>): Promise<Step> {
    const model = this.agent.intents;
    const attempts = n.attempts ?? 3;
    let prompt = n.prompt;
    const carried = this.carry;
    this.carry = undefined;
    if (carried !== undefined) {
      const m = model?.classify(carried);
      const route = m?.band === "act" ? n.routes.find((r) => r.intent === m.intent) : undefined;
      this.event(
        `intent (handed over): ${m?.intent ?? "none"} (${m ? m.score.toFixed(2) : "no model"}) for "${maskSensitive(carried)}"`,
      );
      if (route) return { goto: route.goto };
    }
    for (let k = 0; k < attempts; k++) {
      if (prompt) await this.sayTemplate(prompt);
      const turn = await this.turn();
      if (turn === "hangup") return { end: "abandoned" };
      if (turn === "timeout" || turn === "unheard") {
        this.miss(turn === "timeout" ? "noinput" : "unheard");
        prompt = n.prompt ?? n.clarify;
        continue;
      }
      const m = model?.classify(turn.text);
      this.event(
        `intent: ${m?.intent ?? "none"} (${m ? m.score.toFixed(2) : "no model"}, ${m?.band ?? "-"}) for "${maskSensitive(turn.text)}"`,
      );
      const route = m?.intent ? n.routes.find((r) => r.intent === m.intent) : undefined;
      // An FAQ agent asked something its knowledge does not cover hands over at once instead of asking again.
      const a = this.agent.config;
      if (a.template === "faq" && m?.band === "escalate") {
        // The knowledge queue of the web page: admins see what callers asked and can add an answer.
        this.services.unanswered?.(maskSensitive(turn.text));
        if (a.escalation.outOfKnowledge) throw new Escalate("question outside the knowledge base");
      }
      if (m && route && m.band === "act") {
        // The call's concern is what the caller first came for; later intents (an FAQ entry) refine it.
        this.ctx.intent ??= m.intent;
        this.hit();
        return { goto: route.goto };
      }
      this.miss("nomatch");
      prompt = n.clarify ?? n.prompt;
    }
    return n.onNoMatch ? { goto: n.onNoMatch } : {};
  }

  private async capture(n: Extract<FlowNode, { type: "capture" }>): Promise<Step> {
    const spec = n.spec as SlotSpec;
    const attempts = n.attempts ?? 3;
    let prompt = render(n.prompt, this.ctx);
    const digitsLike =
      spec.type === "digits" || spec.type === "phone" || spec.type === "postcode" || spec.type === "number";
    for (let k = 0; k < attempts; k++) {
      await this.io.say({ text: prompt }, { fresh: true });
      this.io.setEndpointMode(
        digitsLike ? "digits" : spec.type === "email" ? "email" : spec.type === "iban" ? "iban" : "default",
      );
      const turn = await this.turn(spec.type === "iban" || spec.type === "email" ? 10_000 : 6000);
      this.io.setEndpointMode("default");
      if (turn === "hangup") return { end: "abandoned" };
      if (turn === "timeout" || turn === "unheard") {
        this.miss(turn === "timeout" ? "noinput" : "unheard");
        prompt = `${gatherTexts(this.ctx.language).noInput} ${render(n.prompt, this.ctx)}`;
        continue;
      }
      const r = extractSlot(turn.text, spec, {
        language: this.ctx.language,
        now: this.services.now(),
        timeZone: this.services.timeZone,
      });
      if (!r.ok) {
        this.event(`capture ${n.slot}: rejected (${r.reason}: ${r.detail})`);
        this.miss("nomatch");
        prompt = `${render((n.retry ?? defaultRetry(this.ctx.language)).replace("{reason}", r.detail), this.ctx)} ${render(n.prompt, this.ctx)}`;
        continue;
      }
      const mode = n.confirm ?? "auto";
      const confirmIt =
        mode === "always" || (mode === "auto" && turn.via === "voice" && spec.type !== "text" && spec.type !== "yesno");
      if (confirmIt) {
        const c = await gather(
          this.io,
          {
            prompt: { text: gatherTexts(this.ctx.language).confirm.replace("{x}", r.display) },
            expect: { kind: "yesno" },
            attempts: 2,
            confirm: "never",
            escalation: this.agent.config.escalation.keywords,
          },
          { event: (e) => this.event(e) },
        );
        if (c.outcome === "escalate") throw new Escalate("keyword");
        if (c.outcome === "hangup" || c.outcome === "idle") return { end: "abandoned" };
        if (!(c.outcome === "match" && c.value === "yes")) {
          prompt = render(n.prompt, this.ctx);
          continue;
        }
      }
      this.ctx.vars[n.slot] = r.value;
      this.ctx.displays[n.slot] = r.display;
      this.event(
        `capture ${n.slot}: ${spec.type === "iban" ? maskSensitive(r.value) : r.value} via ${turn.via}${confirmIt ? " (confirmed)" : ""}`,
      );
      this.hit();
      return {};
    }
    return n.onFail ? { goto: n.onFail } : {};
  }

  private async action(n: Extract<FlowNode, { type: "action" }>): Promise<Step> {
    const payload: Record<string, string> = { ...this.ctx.vars };
    for (const [k, v] of Object.entries(n.payload)) payload[k] = render(v, this.ctx);
    payload.caller = this.ctx.caller;
    payload.call_id = this.ctx.callId;
    const key = `${this.ctx.callId}:${n.action}:${this.ctx.actions.filter((x) => x.action === n.action).length}`;
    const state = await this.services.action(n.action, payload, key, n.waitMs);
    this.ctx.actions.push({ action: n.action, state, key });
    this.event(`action ${n.action}: ${state}`);
    // The caller hears "done" only after the action really succeeded; otherwise a promise to follow up.
    const tx = agentTexts(this.ctx.language);
    if (state === "delivered") await this.io.say({ text: render(n.done ?? tx.done, this.ctx) });
    else await this.io.say({ text: render(n.pending ?? tx.pending, this.ctx) });
    if (state === "failed" && n.onFail) return { goto: n.onFail };
    return {};
  }

  private async transfer(
    to: TransferTarget,
    o: {
      mode: "blind" | "attended";
      timeoutS: number;
      whisper?: string;
      customerWhisper?: string;
      onNoAnswer?: string;
    },
  ): Promise<Step> {
    if ("agent" in to) {
      this.event(`handover to agent ${to.agent}`);
      throw new Handover(to.agent);
    }
    const whisper = o.whisper ? render(o.whisper, this.ctx) : whisperText(this.ctx);
    const customerWhisper = async (text: string | undefined) => {
      if (text) await this.sayTemplate(text, { interruptible: false });
    };
    if ("queue" in to) return this.queue(to.queue, whisper, o.customerWhisper, o.onNoAnswer);
    const label =
      "number" in to
        ? `number ${to.number}`
        : "browser" in to
          ? `browser ${to.browser}`
          : "handset" in to
            ? "the handset"
            : to.sip;
    this.event(`transfer (${o.mode}) to ${label}; whisper: ${maskSensitive(whisper)}`);
    const r = await this.services.connect(to, whisper, {
      mode: o.mode,
      timeoutS: o.timeoutS,
      beforeBridge: () => customerWhisper(o.customerWhisper),
    });
    this.event(`transfer to ${label}: ${r}`);
    if (r === "connected") {
      this.ctx.transferred = label;
      return { end: "transferred" };
    }
    if (o.onNoAnswer) return { goto: o.onNoAnswer };
    return this.fallback();
  }

  /**
   * Waiting in a customer queue: hold music, the position on entry and every announceEveryS, the offer of a call
   * back after callbackAfterS (key 1; the place is kept), the fallback after maxWaitS.
   */
  private async queue(
    id: string,
    whisper: string,
    customerWhisper: string | undefined,
    onNoAnswer: string | undefined,
  ): Promise<Step> {
    const t = queueTexts(this.ctx.language);
    let cfg: QueueConfig | undefined;
    const w = this.services.queue(id, whisper, async () => {
      this.io.hold(false);
      const text = customerWhisper ?? cfg?.customerWhisper ?? t.connecting;
      await this.sayTemplate(text, { interruptible: false });
    });
    this.event(`queue ${id}: ${w ? `joined at position ${w.position()}` : "full"}; whisper: ${maskSensitive(whisper)}`);
    if (!w) {
      await this.io.say({ text: t.full });
      return onNoAnswer ? { goto: onNoAnswer } : this.fallback(false);
    }
    cfg = w.config;
    let outcome: Awaited<QueueWait["done"]> | undefined;
    void w.done.then((o) => {
      outcome = o;
    });
    const started = this.elapsed();
    const say = async (text: string) => {
      this.io.hold(false);
      await this.io.say({ text }, { fresh: true });
    };
    await say(positionText(this.ctx.language, w.position(), true));
    let offered = cfg.callbackAfterS === 0;
    let lastAnnounce = this.elapsed();
    for (let k = 0; k < 10_000; k++) {
      if (outcome === undefined) this.io.hold({ file: cfg.holdMusic });
      const waited = this.elapsed() - started;
      const due = [
        cfg.announceEveryS > 0 ? lastAnnounce + cfg.announceEveryS * 1000 - this.elapsed() : Number.POSITIVE_INFINITY,
        offered ? Number.POSITIVE_INFINITY : cfg.callbackAfterS * 1000 - waited,
        cfg.maxWaitS * 1000 + 2000 - waited,
      ];
      const ac = new AbortController();
      void w.done.then(() => ac.abort());
      const input =
        outcome === undefined ? await this.io.next(Math.max(500, Math.min(...due)), ac.signal) : ("timeout" as const);
      await Promise.race([w.done, Promise.resolve()]); // let a settled queue outcome land first
      if (outcome === "connected") {
        this.ctx.transferred = `queue ${id}`;
        this.event(`queue ${id}: connected after ${((this.elapsed() - started) / 1000).toFixed(0)} s`);
        return { end: "transferred" };
      }
      if (outcome === "timeout") {
        this.io.hold(false);
        this.event(`queue ${id}: nobody answered within ${cfg.maxWaitS} s`);
        return onNoAnswer ? { goto: onNoAnswer } : this.fallback();
      }
      if (input === undefined || (input !== "timeout" && input.kind === "idle")) {
        w.leave();
        return { end: "abandoned" };
      }
      if (input !== "timeout" && input.kind === "digit") {
        if (offered && input.digit === "1") {
          this.io.hold(false);
          const step = await this.callback(undefined, (number) => w.callback(number));
          if (step.end !== "callback") w.leave();
          return step;
        }
        continue; // other keys mean nothing on hold
      }
      if (input !== "timeout") continue; // speech on hold: nobody is listening
      if (!offered && this.elapsed() - started >= cfg.callbackAfterS * 1000) {
        offered = true;
        await say(t.callbackOffer);
        this.event(`queue ${id}: call back offered at position ${w.position()}`);
      } else if (cfg.announceEveryS > 0 && this.elapsed() - lastAnnounce >= cfg.announceEveryS * 1000) {
        await say(positionText(this.ctx.language, w.position(), false));
        lastAnnounce = this.elapsed();
      }
    }
    w.leave();
    return { end: "abandoned" };
  }

  /** Nobody took the call: the AI resumes with what it has and offers a message or a call back. */
  private async fallback(afterTransfer = true): Promise<Step> {
    if (afterTransfer) await this.io.say({ text: this.t.noHuman });
    const r = await gather(this.io, {
      prompt: { text: this.t.offer },
      expect: {
        kind: "menu",
        options: [
          { id: "voicemail", key: "1", phrases: ["nachricht", "message", "voicemail"] },
          { id: "callback", key: "2", phrases: ["rückruf", "zurückrufen", "callback"] },
        ],
      },
      escalation: false,
      attempts: 2,
    });
    if (r.outcome === "match" && r.value === "callback") return this.callback();
    if (r.outcome === "hangup" || r.outcome === "idle") return { end: "abandoned" };
    await this.io.say({ text: agentTexts(this.ctx.language).voicemail });
    const m = await this.services.voicemail(this.agent.config.maxMessageS);
    this.event(`voicemail ${(m.durationMs / 1000).toFixed(1)} s`);
    return { end: "voicemail" };
  }

  /** A call back to the caller's own number when it is a real one, else to a number the caller gives. */
  private async callback(prompt?: string, keepPlace?: (number: string) => void): Promise<Step> {
    const known = /^\+?\d{6,}$/.test(this.ctx.caller) ? this.ctx.caller : undefined;
    if (!this.ctx.vars.callback && !known) {
      const step = await this.capture({
        type: "capture",
        slot: "callback",
        prompt: prompt ?? agentTexts(this.ctx.language).callbackNumber,
        spec: { type: "phone" } as SlotSpec,
        attempts: 2,
        confirm: "auto",
      });
      if (step.end) return step;
    }
    const number = this.ctx.vars.callback ?? known;
    if (!number) return { end: "abandoned" };
    this.ctx.vars.callback = number;
    this.ctx.displays.callback ??= number.replace(/\d/g, "$& ").trim();
    keepPlace?.(number);
    await this.io.say({ text: render(this.t.callbackDone, this.ctx) }, { fresh: true });
    this.event(`callback requested to ${number}`);
    return { end: "callback" };
  }

  private async escalate(reason: string): Promise<Step> {
    this.ctx.escalation = reason;
    this.ctx.misses = 0;
    this.event(`escalation: ${reason}`);
    const esc = this.agent.config.escalation;
    const inFlow = this.agent.flow.some((n) => n.id === "escalate");
    if (inFlow) return { goto: "escalate" };
    if (esc.to) {
      await this.io.say({ text: this.t.repeatedEscalation });
      return this.transfer(esc.to, { mode: "attended", timeoutS: 25 });
    }
    return this.fallback();
  }
}

class Escalate extends Error {
  constructor(readonly reason: string) {
    super(reason);
  }
}

class Handover extends Error {
  constructor(readonly agent: string) {
    super(agent);
  }
}

function condition(n: Extract<FlowNode, { type: "condition" }>, ctx: CallContext): boolean {
  const v = n.var === "intent" ? ctx.intent : ctx.vars[n.var];
  switch (n.op) {
    case "exists":
      return v !== undefined && v !== "";
    case "missing":
      return v === undefined || v === "";
    case "eq":
      return v === String(n.value);
    case "ne":
      return v !== String(n.value);
    case "in":
      return Array.isArray(n.value) && v !== undefined && n.value.includes(v);
    case "gt":
      return v !== undefined && Number(v) > Number(n.value);
    case "lt":
      return v !== undefined && Number(v) < Number(n.value);
  }
}

function defaultRetry(language: string): string {
  return textsFor(language, { de: "Das hat nicht gepasst.", en: "That did not work.", zh: "这个不对。" });
}

/** Every prompt and every caller input lands in the call's transcript (masked), whoever asked. */
function transcribed(
  io: CallerIo,
  ctx: CallContext,
  at: () => number,
  agent: () => string,
  onEntry: (e: TranscriptEntry) => void = () => {},
): CallerIo {
  /** When the last caller input reached the flow: the next prompt's latency is measured from it. */
  let heardAt: number | undefined;
  const add = (e: TranscriptEntry) => {
    ctx.transcript.push(e);
    onEntry(e);
  };
  return {
    get language() {
      return io.language;
    },
    get speaks() {
      return io.speaks;
    },
    get understands() {
      return io.understands;
    },
    get pending() {
      return io.pending;
    },
    async say(p, o) {
      if (p.text) {
        const latencyMs = heardAt === undefined ? undefined : Math.round((performance.now() - heardAt) * 10) / 10;
        add({ atMs: at(), speaker: "agent", agent: agent(), text: maskSensitive(p.text), latencyMs });
        heardAt = undefined;
      }
      await io.say(p, o);
    },
    hold: (music) => io.hold(music),
    speakAs: (language, voice) => io.speakAs(language, voice),
    async next(timeoutMs, signal) {
      const i = await io.next(timeoutMs, signal);
      if (i && i !== "timeout") {
        heardAt = performance.now();
        if (i.kind === "digit") {
          const last = ctx.transcript[ctx.transcript.length - 1];
          if (last?.speaker === "caller" && last.dtmf !== undefined && last.text === "") {
            last.dtmf += i.digit;
            onEntry(last);
          } else add({ atMs: at(), speaker: "caller", text: "", dtmf: i.digit });
        } else if (i.kind === "speech")
          add({
            atMs: at(),
            speaker: "caller",
            text: i.text !== undefined ? maskSensitive(i.text) : "(not understood)",
          });
      }
      return i;
    },
    settleBargeIn: () => io.settleBargeIn(),
    setEndpointMode: (m) => io.setEndpointMode(m),
    close: () => io.close(),
  };
}
