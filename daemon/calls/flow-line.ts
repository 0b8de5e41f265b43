// The call app when routing is configured: the time window picks the agent, the flow interpreter runs it on this
// call's CallerIo, and the box's real services back it (SIP dial + whisper + bridge for humans, the voicemail
// recorder, recording after consent, actions through the outbox). After the call the context goes into the CDR.
import { join } from "node:path";
import type { Config } from "../config/schema.ts";
import { newContext, slotSummary } from "../flow/call-context.ts";
import {
  type CompiledAgent,
  type ConnectResult,
  FlowRun,
  type FlowServices,
  type QueueWait,
} from "../flow/interpreter.ts";
import { compileAgents, entryAgent } from "../flow/routing.ts";
import { canSpeak, type SpeechEngines } from "../speech/engines.ts";
import type { TranscriptEntry } from "../nlu/summary.ts";
import type { CallOutcomes } from "../store/call-outcomes.ts";
import { bridgeCalls, type CallCard, type CallDeps, type CallSession } from "./call-session.ts";
import { callOutcome, disconnectPayload } from "./post-call.ts";
import { type CallerIo, keypadIo, voiceIo } from "./caller-io.ts";
import type { QueueDesk } from "./queue-desk.ts";
import { type HumanTarget, ringHuman } from "./ring-human.ts";

export interface FlowLineDeps extends CallDeps {
  voicemailDir: string;
  speech?: SpeechEngines;
  /** Agents compiled for the config version new calls get (a reload swaps it; running calls keep theirs). */
  agents: () => Map<string, CompiledAgent>;
  outcomes: CallOutcomes;
  /** Queue an action in the outbox and wait for its first delivery; absent = actions are not configured. */
  action?: FlowServices["action"];
  queues: QueueDesk;
  /** Questions an FAQ agent could not answer go to the web page's knowledge queue. */
  unanswered?: (q: { callId: string; agent: string; language: string; text: string; askedAt: number }) => void;
  /** The live view of calls (dashboard): which agent has the call now. */
  live?: {
    setAgent(callId: string, agent: string): void;
    /** A transcript line of the call as it happens (masked). */
    transcript?(callId: string, entry: TranscriptEntry): void;
  };
}

/** Compiled agents per config object: one training of the intents per config version, shared by its calls. */
const compiled = new WeakMap<Config, Map<string, CompiledAgent>>();
export function agentsFor(config: Config): Map<string, CompiledAgent> {
  let m = compiled.get(config);
  if (!m) {
    m = compileAgents(config);
    compiled.set(config, m);
  }
  return m;
}

/**
 * Run the flow for an answered call. The time window of its DID picks the agent, unless `opts.agent` names one (a
 * test call from the web page talks to the agent the admin chose).
 */
export async function runFlowLine(call: CallSession, deps: FlowLineDeps, opts: { agent?: string } = {}): Promise<void> {
  const config = deps.config;
  const agents = deps.agents();
  const entry = opts.agent
    ? { agent: opts.agent, window: "test-call", reason: `test call to agent ${opts.agent}` }
    : entryAgent(config, call.did, new Date());
  const agent = agents.get(entry.agent);
  if (!agent) throw new Error(`time window ${entry.window} names unknown agent ${entry.agent}`);
  call.event(`time window ${entry.reason}`);
  const language = agent.language;
  const io: CallerIo = canSpeak(deps.speech)
    ? voiceIo(call, deps.speech, config.speech, { language, voice: agent.config.voice })
    : keypadIo(call, language);
  const ctx = newContext({
    callId: call.id,
    caller: call.from ?? "",
    did: call.did,
    language,
    agent: agent.config.id,
    now: Date.now(),
  });
  ctx.window = { id: entry.window, reason: entry.reason };
  deps.live?.setAgent(call.id, agent.config.id);
  const services: FlowServices = {
    now: () => new Date(),
    timeZone: config.routing?.timeZone ?? "Europe/Berlin",
    agent: (id) => agents.get(id),
    action: deps.action ?? (async () => "failed"),
    connect: (to, whisper, o) =>
      (o.mode === "blind" ? blind : connect)(call, deps, to, whisper, {
        timeoutS: o.timeoutS,
        language: ctx.language,
        card: {
          from: ctx.caller || "anonymous",
          context: {
            caller: ctx.caller,
            intent: ctx.intent,
            summary: ctx.escalation ? `${ctx.escalation}: ${slotSummary(ctx)}` : slotSummary(ctx),
            slots: { ...ctx.displays },
          },
        },
        beforeBridge: o.beforeBridge,
      }),
    queue: (id, whisper, beforeBridge) => queueWait(call, deps, id, whisper, beforeBridge),
    async voicemail(maxS) {
      await call.play({ tone: { frequencies: [1000], durationMs: 400 } });
      const m = await call.recordMessage(join(deps.voicemailDir, `${call.id}.wav`), {
        maxMs: maxS * 1000,
        silenceMs: 5000,
        stopDigits: "#",
      });
      call.event(`voicemail ${m.path} ${m.durationMs} ms (${m.reason})`);
      return { durationMs: m.durationMs };
    },
    record: () => call.startRecording(),
    recordingEnabled: config.recording.calls,
    agentChanged: (id) => deps.live?.setAgent(call.id, id),
    transcript: (e) => deps.live?.transcript?.(call.id, e),
    unanswered: (text) =>
      deps.unanswered?.({ callId: call.id, agent: ctx.agent, language: ctx.language, text, askedAt: Date.now() }),
  };
  try {
    await new FlowRun(io, services, ctx, agent).run();
  } finally {
    io.close();
    for (const e of ctx.events) call.event(e);
    const outcome = callOutcome(ctx, { now: Date.now() });
    deps.outcomes.save(outcome);
    // The disconnect flow of the agent the call ended with: queued in the outbox, nobody waits for it.
    for (const d of agents.get(ctx.agent)?.config.disconnect ?? [])
      if (!d.when || d.when.includes(outcome.outcome as (typeof d.when)[number]))
        void deps.action?.(d.action, disconnectPayload(outcome, ctx.caller), `${call.id}:disconnect:${d.action}`, 0);
  }
  if (ctx.outcome !== "transferred") await call.hangup("box", `flow ${ctx.outcome ?? "ended"}`);
  // A bridged call lasts until one side hangs up; only then may the call's app (and its final hang-up) end.
  else await call.ended;
}

interface ConnectOptions {
  timeoutS: number;
  language: string;
  /** Who calls and what was captured, for a ringing browser softphone. */
  card: CallCard;
  /** The customer whisper, said once the human has answered and heard theirs. */
  beforeBridge: () => Promise<void>;
}

/**
 * Blind transfer: the caller's side (trunk or PBX) is asked to call the target itself (SIP REFER) and the box leaves
 * the call. A peer that refuses REFER or cannot reach the target gets the attended transfer through the box instead.
 */
async function blind(
  call: CallSession,
  deps: FlowLineDeps,
  to: HumanTarget,
  whisper: string,
  o: ConnectOptions,
): Promise<ConnectResult> {
  // A browser softphone or the handset exists only inside this box: connect it here instead of asking the peer to call it.
  if ("browser" in to || "handset" in to) return connect(call, deps, to, whisper, o);
  const target = "sip" in to ? to.sip : to.number;
  const r = await call.refer(target).catch((e: Error) => ({ outcome: "failed" as const, reason: e.message }));
  if (r.outcome === "transferred") return "connected";
  if (call.signal.aborted) return "failed";
  call.event(`blind transfer not possible (${r.outcome}: ${r.reason}): transferring through the box`);
  return connect(call, deps, to, whisper, o);
}

/** Ring the human (who hears the whisper first), tell the caller (customer whisper), then bridge. */
async function connect(
  call: CallSession,
  deps: FlowLineDeps,
  to: HumanTarget,
  whisper: string,
  o: ConnectOptions,
): Promise<ConnectResult> {
  const ringback = new AbortController();
  call.signal.addEventListener("abort", () => ringback.abort(), { once: true });
  void call.media.play(
    { tone: { frequencies: [425], durationMs: o.timeoutS * 1000, onMs: 1000, offMs: 4000 } },
    { signal: ringback.signal },
  );
  const human = await ringHuman(to, deps, {
    whisper,
    timeoutS: o.timeoutS,
    signal: call.signal,
    linkedTo: call.id,
    language: o.language,
    card: { ...o.card, whisper },
  }).finally(() => ringback.abort());
  if (!human) return call.signal.aborted ? "failed" : "noanswer";
  return bridgeAfter(call, human, o.beforeBridge);
}

async function bridgeAfter(
  call: CallSession,
  human: CallSession,
  beforeBridge: () => Promise<void>,
): Promise<ConnectResult> {
  await beforeBridge();
  if (call.signal.aborted) {
    await human.hangup("caller", "caller hung up before the bridge");
    return "failed";
  }
  call.event(`bridged to ${human.id}`);
  void bridgeCalls(call, human);
  return "connected";
}

/** The caller's place in a queue of the desk; the bridge waits for the customer whisper. */
function queueWait(
  call: CallSession,
  deps: FlowLineDeps,
  id: string,
  whisper: string,
  beforeBridge: () => Promise<void>,
): QueueWait | undefined {
  const ticket = deps.queues.join(id, call.from ?? "", whisper, call.id);
  const config = deps.queues.config(id);
  if (!ticket || !config) return undefined;
  const left = () => ticket.leave();
  call.signal.addEventListener("abort", left, { once: true });
  const done = ticket.done.then(async (o) => {
    call.signal.removeEventListener("abort", left);
    if (o.kind !== "connected") return o.kind;
    const human = o.answered.leg;
    if ((await bridgeAfter(call, human, beforeBridge)) === "connected") return "connected" as const;
    return "left" as const;
  });
  return {
    config,
    position: () => ticket.position(),
    done,
    leave: () => ticket.leave(),
    callback: (number) => ticket.callback(number),
  };
}
