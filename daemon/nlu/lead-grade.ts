// Lead grade A–E by editable rules, as AI outbound systems grade calls: an ordered list, the first rule whose
// conditions all hold gives the grade, else the default.
import { z } from "zod";

const grade = z.enum(["A", "B", "C", "D", "E"]);
export type LeadGrade = z.infer<typeof grade>;

export const leadRuleSchema = z
  .object({
    grade,
    when: z
      .object({
        minQuestions: z.number().int().min(0).optional(),
        maxRefusals: z.number().int().min(0).optional(),
        minTurns: z.number().int().min(0).optional(),
        slotsCaptured: z.array(z.string().min(1)).optional(),
        intentIn: z.array(z.string().min(1)).optional(),
        sentimentAtLeast: z.number().min(-1).max(1).optional(),
      })
      .strict(),
  })
  .strict();
export const leadRulesSchema = z
  .object({ rules: z.array(leadRuleSchema).default([]), default: grade.default("E") })
  .strict();
export type LeadRules = z.infer<typeof leadRulesSchema>;

export interface LeadFacts {
  questions: number;
  refusals: number;
  turns: number;
  slots: string[];
  intent?: string;
  sentiment: number;
}

/** A caller who left contact details and asked things is hot; one who refused twice is cold. */
export const defaultLeadRules: LeadRules = leadRulesSchema.parse({
  rules: [
    { grade: "A", when: { slotsCaptured: ["name"], minQuestions: 1, maxRefusals: 0, sentimentAtLeast: 0 } },
    { grade: "B", when: { slotsCaptured: ["name"], maxRefusals: 1 } },
    { grade: "C", when: { minTurns: 3, maxRefusals: 1, sentimentAtLeast: -0.3 } },
    { grade: "D", when: { minTurns: 1 } },
  ],
  default: "E",
});

export function gradeLead(rules: LeadRules, f: LeadFacts): { grade: LeadGrade; rule: number | "default" } {
  for (let i = 0; i < rules.rules.length; i++) {
    const w = (rules.rules[i] as z.infer<typeof leadRuleSchema>).when;
    const ok =
      (w.minQuestions === undefined || f.questions >= w.minQuestions) &&
      (w.maxRefusals === undefined || f.refusals <= w.maxRefusals) &&
      (w.minTurns === undefined || f.turns >= w.minTurns) &&
      (w.slotsCaptured === undefined || w.slotsCaptured.every((s) => f.slots.includes(s))) &&
      (w.intentIn === undefined || (f.intent !== undefined && w.intentIn.includes(f.intent))) &&
      (w.sentimentAtLeast === undefined || f.sentiment >= w.sentimentAtLeast);
    if (ok) return { grade: (rules.rules[i] as z.infer<typeof leadRuleSchema>).grade, rule: i };
  }
  return { grade: rules.default, rule: "default" };
}
