// What the demo line says when it speaks with the box's own voice (TTS), per language. The WAV prompts in
// prompts/ are the English fallback for boxes without a TTS voice.
import type { PromptName } from "./prompts.ts";

export type DemoText = PromptName | "menuSpeech" | "reply" | "notUnderstood" | "filler" | "areYouThere" | "idleBye";

const de: Record<DemoText, string> = {
  greeting: "Guten Tag, Sie sprechen mit der Switchboard-Demo.",
  menu: "Für eine Nachricht drücken Sie die Eins. Für die Vermittlung drücken Sie die Null.",
  menuSpeech: "Sagen oder drücken Sie Eins für eine Nachricht, oder Null für die Vermittlung.",
  record: "Bitte sprechen Sie nach dem Ton. Drücken Sie die Raute, wenn Sie fertig sind.",
  thanks: "Danke, Ihre Nachricht ist aufgezeichnet. Auf Wiederhören.",
  connecting: "Einen Moment bitte, ich verbinde Sie.",
  goodbye: "Ich habe leider keine Auswahl erhalten. Auf Wiederhören.",
  unavailable: "Leider ist gerade niemand erreichbar. Auf Wiederhören.",
  reply:
    "Ich habe Sie gehört, kann Sprache auf diesem Gerät aber noch nicht verstehen. Bitte benutzen Sie die Tastatur.",
  notUnderstood: "Das habe ich nicht verstanden.",
  filler: "Einen Moment.",
  areYouThere: "Sind Sie noch da?",
  idleBye: "Ich lege jetzt auf. Auf Wiederhören.",
};

const en: Record<DemoText, string> = {
  greeting: "Hello, you have reached the Switchboard demo line.",
  menu: "To leave a message, press one. To speak to the operator, press zero.",
  menuSpeech: "Say or press one to leave a message, or zero for the operator.",
  record: "Please speak after the tone. Press hash when you are done.",
  thanks: "Thank you, your message has been recorded. Goodbye.",
  connecting: "Please hold, I am connecting you.",
  goodbye: "Sorry, I did not get a choice. Goodbye.",
  unavailable: "Sorry, nobody is available right now. Goodbye.",
  reply: "I heard you, but this box cannot understand speech yet. Please use your keypad.",
  notUnderstood: "Sorry, I did not understand that.",
  filler: "One moment.",
  areYouThere: "Are you still there?",
  idleBye: "I will hang up now. Goodbye.",
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

/** A recognized utterance → the menu choice it names, if any (digits spoken or the option's name). */
export function choiceFromText(text: string): "1" | "0" | undefined {
  const t = ` ${text.toLowerCase().replace(/[^\p{L}\p{N}]+/gu, " ")} `;
  if (/ (1|eins|one|nachricht|message|voicemail) /.test(t)) return "1";
  if (/ (0|null|zero|oh|vermittlung|operator|mitarbeiter|mensch|agent|human) /.test(t)) return "0";
  return undefined;
}
