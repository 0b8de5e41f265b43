// The demo line's fixed prompts, shipped as WAV files beside this module (see prompts/README.md).
import { fileURLToPath } from "node:url";

export const promptTexts = {
  greeting: "Hello, you have reached the Switchboard demo line.",
  menu: "To leave a message, press 1. To speak to the operator, press 0.",
  record: "Please leave your message after the tone. Press hash when you are done.",
  thanks: "Thank you. Your message has been recorded. Goodbye.",
  connecting: "Please hold, I am connecting you.",
  goodbye: "Sorry, I did not get that. Goodbye.",
  unavailable: "Sorry, nobody is available right now. Goodbye.",
} as const;

export type PromptName = keyof typeof promptTexts;

export function promptFile(name: PromptName): string {
  return fileURLToPath(new URL(`./prompts/${name}.wav`, import.meta.url));
}
