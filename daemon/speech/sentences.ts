// Sentence splitting for streaming TTS: the first sentence is synthesized and played while the rest is still
// being synthesized, so a split must be cheap and must not cut inside "z. B.", "Dr. Meier", "1.000" or "3,5".
// German and English rules only; a wrong split costs a short pause, a missed split costs latency.

/** Abbreviations (lower case, without the final dot) after which a dot does not end a sentence. */
const ABBREVIATIONS = new Set([
  // German
  "z. b",
  "z.b",
  "d. h",
  "d.h",
  "u. a",
  "u.a",
  "o. ä",
  "o.ä",
  "u. u",
  "u.u",
  "v. a",
  "v.a",
  "i. d. r",
  "i.d.r",
  "bzw",
  "ca",
  "usw",
  "etc",
  "ggf",
  "evtl",
  "inkl",
  "exkl",
  "zzgl",
  "vgl",
  "sog",
  "bspw",
  "dr",
  "prof",
  "hr",
  "fr",
  "hrn",
  "nr",
  "str",
  "tel",
  "abs",
  "abt",
  "allg",
  "bzgl",
  "gem",
  "mio",
  "mrd",
  "min",
  "max",
  "std",
  "tsd",
  "jh",
  "jhd",
  "jan",
  "feb",
  "mär",
  "apr",
  "jun",
  "jul",
  "aug",
  "sep",
  "sept",
  "okt",
  "nov",
  "dez",
  "mo",
  "di",
  "mi",
  "do",
  "sa",
  "so",
  "st",
  "dipl",
  "ing",
  "med",
  "phil",
  "rer",
  "nat",
  "ca",
  "vs",
  "z",
  "d",
  "u",
  "o",
  "s",
  "m",
  "a",
  "e",
  "i",
  // English
  "mr",
  "mrs",
  "ms",
  "mx",
  "jr",
  "sr",
  "st",
  "e.g",
  "i.e",
  "approx",
  "dept",
  "est",
  "fig",
  "inc",
  "ltd",
  "co",
  "corp",
  "no",
  "vol",
  "mt",
  "ave",
  "blvd",
  "rd",
  "ft",
  "oct",
  "dec",
  "mar",
  "p.m",
  "a.m",
  "u.s",
  "u.k",
]);

const MONTHS = /^(januar|februar|märz|april|mai|juni|juli|august|september|oktober|november|dezember)\b/i;

export interface SplitOptions {
  /** Sentences longer than this are cut at a comma/semicolon, else at a space, so first audio is not delayed. */
  maxChars?: number;
}

export function splitSentences(text: string, opts: SplitOptions = {}): string[] {
  const maxChars = opts.maxChars ?? 200;
  const out: string[] = [];
  // Blank lines and line breaks after terminal punctuation always separate.
  for (const para of text.split(/\n\s*\n/)) {
    let start = 0;
    const s = para.replace(/\s+/g, " ");
    for (let i = 0; i < s.length; i++) {
      const c = s[i];
      if (c !== "." && c !== "!" && c !== "?" && c !== "…" && c !== ";") continue;
      // Take a run of terminators and closing quotes/brackets ("?!", "...", '."').
      let j = i + 1;
      while (j < s.length && /[.!?…"'»«“”’)\]]/.test(s[j])) j++;
      if (j < s.length && s[j] !== " ") continue; // "1.000", "e.g.x", "3.5" : not followed by a space
      if (c === "." && j === i + 1 && !endsSentence(s, start, i, j)) continue;
      if (c === ";" && j - start < 40) continue; // a semicolon only splits long clauses
      push(out, s.slice(start, j), maxChars);
      start = j;
      i = j - 1;
    }
    push(out, s.slice(start), maxChars);
  }
  return out;
}

/** The single dot at `dot` (followed by a space or end) — does it end the sentence? */
function endsSentence(s: string, start: number, dot: number, after: number): boolean {
  const before = s.slice(start, dot);
  // The word before the dot, keeping inner dots and spaces of "z. B" / "d. h" / "e.g" together.
  const m = /(?:^|[\s(„"'])((?:\p{L}{1,3}\.\s?)*[\p{L}\d]+)$/u.exec(before);
  const word = (m ? m[1] : "").toLowerCase();
  if (after >= s.length) return true;
  const next = s.slice(after + 1);
  if (ABBREVIATIONS.has(word) || ABBREVIATIONS.has(word.replace(/\s/g, ""))) return false;
  // A single capital letter followed by a capitalised word: an initial ("J. Smith").
  if (/^\p{Lu}$/u.test(m ? m[1] : "") && /^\p{Lu}/u.test(next)) return false;
  if (/^\d+$/.test(word)) {
    // German ordinal dates and ranks: "am 3. Mai", "der 2. Platz"; English never writes "3. May".
    if (MONTHS.test(next) || /^\p{Ll}/u.test(next)) return false;
    if (word.length <= 2 && /^\d{4}\b/.test(next)) return false; // "3. 2024"
  }
  // A lower-case continuation after a dot is rarely a new sentence (unknown abbreviation).
  if (/^\p{Ll}/u.test(next)) return false;
  return true;
}

function push(out: string[], sentence: string, maxChars: number): void {
  let rest = sentence.trim();
  while (rest.length > maxChars) {
    const window = rest.slice(0, maxChars);
    let cut = Math.max(window.lastIndexOf(", "), window.lastIndexOf(": "), window.lastIndexOf("; "));
    if (cut < maxChars / 3) cut = window.lastIndexOf(" ");
    if (cut <= 0) cut = maxChars - 1;
    out.push(rest.slice(0, cut + 1).trim());
    rest = rest.slice(cut + 1).trim();
  }
  if (/[\p{L}\p{N}]/u.test(rest)) out.push(rest);
  else if (rest && out.length > 0) out[out.length - 1] += rest; // stray punctuation joins the previous sentence
}
