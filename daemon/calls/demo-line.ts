// The demo line: what an answered call does until the flow engine takes over. Greeting, a menu, a voicemail on 1,
// an operator bridge on 0 (or an escalation word) and a recognizer test on 2. With a VAD and a TTS voice the box
// speaks with its own voice, listens (barge-in, turn-taking, dead air) and takes spoken choices when a recognizer is
// installed; without a recognizer it says so and points to the keypad, never pretending to have understood. Without
// speech engines it plays the WAV prompts and reads DTMF. Written against CallSession and CallerIo only, so the flow
// engine can replace it whole.
import { join } from "node:path";
import type { Config } from "../config/schema.ts";
import { commandWords } from "../speech/commands.ts";
import { canSpeak, type SpeechEngines } from "../speech/engines.ts";
import type { Log } from "../ops/log.ts";
import { bridgeCalls, type CallDeps, CallSession } from "./call-session.ts";
import { type CallerIo, keypadIo, type Prompt, voiceIo } from "./caller-io.ts";
import { allDemoTexts, type DemoText, demoText, fillReply, spokenWords } from "./demo-texts.ts";
import { allGatherTexts, gather, type MenuOption } from "./gather.ts";
import { promptFile, promptTexts } from "./prompts.ts";

const BEEP = { tone: { frequencies: [1000], durationMs: 400 } };
/** Bound on spoken exchanges before the menu gives up (dead-air handling ends silent calls sooner). */
const MAX_TURNS = 12;
/** Bound on utterances in one recognizer test call. */
const MAX_TEST_TURNS = 200;

export type DemoDeps = CallDeps & { voicemailDir: string; speech?: SpeechEngines };

/** A demo sentence as a prompt: text for the voice, the WAV file where one was recorded. */
type PromptOf = (what: DemoText) => Prompt;

const MENU: MenuOption[] = [
  { id: "1", key: "1", phrases: ["nachricht", "message", "voicemail"] },
  { id: "0", key: "0", words: ["agent"] },
  { id: "2", key: "2", phrases: ["test", "spracherkennung"] },
];

export async function runDemoLine(call: CallSession, deps: DemoDeps): Promise<void> {
  const demo: Config["demo"] = deps.config.demo;
  if (demo.sendDigitsOnAnswer) {
    await call.media.sendDtmf(demo.sendDigitsOnAnswer);
    call.event(`sent dtmf ${demo.sendDigitsOnAnswer}`);
  }
  const language = deps.config.speech.language;
  const io = canSpeak(deps.speech) ? voiceIo(call, deps.speech, deps.config.speech) : keypadIo(call, language);
  const prompt: PromptOf = (what) => ({
    text: demoText(language, what),
    ...(what in promptTexts ? { file: promptFile(what as keyof typeof promptTexts) } : {}),
  });
  try {
    if (demo.greeting) {
      const played = await call.play({ file: demo.greeting }, { interruptOnDigit: true });
      if (played.outcome === "failed") call.log.warn({ err: played.error }, "greeting could not be played");
    } else await io.say(prompt("greeting"));
    const choice = await chooseFromMenu(call, deps, io, prompt);
    if (call.signal.aborted) return;
    if (choice === "2") return await recognizerTest(call, io, prompt);
    io.close();
    if (choice === "1") return await leaveMessage(call, deps, io, prompt);
    if (choice === "0") return await connectOperator(call, deps, io, prompt);
    if (choice === "idle") {
      await io.say(prompt("idleBye"), { interruptible: false });
      return await call.hangup("box", "caller silent");
    }
    await io.say(prompt("goodbye"), { interruptible: false });
    await call.hangup("box", "menu timeout");
  } finally {
    io.close();
  }
}

/** The caller's menu choice by key or voice; "idle" after dead air; undefined when none came. */
async function chooseFromMenu(
  call: CallSession,
  deps: DemoDeps,
  io: CallerIo,
  prompt: PromptOf,
): Promise<string | undefined> {
  const cfg = deps.config;
  // In voice mode silence is handled by the dead-air monitor (filler, "are you still there?", goodbye).
  const noInputMs = io.speaks
    ? (cfg.speech.deadAir.idlePromptAfterS + cfg.speech.deadAir.hangupAfterS + 5) * 1000
    : cfg.demo.menuTimeoutS * 1000;
  let skipPrompt = false;
  for (let turns = 0; turns < MAX_TURNS && !call.signal.aborted; turns++) {
    const r = await gather(
      io,
      {
        prompt: prompt(io.understands ? "menuSpeech" : "menu"),
        expect: { kind: "menu", options: MENU },
        noInputMs,
        attempts: 2,
        confirm: "never",
        skipPrompt,
      },
      { event: (e) => call.event(e) },
    );
    skipPrompt = false;
    switch (r.outcome) {
      case "match":
        call.event(`menu choice ${r.value} by ${r.via}${r.text !== undefined ? ` "${r.text}"` : ""}`);
        return r.value;
      case "escalate":
        call.event(`menu: escalation "${r.text ?? ""}"`);
        return "0";
      case "idle":
        return "idle";
      case "unheard": {
        // No recognizer: say so instead of guessing. A configured reply with {seconds} is synthesized fresh.
        const template = cfg.demo.speechReply;
        if (template) {
          const text = fillReply(template, io.language, r.durationMs);
          await io.say({ text }, { fresh: template.includes("{seconds}") });
        } else await io.say(prompt("reply"));
        // The menu was said (or cut off by this very turn); it is not repeated after every reply.
        skipPrompt = true;
        continue;
      }
      default:
        return undefined;
    }
  }
  return undefined;
}

/** Menu 2: the box repeats the command words it understood, so installers can try the recognizer on their line. */
async function recognizerTest(call: CallSession, io: CallerIo, prompt: PromptOf): Promise<void> {
  call.event("menu: recognizer test");
  if (!io.understands) {
    await io.say(prompt("noRecognizer"), { interruptible: false });
    return call.hangup("box", "no recognizer");
  }
  await io.say(prompt("testIntro"));
  for (let i = 0; i < MAX_TEST_TURNS; i++) {
    const input = await io.next(60_000);
    if (input === undefined) return;
    if (input === "timeout") continue;
    if (input.kind === "idle") {
      await io.say(prompt("idleBye"), { interruptible: false });
      return call.hangup("box", "caller silent");
    }
    if (input.kind === "digit") {
      if (input.digit === "#") break;
      continue;
    }
    const words = commandWords(input.text ?? "").words;
    call.event(`recognizer test: ${words.length ? words.join(" ") : "no command words"}`);
    const heard = words.length
      ? `${demoText(io.language, "testHeard")} ${spokenWords(io.language, words)}.`
      : demoText(io.language, "testNothing");
    await io.say({ text: heard }, { fresh: words.length > 0 });
  }
  await io.say(prompt("testBye"), { interruptible: false });
  await call.hangup("box", "recognizer test ended");
}

/**
 * Synthesize every fixed sentence of the voice line at start, so no call waits for one. A configured reply is one
 * of them unless it contains {seconds} (then it differs per turn).
 */
export async function warmDemoPrompts(speech: SpeechEngines, config: Config, log: Log): Promise<void> {
  if (!canSpeak(speech)) return;
  const language = config.speech.language;
  const reply = config.demo.speechReply;
  const texts = [
    ...allDemoTexts(language),
    ...allGatherTexts(language),
    ...(reply && !reply.includes("{seconds}") ? [reply] : []),
  ];
  const t0 = performance.now();
  try {
    await speech.cache.warm(texts.map((text) => ({ voice: speech.voice, text })));
    const ms = Math.round(performance.now() - t0);
    log.info({ prompts: texts.length, ms, ...speech.cache.stats }, "prompt cache warm");
  } catch (e) {
    log.warn({ err: (e as Error).message }, "prompts not synthesized at start: calls synthesize them when needed");
  }
}

async function leaveMessage(call: CallSession, deps: DemoDeps, io: CallerIo, prompt: PromptOf): Promise<void> {
  const demo = deps.config.demo;
  call.event("menu: voicemail");
  await io.say(prompt("record"));
  await call.play(BEEP);
  if (call.signal.aborted) return;
  const message = await call.recordMessage(join(deps.voicemailDir, `${call.id}.wav`), {
    maxMs: demo.maxMessageS * 1000,
    silenceMs: demo.silenceHangupS * 1000,
    stopDigits: "#",
  });
  call.event(`voicemail ${message.path} ${message.durationMs} ms (${message.reason})`);
  if (message.reason === "hangup") return;
  await io.say(prompt("thanks"), { interruptible: false });
  await call.hangup("box", "voicemail recorded");
}

async function connectOperator(call: CallSession, deps: DemoDeps, io: CallerIo, prompt: PromptOf): Promise<void> {
  const demo = deps.config.demo;
  call.event("menu: operator");
  if (!demo.operator) {
    await io.say(prompt("unavailable"), { interruptible: false });
    return call.hangup("box", "no operator configured");
  }
  await io.say(prompt("connecting"), { interruptible: false });
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
    await io.say(prompt("unavailable"), { interruptible: false });
    return call.hangup("box", "operator unreachable");
  }
  ringback.abort();
  if (call.signal.aborted) return operator.hangup("caller", "caller hung up while ringing");
  call.event(`bridged to ${operator.id}`);
  await bridgeCalls(call, operator);
}
