// Text features for on-box understanding of what a caller said, in German, English and Chinese, with no model files:
// words (umlaut-folded, because ASR bundles and people spell "Rückgabe" and "Rueckgabe"), word pairs,
// character n-grams inside Latin words (German compounds: "Terminabsage" shares n-grams with "Termin absagen") and
// Chinese character uni- and bigrams (Chinese has no spaces; a bigram is roughly a word); light stems (stem.ts),
// German compound parts (compounds.ts) and phone-line concepts (synonyms.ts), so paraphrases with other word forms
// and other words for the same thing still meet.
import { splitCompound } from "./compounds.ts";
import { type StemLanguage, stemGerman, stems } from "./stem.ts";
import { ConceptIndex } from "./synonyms.ts";

export type FeatureVector = Map<string, number>;
export type TextLanguage = "de" | "en" | "zh";

/** A run of Han characters, or a run of other letters/digits (Latin, with umlauts and accents). */
const TOKEN = /(\p{Script=Han}+)|((?:(?!\p{Script=Han})[\p{L}\p{M}\p{N}])+)/gu;
const HAN = /\p{Script=Han}/u;

// Small on purpose: question words ("wann", "wo", "when", "where") and negation ("nicht", "not", "不") carry intent and
// stay in. What is listed is filler a phone caller adds to every request.
const STOP_WORDS = new Set(
  (
    "der die das den dem des ein eine einen einem einer eines ich mir mich mein meine meinen meinem meiner du dir dich " +
    "sie ihr ihnen ihre ihren er es wir uns unser unsere man und oder aber auch noch mal bitte danke ja also äh ähm " +
    "hm hallo guten tag morgen abend grüß gott ist bin sind war habe hab hat haben wäre würde würden möchte gerne " +
    "gern zu zum zur mit für von vom im in am an auf bei so da dann doch eigentlich einfach nur schon denn wohl ganz " +
    "the a an i me my mine you your we our us it its is am are was were be been to of and or but also please thanks " +
    "thank hello hi hey good morning afternoon evening uh um erm so just like would could can do does did have has " +
    "had in on at for with from this that there yes yeah okay ok well"
  ).split(" "),
);

// Single Han characters that are grammar or politeness; they still count inside bigrams.
const STOP_HAN = new Set([..."的了吗呢吧啊呀嗯哦我你您他她们是这那个一请下就也都还在"]);

// Words only one of German/English uses, to tell the two apart for per-language prototypes.
const GERMAN_HINTS = new Set(
  (
    "ich sie wir ist nicht und der die das ein eine mein meine mit für bitte wann wie wo was haben habe möchte kann " +
    "können ihr ihre zu auf bei noch schon mal ja nein gerne danke guten tag hallo"
  ).split(" "),
);
const ENGLISH_HINTS = new Set(
  (
    "i you we is not and the a an my with for please when how where what have would can could your to on at still " +
    "already yes no thanks hello hi want need like"
  ).split(" "),
);

const FOLD: Record<string, string> = { ä: "ae", ö: "oe", ü: "ue", ß: "ss" };

/** ä -> ae, ö -> oe, ü -> ue, ß -> ss, then accents dropped (é -> e): one spelling for what callers and ASR vary. */
export function foldUmlauts(word: string): string {
  return word
    .replace(/[äöüß]/g, (c) => FOLD[c])
    .normalize("NFD")
    .replace(/\p{M}/gu, "");
}

/** Lower-cased, NFKC (full-width letters and digits as ASCII), apostrophes joined ("don't" -> "dont"). */
export function normalizeText(text: string): string {
  return text
    .normalize("NFKC")
    .toLowerCase()
    .replace(/['’`´]/g, "");
}

export interface Token {
  text: string;
  han: boolean;
}

/** Words of Latin-script text and runs of Han characters, in order. */
export function tokens(text: string): Token[] {
  const out: Token[] = [];
  for (const m of normalizeText(text).matchAll(TOKEN)) out.push({ text: m[0], han: m[1] !== undefined });
  return out;
}

export const isStopWord = (word: string): boolean => STOP_WORDS.has(word);

/** Chinese if Han characters are at least a third of the letters; else German or English by hint words and umlauts. */
export function languageOf(text: string): TextLanguage {
  let han = 0;
  let latin = 0;
  let de = 0;
  let en = 0;
  for (const t of tokens(text)) {
    if (t.han) {
      han += t.text.length;
      continue;
    }
    latin += t.text.length;
    if (GERMAN_HINTS.has(t.text) || /[äöüß]/.test(t.text)) de++;
    if (ENGLISH_HINTS.has(t.text)) en++;
  }
  if (han > 0 && han * 3 >= latin) return "zh";
  return de >= en && de > 0 ? "de" : en > 0 ? "en" : "de";
}

// Relative weights of the feature kinds before TF-IDF. A word counts as its stem (inflections meet) plus, at half
// that, its exact form; n-grams give compounds and ASR misspellings partial credit without drowning the words (a
// 10-letter word has 24). A concept weighs three words: it stands for a whole group of words that mean the same on a
// phone line, and it is what most paraphrases share with the examples. Measured on bench/nlu-intents.ts, 1 -> 3
// raised English held-out top-1 by 9 points and cross-validation by 2, and lifted right answers' scores clear of
// off-topic ones (acted right at the default bands 3 % -> 18 %); 4 and more gained nothing and let more off-topic
// sentences through. A compound's parts count less than a word said on its own.
const W_WORD = 0.5;
const W_STEM = 1;
const W_PAIR = 0.7;
const W_GRAM = 0.25;
const W_HAN1 = 0.5;
const W_HAN2 = 1;
const W_CONCEPT = 3;
const W_PART = 0.7;
const GRAM_SIZES = [3, 4, 5];

const concepts = new ConceptIndex(foldUmlauts, (w, l) => stems(w, l));

function add(v: FeatureVector, key: string, w: number): void {
  v.set(key, (v.get(key) ?? 0) + w);
}

export interface FeatureOptions {
  /**
   * Known words (umlaut-folded, and their main stems) that German compounds are split into; without it compounds
   * stay whole. The intent model passes the words of its training examples and of the synonym table.
   */
  lexicon?: ReadonlySet<string>;
}

/** The words of the synonym table, folded and stemmed, as a start for a compound lexicon. */
export const conceptLexicon = (): string[] => concepts.germanLexicon();

/** The umlaut-folded content words of a text and their main stems: what it adds to a compound lexicon. */
export function lexiconWords(text: string): string[] {
  const language = stemLanguage(text);
  const out: string[] = [];
  for (const t of tokens(text)) {
    if (t.han || STOP_WORDS.has(t.text) || t.text.length < 3 || /\d/.test(t.text)) continue;
    const folded = foldUmlauts(t.text);
    out.push(folded, stems(folded, language)[0] as string);
  }
  return out;
}

function stemLanguage(text: string): StemLanguage {
  return languageOf(text) === "de" ? "de" : "en";
}

/**
 * The feature vector of an utterance (raw weights; the intent model applies IDF). Keys are prefixed by kind:
 * `w:` word, `s:` stem, `p:` pair of stems, `g:` character n-gram of a Latin word, `c:` concept (synonyms.ts),
 * `h:` Han unigram, `hh:` Han bigram. A German compound split against `opts.lexicon` adds its parts' stems and
 * concepts.
 */
export function textFeatures(text: string, opts: FeatureOptions = {}): FeatureVector {
  const v: FeatureVector = new Map();
  const language = stemLanguage(text);
  const { lexicon } = opts;
  const isKnown = lexicon && ((part: string) => lexicon.has(part) || lexicon.has(stemGerman(part)));
  // The previous content word's stem (for pairs), and the previous word's stem even if a stop word (for "log in").
  let prev: string | undefined;
  let prevAny: string | undefined;
  const verbs: string[] = []; // content words so far, that a separable particle may belong to
  for (const t of tokens(text)) {
    if (t.han) {
      hanFeatures(v, t.text);
      prev = prevAny = undefined;
      continue;
    }
    const folded = foldUmlauts(t.text);
    const keys = stems(folded, language);
    const main = keys[0] as string;
    const found = new Set<string>();
    if (language === "en" && prevAny !== undefined) {
      for (const c of concepts.pair(prevAny, main)) found.add(c);
      if (prev !== undefined && prev !== prevAny) for (const c of concepts.pair(prev, main)) found.add(c);
    }
    if (language === "de" && PARTICLES.has(folded)) joinParticle(v, folded, verbs, isKnown, found);
    if (STOP_WORDS.has(t.text)) {
      for (const c of found) add(v, `c:${c}`, W_CONCEPT);
      prevAny = main;
      continue;
    }
    if (/^\d+$/.test(t.text)) {
      add(v, "w:#num", W_WORD + W_STEM);
      prev = prevAny = "#num";
      continue;
    }
    add(v, `w:${folded}`, W_WORD);
    for (const k of keys) add(v, `s:${k}`, W_STEM / keys.length);
    if (prev !== undefined) add(v, `p:${prev}_${main}`, W_PAIR);
    for (const c of wordConcepts(folded, keys, language)) found.add(c);
    if (isKnown && language === "de")
      for (const part of splitCompound(folded, isKnown) ?? []) {
        const partKeys = stems(part, "de");
        for (const k of partKeys) add(v, `s:${k}`, W_PART / partKeys.length);
        for (const c of concepts.word(part, partKeys, "de")) found.add(c);
      }
    for (const c of found) add(v, `c:${c}`, W_CONCEPT);
    prev = prevAny = main;
    verbs.push(folded);
    if (folded.length < 3) continue;
    const padded = `^${folded}$`;
    for (const n of GRAM_SIZES)
      for (let i = 0; i + n <= padded.length; i++) add(v, `g:${padded.slice(i, i + n)}`, W_GRAM);
  }
  return v;
}

// German separable verbs put their particle at the end of the clause: "Sagen Sie den Termin bitte ab" means
// "absagen", "Rufen Sie mich zurück" "zurückrufen". A particle is joined to each earlier word, and a join that is a
// known word (lexicon or synonym table) counts as that word's stem and concepts.
const PARTICLES = new Set("ab an auf aus ein mit nach um vor weg zu zurueck durch vorbei heraus rein raus".split(" "));

function joinParticle(
  v: FeatureVector,
  particle: string,
  words: string[],
  isKnown: ((w: string) => boolean) | undefined,
  found: Set<string>,
): void {
  for (const w of words.slice(-6)) {
    const joined = particle + w;
    const keys = stems(joined, "de");
    const cs = concepts.word(joined, keys, "de");
    if (cs.length === 0 && !isKnown?.(joined)) continue;
    add(v, `s:${keys[0]}`, W_PART);
    for (const c of cs) found.add(c);
  }
}

// A short utterance may carry no hint of its language ("transfer please" reads as German), so a word that is not in
// the guessed language's table is looked up in the other one.
function wordConcepts(folded: string, keys: string[], language: StemLanguage): string[] {
  const found = concepts.word(folded, keys, language);
  if (found.length > 0) return found;
  const other: StemLanguage = language === "de" ? "en" : "de";
  return concepts.word(folded, stems(folded, other), other);
}

function hanFeatures(v: FeatureVector, run: string): void {
  const cs = [...run];
  for (let i = 0; i < cs.length; i++) {
    if (!STOP_HAN.has(cs[i] as string)) add(v, `h:${cs[i]}`, W_HAN1);
    if (i + 1 < cs.length) add(v, `hh:${cs[i]}${cs[i + 1]}`, W_HAN2);
  }
  for (const c of concepts.han(run)) add(v, `c:${c}`, W_CONCEPT);
}

export const hasHan = (text: string): boolean => HAN.test(text);
