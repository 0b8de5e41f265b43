// gather: one question to the caller, answered by voice or keypad, whichever comes first. The answer shapes are the
// ones an IVR asks for (a digit string, yes/no, a menu choice) and an escalation word ("Mitarbeiter", "agent",
// "转人工") is heard in every one of them. A spoken answer the box is not sure of is read back for confirmation
// ("Ich habe 4 7 1 1 verstanden, richtig?"); a wrong or missing answer is asked again a bounded number of times.
// The flow engine's gather/menu/confirm nodes and the demo line both run on this.
import type { AsrResult } from "../speech/types.ts";
import { type CommandWord, type CommandWords, commandWords, digitsOf, isDigit, yesNoOf } from "../speech/commands.ts";
import type { CallerInput, CallerIo, Prompt } from "./caller-io.ts";
import { textsFor } from "../flow/text-language.ts";

export interface MenuOption {
  id: string;
  /** DTMF key; also accepted spoken ("zwei", "two"). */
  key?: string;
  /** Command words that pick this option (e.g. ["agent"], ["billing"]). */
  words?: CommandWord[];
  /** Free-text words that pick it when a general recognizer is installed (lower case: "nachricht", "message"). */
  phrases?: string[];
  /** How the option is read back in a confirmation. */
  label?: string;
}

export type Expect =
  | { kind: "digits"; min?: number; max?: number; finishKey?: string }
  | { kind: "yesno" }
  | { kind: "menu"; options: MenuOption[] };

export interface GatherSpec {
  prompt: Prompt;
  expect: Expect;
  /** Escalation words end the gather with outcome "escalate". Default true. */
  escalation?: boolean;
  /** Silence after the prompt before "noinput", ms. Default 6000. */
  noInputMs?: number;
  /** Pause between key presses that ends a DTMF digit string, ms. Default 3000. */
  interDigitMs?: number;
  /** Times the question is asked (first ask included). Default 3. */
  attempts?: number;
  /** Read a spoken answer back: "auto" when its confidence is below confirmBelow. Default "auto". */
  confirm?: "auto" | "always" | "never";
  confirmBelow?: number;
  /** The prompt was just said (or the caller already answered it): start by listening. */
  skipPrompt?: boolean;
}

export type GatherResult =
  | {
      outcome: "match";
      value: string;
      via: "dtmf" | "voice";
      /** 1 for keys; the recognizer's (or the timing heuristic's) confidence for speech. */
      confidence: number;
      /** The caller said yes to the read-back. */
      confirmed: boolean;
      text?: string;
    }
  | { outcome: "escalate"; text?: string }
  /** Speech without a recognizer (or the recognizer failed): heard, not understood. */
  | { outcome: "unheard"; durationMs: number }
  | { outcome: "cancel" | "noinput" | "nomatch" | "hangup" | "idle" };

const TEXTS = {
  de: {
    noInput: "Ich habe nichts gehört.",
    noMatch: "Das habe ich nicht verstanden.",
    again: "Bitte noch einmal.",
    confirm: "Ich habe {x} verstanden, richtig?",
    yes: "ja",
    no: "nein",
  },
  en: {
    noInput: "I did not hear anything.",
    noMatch: "Sorry, I did not understand that.",
    again: "Please try again.",
    confirm: "I understood {x}, is that right?",
    yes: "yes",
    no: "no",
  },
  zh: {
    noInput: "我没有听到声音。",
    noMatch: "抱歉，我没有听懂。",
    again: "请再说一遍。",
    confirm: "我听到的是{x}，对吗？",
    yes: "是",
    no: "不是",
  },
};

export function gatherTexts(language: string): (typeof TEXTS)["de"] {
  return textsFor(language, TEXTS);
}

/** Every fixed sentence gather may say (the prompt cache synthesizes them at start). */
export function allGatherTexts(language: string): string[] {
  const t = gatherTexts(language);
  return [t.noInput, t.noMatch, t.again];
}

type Heard =
  | { kind: "value"; value: string; via: "dtmf" | "voice"; confidence: number; text?: string }
  | { kind: "escalate"; text?: string }
  | { kind: "repeat" | "cancel" | "noinput" | "nomatch" | "hangup" | "idle" }
  | { kind: "unheard"; durationMs: number };

export interface GatherEvents {
  /** A line for the call record, e.g. `gather digits: voice "4711" (confidence 0.90)`. */
  event?: (what: string) => void;
}

export async function gather(io: CallerIo, spec: GatherSpec, ev: GatherEvents = {}): Promise<GatherResult> {
  const t = gatherTexts(io.language);
  const attempts = spec.attempts ?? 3;
  const log = ev.event ?? (() => {});
  let failure: "noinput" | "nomatch" = "noinput";
  let preface: string | undefined;
  let sayPrompt = !spec.skipPrompt;
  let repeats = 0;
  for (let attempt = 0; attempt < attempts; attempt++) {
    if (sayPrompt) {
      // A caller who typed or talked ahead (or cut the previous prompt off) is answered, not talked over.
      const ahead = io.pending > 0 || (attempt === 0 && (await io.settleBargeIn()));
      if (!ahead) {
        if (preface && io.speaks) await io.say({ text: preface });
        await io.say(spec.prompt);
      }
    }
    sayPrompt = true;
    io.setEndpointMode(spec.expect.kind === "digits" ? "digits" : "default");
    const heard = await listen(io, spec);
    io.setEndpointMode("default");
    switch (heard.kind) {
      case "hangup":
      case "idle":
      case "cancel":
        log(`gather ${spec.expect.kind}: ${heard.kind}`);
        return { outcome: heard.kind };
      case "escalate":
        log(`gather ${spec.expect.kind}: escalation "${heard.text ?? ""}"`);
        return { outcome: "escalate", text: heard.text };
      case "unheard":
        return { outcome: "unheard", durationMs: heard.durationMs };
      case "repeat":
        // Asking to hear the question again is not a failed attempt, but is bounded all the same.
        if (++repeats > 3) return { outcome: failure };
        preface = undefined;
        attempt--;
        continue;
      case "noinput":
      case "nomatch":
        failure = heard.kind;
        preface = heard.kind === "noinput" ? t.noInput : t.noMatch;
        log(`gather ${spec.expect.kind}: ${heard.kind}`);
        continue;
    }
    const needsConfirm =
      heard.via === "voice" &&
      io.speaks &&
      (spec.confirm === "always" ||
        ((spec.confirm ?? "auto") === "auto" && heard.confidence < (spec.confirmBelow ?? 0.6)));
    log(
      `gather ${spec.expect.kind}: ${heard.via} "${heard.value}" (confidence ${heard.confidence.toFixed(2)})${needsConfirm ? ", confirming" : ""}`,
    );
    if (!needsConfirm)
      return {
        outcome: "match",
        value: heard.value,
        via: heard.via,
        confidence: heard.confidence,
        confirmed: false,
        text: heard.text,
      };
    const answer = await gather(
      io,
      {
        prompt: { text: t.confirm.replace("{x}", readBack(heard.value, spec.expect, t)) },
        expect: { kind: "yesno" },
        escalation: spec.escalation,
        confirm: "never",
        attempts: 2,
        noInputMs: spec.noInputMs,
      },
      ev,
    );
    if (answer.outcome === "match" && answer.value === "yes")
      return {
        outcome: "match",
        value: heard.value,
        via: "voice",
        confidence: heard.confidence,
        confirmed: true,
        text: heard.text,
      };
    if (answer.outcome === "match" || answer.outcome === "nomatch" || answer.outcome === "noinput") {
      failure = "nomatch";
      preface = t.again;
      continue;
    }
    return answer.outcome === "unheard" ? { outcome: "nomatch" } : answer;
  }
  return { outcome: failure };
}

/** One answer: the first key press or spoken turn, read against what the question expects. */
async function listen(io: CallerIo, spec: GatherSpec): Promise<Heard> {
  const first = await io.next(spec.noInputMs ?? 6000);
  if (first === undefined) return { kind: "hangup" };
  if (first === "timeout") return { kind: "noinput" };
  if (first.kind === "idle") return { kind: "idle" };
  if (first.kind === "digit") return keys(io, spec, first.digit);
  return speech(spec, first);
}

async function keys(io: CallerIo, spec: GatherSpec, digit: string): Promise<Heard> {
  const e = spec.expect;
  const value = (v: string): Heard => ({ kind: "value", value: v, via: "dtmf", confidence: 1 });
  if (e.kind === "yesno") return digit === "1" ? value("yes") : digit === "2" ? value("no") : { kind: "nomatch" };
  if (e.kind === "menu") {
    const o = e.options.find((x) => x.key === digit);
    return o ? value(o.id) : { kind: "nomatch" };
  }
  const buf = await readKeys(io, digit, { finishKey: e.finishKey, max: e.max, interDigitMs: spec.interDigitMs });
  if (buf === "hangup" || buf === "idle") return { kind: buf };
  if (!/^\d+$/.test(buf) || buf.length < (e.min ?? 1)) return { kind: "nomatch" };
  return value(buf);
}

/**
 * A typed string after its first key: keys until the finish key (not included), the maximum length or a pause;
 * speech meanwhile is not part of it.
 */
export async function readKeys(
  io: CallerIo,
  first: string,
  o: { finishKey?: string; max?: number; interDigitMs?: number } = {},
): Promise<string | "hangup" | "idle"> {
  const finish = o.finishKey ?? "#";
  let buf = first === finish ? "" : first;
  while (first !== finish && buf.length < (o.max ?? 20)) {
    const n = await io.next(o.interDigitMs ?? 3000);
    if (n === undefined) return "hangup";
    if (n === "timeout") break;
    if (n.kind === "idle") return "idle";
    if (n.kind !== "digit") continue;
    if (n.digit === finish) break;
    buf += n.digit;
  }
  return buf;
}

function speech(spec: GatherSpec, s: Extract<CallerInput, { kind: "speech" }>): Heard {
  if (s.text === undefined) return { kind: "unheard", durationMs: s.endMs - s.startMs };
  const cw = commandWords(s.text);
  const e = spec.expect;
  const confidence = utteranceConfidence(s.asr, cw, s.endMs - s.startMs);
  const value = (v: string): Heard => ({ kind: "value", value: v, via: "voice", confidence, text: s.text });
  if (e.kind === "menu") {
    // Menu words first: an option may be the escalation itself ("Mitarbeiter" → operator).
    const said = new Set(s.text.toLowerCase().split(/[^\p{L}\p{N}]+/u));
    const picked = new Set(
      e.options
        .filter(
          (o) =>
            o.words?.some((w) => cw.words.includes(w)) ||
            o.phrases?.some((p) => said.has(p)) ||
            // A key said alone; "2 2" too: a recognizer may repeat a lone short word, and "zwei zwei" means 2 here.
            (o.key !== undefined && cw.words.length > 0 && cw.words.every((w) => w === o.key)),
        )
        .map((o) => o.id),
    );
    if (picked.size === 1) return value([...picked][0] as string);
  }
  if (spec.escalation !== false && cw.words.includes("agent")) return { kind: "escalate", text: s.text };
  if (cw.words.length === 1 && cw.words[0] === "repeat") return { kind: "repeat" };
  if (cw.words.length === 1 && cw.words[0] === "cancel") return { kind: "cancel" };
  if (e.kind === "yesno") {
    const yn = yesNoOf(cw);
    return yn ? value(yn) : { kind: "nomatch" };
  }
  if (e.kind === "digits") {
    const d = digitsOf(cw);
    if (!d || d.length < (e.min ?? 1) || d.length > (e.max ?? 20)) return { kind: "nomatch" };
    return value(d);
  }
  return { kind: "nomatch" };
}

/**
 * How sure the box is of a spoken answer. The recognizer's own confidence when it reports one; the embedded command
 * recognizer (sherpa-onnx 1.13.8 reports no CTC posteriors) is judged by what typically goes with its errors:
 * a digit string interrupted by other words, implausibly slow or fast digits (a dropped or inserted digit), and
 * long gaps between recognized digits.
 */
export function utteranceConfidence(asr: AsrResult | undefined, cw: CommandWords, turnMs: number): number {
  if (asr?.confidence !== undefined) return asr.confidence;
  let c = 0.9;
  if (cw.brokenDigits) c = Math.min(c, 0.4);
  const digits = cw.words.filter(isDigit).length;
  if (digits >= 3 && cw.other === 0) {
    const perDigit = turnMs / digits;
    if (perDigit > 900 || perDigit < 150) c = Math.min(c, 0.45);
  }
  const ts = asr?.timestamps;
  if (ts && ts.length > 1) {
    for (let i = 1; i < ts.length; i++) if ((ts[i] as number) - (ts[i - 1] as number) > 1.2) c = Math.min(c, 0.5);
  }
  return c;
}

function readBack(value: string, e: Expect, t: (typeof TEXTS)["de"]): string {
  if (e.kind === "digits") return value.split("").join(" ");
  if (e.kind === "yesno") return value === "yes" ? t.yes : t.no;
  return e.options.find((o) => o.id === value)?.label ?? value;
}
