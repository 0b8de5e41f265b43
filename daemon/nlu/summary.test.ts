import assert from "node:assert/strict";
import { test } from "node:test";
import {
  type CallFacts,
  createExtractiveSummarizer,
  extractiveSummarizer,
  formatTranscript,
  keySentences,
  type TranscriptEntry,
} from "./summary.ts";

type Turn = [seconds: number, speaker: TranscriptEntry["speaker"], text: string, dtmf?: string];
const call = (turns: Turn[]): TranscriptEntry[] =>
  turns.map(([s, speaker, text, dtmf]) => ({ atMs: s * 1000, speaker, text, ...(dtmf ? { dtmf } : {}) }));

const bookingDe = call([
  [0, "agent", "Praxis Dr. Weber, guten Tag. Wie kann ich Ihnen helfen?"],
  [4, "caller", "Ja, hallo, guten Tag."],
  [
    6,
    "caller",
    "Ich bräuchte einen Termin für eine professionelle Zahnreinigung, am liebsten nächste Woche vormittags.",
  ],
  [13, "agent", "Gern. Wie ist Ihr Name?"],
  [15, "caller", "Anna Schmidt."],
  [18, "agent", "Unter welcher Nummer erreichen wir Sie?"],
  [20, "caller", "Plus vier neun dreißig eins zwei drei vier fünf sechs sieben."],
  [26, "agent", "Ich habe Dienstag, den 14. Mai um 9 Uhr frei. Passt Ihnen das?"],
  [30, "caller", "Ja, genau, das passt."],
  [32, "agent", "Dann trage ich Sie ein. Sie bekommen eine SMS zur Bestätigung."],
  [36, "caller", "Äh, okay. Danke schön."],
  [38, "caller", "Tschüss."],
  [39, "agent", "Auf Wiederhören."],
]);
const bookingFacts: CallFacts = {
  language: "de-DE",
  intent: "appointment",
  slots: { name: "Anna Schmidt", phone: "+49 30 1234567", date: "14.05. 09:00" },
  outcome: "completed",
  actions: [{ kind: "sms", state: "sent" }],
};

const complaintEn = call([
  [0, "agent", "Thanks for calling Northwind Electronics, how can I help?"],
  [3, "caller", "Hi, yeah."],
  [5, "caller", "I ordered a television three weeks ago and it arrived with a cracked screen."],
  [11, "agent", "I'm sorry to hear that. Could you give me your order number?"],
  [14, "caller", "Um, it's 4 4 8 1 2."],
  [18, "agent", "Thank you. Would you like a replacement?"],
  [21, "caller", "Honestly I already reported the cracked screen twice and nobody called me back."],
  [27, "caller", "I want to talk to a manager."],
  [29, "agent", "I'll connect you with a colleague now."],
  [31, "system", "transfer to support queue"],
  [40, "human", "Support, this is Tom speaking."],
  [42, "caller", "Okay."],
]);
const complaintFacts: CallFacts = {
  language: "en",
  intent: "complaint",
  slots: { orderNumber: "44812" },
  escalation: "keyword",
  outcome: "transferred",
  actions: [{ kind: "ticket", state: "failed" }],
};

const voicemailDe = call([
  [0, "agent", "Sie rufen außerhalb unserer Öffnungszeiten an. Bitte hinterlassen Sie eine Nachricht nach dem Ton."],
  [8, "caller", "Ja, hallo."],
  [10, "caller", "Hier ist Jens Krüger von der Firma Krüger Haustechnik."],
  [14, "caller", "Die Heizungsanlage in unserem Lager in der Hafenstraße ist seit heute früh ausgefallen."],
  [20, "caller", "Bitte rufen Sie mich dringend zurück, unter null eins sieben zwei, vier vier vier."],
  [26, "caller", "Danke, tschüss."],
]);
const voicemailFacts: CallFacts = {
  language: "de",
  slots: { name: "Jens Krüger", phone: "0172 444" },
  outcome: "voicemail",
  actions: [],
  extra: { afterHours: "true" },
};

test("German booking: intent label, captured slots, outcome and the caller's request, no fillers", () => {
  const s = extractiveSummarizer.summarize(bookingDe, bookingFacts);
  assert.match(s, /^Anliegen: Terminvereinbarung\. /);
  assert.match(s, /Erfasst: Name Anna Schmidt, Telefon \+49 30 1234567, Datum 14\.05\. 09:00\./);
  assert.match(s, /Ergebnis: abgeschlossen\./);
  assert.match(s, /Anrufer: „Ich bräuchte einen Termin für eine professionelle Zahnreinigung/);
  for (const filler of ["guten Tag", "genau", "Danke", "Tschüss", "Anna Schmidt.“", "Plus vier neun"])
    assert.ok(!s.includes(filler), filler);
  assert.ok(!s.includes("Wie ist Ihr Name"), "the agent's turns are never quoted");
});

test("English complaint with escalation: reason, failed action and the complaint itself", () => {
  const s = extractiveSummarizer.summarize(complaintEn, complaintFacts);
  assert.match(s, /^Request: Complaint\. Captured: order number 44812\./);
  assert.match(s, /Result: transferred to a staff member \(reason: keyword\); ticket failed\./);
  assert.match(s, /cracked screen/);
  assert.ok(s.includes("I ordered a television three weeks ago and it arrived with a cracked screen."));
  for (const filler of ["Hi, yeah", "Okay.", "4 4 8 1 2"]) assert.ok(!s.includes(filler), filler);
  const quoted = s.slice(s.indexOf('Caller: "'));
  assert.ok((quoted.match(/[.!?](?= |"$)/g) ?? []).length <= 2, "at most two caller sentences");
});

test("German voicemail: the message's substance, not the caller introducing himself", () => {
  const s = extractiveSummarizer.summarize(voicemailDe, voicemailFacts);
  assert.match(
    s,
    /^Anliegen: unbekannt\. Erfasst: Name Jens Krüger, Telefon 0172 444\. Ergebnis: Nachricht hinterlassen\./,
  );
  assert.match(s, /Heizungsanlage in unserem Lager in der Hafenstraße ist seit heute früh ausgefallen/);
  assert.ok(!s.includes("Ja, hallo"));
  assert.ok(!s.includes("Hier ist Jens"), "an introduction repeats the captured name");
  assert.ok(!s.includes("Danke, tschüss"));
});

test("calls without caller content give the template line alone", () => {
  const t = call([
    [0, "agent", "Guten Tag, was kann ich für Sie tun?"],
    [3, "caller", "Ja."],
    [5, "caller", "", "4711#"],
    [6, "caller", "Hallo? Hallo?"],
  ]);
  const s = extractiveSummarizer.summarize(t, { language: "de", slots: {}, outcome: "abandoned", actions: [] });
  assert.equal(s, "Anliegen: unbekannt. Ergebnis: Anrufer hat aufgelegt.");
  assert.equal(extractiveSummarizer.summarize([], { language: "en", slots: {}, actions: [] }), "Request: unknown.");
});

test("unknown intents, slots and escalation reasons are humanized; flow labels win; zh uses English labels", () => {
  const facts: CallFacts = {
    language: "zh-CN",
    intent: "lost-card",
    slots: { cardLast4: "1234", empty: "  " },
    escalation: "too-many-retries",
    actions: [],
  };
  const t = call([[2, "caller", "我的银行卡丢了，需要马上冻结。"]]);
  const s = extractiveSummarizer.summarize(t, facts);
  assert.match(s, /^Request: Lost card\. Captured: card last4 1234\. Result: escalated \(reason: too many retries\)\./);
  assert.match(s, /Caller: "我的银行卡丢了，需要马上冻结。"/);
  const labelled = createExtractiveSummarizer({ intentLabels: { "lost-card": "Karte gesperrt" } });
  assert.match(labelled.summarize(t, { ...facts, language: "de" }), /^Anliegen: Karte gesperrt\./);
});

test("a second sentence only when it adds something; quotes keep spoken order", () => {
  const two = keySentences(complaintEn, complaintFacts);
  assert.ok(two.length >= 1 && two.length <= 2);
  const order = two.map((s) => complaintEn.findIndex((e) => e.text.includes(s)));
  assert.deepEqual(
    order,
    [...order].sort((a, b) => a - b),
  );
  assert.equal(keySentences(complaintEn, complaintFacts, 1).length, 1);
  const repeated = call([
    [1, "caller", "Meine Waschmaschine ist kaputt und läuft aus."],
    [5, "caller", "Die Waschmaschine ist kaputt, sie läuft aus."],
  ]);
  assert.equal(keySentences(repeated, bookingFacts).length, 1, "a near-repeat is not a second sentence");
});

test("the same call always gives the same summary", () => {
  for (const [t, f] of [
    [bookingDe, bookingFacts],
    [complaintEn, complaintFacts],
    [voicemailDe, voicemailFacts],
  ] as const) {
    const first = extractiveSummarizer.summarize(t, f);
    for (let i = 0; i < 3; i++)
      assert.equal(extractiveSummarizer.summarize(structuredClone(t), structuredClone(f)), first);
  }
});

test("a 500-turn call is summarized from its substance, with a bounded length", () => {
  const topics = [
    "Der Drucker im zweiten Stock druckt seit Montag nur noch leere Seiten.",
    "Wir haben den Toner schon gewechselt, das Problem mit den leeren Seiten bleibt.",
  ];
  const fillers = ["Ja.", "Okay.", "Hm, genau.", "Moment bitte.", "Ja, danke."];
  const t: TranscriptEntry[] = [];
  for (let i = 0; i < 500; i++) {
    const speaker = i % 2 === 0 ? "agent" : "caller";
    let text = speaker === "agent" ? "Können Sie das bitte noch einmal prüfen?" : fillers[i % fillers.length];
    if (i === 101) text = topics[0];
    if (i === 301) text = topics[1];
    t.push({ atMs: i * 4000, speaker, text });
  }
  const facts: CallFacts = { language: "de", intent: "support", slots: {}, outcome: "completed", actions: [] };
  const s = extractiveSummarizer.summarize(t, facts);
  assert.match(s, /^Anliegen: Technischer Support\./);
  assert.ok(s.includes(topics[0]), s);
  assert.ok(s.length < 600);
  for (const f of fillers) assert.ok(!s.includes(`„${f}`) && !s.includes(` ${f}“`), f);
});

test("formatTranscript: mm:ss, speaker labels, agent names and DTMF", () => {
  const t: TranscriptEntry[] = [
    { atMs: 0, speaker: "agent", text: "Welcome.", agent: "reception" },
    { atMs: 5400, speaker: "caller", text: "My customer number is", dtmf: "4711#" },
    { atMs: 9000, speaker: "caller", text: "", dtmf: "1" },
    { atMs: 61_000, speaker: "system", text: "transfer\n to  sales" },
    { atMs: 3_725_000, speaker: "human", text: "Sales, Maria speaking.", agent: "Maria" },
  ];
  assert.equal(
    formatTranscript(t),
    [
      "00:00 Agent (reception): Welcome.",
      "00:05 Caller: My customer number is [DTMF 4711#]",
      "00:09 Caller: [DTMF 1]",
      "01:01 System: transfer to sales",
      "62:05 Staff (Maria): Sales, Maria speaking.",
    ].join("\n"),
  );
  assert.match(formatTranscript(t, "de"), /^00:05 Anrufer: My customer number is \[DTMF 4711#\]$/m);
  assert.equal(formatTranscript([]), "");
});
