// Slots the flow engine's "capture" node asks a caller for: one turn of recognized speech (numbers as words or
// digits, fillers like "äh" or "my number is") or a DTMF key string ("4711#") becomes a canonical value (E.164 phone,
// lower-case email, ISO date, compact IBAN, …) plus the text the box reads back to confirm it, or a rejection the
// retry prompt can name ("IBAN checksum does not match").

import { z } from "zod";
import { commandWords, yesNoOf } from "../speech/commands.ts";
import {
  compareDates,
  instantOf,
  isoDate,
  isoTime,
  type LocalDate,
  readWhen,
  sayDate,
  sayDateTime,
  sayTime,
  wallClock,
} from "./dates.ts";
import { checkIban, groupsOfFour, IBAN_LENGTHS, type IbanCheck } from "./mask.ts";
import { FILLERS, numberValue, numeralize, spokenDigits, spokenNumbers } from "./numbers.ts";

export const SLOT_TYPES = [
  "number",
  "digits",
  "phone",
  "email",
  "date",
  "time",
  "datetime",
  "postcode",
  "iban",
  "pattern",
  "yesno",
  "name",
  "text",
] as const;
export type SlotType = (typeof SLOT_TYPES)[number];

/** Calling code, trunk prefix and length of the national significant number (after the trunk prefix). */
interface PhonePlan {
  cc: string;
  trunk: string;
  nsn: [number, number];
  /** Callers leave the trunk prefix out (US numbers are said as 10 digits). */
  trunkOptional?: boolean;
}

const PHONE_PLANS = {
  DE: { cc: "49", trunk: "0", nsn: [6, 13] },
  AT: { cc: "43", trunk: "0", nsn: [4, 13] },
  CH: { cc: "41", trunk: "0", nsn: [9, 9] },
  NL: { cc: "31", trunk: "0", nsn: [9, 9] },
  FR: { cc: "33", trunk: "0", nsn: [9, 9] },
  BE: { cc: "32", trunk: "0", nsn: [8, 9] },
  LU: { cc: "352", trunk: "", nsn: [4, 11] },
  IT: { cc: "39", trunk: "", nsn: [6, 11] },
  ES: { cc: "34", trunk: "", nsn: [9, 9] },
  GB: { cc: "44", trunk: "0", nsn: [9, 10] },
  IE: { cc: "353", trunk: "0", nsn: [7, 9] },
  PL: { cc: "48", trunk: "", nsn: [9, 9] },
  CZ: { cc: "420", trunk: "", nsn: [9, 9] },
  DK: { cc: "45", trunk: "", nsn: [8, 8] },
  SE: { cc: "46", trunk: "0", nsn: [7, 13] },
  NO: { cc: "47", trunk: "", nsn: [8, 8] },
  FI: { cc: "358", trunk: "0", nsn: [5, 12] },
  PT: { cc: "351", trunk: "", nsn: [9, 9] },
  US: { cc: "1", trunk: "1", nsn: [10, 10], trunkOptional: true },
} satisfies Record<string, PhonePlan>;

export type SlotCountry = keyof typeof PHONE_PLANS;
export const SLOT_COUNTRIES = Object.keys(PHONE_PLANS) as [SlotCountry, ...SlotCountry[]];

export interface SlotSpec {
  type: SlotType;
  /** JS regular expression source; the whole normalised answer must match (it is anchored here). */
  pattern?: string;
  /** Range of a number slot. */
  min?: number;
  max?: number;
  /** Length of a digits or text slot. */
  minLength?: number;
  maxLength?: number;
  /** Country for national phone numbers and postcodes; "DE" when left out. */
  country?: SlotCountry;
  /** Dates and date-times must not be in the past. */
  future?: boolean;
}

/** `^(?:pattern)$`: a spec's pattern matches the whole answer, never a part of it. */
function anchored(pattern: string): RegExp {
  return new RegExp(`^(?:${pattern})$`);
}

export const slotSpecSchema: z.ZodType<SlotSpec> = z
  .strictObject({
    type: z.enum(SLOT_TYPES),
    pattern: z.string().min(1).optional(),
    min: z.number().optional(),
    max: z.number().optional(),
    minLength: z.number().int().nonnegative().optional(),
    maxLength: z.number().int().positive().optional(),
    country: z.enum(SLOT_COUNTRIES).default("DE"),
    future: z.boolean().optional(),
  })
  .superRefine((s, ctx) => {
    if (s.pattern !== undefined) {
      try {
        anchored(s.pattern);
      } catch (e) {
        ctx.addIssue({
          code: "custom",
          path: ["pattern"],
          message: `not a valid regular expression: ${(e as Error).message}`,
        });
      }
    }
    if (s.type === "pattern" && s.pattern === undefined)
      ctx.addIssue({ code: "custom", path: ["pattern"], message: "a pattern slot needs a pattern" });
    if (s.min !== undefined && s.max !== undefined && s.min > s.max)
      ctx.addIssue({ code: "custom", path: ["min"], message: `min ${s.min} is greater than max ${s.max}` });
    if (s.minLength !== undefined && s.maxLength !== undefined && s.minLength > s.maxLength)
      ctx.addIssue({
        code: "custom",
        path: ["minLength"],
        message: `minLength ${s.minLength} is greater than maxLength ${s.maxLength}`,
      });
    if (s.future && s.type !== "date" && s.type !== "datetime")
      ctx.addIssue({ code: "custom", path: ["future"], message: "future applies to date and datetime slots only" });
  });

export interface SlotContext {
  /** "de-DE" | "en-US" | "en-GB" | "zh-CN" */
  language: string;
  now: Date;
  timeZone: string;
}

export type SlotRejection = "empty" | "format" | "checksum" | "range" | "past";
export type SlotResult =
  | { ok: true; value: string; display: string }
  | { ok: false; reason: SlotRejection; detail: string };

const accept = (value: string, display: string): SlotResult => ({ ok: true, value, display });
const reject = (reason: SlotRejection, detail: string): SlotResult => ({ ok: false, reason, detail });

const DIGIT_SLOTS = new Set<SlotType>(["number", "digits", "phone", "postcode"]);

/**
 * The slot value in one caller turn. Limits the spec sets (min/max, minLength/maxLength) reject with "range";
 * what the value itself gets wrong (an impossible date, a phone number too short) with "format".
 */
export function extractSlot(input: string, spec: SlotSpec, ctx: SlotContext): SlotResult {
  let text = input.trim();
  if (saysNothing(text)) return reject("empty", "nothing was said");
  // DTMF: the keypad's "*" and "#" only end or separate the entry.
  if (DIGIT_SLOTS.has(spec.type) && /^[\d*#\s]+$/.test(text)) {
    text = text.replace(/\D/g, "");
    if (text === "") return reject("empty", "no digits were entered");
  }
  const r = read(text, spec, ctx);
  if (r.ok && spec.pattern !== undefined && spec.type !== "pattern" && !anchored(spec.pattern).test(r.value))
    return reject("format", "the answer does not have the expected form");
  return r;
}

function read(text: string, spec: SlotSpec, ctx: SlotContext): SlotResult {
  switch (spec.type) {
    case "number":
      return readNumber(text, spec, ctx);
    case "digits":
      return readDigitString(text, spec);
    case "phone":
      return readPhone(text, spec.country ?? "DE");
    case "email":
      return readEmail(text, ctx.language);
    case "date":
    case "time":
    case "datetime":
      return readDateTime(text, spec, ctx);
    case "postcode":
      return readPostcode(text, spec.country ?? "DE");
    case "iban":
      return readIban(text);
    case "pattern":
      return readPattern(text, spec.pattern ?? "");
    case "yesno":
      return readYesNo(text, ctx.language);
    case "name":
      return readName(text);
    case "text":
      return readText(text, spec);
  }
}

/** Only fillers ("äh", "hm") or no word at all. */
function saysNothing(text: string): boolean {
  const words = text.toLowerCase().match(/[\p{L}\d]+/gu) ?? [];
  return words.every((w) => FILLERS.has(w));
}

const spaced = (s: string) => s.split("").join(" ");

// ---- numbers and digit strings ----

function readNumber(text: string, spec: SlotSpec, ctx: SlotContext): SlotResult {
  const n = numberValue(text, ctx.language);
  if (!n.ok) return reject("format", n.detail);
  if (spec.min !== undefined && n.value < spec.min)
    return reject("range", `${n.text} is below the minimum of ${spec.min}`);
  if (spec.max !== undefined && n.value > spec.max)
    return reject("range", `${n.text} is above the maximum of ${spec.max}`);
  const display = new Intl.NumberFormat(ctx.language, { useGrouping: false, maximumFractionDigits: 6 }).format(n.value);
  return accept(n.text, display);
}

function readDigitString(text: string, spec: SlotSpec): SlotResult {
  const { digits } = spokenDigits(text);
  if (digits === "") return reject("format", "no digits heard");
  if (spec.minLength !== undefined && digits.length < spec.minLength)
    return reject("range", `expected at least ${spec.minLength} digits, heard ${digits.length}`);
  if (spec.maxLength !== undefined && digits.length > spec.maxLength)
    return reject("range", `expected at most ${spec.maxLength} digits, heard ${digits.length}`);
  return accept(digits, spaced(digits));
}

// ---- phone ----

function readPhone(text: string, country: SlotCountry): SlotResult {
  const { digits, plus } = spokenDigits(text);
  if (digits === "") return reject("format", "no phone number heard");
  const home: PhonePlan = PHONE_PLANS[country];
  let cc: string;
  let nsn: string;
  if (plus || digits.startsWith("00")) {
    const intl = plus ? digits : digits.slice(2);
    const plan = planOfInternational(intl);
    if (!plan) {
      if (intl.length < 8 || intl.length > 15)
        return reject("format", `a phone number of ${intl.length} digits is not valid`);
      return accept(`+${intl}`, `+${spaced(intl)}`);
    }
    cc = plan.cc;
    nsn = intl.slice(cc.length);
    // "+49 (0) 30 …": the trunk zero said after the country code is dropped.
    if (plan.trunk === "0" && nsn.startsWith("0")) nsn = nsn.slice(1);
    const bad = nsnProblem(nsn, plan);
    if (bad) return reject("format", bad);
  } else {
    cc = home.cc;
    if (home.trunk && digits.startsWith(home.trunk)) nsn = digits.slice(home.trunk.length);
    else if (!home.trunk || home.trunkOptional) nsn = digits;
    else return reject("format", "the area code is missing");
    const bad = nsnProblem(nsn, home);
    if (bad) return reject("format", bad);
  }
  const e164 = `+${cc}${nsn}`;
  if (e164.length - 1 > 15) return reject("format", "a phone number has at most 15 digits");
  const display =
    cc === home.cc ? spaced(home.trunk && !home.trunkOptional ? home.trunk + nsn : nsn) : `+${cc} ${spaced(nsn)}`;
  return accept(e164, display);
}

function planOfInternational(digits: string): PhonePlan | undefined {
  const plans: PhonePlan[] = Object.values(PHONE_PLANS);
  for (const len of [3, 2, 1]) {
    const plan = plans.find((p) => p.cc === digits.slice(0, len));
    if (plan) return plan;
  }
  return undefined;
}

function nsnProblem(nsn: string, plan: PhonePlan): string | undefined {
  const [min, max] = plan.nsn;
  if (nsn.length < min) return `the phone number is too short (${nsn.length} digits after the prefix)`;
  if (nsn.length > max) return `the phone number is too long (${nsn.length} digits after the prefix)`;
  if (plan.trunk === "0" && nsn.startsWith("0")) return "the phone number has one zero too many";
  return undefined;
}

// ---- postcode ----

const POSTCODE_DIGITS: Partial<Record<SlotCountry, number>> = {
  DE: 5,
  AT: 4,
  CH: 4,
  BE: 4,
  LU: 4,
  DK: 4,
  NO: 4,
  FR: 5,
  IT: 5,
  ES: 5,
  FI: 5,
  SE: 5,
  CZ: 5,
  PL: 5,
  US: 5,
};

function readPostcode(text: string, country: SlotCountry): SlotResult {
  const length = POSTCODE_DIGITS[country];
  if (!length) return reject("format", `postcodes from ${country} are not supported`);
  const { digits } = spokenDigits(text);
  if (digits === "") return reject("format", "no postcode heard");
  if (digits.length !== length) return reject("format", `a postcode has ${length} digits, heard ${digits.length}`);
  if (country === "DE" && digits.startsWith("00")) return reject("format", "German postcodes do not start with 00");
  return accept(digits, spaced(digits));
}

// ---- email ----

const EMAIL_SYMBOLS: Record<string, string> = {
  at: "@",
  ät: "@",
  klammeraffe: "@",
  punkt: ".",
  dot: ".",
  point: ".",
  minus: "-",
  bindestrich: "-",
  strich: "-",
  dash: "-",
  hyphen: "-",
  unterstrich: "_",
  underscore: "_",
};

/** Words before the address ("meine E-Mail ist") and after it ("danke"). */
const EMAIL_FRAME = new Set(
  (
    "meine mein email adresse emailadresse mailadresse lautet ist die das my is it's its e-mail address " +
    "the sure yes ja gerne klar danke bitte thanks thank you please okay ok"
  ).split(" "),
);

function readEmail(text: string, language: string): SlotResult {
  const address = writtenEmail(text) ?? spokenEmail(text);
  if (!address) return reject("format", "no email address heard");
  const problem = emailProblem(address);
  if (problem) return reject("format", problem);
  const de = language.toLowerCase().startsWith("de");
  const say: Record<string, string> = de
    ? { "@": " at ", ".": " punkt ", "-": " minus ", _: " unterstrich " }
    : { "@": " at ", ".": " dot ", "-": " dash ", _: " underscore " };
  return accept(
    address,
    address.replace(/[@._-]/g, (c) => say[c]),
  );
}

function writtenEmail(text: string): string | undefined {
  return /[\p{L}\d._%+-]+@[\p{L}\d-]+(?:\.[\p{L}\d-]+)+/u.exec(text)?.[0].toLowerCase();
}

function spokenEmail(text: string): string | undefined {
  // "at-zeichen" and "e-mail" are one word each; a written hyphen elsewhere belongs to the address ("t-online").
  const tokens = text
    .toLowerCase()
    .replace(/\bat-zeichen\b|@/g, " at ")
    .replace(/\be-mail\b/g, "email")
    .split(/[\s,;:!?]+/)
    .map((t) => t.replace(/^[.]+|[.]+$/g, ""))
    .filter((t) => t !== "");
  const pieces = tokens.map((t) => EMAIL_SYMBOLS[t] ?? numeralize(t));
  let at = -1;
  for (let i = pieces.length - 1; i >= 0; i--) {
    if (pieces[i] === "@" && pieces.slice(i + 1).some((p) => p.includes("."))) {
      at = i;
      break;
    }
  }
  if (at < 0) return undefined;
  let from = at;
  // Back from the at sign to the first word of the frame ("ist", "is") or an earlier "at" ("reach me at …").
  while (from > 0 && pieces[from - 1] !== "@" && !EMAIL_FRAME.has(tokens[from - 1]) && !FILLERS.has(tokens[from - 1]))
    from--;
  let to = pieces.length;
  while (to > at + 1 && (EMAIL_FRAME.has(tokens[to - 1]) || FILLERS.has(tokens[to - 1]))) to--;
  const keep = (p: string, i: number) => !FILLERS.has(tokens[i]) || p !== tokens[i];
  const local = pieces.slice(from, at).filter((p, k) => keep(p, from + k));
  const domain = pieces.slice(at + 1, to).filter((p, k) => keep(p, at + 1 + k));
  return `${local.join("")}@${domain.join("")}`;
}

function emailProblem(address: string): string | undefined {
  const [local, domain] = address.split("@");
  if (!local) return "the part before the at sign is missing";
  if (!domain) return "the domain is missing";
  if (address.length > 254 || local.length > 64) return "the email address is too long";
  if (/[^a-z0-9._%+-]/.test(local)) return `the email address contains "${/[^a-z0-9._%+-]/.exec(local)?.[0]}"`;
  if (/^\.|\.$|\.\./.test(local)) return "a dot is misplaced before the at sign";
  const labels = domain.split(".");
  if (labels.length < 2) return "the domain needs a dot";
  for (const label of labels) {
    if (!/^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/.test(label)) return `"${domain}" is not a valid domain`;
  }
  if (!/^[a-z]{2,}$/.test(labels[labels.length - 1])) return `"${domain}" does not end in a valid top-level domain`;
  return undefined;
}

// ---- dates and times ----

function readDateTime(text: string, spec: SlotSpec, ctx: SlotContext): SlotResult {
  const w = readWhen(text, ctx, { bareHour: spec.type === "time" });
  if (!w.ok) return reject("format", w.detail);
  const now = wallClock(ctx.now, ctx.timeZone);
  const today: LocalDate = { year: now.year, month: now.month, day: now.day };
  if (spec.type === "date") {
    if (!w.date) return reject("format", "no date heard");
    if (spec.future && compareDates(w.date, today) < 0) return reject("past", `${isoDate(w.date)} is in the past`);
    return accept(isoDate(w.date), sayDate(w.date, ctx.language, now.year));
  }
  if (!w.time) return reject("format", "no time of day heard");
  if (spec.type === "time") return accept(isoTime(w.time), sayTime(w.time, ctx.language));
  const date = w.date ?? today;
  const instant = instantOf(date, w.time, ctx.timeZone);
  if (!instant) return reject("format", `${isoTime(w.time)} does not exist on ${isoDate(date)}: the clocks go forward`);
  const value = `${isoDate(date)}T${isoTime(w.time)}`;
  if (spec.future && instant.getTime() < ctx.now.getTime()) return reject("past", `${value} is in the past`);
  return accept(value, sayDateTime(date, w.time, ctx.language, now.year));
}

// ---- spelled codes: IBAN and patterns ----

/** Letters as spoken: German and English letter names, DIN 5009 (old and 2022) and the NATO alphabet. */
const LETTER_WORDS: Record<string, string> = {};
for (const [letter, words] of Object.entries({
  A: "a anton ärger aachen alfa alpha",
  B: "be bee berta bertha berlin bravo",
  C: "ce ze cee see cäsar caesar charlotte chemnitz charlie",
  D: "de dee dora düsseldorf duesseldorf delta",
  E: "e emil essen echo",
  F: "ef eff friedrich frankfurt foxtrot",
  G: "ge gee gustav goslar golf",
  H: "ha aitch heinrich hamburg hotel",
  I: "i ida ingelheim india",
  J: "jot jay julius jena juliet juliett",
  K: "ka kay kaufmann konrad köln koeln kilo",
  L: "el ell ludwig leipzig lima",
  M: "em martha marta münchen muenchen mike",
  N: "en nordpol nürnberg nuernberg november",
  O: "o otto offenbach oscar",
  P: "pe pee paula potsdam papa",
  Q: "ku cue queue quelle quickborn quebec",
  R: "ar richard rostock romeo",
  S: "es ess samuel siegfried salzwedel sierra",
  T: "te tee theodor tübingen tuebingen tango",
  U: "u you ulrich unna uniform",
  V: "vau vee viktor völklingen victor",
  W: "we wilhelm wuppertal whiskey whisky",
  X: "ix ex xanthippe xanten xray",
  Y: "ypsilon why yankee",
  Z: "zett zet zed zee zacharias zeppelin zwickau zulu",
}))
  for (const w of words.split(" ")) LETTER_WORDS[w] = letter;

const SYMBOL_WORDS: Record<string, string> = {
  minus: "-",
  bindestrich: "-",
  strich: "-",
  dash: "-",
  hyphen: "-",
  schrägstrich: "/",
  slash: "/",
  punkt: ".",
  dot: ".",
  unterstrich: "_",
  underscore: "_",
};

/** "D wie Dora", "D as in delta": the word after confirms the letter before. */
const SPELLING_JOINERS = new Set(["wie", "as", "in", "for", "like", "für"]);

interface Piece {
  kind: "digits" | "letter" | "code" | "symbol" | "word" | "filler" | "joiner";
  text: string;
  /** The word as said, lower case ("de" is the letter D and the country DE). */
  raw: string;
}

const REPEATS: Record<string, number> = { double: 2, doppel: 2, doppelt: 2, triple: 3, dreifach: 3 };

/** An utterance as the pieces of a spelled code: digit groups, letters, symbols, and the words around them. */
function readPieces(text: string): Piece[] {
  const numbers = spokenNumbers(text);
  const found: { at: number; piece: Piece }[] = numbers.map((n) => ({
    at: n.start,
    piece: { kind: "digits", text: n.digits, raw: text.slice(n.start, n.end).toLowerCase() },
  }));
  const inNumber = (i: number) => numbers.some((n) => i >= n.start && i < n.end);
  for (const m of text.matchAll(/\p{L}+|[-/._]/gu)) {
    if (inNumber(m.index)) continue;
    const raw = m[0].toLowerCase();
    let piece: Piece;
    if (/^[-/._]$/.test(raw)) piece = { kind: "symbol", text: raw, raw };
    else if (REPEATS[raw]) piece = { kind: "joiner", text: String(REPEATS[raw]), raw };
    else if (LETTER_WORDS[raw]) piece = { kind: "letter", text: LETTER_WORDS[raw], raw };
    else if (/^\p{L}$/u.test(raw)) piece = { kind: "letter", text: raw.toUpperCase(), raw };
    else if (SYMBOL_WORDS[raw]) piece = { kind: "symbol", text: SYMBOL_WORDS[raw], raw };
    else if (FILLERS.has(raw) || raw === "und" || raw === "and") piece = { kind: "filler", text: "", raw };
    else if (SPELLING_JOINERS.has(raw)) piece = { kind: "joiner", text: "", raw };
    else if (/^[A-Z]{2,4}$/.test(m[0])) piece = { kind: "code", text: m[0], raw };
    else piece = { kind: "word", text: raw, raw };
    found.push({ at: m.index, piece });
  }
  found.sort((a, b) => a.at - b.at);
  // "double five": the repeat word multiplies the next digit; "D wie Dora": the spelling word is not a second D.
  const out: Piece[] = [];
  for (const [i, { piece }] of found.entries()) {
    const before = found[i - 1]?.piece;
    if (piece.kind === "digits" && before?.kind === "joiner" && REPEATS[before.raw]) {
      out.push({ ...piece, text: piece.text[0].repeat(Number(before.text)) + piece.text.slice(1) });
      continue;
    }
    if (piece.kind === "letter" && before?.kind === "joiner" && !REPEATS[before.raw]) {
      const letterBefore = found[i - 2]?.piece;
      if (letterBefore?.kind === "letter" && letterBefore.text === piece.text) continue;
    }
    if (piece.kind !== "joiner" || REPEATS[piece.raw]) out.push(piece);
  }
  return out;
}

function readIban(text: string): SlotResult {
  const pieces = readPieces(text);
  let best: IbanCheck | undefined;
  for (let i = 0; i < pieces.length; i++) {
    const start = ibanCountryAt(pieces, i);
    if (!start) continue;
    let iban = start.country;
    for (let k = start.next; k < pieces.length; k++) {
      const p = pieces[k];
      if (p.kind === "digits" || p.kind === "letter" || p.kind === "code") iban += p.text.toUpperCase();
      else if (p.kind === "word") break;
    }
    const check = checkIban(iban);
    if (check.ok) return accept(iban, groupsOfFour(iban));
    if (!best || (check.reason === "checksum" && best.ok === false && best.reason !== "checksum")) best = check;
  }
  if (!best || best.ok) return reject("format", "no IBAN heard");
  return reject(best.reason, best.detail);
}

/** The IBAN country code starting at piece i: "de", "DE" (written), "D E", "Dora Emil". */
function ibanCountryAt(pieces: Piece[], i: number): { country: string; next: number } | undefined {
  const p = pieces[i];
  const code = p.raw.toUpperCase();
  if (code.length === 2 && IBAN_LENGTHS[code] && /^\p{L}{2}$/u.test(p.raw)) return { country: code, next: i + 1 };
  if (p.kind === "code" && p.text.length >= 2 && IBAN_LENGTHS[p.text.slice(0, 2)]) {
    return { country: p.text.slice(0, 2), next: i + 1 };
  }
  const q = pieces[i + 1];
  if (p.kind === "letter" && q?.kind === "letter" && IBAN_LENGTHS[p.text + q.text])
    return { country: p.text + q.text, next: i + 2 };
  return undefined;
}

/**
 * A pattern slot: the spec's regex against the answer as written, then against every run of spelled pieces
 * ("K minus eins zwei drei vier fünf" -> "K-12345"), longest and earliest first.
 */
function readPattern(text: string, pattern: string): SlotResult {
  const re = anchored(pattern);
  const candidates = [text, text.replace(/[.!?]+$/, ""), numeralize(text).replace(/[.!?]+$/, "")];
  const pieces = readPieces(text);
  const runs: string[][] = [];
  let run: string[] = [];
  for (const p of pieces) {
    if (p.kind === "digits" || p.kind === "letter" || p.kind === "code" || p.kind === "symbol") run.push(p.text);
    else if (p.kind === "word") {
      if (run.length) runs.push(run);
      run = [];
    }
  }
  if (run.length) runs.push(run);
  const spans: string[] = [];
  for (const r of runs)
    for (let len = r.length; len > 0; len--)
      for (let from = 0; from + len <= r.length; from++) spans.push(r.slice(from, from + len).join(""));
  spans.sort((a, b) => b.length - a.length);
  for (const s of spans) candidates.push(s, s.toUpperCase(), s.toLowerCase());
  for (const w of text.split(/\s+/)) candidates.push(w.replace(/^[^\p{L}\d]+|[^\p{L}\d]+$/gu, ""));
  const value = candidates.find((c) => c !== "" && re.test(c));
  if (value === undefined) return reject("format", "the answer does not have the expected form");
  return accept(value, /^[\p{L}\d/._-]{1,24}$/u.test(value) && /\d/.test(value) ? spaced(value) : value);
}

// ---- yes/no, names, free text ----

function readYesNo(text: string, language: string): SlotResult {
  const yn = yesNoOf(commandWords(text));
  if (!yn) return reject("format", "no clear yes or no");
  const l = language.toLowerCase();
  const say = l.startsWith("de")
    ? { yes: "ja", no: "nein" }
    : l.startsWith("zh")
      ? { yes: "是", no: "不是" }
      : { yes: "yes", no: "no" };
  return accept(yn, say[yn]);
}

const NAME_INTRO =
  /(?:^|[\s,.])(?:mein name ist|mein name lautet|ich heiße|ich heisse|ich bin|hier ist|hier spricht|sie sprechen mit|am apparat ist|my name is|my name's|the name is|the name's|this is|i am|i'm|it's|you're speaking (?:to|with))\s+(.+)$/iu;

/** Words that end the name ("Anna Schmidt und ich möchte …", "… from Acme"). */
const NAME_END = new Set(
  "und and aber but ich i from aus bei with mit wegen about calling anrufe rufe speaking here hier".split(" "),
);
const NAME_TITLES = new Set(["herr", "frau", "mr", "mrs", "ms", "miss"]);
const NAME_PARTICLES = new Set([
  "von",
  "van",
  "der",
  "den",
  "de",
  "zu",
  "zur",
  "vom",
  "di",
  "da",
  "la",
  "le",
  "du",
  "ten",
  "ter",
]);
/** Words that cannot start a name after "ich bin" / "I'm" ("ich bin mir nicht sicher", "I'm calling about"). */
const NOT_NAME_START = new Set(
  (
    "mir mich nicht not sure sicher calling looking interested interessiert gerade auch sehr very so the a an ein " +
    "eine der die das kunde kundin customer hier here from aus wegen about just nur noch still me fine good okay ok"
  ).split(" "),
);
/** Short answers that look like names but are not. */
const NOT_NAMES = new Set(
  "hallo hello hi hey guten tag morgen abend danke bitte thanks please okay ok sorry entschuldigung keine ahnung weiß nicht".split(
    " ",
  ),
);

function readName(text: string): SlotResult {
  const intro = NAME_INTRO.exec(text);
  let words: string[];
  if (intro) {
    words = [];
    for (const w of intro[1].split(/\s+/)) {
      const bare = w.replace(/[.,!?;:]+$/, "");
      const lower = bare.toLowerCase();
      if (words.length > 0 && NAME_END.has(lower)) break;
      if (FILLERS.has(lower) || (words.length === 0 && NAME_TITLES.has(lower.replace(/\.$/, "")))) continue;
      if (bare !== "") words.push(bare);
      if (bare !== w || words.length === 4) break;
    }
  } else {
    words = text
      .replace(/[.,!?;:]+/g, " ")
      .split(/\s+/)
      .filter((w) => w !== "" && !FILLERS.has(w.toLowerCase()));
    const looksLikeName =
      words.length >= 1 &&
      words.length <= 3 &&
      words.every((w) => /^\p{Lu}[\p{L}'’-]*$/u.test(w) && !NOT_NAMES.has(w.toLowerCase())) &&
      commandWords(text).words.length === 0;
    if (!looksLikeName) return reject("format", "no name heard");
  }
  if (words.length === 0 || words.some((w) => /\d/.test(w)) || NOT_NAME_START.has(words[0].toLowerCase()))
    return reject("format", "no name heard");
  const name = words.map((w, i) => capitalise(w, i === 0)).join(" ");
  return accept(name, name);
}

/** "schmidt" -> "Schmidt", "müller-lüdenscheidt" -> "Müller-Lüdenscheidt", "von" stays small inside a name. */
function capitalise(word: string, first: boolean): string {
  if (!first && NAME_PARTICLES.has(word.toLowerCase())) return word.toLowerCase();
  if (/\p{Lu}/u.test(word.slice(1))) return word[0].toUpperCase() + word.slice(1);
  return word.toLowerCase().replace(/(^|[-'’])(\p{L})/gu, (_, sep: string, ch: string) => sep + ch.toUpperCase());
}

function readText(text: string, spec: SlotSpec): SlotResult {
  if (spec.minLength !== undefined && text.length < spec.minLength)
    return reject("range", `expected at least ${spec.minLength} characters, heard ${text.length}`);
  if (spec.maxLength !== undefined && text.length > spec.maxLength)
    return reject("range", `expected at most ${spec.maxLength} characters, heard ${text.length}`);
  return accept(text, text);
}
