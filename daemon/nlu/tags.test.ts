import assert from "node:assert/strict";
import { test } from "node:test";
import type { CallFacts, TranscriptEntry } from "./summary.ts";
import { factTags, type TagRule, tagRuleSchema, tagsFor } from "./tags.ts";

const facts = (f: Partial<CallFacts>): CallFacts => ({ language: "de", slots: {}, actions: [], ...f });
const turns = (...t: [TranscriptEntry["speaker"], string][]): TranscriptEntry[] =>
  t.map(([speaker, text], i) => ({ atMs: i * 3000, speaker, text }));

const complaintDe = turns(
  ["agent", "Guten Tag, Stadtwerke Nordheim. Haben Sie eine Frage zu Ihrer Rechnung oder eine Beschwerde?"],
  ["caller", "Ja, hallo."],
  ["caller", "Meine letzte Rechnung ist viel zu hoch, das kann nicht stimmen."],
  ["caller", "Ich habe schon zweimal angerufen und es hat sich niemand gekümmert. Ich bin echt NICHT zufrieden!"],
  ["agent", "Das tut mir leid. Ich verbinde Sie mit einem Kollegen."],
  ["caller", "Und bitte um Rueckruf, falls keiner rangeht."],
  ["human", "Kundenservice, Meier, was kann ich tun?"],
);

const rules: TagRule[] = [
  { tag: "complaint", anyOf: ["Beschwerde", "reklamation", "nicht zufrieden", "not happy", "投诉"] },
  { tag: "billing", anyOf: ["rechnung*", "invoice"] },
  { tag: "callback", anyOf: ["Rückruf", "call me back"] },
  { tag: "repeat-caller", anyOf: ["schon zweimal", "already called"] },
  { tag: "art", anyOf: ["art"] },
  { tag: "staff-named", anyOf: ["meier"], speakers: ["human"] },
];

test("tags from facts: intent, escalation, outcome, callback, failed actions, after hours", () => {
  assert.deepEqual(factTags(facts({})), []);
  assert.deepEqual(factTags(facts({ intent: "appointment", outcome: "completed" })), ["intent:appointment"]);
  assert.deepEqual(tagsFor([], facts({ intent: "Order Status", escalation: "keyword", outcome: "transferred" })), [
    "escalated",
    "intent:order-status",
    "transferred",
  ]);
  assert.deepEqual(tagsFor([], facts({ outcome: "voicemail", extra: { afterHours: "true" } })), [
    "after-hours",
    "voicemail",
  ]);
  assert.deepEqual(tagsFor([], facts({ outcome: "after-hours" })), ["after-hours"]);
  assert.deepEqual(tagsFor([], facts({ extra: { afterHours: "false", callback: "no" } })), []);
  assert.deepEqual(tagsFor([], facts({ outcome: "callback" })), ["callback-requested"]);
  assert.deepEqual(tagsFor([], facts({ extra: { callback: "requested" } })), ["callback-requested"]);
  assert.deepEqual(
    tagsFor(
      [],
      facts({
        actions: [
          { kind: "sms", state: "sent" },
          { kind: "callback", state: "failed" },
        ],
      }),
    ),
    ["action-failed", "callback-requested"],
  );
  assert.deepEqual(tagsFor([], facts({ actions: [{ kind: "webhook", state: "done" }] })), []);
});

test("keyword rules: case and umlaut insensitive whole words, phrases, prefixes, caller turns by default", () => {
  const tags = tagsFor(
    complaintDe,
    facts({ intent: "billing", escalation: "caller-request", outcome: "transferred" }),
    rules,
  );
  assert.deepEqual(tags, [
    "billing",
    "callback",
    "complaint",
    "escalated",
    "intent:billing",
    "repeat-caller",
    "staff-named",
    "transferred",
  ]);
  // "Beschwerde" is only in the agent's question; "art" is inside "Karte", not a word of its own.
  const quiet = turns(["agent", "Haben Sie eine Beschwerde?"], ["caller", "Nein, ich möchte nur meine Karte sperren."]);
  assert.deepEqual(tagsFor(quiet, facts({}), rules), []);
  assert.deepEqual(tagsFor(turns(["caller", "Die RECHNUNGSNUMMER ist 4711."]), facts({}), rules), ["billing"]);
  assert.deepEqual(
    tagsFor(turns(["caller", "I'm not really happy."]), facts({}), rules),
    [],
    "a phrase is consecutive",
  );
  assert.deepEqual(tagsFor(turns(["caller", "Could you call me back tomorrow?"]), facts({}), rules), ["callback"]);
});

test("Chinese keywords match as substrings; output is sorted and unique", () => {
  const zh = turns(["caller", "我要投诉你们的服务，太慢了。"]);
  assert.deepEqual(tagsFor(zh, facts({ language: "zh", intent: "complaint" }), rules), [
    "complaint",
    "intent:complaint",
  ]);
  const dup: TagRule[] = [
    { tag: "zeta", anyOf: ["hilfe"] },
    { tag: "alpha", anyOf: ["hilfe"] },
    { tag: "zeta", anyOf: ["bitte"] },
    { tag: "escalated", anyOf: ["hilfe"] },
  ];
  assert.deepEqual(tagsFor(turns(["caller", "Hilfe, bitte!"]), facts({ escalation: "keyword" }), dup), [
    "alpha",
    "escalated",
    "zeta",
  ]);
});

test("tagRuleSchema: strict, slug tags, at least one non-empty word", () => {
  assert.deepEqual(tagRuleSchema.parse({ tag: "needs-callback", anyOf: [" Rückruf "] }), {
    tag: "needs-callback",
    anyOf: ["Rückruf"],
  });
  const problem = (v: unknown): string => {
    const r = tagRuleSchema.safeParse(v);
    assert.equal(r.success, false, JSON.stringify(v));
    return r.error!.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ");
  };
  assert.match(problem({ tag: "Needs Callback", anyOf: ["x"] }), /^tag: a slug/);
  assert.match(problem({ tag: "intent:billing", anyOf: ["x"] }), /^tag: a slug/);
  assert.match(problem({ tag: "a--b", anyOf: ["x"] }), /^tag: a slug/);
  assert.match(problem({ tag: "ok", anyOf: [] }), /^anyOf: at least one/);
  assert.match(problem({ tag: "ok", anyOf: ["  ", "x"] }), /^anyOf\.0: a word or phrase/);
  assert.match(problem({ tag: "ok", anyOf: ["x"], anyof: ["y"] }), /anyof/);
  assert.match(problem({ tag: "ok", anyOf: ["x"], speakers: ["robot"] }), /^speakers\.0:/);
});
