// The box's fixed sentences exist in German, English and Chinese; an agent's BCP-47 language picks the set.
export type TextLanguage = "de" | "en" | "zh";

export function textLanguage(language: string): TextLanguage {
  const l = language.toLowerCase();
  return l.startsWith("de") ? "de" : l.startsWith("zh") ? "zh" : "en";
}

/** The sentence set for a language (English for languages the box has no sentences in). */
export function textsFor<T>(language: string, sets: Record<TextLanguage, T>): T {
  return sets[textLanguage(language)];
}
