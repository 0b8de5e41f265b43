// Ringing a human for a caller: dial the number or SIP URI, and once they answer tell them (TTS) who calls and why
// before anyone is connected: the agent whisper of a transfer or a queue, the outbound whisper of a call back.
import { canSpeak, type SpeechEngines } from "../speech/engines.ts";
import { type CallCard, type CallDeps, CallSession } from "./call-session.ts";
import { voiceIo } from "./caller-io.ts";

export type HumanTarget =
  | { sip: string }
  | { number: string; trunk?: string }
  | { browser: string }
  | { handset: true };

/**
 * What to dial for a human: a SIP URI, a number (through a trunk), "browser:NAME" / "browser:*" (softphone), or
 * "handset:" (the handset on the box).
 */
export function dialTarget(to: HumanTarget): string {
  if ("browser" in to) return `browser:${to.browser}`;
  if ("handset" in to) return "handset:";
  return "sip" in to ? to.sip : to.number;
}

export interface RingDeps extends CallDeps {
  speech?: SpeechEngines;
}

/** The answered leg after the whisper, or undefined when nobody answered (or `signal` aborted the ringing). */
export async function ringHuman(
  to: HumanTarget,
  deps: RingDeps,
  opts: {
    whisper: string;
    timeoutS: number;
    signal: AbortSignal;
    linkedTo?: string;
    /** The whisper is said in this language, with this voice (the caller's agent's). */
    language?: string;
    voice?: string;
    /** Shown while a browser softphone rings. */
    card?: CallCard;
  },
): Promise<CallSession | undefined> {
  const target = dialTarget(to);
  let human: CallSession;
  try {
    human = await CallSession.dial(target, deps, {
      trunkId: "number" in to ? to.trunk : undefined,
      linkedTo: opts.linkedTo,
      ringTimeoutMs: opts.timeoutS * 1000,
      signal: opts.signal,
      card: opts.card,
    });
  } catch (e) {
    deps.log.info({ target, err: (e as Error).message }, "human did not answer");
    return undefined;
  }
  if (opts.signal.aborted) {
    await human.hangup("caller", "caller left while ringing");
    return undefined;
  }
  if (canSpeak(deps.speech) && opts.whisper) {
    const language = opts.language ?? deps.config.speech.language;
    const io = voiceIo(human, deps.speech, deps.config.speech, { language, voice: opts.voice });
    await io.say({ text: opts.whisper }, { interruptible: false, fresh: true });
    io.close();
    human.event(`whisper played: ${opts.whisper}`);
  }
  if (opts.signal.aborted || human.signal.aborted) {
    await human.hangup("caller", "caller left during the whisper");
    return undefined;
  }
  return human;
}
