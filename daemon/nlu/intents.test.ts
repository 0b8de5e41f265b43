import assert from "node:assert/strict";
import { test } from "node:test";
import { type IntentDef, IntentConfigError, IntentModel, intentBandsSchema } from "./intents.ts";

// A small phone line: a few examples per intent and language, as an agent's config would have them.
const line: IntentDef[] = [
  {
    id: "opening_hours",
    examples: [
      "Wann haben Sie geöffnet?",
      "Wie sind Ihre Öffnungszeiten?",
      "Haben Sie am Samstag offen?",
      "Bis wann kann ich heute vorbeikommen?",
      "What are your opening hours?",
      "When are you open?",
      "Are you open on Saturday?",
      "What time do you close today?",
      "你们几点开门？",
      "营业时间是什么时候？",
      "周六开门吗？",
    ],
  },
  {
    id: "appointment_book",
    examples: [
      "Ich möchte einen Termin vereinbaren",
      "Kann ich einen Termin bei Ihnen bekommen?",
      "Ich bräuchte einen Termin nächste Woche",
      "Haben Sie einen freien Termin?",
      "I would like to book an appointment",
      "Can I make an appointment?",
      "I need an appointment next week",
      "Do you have a free slot?",
      "我想预约",
      "可以帮我约个时间吗？",
      "我要预约下周的时间",
    ],
  },
  {
    id: "appointment_cancel",
    examples: [
      "Ich muss meinen Termin absagen",
      "Ich möchte den Termin stornieren",
      "Ich kann morgen nicht kommen, bitte Termin streichen",
      "I need to cancel my appointment",
      "Please cancel my booking",
      "I cannot make it tomorrow, cancel the appointment",
      "我要取消预约",
      "明天的预约取消吧",
    ],
  },
  {
    id: "order_status",
    examples: [
      "Wo ist meine Bestellung?",
      "Wann kommt mein Paket?",
      "Ich warte noch auf meine Lieferung",
      "Wie ist der Stand meiner Bestellung?",
      "Where is my order?",
      "When will my package arrive?",
      "I am still waiting for my delivery",
      "What is the status of my order?",
      "我的订单到哪里了？",
      "包裹什么时候到？",
      "我还在等我的快递",
    ],
  },
  {
    id: "invoice_question",
    examples: [
      "Ich habe eine Frage zu meiner Rechnung",
      "Auf der Rechnung stimmt der Betrag nicht",
      "Warum wurde mir das doppelt berechnet?",
      "I have a question about my invoice",
      "The amount on my bill is wrong",
      "Why was I charged twice?",
      "我对账单有疑问",
      "发票上的金额不对",
    ],
  },
  {
    id: "talk_to_human",
    examples: [
      "Ich möchte mit einem Mitarbeiter sprechen",
      "Verbinden Sie mich bitte mit einem Menschen",
      "Kann ich mit jemandem persönlich reden?",
      "I want to talk to a person",
      "Put me through to a real human please",
      "Can I speak to someone from your team?",
      "我要转人工",
      "请帮我转接客服人员",
    ],
  },
];

test("training errors name the intent's index and id", () => {
  const cases: [IntentDef[], RegExp][] = [
    [[{ id: "", examples: ["hallo"] }], /^intents\[0\]: empty id$/],
    [
      [
        { id: "a", examples: ["x"] },
        { id: "b", examples: ["y"] },
        { id: "a", examples: ["z"] },
      ],
      /^intents\[2\]: duplicate intent id "a"$/,
    ],
    [
      [
        { id: "a", examples: ["x"] },
        { id: "hours", examples: [] },
      ],
      /^intents\[1\] \(hours\): no examples$/,
    ],
    [[{ id: "hours", examples: ["wann offen", "  "] }], /^intents\[0\] \(hours\)\.examples\[1\]: empty example$/],
  ];
  for (const [defs, message] of cases)
    assert.throws(
      () => IntentModel.train(defs),
      (e: unknown) => e instanceof IntentConfigError && message.test(e.message),
      String(message),
    );
});

test("bands: defaults parse, act below clarify is refused, partial bands keep the other defaults", () => {
  const d = intentBandsSchema.parse({});
  assert.ok(d.act >= d.clarify && d.clarify > 0 && d.margin >= 0);
  const r = intentBandsSchema.safeParse({ act: 0.1, clarify: 0.2 });
  assert.equal(r.success, false);
  assert.deepEqual(r.error?.issues[0]?.path, ["act"]);
  assert.equal(intentBandsSchema.safeParse({ act: 1.5 }).success, false);
  assert.throws(() => IntentModel.train(line, { bands: { act: 0.1, clarify: 0.5 } }));
  const strict = IntentModel.train(line, { bands: { act: 0.99 } });
  assert.notEqual(strict.classify("Wann haben Sie am Samstag geöffnet?").band, "act", "act 0.99: nothing is acted on");
});

const model = IntentModel.train(line);

test("unseen paraphrases in German, English and Chinese find the right intent", () => {
  const unseen: [string, string][] = [
    ["Ist Ihr Geschäft sonntags geöffnet?", "opening_hours"],
    ["Bis wie viel Uhr sind Sie heute da?", "opening_hours"],
    ["Ich hätte gern einen Termin beim Doktor", "appointment_book"],
    ["Meinen Termin am Dienstag kann ich nicht wahrnehmen, bitte absagen", "appointment_cancel"],
    ["Mein Paket ist immer noch nicht angekommen", "order_status"],
    ["Die Rechnung ist viel zu hoch", "invoice_question"],
    ["Ich will einen echten Mitarbeiter sprechen", "talk_to_human"],
    ["How late are you open tonight?", "opening_hours"],
    ["Could I get an appointment on Friday?", "appointment_book"],
    ["I have to cancel tomorrow's appointment", "appointment_cancel"],
    ["My package still has not arrived", "order_status"],
    ["There is a mistake on my invoice", "invoice_question"],
    ["Let me talk to a real person", "talk_to_human"],
    ["你们星期天开门吗", "opening_hours"],
    ["我想约个时间看医生", "appointment_book"],
    ["我的快递怎么还没到", "order_status"],
    ["账单金额有问题", "invoice_question"],
    ["我要找人工客服", "talk_to_human"],
  ];
  for (const [text, intent] of unseen) {
    const m = model.classify(text);
    assert.equal(m.ranking[0]?.intent, intent, `${text}: ${JSON.stringify(m.ranking.slice(0, 2))}`);
  }
  // Paraphrases that keep the intent's key words are clear enough to act on.
  const clear: [string, string][] = [
    ["Ich will einen echten Mitarbeiter sprechen", "talk_to_human"],
    ["I have to cancel tomorrow's appointment", "appointment_cancel"],
    ["Let me talk to a real person", "talk_to_human"],
  ];
  for (const [text, intent] of clear) {
    const m = model.classify(text);
    assert.deepEqual([m.band, m.intent], ["act", intent], `${text}: ${m.score.toFixed(2)}`);
  }
});

test("an umlaut-free spelling and a compound still match (ASR and callers vary)", () => {
  assert.equal(model.classify("Oeffnungszeiten am Samstag").ranking[0]?.intent, "opening_hours");
  assert.equal(model.classify("Terminabsage fuer morgen").ranking[0]?.intent, "appointment_cancel");
});

test("an off-topic sentence is escalated with no intent, in every language", () => {
  for (const text of [
    "Wie wird das Wetter am Wochenende?",
    "Hat der FC Bayern gestern gewonnen?",
    "Who won the football match last night?",
    "My cat likes to sleep on the sofa",
    "今天天气怎么样",
    "",
  ]) {
    const m = model.classify(text);
    assert.equal(m.band, "escalate", `${text}: ${m.score.toFixed(2)} ${m.ranking[0]?.intent}`);
    assert.equal(m.intent, undefined, text);
  }
});

test("scores are cosines in 0..1, ranked best first, at most five", () => {
  const m = model.classify("Ich möchte einen Termin absagen");
  assert.ok(m.ranking.length <= 5);
  assert.equal(m.score, m.ranking[0]?.score);
  for (let i = 1; i < m.ranking.length; i++) assert.ok((m.ranking[i - 1]?.score ?? 0) >= (m.ranking[i]?.score ?? 0));
  for (const r of m.ranking) assert.ok(r.score >= 0 && r.score <= 1 + 1e-9);
  assert.equal(m.intent, "appointment_cancel");
  assert.equal(m.band, "act");
  assert.equal(model.size, line.length);
});

test("two close intents with no lead are clarified, not acted on", () => {
  // "Termin" alone fits both intents, whose examples differ only in the verb.
  const close = IntentModel.train([
    { id: "book", examples: ["Termin vereinbaren", "Ich möchte einen Termin vereinbaren"] },
    { id: "cancel", examples: ["Termin absagen", "Ich möchte einen Termin absagen"] },
  ]);
  const m = close.classify("Termin");
  assert.notEqual(m.band, "act", JSON.stringify(m.ranking.slice(0, 2)));
  // On the line, both appointment intents are the top two.
  assert.deepEqual(
    new Set(
      model
        .classify("Termin")
        .ranking.slice(0, 2)
        .map((r) => r.intent),
    ),
    new Set(["appointment_book", "appointment_cancel"]),
  );
});

test("words the examples never use still match through the synonym table, inflected or compounded", () => {
  const cases: [string, string][] = [
    ["Mein Kassenbon ist falsch", "invoice_question"],
    ["Die Abrechnungen sind zu hoch", "invoice_question"],
    ["Sagen Sie meinen Termin bitte ab", "appointment_cancel"],
    ["Ich will die Buchung stornieren", "appointment_cancel"],
    ["Wo bleibt meine Sendung?", "order_status"],
    ["Please transfer me to an agent", "talk_to_human"],
    ["Is my parcel on its way?", "order_status"],
    ["I have to call off my visit", "appointment_cancel"],
    ["我要投诉发票的金额", "invoice_question"],
  ];
  for (const [text, intent] of cases) {
    const m = model.classify(text);
    assert.equal(m.ranking[0]?.intent, intent, `${text}: ${JSON.stringify(m.ranking.slice(0, 2))}`);
  }
});

test("an intent with one example is not scored lower for having only one", () => {
  const m = IntentModel.train([
    { id: "hours", examples: ["Wann haben Sie geöffnet?"] },
    { id: "invoice", examples: ["Rechnung", "Quittung", "Beleg"] },
  ]);
  const r = m.classify("Wann haben Sie geöffnet?");
  assert.equal(r.intent, "hours");
  assert.ok(Math.abs(r.score - 1) < 1e-9, `the example itself scores 1, got ${r.score}`);
});

test("the same training gives the same scores, whatever runs in between", () => {
  const a = IntentModel.train(line);
  const probe = ["Wann haben Sie offen?", "cancel my appointment", "我要转人工", "Wetter morgen"];
  const first = probe.map((t) => a.classify(t));
  IntentModel.train([...line].reverse()).classify("noise in between");
  const b = IntentModel.train(line);
  assert.deepEqual(
    probe.map((t) => b.classify(t)),
    first,
  );
  assert.deepEqual(
    probe.map((t) => a.classify(t)),
    first,
    "classifying does not change the model",
  );
});
