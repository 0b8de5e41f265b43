// The demo line: what an answered call does until the flow engine takes over. Greeting, a DTMF menu, a voicemail
// on 1 and an operator bridge on 0. Written against CallSession only, so the flow engine can replace it whole.
import { join } from "node:path";
import type { Config } from "../config/schema.ts";
import { bridgeCalls, CallSession, type CallDeps } from "./call-session.ts";
import { promptFile } from "./prompts.ts";

const BEEP = { tone: { frequencies: [1000], durationMs: 400 } };

export async function runDemoLine(call: CallSession, deps: CallDeps & { voicemailDir: string }): Promise<void> {
  const demo: Config["demo"] = deps.config.demo;
  if (demo.sendDigitsOnAnswer) {
    await call.media.sendDtmf(demo.sendDigitsOnAnswer);
    call.event(`sent dtmf ${demo.sendDigitsOnAnswer}`);
  }
  const greeting = demo.greeting ? { file: demo.greeting } : { file: promptFile("greeting") };
  const played = await call.play(greeting, { interruptOnDigit: true });
  if (played.outcome === "failed") call.log.warn({ err: played.error }, "greeting could not be played");

  for (let attempt = 0; attempt < 2 && !call.signal.aborted; attempt++) {
    if (call.digits.pending === 0) await call.play({ file: promptFile("menu") }, { interruptOnDigit: true });
    const choice = await call.digits.next(demo.menuTimeoutS * 1000, call.signal);
    if (call.signal.aborted) return;
    if (choice === "1") return leaveMessage(call, deps);
    if (choice === "0") return connectOperator(call, deps);
  }
  await call.play({ file: promptFile("goodbye") });
  await call.hangup("box", "menu timeout");
}

async function leaveMessage(call: CallSession, deps: CallDeps & { voicemailDir: string }): Promise<void> {
  const demo = deps.config.demo;
  call.event("menu: voicemail");
  await call.play({ file: promptFile("record") }, { interruptOnDigit: true });
  await call.play(BEEP);
  if (call.signal.aborted) return;
  const message = await call.recordMessage(join(deps.voicemailDir, `${call.id}.wav`), {
    maxMs: demo.maxMessageS * 1000,
    silenceMs: demo.silenceHangupS * 1000,
    stopDigits: "#",
  });
  call.event(`voicemail ${message.path} ${message.durationMs} ms (${message.reason})`);
  if (message.reason === "hangup") return;
  await call.play({ file: promptFile("thanks") });
  await call.hangup("box", "voicemail recorded");
}

async function connectOperator(call: CallSession, deps: CallDeps): Promise<void> {
  const demo = deps.config.demo;
  call.event("menu: operator");
  if (!demo.operator) {
    await call.play({ file: promptFile("unavailable") });
    return call.hangup("box", "no operator configured");
  }
  await call.play({ file: promptFile("connecting") });
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
    await call.play({ file: promptFile("unavailable") });
    return call.hangup("box", "operator unreachable");
  }
  ringback.abort();
  if (call.signal.aborted) return operator.hangup("caller", "caller hung up while ringing");
  call.event(`bridged to ${operator.id}`);
  await bridgeCalls(call, operator);
}
