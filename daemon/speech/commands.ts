// Command words in what a caller said: digits, yes/no, escalation, repeat/cancel and the menu words flows bind to.
// Works on the embedded command recognizer's output ("4 7 1 1", "double 5", "yes", "agent": already canonical) and
// on free text from a general ASR bundle in German, English or Chinese ("vier sieben eins eins", "zwo", "oh",
// "4711", "einen Mitarbeiter bitte", "转人工"). Pure functions: the gather decides what the words mean in context.

export type CommandWord =
  | "0"
  | "1"
  | "2"
  | "3"
  | "4"
  | "5"
  | "6"
  | "7"
  | "8"
  | "9"
  | "yes"
  | "no"
  | "agent"
  | "repeat"
  | "cancel"
  | "sales"
  | "support"
  | "billing"
  | "appointment";

export interface CommandWords {
  /** Command words in spoken order ("double five" is two "5"). */
  words: CommandWord[];
  /** Words that are not commands ("meine Nummer ist", "please"): how much else the caller said. */
  other: number;
  /** Other words between two digits: a digit string that was interrupted (or misheard). */
  brokenDigits: boolean;
}

const DIGIT_WORDS: Record<string, CommandWord> = {
  null: "0",
  zero: "0",
  oh: "0",
  eins: "1",
  one: "1",
  zwei: "2",
  zwo: "2",
  two: "2",
  drei: "3",
  three: "3",
  vier: "4",
  four: "4",
  fünf: "5",
  fuenf: "5",
  five: "5",
  sechs: "6",
  six: "6",
  sieben: "7",
  seven: "7",
  acht: "8",
  eight: "8",
  neun: "9",
  nine: "9",
};

/** Synonyms per command (lower case, de + en + the recognizer's own token names). */
const WORDS: Record<string, CommandWord> = {
  yes: "yes",
  yeah: "yes",
  yep: "yes",
  correct: "yes",
  ja: "yes",
  jawohl: "yes",
  genau: "yes",
  richtig: "yes",
  stimmt: "yes",
  no: "no",
  nope: "no",
  nein: "no",
  nö: "no",
  falsch: "no",
  agent: "agent",
  human: "agent",
  operator: "agent",
  person: "agent",
  mitarbeiter: "agent",
  mitarbeiterin: "agent",
  mensch: "agent",
  menschen: "agent",
  vermittlung: "agent",
  repeat: "repeat",
  wiederholen: "repeat",
  wiederholung: "repeat",
  again: "repeat",
  cancel: "cancel",
  abbrechen: "cancel",
  stop: "cancel",
  sales: "sales",
  vertrieb: "sales",
  verkauf: "sales",
  support: "support",
  billing: "billing",
  rechnung: "billing",
  appointment: "appointment",
  termin: "appointment",
};

/** Multi-character escalation phrases of languages written without spaces. */
const PHRASES: [RegExp, CommandWord][] = [
  [/转人工|人工客服|人工服务|真人/g, "agent"],
  [/是的|对的/g, "yes"],
  [/不是|不对/g, "no"],
];

/** A yes-word next to one of these means no ("stimmt nicht", "nicht richtig", "not correct"). */
const NEGATORS = new Set(["nicht", "not", "nie", "never", "kein", "keine"]);

const REPEATERS: Record<string, number> = { double: 2, doppel: 2, doppelt: 2, triple: 3, dreifach: 3 };

/** The command words of an utterance (recognizer tokens or free text). */
export function commandWords(text: string): CommandWords {
  let t = text.toLowerCase();
  const phraseHits: CommandWord[] = [];
  for (const [re, w] of PHRASES) {
    t = t.replace(re, () => {
      phraseHits.push(w);
      return " ";
    });
  }
  // Digits written as numerals ("4711", "47 11") are digit strings, one word per digit.
  const tokens = t
    .replace(/(\d)/g, " $1 ")
    .split(/[^\p{L}\p{N}]+/u)
    .filter((w) => w !== "");
  const words: CommandWord[] = [];
  let other = 0;
  let brokenDigits = false;
  let pendingRepeat = 1;
  let otherSinceDigit = false;
  for (const [i, w] of tokens.entries()) {
    const rep = REPEATERS[w];
    if (rep) {
      pendingRepeat = rep;
      continue;
    }
    const digit = DIGIT_WORDS[w] ?? (/^\d$/.test(w) ? (w as CommandWord) : undefined);
    const cmd = digit ?? WORDS[w];
    if (!digit) otherSinceDigit = true;
    if (cmd === "yes" && (NEGATORS.has(tokens[i - 1] ?? "") || NEGATORS.has(tokens[i + 1] ?? ""))) {
      words.push("no");
      continue;
    }
    if (!cmd) {
      other++;
      pendingRepeat = 1;
      continue;
    }
    if (digit) {
      if (words.some(isDigit) && otherSinceDigit) brokenDigits = true;
      otherSinceDigit = false;
    }
    for (let k = 0; k < (digit ? pendingRepeat : 1); k++) words.push(cmd);
    pendingRepeat = 1;
  }
  return { words: [...words, ...phraseHits], other, brokenDigits };
}

export function isDigit(w: string): boolean {
  return w.length === 1 && w >= "0" && w <= "9";
}

/** The digit string of an utterance when it says nothing but digits (fillers around them allowed). */
export function digitsOf(c: CommandWords): string | undefined {
  if (c.words.length === 0 || !c.words.every(isDigit)) return undefined;
  return c.words.join("");
}

/** yes / no when the utterance says exactly one of them. */
export function yesNoOf(c: CommandWords): "yes" | "no" | undefined {
  const yes = c.words.includes("yes");
  const no = c.words.includes("no");
  if (yes === no) return undefined;
  return yes ? "yes" : "no";
}
