// The demo line: what an answered call does until the flow engine takes over. Greeting, a menu, a voicemail on 1
// and an operator bridge on 0. With a VAD and a TTS voice the box speaks with its own voice, listens (barge-in,
// turn-taking, dead air) and takes spoken choices when a recognizer is installed; without a recognizer it says so
// and points to the keypad, never pretending to have understood. Without speech engines it plays the WAV prompts
// and reads DTMF. Written against CallSession only, so the flow engine can replace it whole.
import { join } from "node:path";
import type { Config } from "../config/schema.ts";
import type { PlayResult } from "../media/types.ts";
import { SpeechChannel } from "../speech/conversation.ts";
import { DeadAirMonitor } from "../speech/dead-air.ts";
import { canSpeak, type SpeechEngines, type VoiceEngines } from "../speech/engines.ts";
import type { Log } from "../ops/log.ts";
import { bridgeCalls, type CallDeps, CallSession } from "./call-session.ts";
import { allDemoTexts, choiceFromText, type DemoText, demoText, fillReply } from "./demo-texts.ts";
import { type PromptName, promptFile } from "./prompts.ts";

const BEEP = { tone: { frequencies: [1000], durationMs: 400 } };
/** Bound on spoken exchanges before the menu gives up (dead-air handling ends silent calls sooner). */
const MAX_TURNS = 12;

export type DemoDeps = CallDeps & { voicemailDir: string; speech?: SpeechEngines };

type Choice = "1" | "0" | undefined;

/** How the line speaks and hears: WAV prompts + DTMF, or the box's voice + VAD (+ ASR) + DTMF. */
interface Line {
  say(what: PromptName, opts?: { interruptible?: boolean }): Promise<unknown>;
  /** The caller's menu choice, or undefined when they gave none in time. */
  choose(): Promise<Choice>;
  /** Stop listening (before recording a message or bridging). */
  close(): void;
}

export async function runDemoLine(call: CallSession, deps: DemoDeps): Promise<void> {
  const demo: Config["demo"] = deps.config.demo;
  if (demo.sendDigitsOnAnswer) {
    await call.media.sendDtmf(demo.sendDigitsOnAnswer);
    call.event(`sent dtmf ${demo.sendDigitsOnAnswer}`);
  }
  const line = canSpeak(deps.speech) ? voiceLine(call, deps, deps.speech) : keypadLine(call, deps);
  try {
    if (demo.greeting) {
      const played = await call.play({ file: demo.greeting }, { interruptOnDigit: true });
      if (played.outcome === "failed") call.log.warn({ err: played.error }, "greeting could not be played");
    } else await line.say("greeting");
    const choice = await line.choose();
    if (call.signal.aborted) return;
    line.close();
    if (choice === "1") return await leaveMessage(call, deps, line);
    if (choice === "0") return await connectOperator(call, deps, line);
    await line.say("goodbye", { interruptible: false });
    await call.hangup("box", "menu timeout");
  } finally {
    line.close();
  }
}

/**
 * Synthesize every fixed sentence of the voice line at start, so no call waits for one. A configured reply is one
 * of them unless it contains {seconds} (then it differs per turn).
 */
export async function warmDemoPrompts(speech: SpeechEngines, config: Config, log: Log): Promise<void> {
  if (!canSpeak(speech)) return;
  const reply = config.demo.speechReply;
  const texts = [...allDemoTexts(config.speech.language), ...(reply && !reply.includes("{seconds}") ? [reply] : [])];
  const t0 = performance.now();
  try {
    await speech.cache.warm(texts.map((text) => ({ voice: speech.voice, text })));
    const ms = Math.round(performance.now() - t0);
    log.info({ prompts: texts.length, ms, ...speech.cache.stats }, "prompt cache warm");
  } catch (e) {
    log.warn({ err: (e as Error).message }, "prompts not synthesized at start: calls synthesize them when needed");
  }
}

function keypadLine(call: CallSession, deps: DemoDeps): Line {
  const demo = deps.config.demo;
  const play = (what: PromptName, interruptible = true): Promise<PlayResult> =>
    call.play({ file: promptFile(what) }, { interruptOnDigit: interruptible });
  return {
    say: (what, o) =>
      play(what, o?.interruptible).then(
        (r) => r.outcome === "failed" && call.log.warn({ err: r.error }, "prompt failed"),
      ),
    async choose() {
      for (let attempt = 0; attempt < 2 && !call.signal.aborted; attempt++) {
        if (call.digits.pending === 0) await play("menu");
        const d = await call.digits.next(demo.menuTimeoutS * 1000, call.signal);
        if (d === "1" || d === "0") return d;
      }
      return undefined;
    },
    close() {},
  };
}

function voiceLine(call: CallSession, deps: DemoDeps, speech: VoiceEngines): Line {
  const cfg = deps.config.speech;
  const language = cfg.language;
  const deadAir = new DeadAirMonitor({
    fillerAfterMs: cfg.deadAir.fillerAfterMs,
    idlePromptAfterMs: cfg.deadAir.idlePromptAfterS * 1000,
    hangupAfterMs: cfg.deadAir.hangupAfterS * 1000,
  });
  const channel = new SpeechChannel({
    media: call.media,
    vad: speech.vad,
    bargeInVad: speech.bargeInVad,
    asr: speech.asr,
    denoiser: speech.denoiser,
    tts: speech.tts,
    cache: speech.cache,
    voice: speech.voice,
    bargeIn: cfg.bargeIn.enabled ? { minSpeechMs: cfg.bargeIn.minSpeechMs, minDbfs: cfg.bargeIn.minDbfs } : undefined,
    endpointing: cfg.endpointing,
    deadAir,
    signal: call.signal,
  });
  /** The caller talked over a prompt and cut it off (the menu then waits until they are heard). */
  let bargedIn = false;
  channel.on("bargeIn", (b) => {
    bargedIn = true;
    call.event(`barge-in ${b.delayMs.toFixed(0)} ms after speech onset at ${b.onsetMs.toFixed(0)} ms`);
  });

  // Everything the caller does arrives here, in order: digits, spoken turns, and dead-air verdicts.
  type Input = { digit: string } | { turn: { text?: string; startMs: number; endMs: number } } | { idle: true };
  const inputs: Input[] = [];
  let wake: (() => void) | undefined;
  const push = (i: Input) => {
    inputs.push(i);
    wake?.();
  };
  /** Cuts the current prompt when a key is pressed (barge-in by DTMF). */
  let sayAbort: AbortController | undefined;
  const unsubscribe = call.digits.subscribe((digit) => {
    sayAbort?.abort();
    push({ digit });
  });
  call.signal.addEventListener("abort", () => wake?.(), { once: true });
  channel.on("turn", (t) => {
    call.event(
      `turn ${t.startMs.toFixed(0)}-${t.endMs.toFixed(0)} ms${t.text !== undefined ? ` "${t.text}"` : ""}${t.asrError ? ` asr error: ${t.asrError}` : ""}`,
    );
    push({ turn: { text: t.text, startMs: t.startMs, endMs: t.endMs } });
  });
  deadAir.on("filler", () => void say(demoText(language, "filler"), { filler: true }));
  deadAir.on("areYouThere", () => void say(demoText(language, "areYouThere")));
  deadAir.on("hangup", () => push({ idle: true }));

  const say = async (text: string, o: { interruptible?: boolean; filler?: boolean; fresh?: boolean } = {}) => {
    const ac = new AbortController();
    if (o.interruptible !== false) sayAbort = ac;
    const r = await channel.say(text, {
      cached: !o.fresh,
      // say() arms the barge-in detector for interruptible prompts: with barge-in off no prompt may be.
      interruptible: cfg.bargeIn.enabled && o.interruptible !== false,
      filler: o.filler,
      signal: ac.signal,
    });
    if (r.outcome === "failed") call.log.warn({ err: r.error }, "speech prompt failed");
    return r;
  };
  const next = async (): Promise<Input | undefined> => {
    while (!call.signal.aborted) {
      const i = inputs.shift();
      if (i) return i;
      await new Promise<void>((r) => {
        wake = r;
      });
      wake = undefined;
    }
    return undefined;
  };

  channel.start();
  deadAir.start();
  const menu: DemoText = speech.asr ? "menuSpeech" : "menu";
  let closed = false;
  return {
    say: (what, o) => say(demoText(language, what), o),
    async choose() {
      // A caller who cut the greeting off by talking, or typed ahead, is answered first: starting the menu would talk
      // over them (and cut it off again at their next word). The menu follows the answer to that first input.
      let menuOwed = bargedIn || inputs.length > 0;
      if (menuOwed && inputs.length === 0) {
        // Talk that cut the greeting off but never becomes a turn (a short "hello?") must not leave the caller in
        // silence: by the end of the endpointing window a real turn has started (the turn VAD confirmed it).
        const until = Date.now() + cfg.endpointing.silenceMs.default + 500;
        while (!call.signal.aborted && inputs.length === 0 && !channel.endpointer.inTurn && Date.now() < until)
          await new Promise((r) => setTimeout(r, 50));
        if (inputs.length === 0 && !channel.endpointer.inTurn) menuOwed = false;
      }
      if (!menuOwed) await say(demoText(language, menu));
      for (let turns = 0; turns < MAX_TURNS; turns++) {
        const i = await next();
        if (!i) return undefined;
        if ("idle" in i) {
          await say(demoText(language, "idleBye"), { interruptible: false });
          return undefined;
        }
        if ("digit" in i) {
          if (i.digit === "1" || i.digit === "0") return i.digit;
          if (menuOwed) {
            menuOwed = false;
            await say(demoText(language, menu));
          }
          continue;
        }
        const heard = i.turn.text !== undefined ? choiceFromText(i.turn.text) : undefined;
        if (heard) {
          call.event(`spoken choice ${heard}`);
          return heard;
        }
        if (speech.asr) {
          menuOwed = false;
          await say(demoText(language, "notUnderstood"));
          await say(demoText(language, menu));
          continue;
        }
        // No recognizer: say so instead of guessing. A configured reply with {seconds} is synthesized fresh.
        const template = deps.config.demo.speechReply;
        if (template)
          await say(fillReply(template, language, i.turn.endMs - i.turn.startMs), {
            fresh: template.includes("{seconds}"),
          });
        else await say(demoText(language, "reply"));
        if (menuOwed) {
          menuOwed = false;
          await say(demoText(language, menu));
        }
      }
      return undefined;
    },
    close() {
      if (closed) return;
      closed = true;
      unsubscribe();
      deadAir.stop();
      channel.stop();
    },
  };
}

async function leaveMessage(call: CallSession, deps: DemoDeps, line: Line): Promise<void> {
  const demo = deps.config.demo;
  call.event("menu: voicemail");
  await line.say("record");
  await call.play(BEEP);
  if (call.signal.aborted) return;
  const message = await call.recordMessage(join(deps.voicemailDir, `${call.id}.wav`), {
    maxMs: demo.maxMessageS * 1000,
    silenceMs: demo.silenceHangupS * 1000,
    stopDigits: "#",
  });
  call.event(`voicemail ${message.path} ${message.durationMs} ms (${message.reason})`);
  if (message.reason === "hangup") return;
  await line.say("thanks", { interruptible: false });
  await call.hangup("box", "voicemail recorded");
}

async function connectOperator(call: CallSession, deps: DemoDeps, line: Line): Promise<void> {
  const demo = deps.config.demo;
  call.event("menu: operator");
  if (!demo.operator) {
    await line.say("unavailable", { interruptible: false });
    return call.hangup("box", "no operator configured");
  }
  await line.say("connecting", { interruptible: false });
  const ringback = new AbortController();
  call.signal.addEventListener("abort", () => ringback.abort(), { once: true });
  // Ringback tone (425 Hz, 1 s on / 4 s off, the European pattern) while the operator's phone rings.
  void call.media.play(
    { tone: { frequencies: [425], durationMs: 60_000, onMs: 1000, offMs: 4000 } },
    {
      signal: ringback.signal,
    },
  );
  let operator: CallSession;
  try {
    operator = await CallSession.dial(demo.operator, deps, {
      trunkId: demo.operatorTrunk,
      linkedTo: call.id,
      ringTimeoutMs: 30_000,
      signal: call.signal,
    });
  } catch (e) {
    ringback.abort();
    call.event(`operator unreachable: ${(e as Error).message}`);
    if (call.signal.aborted) return;
    await line.say("unavailable", { interruptible: false });
    return call.hangup("box", "operator unreachable");
  }
  ringback.abort();
  if (call.signal.aborted) return operator.hangup("caller", "caller hung up while ringing");
  call.event(`bridged to ${operator.id}`);
  await bridgeCalls(call, operator);
}
