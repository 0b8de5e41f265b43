// German compound splitting against a lexicon of known words: "Terminvereinbarung" -> termin + vereinbarung,
// "Öffnungszeiten" -> öffnung + zeiten (linking "s" dropped), so a caller's compound meets the training examples'
// separate words and the reverse. Which words are known is the caller's business (the intent model passes the words
// of its training examples and of the synonym table); a word with no full split into known parts is left whole.

/** Letters that join parts of a German compound ("Arbeits|platz", "Kunden|dienst", "Tages|zeit"). */
const LINKS = ["", "s", "n", "en", "es", "e"];
const MIN_PART = 3;
const MIN_WORD = 7;

/**
 * The parts of a compound word (lower-case, umlaut-folded), or undefined when it does not split into known parts.
 * Fewest parts win; among equal counts, the split whose parts are the most even in length ("gift|karte" over
 * "gif|tkarte" when both were known). A word that is itself known may still split: its parts are extra evidence.
 */
export function splitCompound(word: string, isKnown: (part: string) => boolean): string[] | undefined {
  const n = word.length;
  if (n < MIN_WORD) return undefined;
  // best[i]: the best split of word.slice(i), as [parts, sum of squared lengths].
  const best: ({ parts: string[]; spread: number } | undefined)[] = new Array(n + 1);
  best[n] = { parts: [], spread: 0 };
  for (let i = n - MIN_PART; i >= 0; i--) {
    let pick: { parts: string[]; spread: number } | undefined;
    for (let j = i + MIN_PART; j <= n; j++) {
      const part = word.slice(i, j);
      if (i === 0 && j === n) continue; // the whole word is not a split
      if (!isKnown(part)) continue;
      for (const link of LINKS) {
        if (link && (j === n || !word.startsWith(link, j))) continue;
        const tail = best[j + link.length];
        if (!tail) continue;
        const parts = [part, ...tail.parts];
        const spread = tail.spread + part.length * part.length;
        if (!pick || parts.length < pick.parts.length || (parts.length === pick.parts.length && spread < pick.spread))
          pick = { parts, spread };
      }
    }
    best[i] = pick;
  }
  const split = best[0];
  return split && split.parts.length >= 2 ? split.parts : undefined;
}
