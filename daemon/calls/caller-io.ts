// How an app talks with the caller, whatever the box can do: CallerIo says prompts and hands out the caller's
// inputs (keys, spoken turns, the dead-air verdict) one at a time, in arrival order. voiceIo speaks with the TTS voice
// and listens (VAD, barge-in, dead air, ASR when installed); keypadIo plays recorded WAV prompts and reads DTMF.
// Apps (the demo line, gather, later the flow engine) are written once against this interface.
import type { AsrResult } from "../speech/types.ts";
import { SpeechChannel } from "../speech/conversation.ts";
import { DeadAirMonitor } from "../speech/dead-air.ts";
import type { EndpointMode } from "../speech/endpointing.ts";
import { agentVoice, type VoiceEngines } from "../speech/engines.ts";
import type { Config } from "../config/schema.ts";
import type { CallSession } from "./call-session.ts";
import { deadAirTexts } from "./demo-texts.ts";

export type CallerInput =
  | { kind: "digit"; digit: string }
  | { kind: "speech"; text?: string; asr?: AsrResult; asrError?: string; startMs: number; endMs: number }
  /** Dead air for too long: the app should say goodbye and hang up. */
  | { kind: "idle" };

/** A prompt as text (spoken by the TTS voice) and, for boxes without a voice, an optional recorded file. */
export interface Prompt {
  text: string;
  file?: string;
}

export interface SayOptions {
  /** Barge-in (voice or key) may cut it off. Default true; legal notices pass false. */
  interruptible?: boolean;
  /** Synthesize now instead of using the prompt cache (text that differs per call). */
  fresh?: boolean;
}

export interface CallerIo {
  readonly language: string;
  /** The box can speak arbitrary text (a TTS voice); otherwise only prompts with a file are heard. */
  readonly speaks: boolean;
  /** Spoken turns carry recognized text (an ASR is loaded). */
  readonly understands: boolean;
  /** Resolves when the prompt has ended (played out, cut off by the caller, or failed: failures are logged). */
  say(prompt: Prompt, opts?: SayOptions): Promise<void>;
  /** The next input; "timeout" after timeoutMs or when `signal` aborts; undefined once the call has ended. */
  next(timeoutMs: number, signal?: AbortSignal): Promise<CallerInput | "timeout" | undefined>;
  /** On hold (a queue): music until `false`; dead air does not count meanwhile. Say nothing while music plays. */
  hold(music: { file?: string } | false): void;
  /** Inputs already waiting (typed or spoken ahead). */
  readonly pending: number;
  /**
   * After the caller cut a prompt off by talking: wait (bounded) until that talk has become a turn. False when it
   * never did (a short "hello?"), so the app should say its prompt after all.
   */
  settleBargeIn(): Promise<boolean>;
  /** Expected answer shape: digit strings get a longer pause allowance before the turn ends. */
  setEndpointMode(mode: EndpointMode): void;
  /** Another agent takes over: later prompts use the voice it names, or one for its language. */
  speakAs(language: string, voice?: string): void;
  close(): void;
}

/** DTMF and recorded prompts only (no TTS voice, or speech turned off). */
export function keypadIo(call: CallSession, language: string): CallerIo {
  return {
    get language() {
      return language;
    },
    speakAs(next) {
      language = next;
    },
    speaks: false,
    understands: false,
    async say(p, o) {
      if (!p.file) return;
      const r = await call.play({ file: p.file }, { interruptOnDigit: o?.interruptible !== false });
      if (r.outcome === "failed") call.log.warn({ err: r.error, file: p.file }, "prompt failed");
    },
    async next(timeoutMs, signal) {
      if (call.signal.aborted) return undefined;
      const digit = await call.digits.next(timeoutMs, signal ? AbortSignal.any([call.signal, signal]) : call.signal);
      if (digit !== undefined) return { kind: "digit", digit };
      return call.signal.aborted ? undefined : "timeout";
    },
    get pending() {
      return call.digits.pending;
    },
    hold: holdMusic(call),
    settleBargeIn: async () => false,
    setEndpointMode() {},
    close() {},
  };
}

/**
 * The box's own voice and ears: TTS prompts with barge-in, VAD turns (with ASR text), dead-air handling. It speaks
 * `language` with `voice` when that is installed, else with a voice for the language, else the box's default voice.
 */
export function voiceIo(
  call: CallSession,
  speech: VoiceEngines,
  cfg: Config["speech"],
  opts: { language?: string; voice?: string } = {},
): CallerIo {
  let language: string = opts.language ?? cfg.language;
  let voice = agentVoice(speech, language, opts.voice);
  let deadAirSay = deadAirTexts(language);
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
    voice,
    bargeIn: cfg.bargeIn.enabled ? { minSpeechMs: cfg.bargeIn.minSpeechMs, minDbfs: cfg.bargeIn.minDbfs } : undefined,
    endpointing: cfg.endpointing,
    deadAir,
    signal: call.signal,
  });
  let bargedIn = false;
  channel.on("bargeIn", (b) => {
    bargedIn = true;
    call.event(`barge-in ${b.delayMs.toFixed(0)} ms after speech onset at ${b.onsetMs.toFixed(0)} ms`);
  });

  const inputs: CallerInput[] = [];
  let wake: (() => void) | undefined;
  const push = (i: CallerInput) => {
    inputs.push(i);
    wake?.();
  };
  /** Cuts the current prompt when a key is pressed (barge-in by DTMF). */
  let sayAbort: AbortController | undefined;
  const unsubscribe = call.digits.subscribe((digit) => {
    sayAbort?.abort();
    push({ kind: "digit", digit });
  });
  call.signal.addEventListener("abort", () => wake?.(), { once: true });
  channel.on("turn", (t) => {
    call.event(
      `turn ${t.startMs.toFixed(0)}-${t.endMs.toFixed(0)} ms${t.text !== undefined ? ` "${t.text}"` : ""}${t.asrMs !== undefined ? ` (asr ${t.asrMs.toFixed(1)} ms)` : ""}${t.asrError ? ` asr error: ${t.asrError}` : ""}`,
    );
    push({ kind: "speech", text: t.text, asr: t.asr, asrError: t.asrError, startMs: t.startMs, endMs: t.endMs });
  });

  const say = async (text: string, o: SayOptions & { filler?: boolean } = {}) => {
    const ac = new AbortController();
    if (o.interruptible !== false) sayAbort = ac;
    bargedIn = false;
    const r = await channel.say(text, {
      voice,
      cached: !o.fresh,
      // say() arms the barge-in detector for interruptible prompts: with barge-in off no prompt may be.
      interruptible: cfg.bargeIn.enabled && o.interruptible !== false,
      filler: o.filler,
      signal: ac.signal,
    });
    if (r.outcome === "failed") call.log.warn({ err: r.error }, "speech prompt failed");
  };
  deadAir.on("filler", () => void say(deadAirSay.filler, { filler: true }));
  deadAir.on("areYouThere", () => void say(deadAirSay.areYouThere));
  deadAir.on("hangup", () => push({ kind: "idle" }));

  const onHold = holdMusic(call);
  channel.start();
  deadAir.start();
  let closed = false;
  return {
    get language() {
      return language;
    },
    speakAs(next, preferred) {
      language = next;
      voice = agentVoice(speech, next, preferred);
      deadAirSay = deadAirTexts(next);
    },
    speaks: true,
    understands: speech.asr !== undefined,
    say: (p, o) => say(p.text, o),
    async next(timeoutMs, signal) {
      const deadline = Date.now() + timeoutMs;
      const stop = () => wake?.();
      signal?.addEventListener("abort", stop, { once: true });
      try {
        while (!call.signal.aborted) {
          const i = inputs.shift();
          if (i) return i;
          if (signal?.aborted) return "timeout";
          // A caller in the middle of a turn is not timed out: the turn arrives when they stop talking.
          const left = deadline - Date.now();
          if (left <= 0 && !channel.endpointer.inTurn) return "timeout";
          await new Promise<void>((r) => {
            wake = r;
            setTimeout(r, Math.max(50, Math.min(left, 500)));
          });
          wake = undefined;
        }
        return undefined;
      } finally {
        signal?.removeEventListener("abort", stop);
      }
    },
    get pending() {
      return inputs.length;
    },
    hold(music) {
      // Music is the box making sound: no filler or "are you there?" while the caller holds.
      if (music) deadAir.boxStartedSpeaking({ filler: true });
      onHold(music);
      if (!music) deadAir.boxStoppedSpeaking();
    },
    async settleBargeIn() {
      if (!bargedIn) return false;
      // Talk that cut a prompt off but never becomes a turn (a short "hello?") must not leave the caller in silence:
      // by the end of the endpointing window a real turn has started (the turn VAD confirmed it).
      const until = Date.now() + cfg.endpointing.silenceMs.default + 500;
      while (!call.signal.aborted && inputs.length === 0 && !channel.endpointer.inTurn && Date.now() < until)
        await new Promise((r) => setTimeout(r, 50));
      return inputs.length > 0 || channel.endpointer.inTurn;
    },
    setEndpointMode: (mode) => channel.endpointer.setMode(mode),
    close() {
      if (closed) return;
      closed = true;
      unsubscribe();
      deadAir.stop();
      channel.stop();
    },
  };
}

/** Hold music on a call: a WAV looped, or a soft two-tone pattern, until switched off or the call ends. */
function holdMusic(call: CallSession): CallerIo["hold"] {
  let playing: AbortController | undefined;
  return (music) => {
    playing?.abort();
    playing = undefined;
    if (!music) return;
    const ac = new AbortController();
    playing = ac;
    const signal = AbortSignal.any([ac.signal, call.signal]);
    void (async () => {
      for (let loop = 0; loop < 10_000 && !signal.aborted; loop++) {
        const r = await call.media.play(
          music.file
            ? { file: music.file }
            : { tone: { frequencies: [440, 554], durationMs: 60_000, onMs: 300, offMs: 1700 } },
          { signal },
        );
        if (r.outcome === "failed") {
          call.log.warn({ err: r.error, file: music.file }, "hold music failed: silence instead");
          return;
        }
      }
    })();
  };
}
