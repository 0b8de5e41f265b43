// Text features for on-box understanding of what a caller said, in German, English and Chinese, with no model files:
// words (with umlaut-folded variants, because ASR bundles and people spell "Rückgabe" and "Rueckgabe"), word pairs,
// character n-grams inside Latin words (German compounds: "Terminabsage" shares n-grams with "Termin absagen") and
// Chinese character uni- and bigrams (Chinese has no spaces; a bigram is roughly a word).

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

// Relative weights of the feature kinds before TF-IDF: whole words are the strongest evidence; n-grams give
// compounds, inflections and ASR misspellings partial credit without drowning the words (a 10-letter word has 24).
const W_WORD = 1;
const W_PAIR = 0.7;
const W_GRAM = 0.25;
const W_HAN1 = 0.5;
const W_HAN2 = 1;
const GRAM_SIZES = [3, 4, 5];

function add(v: FeatureVector, key: string, w: number): void {
  v.set(key, (v.get(key) ?? 0) + w);
}

/**
 * The feature vector of an utterance (raw weights; the intent model applies IDF). Keys are prefixed by kind:
 * `w:` word, `p:` word pair, `g:` character n-gram of a Latin word, `h:` Han unigram, `hh:` Han bigram.
 */
export function textFeatures(text: string): FeatureVector {
  const v: FeatureVector = new Map();
  let prev: string | undefined;
  for (const t of tokens(text)) {
    if (t.han) {
      const cs = [...t.text];
      for (let i = 0; i < cs.length; i++) {
        if (!STOP_HAN.has(cs[i])) add(v, `h:${cs[i]}`, W_HAN1);
        if (i + 1 < cs.length) add(v, `hh:${cs[i]}${cs[i + 1]}`, W_HAN2);
      }
      prev = undefined;
      continue;
    }
    if (STOP_WORDS.has(t.text)) continue;
    const word = /^\d+$/.test(t.text) ? "#num" : t.text;
    const folded = foldUmlauts(word);
    add(v, `w:${word}`, W_WORD);
    if (folded !== word) add(v, `w:${folded}`, W_WORD);
    if (prev !== undefined) add(v, `p:${prev}_${folded}`, W_PAIR);
    prev = folded;
    if (folded.length < 3 || word === "#num") continue;
    const padded = `^${folded}$`;
    for (const n of GRAM_SIZES)
      for (let i = 0; i + n <= padded.length; i++) add(v, `g:${padded.slice(i, i + n)}`, W_GRAM);
  }
  return v;
}

export const hasHan = (text: string): boolean => HAN.test(text);
