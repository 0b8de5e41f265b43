// Spoken numbers in German and English as a speech recognizer writes them: "siebenundvierzig", "dreihundertzwölf",
// "neunzehnhundertachtzig", "forty-seven", "one hundred and twelve", digit by digit ("null acht neun", "oh",
// "double five", "triple 7") or mixed with numerals ("089 one two three"). Pure functions over text; the slot
// validators decide what a number means.

type MorphKind = "zero" | "unit" | "teen" | "tens" | "hundred" | "thousand" | "million" | "and" | "article";

interface Morph {
  kind: MorphKind;
  value: number;
  /** The last morph of an ordinal word ("fünften", "twenty-first"): the number ends here. */
  ordinal?: boolean;
}

const WORDS: Record<string, [MorphKind, number]> = {
  null: ["zero", 0],
  zero: ["zero", 0],
  oh: ["zero", 0],
  ein: ["article", 1],
  eine: ["article", 1],
  einen: ["article", 1],
  einer: ["article", 1],
  einem: ["article", 1],
  a: ["article", 1],
  an: ["article", 1],
  eins: ["unit", 1],
  one: ["unit", 1],
  zwei: ["unit", 2],
  zwo: ["unit", 2],
  two: ["unit", 2],
  drei: ["unit", 3],
  three: ["unit", 3],
  vier: ["unit", 4],
  four: ["unit", 4],
  fünf: ["unit", 5],
  fuenf: ["unit", 5],
  five: ["unit", 5],
  sechs: ["unit", 6],
  six: ["unit", 6],
  sieben: ["unit", 7],
  seven: ["unit", 7],
  acht: ["unit", 8],
  eight: ["unit", 8],
  neun: ["unit", 9],
  nine: ["unit", 9],
  zehn: ["teen", 10],
  ten: ["teen", 10],
  elf: ["teen", 11],
  eleven: ["teen", 11],
  zwölf: ["teen", 12],
  zwoelf: ["teen", 12],
  twelve: ["teen", 12],
  dreizehn: ["teen", 13],
  thirteen: ["teen", 13],
  vierzehn: ["teen", 14],
  fourteen: ["teen", 14],
  fünfzehn: ["teen", 15],
  fuenfzehn: ["teen", 15],
  fifteen: ["teen", 15],
  sechzehn: ["teen", 16],
  sixteen: ["teen", 16],
  siebzehn: ["teen", 17],
  seventeen: ["teen", 17],
  achtzehn: ["teen", 18],
  eighteen: ["teen", 18],
  neunzehn: ["teen", 19],
  nineteen: ["teen", 19],
  zwanzig: ["tens", 20],
  twenty: ["tens", 20],
  dreißig: ["tens", 30],
  dreissig: ["tens", 30],
  thirty: ["tens", 30],
  vierzig: ["tens", 40],
  forty: ["tens", 40],
  fourty: ["tens", 40],
  fünfzig: ["tens", 50],
  fuenfzig: ["tens", 50],
  fifty: ["tens", 50],
  sechzig: ["tens", 60],
  sixty: ["tens", 60],
  siebzig: ["tens", 70],
  seventy: ["tens", 70],
  achtzig: ["tens", 80],
  eighty: ["tens", 80],
  neunzig: ["tens", 90],
  ninety: ["tens", 90],
  hundert: ["hundred", 100],
  hundred: ["hundred", 100],
  tausend: ["thousand", 1000],
  thousand: ["thousand", 1000],
  million: ["million", 1e6],
  millionen: ["million", 1e6],
  millions: ["million", 1e6],
  und: ["and", 0],
  and: ["and", 0],
};

/** Pieces a German compound is built from; "ein" only inside ("einundzwanzig", "einhundert"). Longest first. */
const COMPOUND_PARTS = [
  ...["ein", "eins", "zwei", "zwo", "drei", "vier", "fünf", "fuenf", "sechs", "sieben", "acht", "neun"],
  ...["zehn", "elf", "zwölf", "zwoelf", "dreizehn", "vierzehn", "fünfzehn", "fuenfzehn", "sechzehn", "siebzehn"],
  ...["achtzehn", "neunzehn", "zwanzig", "dreißig", "dreissig", "vierzig", "fünfzig", "fuenfzig", "sechzig"],
  ...["siebzig", "achtzig", "neunzig", "hundert", "tausend", "million", "millionen", "und"],
].sort((x, y) => y.length - x.length);

const EN_ORDINALS: Record<string, [MorphKind, number]> = {
  first: ["unit", 1],
  second: ["unit", 2],
  third: ["unit", 3],
  fourth: ["unit", 4],
  fifth: ["unit", 5],
  sixth: ["unit", 6],
  seventh: ["unit", 7],
  eighth: ["unit", 8],
  ninth: ["unit", 9],
  tenth: ["teen", 10],
  eleventh: ["teen", 11],
  twelfth: ["teen", 12],
  twentieth: ["tens", 20],
  thirtieth: ["tens", 30],
  fortieth: ["tens", 40],
  fiftieth: ["tens", 50],
  hundredth: ["hundred", 100],
};

/** German ordinal stems below 20 whose form differs from the cardinal plus "t" ("erst", "dritt", "siebt"). */
const DE_ORDINAL_STEMS: Record<string, number> = {
  erst: 1,
  zweit: 2,
  zwot: 2,
  dritt: 3,
  viert: 4,
  fünft: 5,
  fuenft: 5,
  sechst: 6,
  siebt: 7,
  siebent: 7,
  acht: 8,
  neunt: 9,
};

/** The morphs of one lower-case word, or undefined when it is not a number word. */
function wordMorphs(word: string, ordinals: boolean): Morph[] | undefined {
  const w = WORDS[word];
  if (w) return [{ kind: w[0], value: w[1] }];
  const compound = splitCompound(word);
  if (compound) return compound;
  if (!ordinals) return undefined;
  const en = EN_ORDINALS[word] ?? (word.endsWith("teenth") ? teenOf(word.slice(0, -2)) : undefined);
  if (en) return [{ kind: en[0], value: en[1], ordinal: true }];
  // German ordinals inflect: "fünfte", "fünften", "einundzwanzigsten", "zwanzigster".
  const stem = /^(.+?)(?:e|en|er|em|es)$/.exec(word)?.[1];
  if (!stem) return undefined;
  const small = DE_ORDINAL_STEMS[stem];
  if (small !== undefined) return [{ kind: "unit", value: small, ordinal: true }];
  if (stem.endsWith("t") && !stem.endsWith("st")) {
    const teen = teenOf(stem.slice(0, -1));
    if (teen) return [{ kind: teen[0], value: teen[1], ordinal: true }];
  }
  if (stem.endsWith("st")) {
    const inner = wordMorphs(stem.slice(0, -2), false);
    if (inner && evaluate(inner) >= 20) {
      const last = inner[inner.length - 1];
      return [...inner.slice(0, -1), { ...last, ordinal: true }];
    }
  }
  return undefined;
}

function teenOf(word: string): [MorphKind, number] | undefined {
  const w = WORDS[word];
  return w && w[0] === "teen" ? w : undefined;
}

/** A German compound split into number morphs ("dreihundertzwölf" -> drei hundert zwölf), longest parts first. */
function splitCompound(word: string): Morph[] | undefined {
  if (word.length < 6 || word.length > 80 || !/^[a-zäöüß]+$/.test(word)) return undefined;
  // Failed positions are remembered: "achtzehnachtzehn…" splits two ways at every step.
  const failed = new Set<number>();
  const go = (at: number): Morph[] | undefined => {
    if (at === word.length) return [];
    if (failed.has(at)) return undefined;
    for (const part of COMPOUND_PARTS) {
      if (!word.startsWith(part, at)) continue;
      const tail = go(at + part.length);
      if (!tail) continue;
      const [kind, value] = WORDS[part];
      return [{ kind: kind === "article" ? "unit" : kind, value }, ...tail];
    }
    failed.add(at);
    return undefined;
  };
  const parts = go(0);
  if (!parts || parts.length < 2 || parts[0].kind === "and" || parts[parts.length - 1].kind === "and") return undefined;
  return wellFormed(parts) ? parts : undefined;
}

function wellFormed(parts: Morph[]): boolean {
  const acc = new NumberPhrase(0);
  return parts.every((p) => acc.push(p, 0));
}

function evaluate(parts: Morph[]): number {
  const acc = new NumberPhrase(0);
  for (const p of parts) acc.push(p, 0);
  return acc.value();
}

/**
 * One number being read, morph by morph, under the grammar both languages share: [millions] [thousands]
 * [hundreds] [below hundred], where "below hundred" is a teen, a unit, tens, tens + unit (English) or
 * unit + und + tens (German). A morph that does not fit ends this number and starts the next.
 */
class NumberPhrase {
  private total = 0;
  private hundreds = 0;
  private below = 0;
  private hasHundred = false;
  private hasThousand = false;
  private hasMillion = false;
  private last: "none" | "zero" | "unit" | "teen" | "tens" | "unitAnd" | "done" = "none";
  private morphs = 0;
  ordinal = false;
  end: number;

  constructor(readonly start: number) {
    this.end = start;
  }

  get empty(): boolean {
    return this.morphs === 0;
  }

  value(): number {
    return this.total + this.hundreds + this.below;
  }

  /** Takes the morph when it continues this number; false when it must start a new one. */
  push(m: Morph, end: number): boolean {
    if (this.ordinal) return false;
    const ok = this.apply(m);
    if (!ok) return false;
    if (m.kind !== "and") {
      this.morphs++;
      this.end = end;
    }
    if (m.ordinal) this.ordinal = true;
    return true;
  }

  private apply(m: Morph): boolean {
    switch (m.kind) {
      case "zero":
        if (this.morphs > 0) return false;
        this.last = "zero";
        return true;
      case "unit":
      case "article":
        if (this.last === "none") {
          this.below = m.value;
          this.last = "unit";
          return true;
        }
        if (this.last === "tens") {
          this.below += m.value;
          this.last = "done";
          return true;
        }
        return false;
      case "teen":
        if (this.last !== "none") return false;
        this.below = m.value;
        this.last = "teen";
        return true;
      case "tens":
        if (this.last === "none") {
          this.below = m.value;
          this.last = "tens";
          return true;
        }
        if (this.last === "unitAnd") {
          this.below += m.value;
          this.last = "done";
          return true;
        }
        return false;
      case "and":
        if (this.last === "unit") {
          this.last = "unitAnd";
          return true;
        }
        return this.last === "none" && this.morphs > 0;
      case "hundred":
        if (this.hasHundred || this.last === "unitAnd" || this.last === "zero") return false;
        if (this.last === "none" && this.morphs > 0) return false;
        this.hundreds = (this.below || 1) * 100;
        this.below = 0;
        this.hasHundred = true;
        this.last = "none";
        return true;
      case "thousand":
      case "million": {
        const big = m.kind === "million";
        if (this.hasThousand || (big && this.hasMillion) || this.last === "unitAnd" || this.last === "zero")
          return false;
        if (this.last === "none" && this.morphs > 0 && !this.hasHundred) return false;
        this.total += (this.hundreds + this.below || 1) * m.value;
        this.hundreds = 0;
        this.below = 0;
        this.hasHundred = false;
        if (big) this.hasMillion = true;
        else this.hasThousand = true;
        this.last = "none";
        return true;
      }
    }
  }
}

/** A number found in an utterance, with where it stands in the text. */
export interface SpokenNumber {
  value: number;
  /** Decimal digits as spoken: "089" for a written "089", "0" for "null", "47" for "siebenundvierzig". */
  digits: string;
  start: number;
  end: number;
  /** "fünften", "twenty-first", "5th". */
  ordinal: boolean;
  /** Written as numerals in the text ("089"), not as words. */
  written: boolean;
}

export interface NumberReadOptions {
  /** Read ordinals ("fünften", "fifth") as numbers. */
  ordinals?: boolean;
  /** Read lone articles ("eine", "einen") as 1: right for "in einer Woche", wrong for "eine Kundennummer". */
  articles?: boolean;
}

/** "double five", "doppel null": the next digit said twice (or three times). */
const REPEATS: Record<string, number> = { double: 2, doppel: 2, doppelt: 2, doppelte: 2, triple: 3, dreifach: 3 };

interface Token {
  text: string;
  start: number;
  end: number;
  kind: "word" | "numeral" | "mark";
}

function tokenize(text: string): Token[] {
  const out: Token[] = [];
  for (const m of text.matchAll(/(\p{L}+(?:'\p{L}+)?)|(\d+)|(\S)/gu)) {
    const kind = m[1] ? "word" : m[2] ? "numeral" : "mark";
    out.push({ text: m[0], start: m.index, end: m.index + m[0].length, kind });
  }
  return out;
}

/** The numbers in an utterance in spoken order, words and numerals alike. */
export function spokenNumbers(text: string, opts: NumberReadOptions = {}): SpokenNumber[] {
  const tokens = tokenize(text);
  const morphs = tokens.map((t) => (t.kind === "word" ? wordMorphs(t.text.toLowerCase(), !!opts.ordinals) : undefined));
  const numberish = (i: number) => tokens[i]?.kind === "numeral" || !!morphs[i]?.some((m) => m.kind !== "and");
  const out: SpokenNumber[] = [];
  let phrase: NumberPhrase | undefined;
  const close = () => {
    if (phrase && !phrase.empty) {
      const value = phrase.value();
      out.push({
        value,
        digits: String(value),
        start: phrase.start,
        end: phrase.end,
        ordinal: phrase.ordinal,
        written: false,
      });
    }
    phrase = undefined;
  };
  for (const [i, t] of tokens.entries()) {
    let ms = morphs[i];
    if (t.kind === "numeral") {
      close();
      const suffix = tokens[i + 1];
      const ordinal =
        !!opts.ordinals && suffix?.start === t.end && /^(?:st|nd|rd|th)$/i.test(suffix.text) && t.text.length <= 2;
      out.push({ value: Number(t.text), digits: t.text, start: t.start, end: t.end, ordinal, written: true });
      continue;
    }
    if (t.kind === "mark") {
      if (t.text !== "-") close();
      continue;
    }
    if (!ms) {
      close();
      continue;
    }
    const next = morphs[i + 1]?.[0]?.kind;
    const lower = t.text.toLowerCase();
    // "oh" is a zero only among other digits; "a"/"ein" are a one before "hundred"/"tausend" or when asked for.
    const after = REPEATS[tokens[i + 1]?.text.toLowerCase() ?? ""] ? i + 2 : i + 1;
    if (lower === "oh" && !numberish(i - 1) && !numberish(after)) ms = undefined;
    if (ms?.[0].kind === "article" && next !== "hundred" && next !== "thousand" && next !== "million") {
      if (!opts.articles || lower === "a" || lower === "an") ms = undefined;
    }
    // "and" belongs to a number only between two number words.
    if (ms?.[0].kind === "and" && !(phrase && !phrase.empty && numberish(i + 1))) ms = undefined;
    if (!ms) {
      close();
      continue;
    }
    for (const m of ms) {
      if (!phrase) phrase = new NumberPhrase(t.start);
      if (phrase.push(m, t.end)) continue;
      close();
      phrase = new NumberPhrase(t.start);
      if (!phrase.push(m, t.end)) phrase = undefined;
    }
  }
  close();
  return out;
}

/** The text with every spoken number replaced by numerals; ordinals become "5." ("am fünften März" -> "am 5. März"). */
export function numeralize(text: string, opts: NumberReadOptions = {}): string {
  let out = "";
  let at = 0;
  for (const n of spokenNumbers(text, opts)) {
    if (n.written) continue;
    out += text.slice(at, n.start) + n.digits + (n.ordinal ? "." : "");
    at = n.end;
  }
  return out + text.slice(at);
}

/** Words that take back what came before: the digits after them replace the digits before. */
const CORRECTIONS = new Set(["nein", "no", "sorry", "korrektur", "correction", "falsch", "quatsch"]);

export interface DigitReading {
  /** All digits in spoken order ("089 one two three" -> "089123", "zweiundvierzig" -> "42"). */
  digits: string;
  /** The caller said "plus" (or wrote "+") before the first digit. */
  plus: boolean;
}

/** The digit string of an utterance: digit words, numerals, compounds read as their digits, "double"/"triple". */
export function spokenDigits(text: string): DigitReading {
  const numbers = spokenNumbers(text);
  let digits = "";
  let plus = false;
  let at = 0;
  for (const n of numbers) {
    const between = text.slice(at, n.start).toLowerCase();
    const words = between.split(/[^\p{L}+]+/u).filter((w) => w !== "");
    if (digits !== "" && words.some((w) => CORRECTIONS.has(w))) {
      digits = "";
      plus = false;
    }
    if (digits === "" && (/\+\s*$/.test(between) || words[words.length - 1] === "plus")) plus = true;
    const repeat = REPEATS[words[words.length - 1] ?? ""] ?? 1;
    const d = repeat > 1 && n.digits.length > 0 ? n.digits[0].repeat(repeat) + n.digits.slice(1) : n.digits;
    digits += d;
    at = n.end;
  }
  return { digits, plus };
}

/** A decimal number the caller said ("siebenundvierzig", "drei Komma fünf", "1.000", "minus zwei"). */
export type NumberReading = { ok: true; value: number; text: string } | { ok: false; detail: string };

const NUMBER_RE = /(-\s*|\bminus\s+)?(\d+(?:[.,]\d+)*)(?:\s*(?:\bkomma\b|\bpoint\b)\s*(\d+))?/giu;

/**
 * The one number in an utterance. Separate digits said one after another ("vier sieben") are one number read
 * digit by digit; two numbers with words between them ("zwei oder drei") are ambiguous.
 */
export function numberValue(text: string, language = "de-DE"): NumberReading {
  let found = decimals(numeralize(text), language);
  if (found.length === 0) found = decimals(numeralize(text, { articles: true }), language);
  if (found.length === 0) return { ok: false, detail: "no number heard" };
  if (found.length > 1) {
    const adjacent = found.every((f, i) => i === 0 || (!f.negative && Number.isInteger(f.value) && f.gapIsFiller));
    if (!adjacent || !Number.isInteger(found[0].value))
      return { ok: false, detail: `heard more than one number (${found.map((f) => f.text).join(", ")})` };
    const joined = found.map((f) => f.digits).join("");
    return { ok: true, value: Number(joined), text: String(Number(joined)) };
  }
  return { ok: true, value: found[0].value, text: String(found[0].value) };
}

interface Decimal {
  value: number;
  text: string;
  digits: string;
  negative: boolean;
  /** Only fillers, commas or spaces between this number and the one before. */
  gapIsFiller: boolean;
}

export const FILLERS = new Set([
  "äh",
  "ähm",
  "äm",
  "öh",
  "öhm",
  "hm",
  "hmm",
  "mhm",
  "also",
  "uh",
  "uhm",
  "um",
  "er",
  "erm",
  "ah",
  "eh",
  "so",
  "well",
]);

function decimals(text: string, language: string): Decimal[] {
  const group = language.startsWith("de") ? "." : ",";
  const out: Decimal[] = [];
  let at = 0;
  for (const m of text.matchAll(NUMBER_RE)) {
    const [, sign, body, spokenFraction] = m;
    const parts = body.split(/([.,])/);
    let intPart = parts[0];
    let fraction = spokenFraction ?? "";
    for (let i = 1; i < parts.length; i += 2) {
      const sep = parts[i];
      const chunk = parts[i + 1];
      if (sep === group && chunk.length === 3 && fraction === "") intPart += chunk;
      else if (fraction === "" && i === parts.length - 2) fraction = chunk;
      else intPart += chunk;
    }
    const negative = !!sign && (sign.trim() !== "-" || m.index === 0 || /\s$/.test(text.slice(0, m.index)));
    const value = Number(`${negative ? "-" : ""}${intPart}${fraction ? `.${fraction}` : ""}`);
    const gap = text.slice(at, m.index).toLowerCase();
    const gapIsFiller = gap.split(/[^\p{L}]+/u).every((w) => w === "" || FILLERS.has(w));
    out.push({ value, text: m[0].trim(), digits: intPart, negative, gapIsFiller });
    at = m.index + m[0].length;
  }
  return out;
}
