// What the demo line says when it speaks with the box's own voice (TTS), per language. The WAV prompts in
// prompts/ are the English fallback for boxes without a TTS voice.
import type { CommandWord } from "../speech/commands.ts";
import { textLanguage } from "../flow/text-language.ts";
import type { PromptName } from "./prompts.ts";

export type DemoText =
  | PromptName
  | "menuSpeech"
  | "reply"
  | "filler"
  | "areYouThere"
  | "idleBye"
  | "noRecognizer"
  | "testIntro"
  | "testHeard"
  | "testNothing"
  | "testBye";

const de: Record<DemoText, string> = {
  greeting: "Guten Tag, Sie sprechen mit der Switchboard-Demo.",
  menu: "Für eine Nachricht drücken Sie die Eins. Für die Vermittlung drücken Sie die Null.",
  menuSpeech:
    "Sagen oder drücken Sie Eins für eine Nachricht, Null für die Vermittlung, oder Zwei, um die Spracherkennung zu testen.",
  record: "Bitte sprechen Sie nach dem Ton. Drücken Sie die Raute, wenn Sie fertig sind.",
  thanks: "Danke, Ihre Nachricht ist aufgezeichnet. Auf Wiederhören.",
  connecting: "Einen Moment bitte, ich verbinde Sie.",
  goodbye: "Ich habe leider keine Auswahl erhalten. Auf Wiederhören.",
  unavailable: "Leider ist gerade niemand erreichbar. Auf Wiederhören.",
  reply:
    "Ich habe Sie gehört, kann Sprache auf diesem Gerät aber noch nicht verstehen. Bitte benutzen Sie die Tastatur.",
  filler: "Einen Moment.",
  areYouThere: "Sind Sie noch da?",
  idleBye: "Ich lege jetzt auf. Auf Wiederhören.",
  noRecognizer: "Auf diesem Gerät ist keine Spracherkennung installiert. Auf Wiederhören.",
  testIntro:
    "Sagen Sie Ziffern, ja, nein, Mitarbeiter oder ein anderes Kommandowort. Ich wiederhole, was ich verstanden habe. Mit der Raute beenden Sie den Test.",
  testHeard: "Verstanden:",
  testNothing: "Ich habe kein Kommandowort verstanden.",
  testBye: "Test beendet. Auf Wiederhören.",
};

const en: Record<DemoText, string> = {
  greeting: "Hello, you have reached the Switchboard demo line.",
  menu: "To leave a message, press one. To speak to the operator, press zero.",
  menuSpeech: "Say or press one to leave a message, zero for the operator, or two to test speech recognition.",
  record: "Please speak after the tone. Press hash when you are done.",
  thanks: "Thank you, your message has been recorded. Goodbye.",
  connecting: "Please hold, I am connecting you.",
  goodbye: "Sorry, I did not get a choice. Goodbye.",
  unavailable: "Sorry, nobody is available right now. Goodbye.",
  reply: "I heard you, but this box cannot understand speech yet. Please use your keypad.",
  filler: "One moment.",
  areYouThere: "Are you still there?",
  idleBye: "I will hang up now. Goodbye.",
  noRecognizer: "No speech recognizer is installed on this box. Goodbye.",
  testIntro:
    "Say digits, yes, no, agent or another command word, and I will repeat what I understood. Press hash to end the test.",
  testHeard: "I understood:",
  testNothing: "I did not understand a command word.",
  testBye: "Test finished. Goodbye.",
};

/** Every fixed sentence for a language: the prompt cache synthesizes them at start, so no call waits for them. */
export function allDemoTexts(language: string): string[] {
  return Object.values(language.startsWith("de") ? de : en);
}

export function demoText(language: string, what: DemoText): string {
  return (language.startsWith("de") ? de : en)[what];
}

/** `{seconds}` in a configured reply becomes the turn length, written the way the language writes decimals. */
export function fillReply(template: string, language: string, turnMs: number): string {
  const seconds = (turnMs / 1000).toLocaleString(language, { maximumFractionDigits: 1, minimumFractionDigits: 1 });
  return template.replaceAll("{seconds}", seconds);
}

const WORD_NAMES: Record<"de" | "en", Partial<Record<CommandWord, string>>> = {
  de: {
    yes: "ja",
    no: "nein",
    agent: "Mitarbeiter",
    repeat: "wiederholen",
    cancel: "abbrechen",
    sales: "Vertrieb",
    support: "Support",
    billing: "Rechnung",
    appointment: "Termin",
  },
  en: {},
};

/** Command words as the box reads them back (digits one by one, so the TTS does not say "four thousand ..."). */
export function spokenWords(language: string, words: CommandWord[]): string {
  const names = WORD_NAMES[language.startsWith("de") ? "de" : "en"];
  return words.map((w) => names[w] ?? w).join(" ");
}

/** What the box says into dead air (a filler, then "are you there?"), in the call's language. */
export function deadAirTexts(language: string): { filler: string; areYouThere: string } {
  // The demo line itself is de/en only; flows in Chinese still get their dead-air sentences.
  if (textLanguage(language) === "zh") return { filler: "请稍等。", areYouThere: "您还在吗？" };
  return { filler: demoText(language, "filler"), areYouThere: demoText(language, "areYouThere") };
}
