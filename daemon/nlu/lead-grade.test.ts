import assert from "node:assert/strict";
import { test } from "node:test";
import { defaultLeadRules, gradeLead, type LeadFacts, type LeadRules, leadRulesSchema } from "./lead-grade.ts";

const facts = (f: Partial<LeadFacts> = {}): LeadFacts => ({
  questions: 0,
  refusals: 0,
  turns: 0,
  slots: [],
  sentiment: 0,
  ...f,
});

test("default rules: name + question + no refusal + not negative is A, down to E for a silent call", () => {
  const g = (f: Partial<LeadFacts>) => gradeLead(defaultLeadRules, facts(f));
  assert.deepEqual(g({ slots: ["name", "phone"], questions: 2, turns: 4, sentiment: 0.3 }), { grade: "A", rule: 0 });
  assert.deepEqual(g({ slots: ["name"], questions: 2, turns: 4, sentiment: -0.2 }), { grade: "B", rule: 1 });
  assert.deepEqual(g({ slots: ["name"], questions: 0, refusals: 1, turns: 2 }), { grade: "B", rule: 1 });
  assert.deepEqual(g({ slots: ["name"], refusals: 2, turns: 5 }), { grade: "D", rule: 3 }, "two refusals: not B or C");
  assert.deepEqual(g({ turns: 3, sentiment: -0.3 }), { grade: "C", rule: 2 });
  assert.deepEqual(g({ turns: 3, sentiment: -0.31 }), { grade: "D", rule: 3 });
  assert.deepEqual(g({ turns: 1 }), { grade: "D", rule: 3 });
  assert.deepEqual(g({}), { grade: "E", rule: "default" });
});

test("the first matching rule wins, not the best grade", () => {
  const rules = leadRulesSchema.parse({
    rules: [
      { grade: "C", when: { minTurns: 1 } },
      { grade: "A", when: { minTurns: 1, minQuestions: 1 } },
    ],
  });
  assert.deepEqual(gradeLead(rules, facts({ turns: 5, questions: 3 })), { grade: "C", rule: 0 });
});

test("each condition on its own decides", () => {
  const only = (when: LeadRules["rules"][number]["when"]): LeadRules =>
    leadRulesSchema.parse({ rules: [{ grade: "A", when }], default: "D" });
  const cases: [LeadRules["rules"][number]["when"], Partial<LeadFacts>, Partial<LeadFacts>][] = [
    [{ minQuestions: 2 }, { questions: 2 }, { questions: 1 }],
    [{ maxRefusals: 1 }, { refusals: 1 }, { refusals: 2 }],
    [{ minTurns: 3 }, { turns: 3 }, { turns: 2 }],
    [{ slotsCaptured: ["name", "phone"] }, { slots: ["phone", "email", "name"] }, { slots: ["name"] }],
    [{ intentIn: ["price_inquiry", "quote_request"] }, { intent: "quote_request" }, { intent: "complaint" }],
    [{ intentIn: ["price_inquiry"] }, { intent: "price_inquiry" }, {}],
    [{ sentimentAtLeast: 0.2 }, { sentiment: 0.2 }, { sentiment: 0.19 }],
  ];
  for (const [when, yes, no] of cases) {
    assert.equal(
      gradeLead(only(when), facts(yes)).grade,
      "A",
      `${JSON.stringify(when)} holds for ${JSON.stringify(yes)}`,
    );
    assert.deepEqual(gradeLead(only(when), facts(no)), { grade: "D", rule: "default" }, JSON.stringify(no));
  }
  assert.equal(gradeLead(only({}), facts()).grade, "A", "a rule without conditions always holds");
});

test("rules schema: defaults, and unknown conditions or grades are refused with their path", () => {
  assert.deepEqual(leadRulesSchema.parse({}), { rules: [], default: "E" });
  assert.deepEqual(gradeLead(leadRulesSchema.parse({ default: "C" }), facts()), { grade: "C", rule: "default" });
  const bad = leadRulesSchema.safeParse({ rules: [{ grade: "A", when: { minQuestion: 1 } }] });
  assert.equal(bad.success, false);
  assert.deepEqual(bad.error?.issues[0]?.path, ["rules", 0, "when"]);
  const grade = leadRulesSchema.safeParse({ rules: [{ grade: "F", when: {} }] });
  assert.deepEqual(grade.error?.issues[0]?.path, ["rules", 0, "grade"]);
  assert.equal(leadRulesSchema.safeParse({ rules: [{ grade: "A", when: { sentimentAtLeast: 2 } }] }).success, false);
});
