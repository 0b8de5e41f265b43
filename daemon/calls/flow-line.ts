// The call app when routing is configured: the time window picks the agent, the flow interpreter runs it on this
// call's CallerIo, and the box's real services back it (SIP dial + whisper + bridge for humans, the voicemail
// recorder, recording after consent, actions through the outbox). After the call the context goes into the CDR.
import { join } from "node:path";
import type { Config } from "../config/schema.ts";
import { newContext } from "../flow/call-context.ts";
import { type CompiledAgent, type ConnectResult, FlowRun, type FlowServices } from "../flow/interpreter.ts";
import type { TransferTarget } from "../flow/nodes.ts";
import { compileAgents, entryAgent } from "../flow/routing.ts";
import { canSpeak, type SpeechEngines } from "../speech/engines.ts";
import type { CallOutcomes } from "../store/call-outcomes.ts";
import { bridgeCalls, type CallDeps, CallSession } from "./call-session.ts";
import { demoText } from "./demo-texts.ts";
import { callOutcome } from "./post-call.ts";
import { type CallerIo, keypadIo, voiceIo } from "./caller-io.ts";

export interface FlowLineDeps extends CallDeps {
  voicemailDir: string;
  speech?: SpeechEngines;
  /** Agents compiled for the config version new calls get (a reload swaps it; running calls keep theirs). */
  agents: () => Map<string, CompiledAgent>;
  outcomes: CallOutcomes;
  /** Queue an action in the outbox and wait for its first delivery; absent = actions are not configured. */
  action?: FlowServices["action"];
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

export async function runFlowLine(call: CallSession, deps: FlowLineDeps): Promise<void> {
  const config = deps.config;
  const agents = deps.agents();
  const entry = entryAgent(config, call.did, new Date());
  const agent = agents.get(entry.agent);
  if (!agent) throw new Error(`time window ${entry.window} names unknown agent ${entry.agent}`);
  call.event(`time window ${entry.reason}`);
  const language = agent.language;
  const io: CallerIo = canSpeak(deps.speech)
    ? voiceIo(
        call,
        deps.speech,
        { ...config.speech, language: language as Config["speech"]["language"] },
        deadAirTexts(language),
      )
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
  const services: FlowServices = {
    now: () => new Date(),
    timeZone: config.routing?.timeZone ?? "Europe/Berlin",
    agent: (id) => agents.get(id),
    action: deps.action ?? (async () => "failed"),
    connect: (to, whisper, o) => connect(call, deps, to, whisper, o.timeoutS),
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
  };
  try {
    await new FlowRun(io, services, ctx, agent).run();
  } finally {
    io.close();
    for (const e of ctx.events) call.event(e);
    deps.outcomes.save(callOutcome(ctx, { now: Date.now() }));
  }
  if (ctx.outcome !== "transferred") await call.hangup("box", `flow ${ctx.outcome ?? "ended"}`);
}

/** Ring the human, tell them who calls and why (the whisper) before the caller is connected, then bridge. */
async function connect(
  call: CallSession,
  deps: FlowLineDeps,
  to: Exclude<TransferTarget, { agent: string }>,
  whisper: string,
  timeoutS: number,
): Promise<ConnectResult> {
  const target = "sip" in to ? to.sip : "number" in to ? to.number : undefined;
  if (!target) return "failed"; // queues arrive with the queue work; until then a queue target counts as unanswered
  const ringback = new AbortController();
  call.signal.addEventListener("abort", () => ringback.abort(), { once: true });
  void call.media.play(
    { tone: { frequencies: [425], durationMs: timeoutS * 1000, onMs: 1000, offMs: 4000 } },
    { signal: ringback.signal },
  );
  let human: CallSession;
  try {
    human = await CallSession.dial(target, deps, {
      trunkId: "number" in to ? to.trunk : undefined,
      linkedTo: call.id,
      ringTimeoutMs: timeoutS * 1000,
      signal: call.signal,
    });
  } catch (e) {
    call.event(`transfer target ${target} did not answer: ${(e as Error).message}`);
    return "noanswer";
  } finally {
    ringback.abort();
  }
  if (call.signal.aborted) {
    await human.hangup("caller", "caller hung up while ringing");
    return "failed";
  }
  if (canSpeak(deps.speech)) {
    const hio = voiceIo(human, deps.speech, deps.config.speech, deadAirTexts(deps.config.speech.language));
    await hio.say({ text: whisper }, { interruptible: false, fresh: true });
    hio.close();
    human.event(`whisper played: ${whisper}`);
  }
  call.event(`bridged to ${human.id}`);
  void bridgeCalls(call, human);
  return "connected";
}
function deadAirTexts(language: string): { filler: string; areYouThere: string } {
  return { filler: demoText(language, "filler"), areYouThere: demoText(language, "areYouThere") };
}
