// Light suffix stripping for German and English, so "Bestellung", "bestellen" and "bestellte" or "ordered", "orders"
// and "ordering" meet on a stem. Not a linguist's stemmer: it only has to give the forms callers use a shared key in
// training and in a call; an over-stripped word ("paket" -> "pak") costs nothing unless it collides with another
// word of the line. Words are expected lower-case and umlaut-folded (foldUmlauts).

export type StemLanguage = "de" | "en";

const VOWEL = /[aeiouy]/;
// Before these letters a German "s" or "t" ending is an inflection ("kaufs", "kauft"), as in the Snowball stemmer.
const DE_ENDING_BEFORE = /[bdfghklmnrt]$/;

const strip = (w: string, suffix: string, minRest = 3): string | undefined => {
  if (!w.endsWith(suffix)) return undefined;
  const rest = w.slice(0, -suffix.length);
  return rest.length >= minRest && VOWEL.test(rest) ? rest : undefined;
};

/** The main German stem: a noun's "-ung(en)" ("Lieferung" -> "liefer", as "liefern"), else one inflection. */
export function stemGerman(word: string): string {
  if (word.length <= 4) return word;
  const derived = strip(word, "ungen") ?? strip(word, "ung");
  if (derived) return derived;
  for (const suffix of ["en", "er", "es", "e"]) {
    const rest = strip(word, suffix);
    if (rest) return rest;
  }
  if (/[rl]n$/.test(word)) return word.slice(0, -1); // "liefern", "sammeln"
  const s = strip(word, "s", 4);
  if (s && DE_ENDING_BEFORE.test(s)) return s;
  return word;
}

/**
 * Every key a German word is filed under: its stem, the stem without a verb's "t"/"et"/"st" ending when it has one
 * ("kauft" and "kaufen" meet on "kauf"; "Arbeit" also files under "arbei", harmlessly), and the same for a past
 * participle without its "ge" ("geöffnet" meets "öffnen"). The main stem comes first.
 */
export function germanStems(word: string): string[] {
  const out = [stemGerman(word)];
  const main = out[0] as string;
  for (const suffix of ["et", "st", "t"]) {
    const rest = strip(main, suffix, 4);
    if (rest && (suffix === "et" || DE_ENDING_BEFORE.test(rest))) {
      out.push(rest);
      break;
    }
  }
  if (word.length >= 7 && word.startsWith("ge") && (word.endsWith("t") || word.endsWith("en")))
    for (const s of germanStems(word.slice(2))) if (!out.includes(s)) out.push(s);
  return out;
}

const EN_DOUBLE = /([bdfgmnprt])\1$/;

/** A Porter-like light English stem: plural, "-ed", "-ing", "-ly" and a silent final "e" go. */
export function stemEnglish(word: string): string {
  if (word.length <= 3) return word;
  if (word.endsWith("ies") && word.length > 4) return `${word.slice(0, -3)}y`;
  if (word.endsWith("ied") && word.length > 4) return `${word.slice(0, -3)}y`;
  if (word.endsWith("sses")) return word.slice(0, -2);
  let w = word;
  const ing = word.length > 5 ? strip(word, "ing") : undefined;
  const ed = word.length > 4 ? strip(word, "ed") : undefined;
  if (ing) w = ing;
  else if (ed) w = ed;
  else if (word.length > 5 && word.endsWith("ly")) w = word.slice(0, -2);
  else if (/(ch|sh|x|z|ss)es$/.test(word)) w = word.slice(0, -2);
  else if (word.endsWith("s") && !/(ss|us|is)$/.test(word)) w = word.slice(0, -1);
  if (w !== word && EN_DOUBLE.test(w)) return w.slice(0, -1);
  return w.length > 4 && w.endsWith("e") && !w.endsWith("ee") ? w.slice(0, -1) : w;
}

/** The keys of a word in a language, main stem first. */
export function stems(word: string, language: StemLanguage): string[] {
  return language === "de" ? germanStems(word) : [stemEnglish(word)];
}
