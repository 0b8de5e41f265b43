import assert from "node:assert/strict";
import { test } from "node:test";
import type { EndpointMode } from "../speech/endpointing.ts";
import type { AsrResult } from "../speech/types.ts";
import type { CallerInput, CallerIo, Prompt } from "./caller-io.ts";
import { type GatherSpec, gather, utteranceConfidence } from "./gather.ts";
import { commandWords } from "../speech/commands.ts";

/**
 * A caller as a script: each step answers the next prompt (or arrives without one). Mock of the call: the real
 * CallerIo needs a SIP call; the speech-level behaviour is covered over real calls in test/command-asr.test.ts.
 */
class ScriptedCaller implements CallerIo {
  readonly language: string;
  readonly speaks = true;
  readonly understands = true;
  readonly said: string[] = [];
  readonly modes: EndpointMode[] = [];
  private readonly queue: (CallerInput | "timeout")[];
  constructor(language: string, script: (CallerInput | "timeout")[]) {
    this.language = language;
    this.queue = [...script];
  }
  async say(p: Prompt) {
    this.said.push(p.text);
  }
  async next() {
    return this.queue.shift();
  }
  hold() {}
  get pending() {
    return 0;
  }
  async settleBargeIn() {
    return false;
  }
  setEndpointMode(m: EndpointMode) {
    this.modes.push(m);
  }
  speakAs() {}
  close() {}
}

const speech = (text: string, ms = 2000, asr?: Partial<AsrResult>): CallerInput => ({
  kind: "speech",
  text,
  startMs: 0,
  endMs: ms,
  ...(asr ? { asr: { text, ...asr } } : {}),
});
const key = (digit: string): CallerInput => ({ kind: "digit", digit });
const digits: GatherSpec = { prompt: { text: "Ihre Kundennummer?" }, expect: { kind: "digits", min: 4, max: 8 } };

test("DTMF digits end at the finish key and need no confirmation", async () => {
  const io = new ScriptedCaller("de-DE", [key("4"), key("7"), speech("ja"), key("1"), key("1"), key("#")]);
  const r = await gather(io, digits);
  assert.deepEqual(r, {
    outcome: "match",
    value: "4711",
    via: "dtmf",
    confidence: 1,
    confirmed: false,
    text: undefined,
  });
  assert.deepEqual(io.said, ["Ihre Kundennummer?"]);
  assert.deepEqual(io.modes, ["digits", "default"], "a digit string gets the longer end-of-turn pause");
});

test("a spoken digit string wins when it comes first; a confident one is taken as it is", async () => {
  const io = new ScriptedCaller("de-DE", [speech("vier sieben eins eins", 2200), key("9")]);
  const r = await gather(io, digits);
  assert.equal(r.outcome, "match");
  assert.equal(r.outcome === "match" && `${r.value} ${r.via} ${r.confirmed}`, "4711 voice false");
});

test("a low-confidence spoken answer is read back; yes confirms, no asks again", async () => {
  // 4 digits in 5 s of speech: a dropped digit is likely.
  const io = new ScriptedCaller("de-DE", [speech("4 7 1 1", 5000), speech("nein"), speech("4 7 1 2", 2000)]);
  const r = await gather(io, { ...digits, confirm: "auto" });
  assert.equal(r.outcome === "match" && r.value, "4712");
  assert.deepEqual(io.said, [
    "Ihre Kundennummer?",
    "Ich habe 4 7 1 1 verstanden, richtig?",
    "Bitte noch einmal.",
    "Ihre Kundennummer?",
  ]);
  const yes = new ScriptedCaller("en-US", [speech("4 7 1 1", 5000), key("1")]);
  const r2 = await gather(yes, { ...digits, prompt: { text: "Your number?" } });
  assert.equal(r2.outcome === "match" && `${r2.value} ${r2.confirmed}`, "4711 true", "key 1 is yes");
  assert.equal(yes.said[1], "I understood 4 7 1 1, is that right?");
});

test("escalation words end any gather; menu words pick options; wrong answers and silence are retried, bounded", async () => {
  const esc = await gather(new ScriptedCaller("de-DE", [speech("einen Mitarbeiter bitte")]), digits);
  assert.deepEqual(esc, { outcome: "escalate", text: "einen Mitarbeiter bitte" });
  const zh = await gather(new ScriptedCaller("de-DE", [speech("转人工")]), { ...digits, escalation: true });
  assert.equal(zh.outcome, "escalate");

  const menu: GatherSpec = {
    prompt: { text: "Vertrieb, Support oder Rechnung?" },
    expect: {
      kind: "menu",
      options: [
        { id: "sales", key: "1", words: ["sales"] },
        { id: "billing", key: "2", words: ["billing"] },
        { id: "human", key: "0", words: ["agent"] },
      ],
    },
  };
  const m = await gather(new ScriptedCaller("de-DE", [speech("ich habe eine Frage zur Rechnung")]), menu);
  assert.equal(m.outcome === "match" && m.value, "billing");
  const phrase = await gather(new ScriptedCaller("de-DE", [speech("Ich möchte eine Nachricht hinterlassen")]), {
    ...menu,
    expect: { kind: "menu", options: [{ id: "voicemail", key: "1", phrases: ["nachricht", "message"] }] },
  });
  assert.equal(phrase.outcome === "match" && phrase.value, "voicemail", "free-text words of a general recognizer");
  const h = await gather(new ScriptedCaller("de-DE", [speech("Mitarbeiter")]), menu);
  assert.equal(
    h.outcome === "match" && h.value,
    "human",
    "an option bound to the escalation word wins over escalating",
  );
  const spokenKey = await gather(new ScriptedCaller("de-DE", [speech("zwei")]), menu);
  assert.equal(spokenKey.outcome === "match" && spokenKey.value, "billing");
  const doubled = await gather(new ScriptedCaller("de-DE", [speech("2 2")]), menu);
  assert.equal(doubled.outcome === "match" && doubled.value, "billing", "a lone key the recognizer doubled");
  const twoKeys = await gather(new ScriptedCaller("de-DE", [speech("1 2")]), { ...menu, attempts: 1 });
  assert.equal(twoKeys.outcome, "nomatch", "two different keys are no choice");

  const io = new ScriptedCaller("de-DE", ["timeout", speech("hallo"), key("7")]);
  assert.deepEqual(await gather(io, menu), { outcome: "nomatch" });
  assert.deepEqual(io.said, [
    "Vertrieb, Support oder Rechnung?",
    "Ich habe nichts gehört.",
    "Vertrieb, Support oder Rechnung?",
    "Das habe ich nicht verstanden.",
    "Vertrieb, Support oder Rechnung?",
  ]);
  const silent = new ScriptedCaller("en-US", ["timeout", "timeout", "timeout"]);
  assert.deepEqual(await gather(silent, { ...menu, attempts: 3 }), { outcome: "noinput" });
});

test("yes/no by voice or key, repeat asks again without using up an attempt, cancel and hangup end it", async () => {
  const yn: GatherSpec = { prompt: { text: "Aufnahme erlaubt?" }, expect: { kind: "yesno" }, attempts: 1 };
  const r = await gather(new ScriptedCaller("de-DE", [speech("ja genau")]), yn);
  assert.equal(r.outcome === "match" && r.value, "yes");
  const k = await gather(new ScriptedCaller("de-DE", [key("2")]), yn);
  assert.equal(k.outcome === "match" && k.value, "no");
  const rep = new ScriptedCaller("de-DE", [speech("wiederholen"), speech("nein")]);
  const r2 = await gather(rep, yn);
  assert.equal(r2.outcome === "match" && r2.value, "no");
  assert.deepEqual(rep.said, ["Aufnahme erlaubt?", "Aufnahme erlaubt?"]);
  assert.deepEqual(await gather(new ScriptedCaller("de-DE", [speech("abbrechen")]), yn), { outcome: "cancel" });
  assert.deepEqual(await gather(new ScriptedCaller("de-DE", []), yn), { outcome: "hangup" });
  assert.deepEqual(await gather(new ScriptedCaller("de-DE", [{ kind: "idle" }]), yn), { outcome: "idle" });
  assert.deepEqual(await gather(new ScriptedCaller("de-DE", [{ kind: "speech", startMs: 0, endMs: 900 }]), yn), {
    outcome: "unheard",
    durationMs: 900,
  });
});

test("confidence: the recognizer's own when given, else timing and interruptions of the digit string", () => {
  const cw = commandWords("4 7 1 1");
  assert.equal(utteranceConfidence({ text: "4 7 1 1", confidence: 0.3 }, cw, 2000), 0.3);
  assert.equal(utteranceConfidence(undefined, cw, 2000), 0.9);
  assert.ok(utteranceConfidence(undefined, cw, 4000) < 0.6, "1 s per digit");
  assert.ok(utteranceConfidence(undefined, cw, 400) < 0.6, "100 ms per digit");
  assert.ok(utteranceConfidence(undefined, commandWords("4 7 äh 1 1"), 2000) < 0.6);
  assert.ok(utteranceConfidence({ text: "4 7 1 1", timestamps: [0.1, 0.4, 2.2, 2.5] }, cw, 2000) < 0.6, "1.8 s gap");
});
