// Tags on a finished call, for filtering the call list: some follow from the facts the flow recorded (intent,
// escalation, outcome, failed actions), the rest from keyword rules the operator configures ("complaint" when the
// caller says "Beschwerde", "Reklamation" or "投诉").

import { z } from "zod";
import type { CallFacts, TranscriptEntry } from "./summary.ts";
import { foldUmlauts, hasHan, normalizeText, tokens } from "./text-features.ts";

const TAG = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;

export const tagRuleSchema = z.strictObject({
  tag: z.string().regex(TAG, 'a slug: lower-case letters and digits, joined by single hyphens ("needs-callback")'),
  /** Words or phrases; any one of them in a turn gives the tag. A trailing `*` matches word starts ("rechnung*"). */
  anyOf: z
    .array(
      z
        .string()
        .trim()
        .refine((s) => /[\p{L}\p{N}]/u.test(s), "a word or phrase (letters or digits)"),
    )
    .min(1, "at least one word or phrase"),
  /** Whose turns are searched (default: the caller's, so the agent's own questions never tag a call). */
  speakers: z
    .array(z.enum(["caller", "agent", "human", "system"]))
    .min(1)
    .optional(),
});

export type TagRule = z.infer<typeof tagRuleSchema>;

const TRUE = new Set(["true", "yes", "1", "requested"]);
const isTrue = (v: string | undefined): boolean => v !== undefined && TRUE.has(v.trim().toLowerCase());

/** "Order Status" / "Rückgabe" -> "order-status" / "rueckgabe". */
function slugOf(id: string): string {
  return foldUmlauts(id.toLowerCase())
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "");
}

/** Tags that follow from the facts alone. */
export function factTags(f: CallFacts): string[] {
  const tags: string[] = [];
  const intent = f.intent ? slugOf(f.intent) : "";
  if (intent) tags.push(`intent:${intent}`);
  if (f.escalation || f.outcome === "escalated") tags.push("escalated");
  if (f.outcome === "transferred") tags.push("transferred");
  if (f.outcome === "voicemail") tags.push("voicemail");
  if (
    f.outcome === "callback" ||
    f.outcome === "callback-requested" ||
    isTrue(f.extra?.callback) ||
    f.actions.some((a) => a.kind === "callback")
  )
    tags.push("callback-requested");
  if (f.actions.some((a) => a.state === "failed" || a.state === "error")) tags.push("action-failed");
  if (f.outcome === "after-hours" || isTrue(f.extra?.afterHours)) tags.push("after-hours");
  return tags;
}

interface Phrase {
  /** Folded words in order; the last may be a prefix. */
  words: string[];
  prefix: boolean;
  /** Chinese: matched as a substring, since Chinese has no spaces between words. */
  han?: string;
}

function phraseOf(text: string): Phrase {
  if (hasHan(text)) return { words: [], prefix: false, han: normalizeText(text).replace(/\s+/g, "") };
  return { words: tokens(text).map((t) => foldUmlauts(t.text)), prefix: text.trim().endsWith("*") };
}

interface Turn {
  words: string[];
  han: string;
}

function matches(p: Phrase, turn: Turn): boolean {
  if (p.han !== undefined) return turn.han.includes(p.han);
  const n = p.words.length;
  const last = n - 1;
  for (let i = 0; i + n <= turn.words.length; i++) {
    let k = 0;
    while (k < last && turn.words[i + k] === p.words[k]) k++;
    if (k < last) continue;
    const w = turn.words[i + last];
    if (p.prefix ? w.startsWith(p.words[last]) : w === p.words[last]) return true;
  }
  return false;
}

/** Tags of the rules whose words occur in the turns of the rule's speakers. */
export function ruleTags(t: TranscriptEntry[], rules: readonly TagRule[]): string[] {
  const turns = new Map<TranscriptEntry["speaker"], Turn[]>();
  const turnsOf = (speaker: TranscriptEntry["speaker"]): Turn[] => {
    let out = turns.get(speaker);
    if (!out) {
      out = t
        .filter((e) => e.speaker === speaker && e.text.trim() !== "")
        .map((e) => ({
          words: tokens(e.text).map((w) => foldUmlauts(w.text)),
          han: normalizeText(e.text).replace(/\s+/g, ""),
        }));
      turns.set(speaker, out);
    }
    return out;
  };
  const tags: string[] = [];
  for (const rule of rules) {
    const phrases = rule.anyOf.map(phraseOf).filter((p) => p.han || p.words.length > 0);
    const searched = (rule.speakers ?? ["caller"]).flatMap(turnsOf);
    if (phrases.some((p) => searched.some((turn) => matches(p, turn)))) tags.push(rule.tag);
  }
  return tags;
}

/** Every tag of a call, sorted and unique. */
export function tagsFor(t: TranscriptEntry[], f: CallFacts, rules: readonly TagRule[] = []): string[] {
  return [...new Set([...factTags(f), ...ruleTags(t, rules)])].sort();
}
