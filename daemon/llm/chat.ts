// A plain, model-neutral chat prompt. Each model family was tuned on its own template (LLaMA-2 [INST], ChatML,
// Gemma turns); tokenizer_config.json carries it as a Jinja template, and rendering Jinja is a dependency this
// adapter does not take yet. Role-prefixed lines work acceptably with small instruct models and are easy to read in
// logs; a model-specific template is the upgrade when a real model is chosen.
//
//   System: <system text>
//   User: <text>
//   Assistant: <text>
//   User: <text>
//   Assistant:
//
// The prompt ends with "Assistant:" without a trailing space: SentencePiece and byte-level BPE put the space on the
// next word's token, and a dangling space token makes small models stumble. Generation stops when the model starts
// a new turn (CHAT_STOPS), and the answer's leading whitespace is dropped.
import type { ChatMessage } from "./types.ts";

export const CHAT_STOPS: readonly string[] = ["\nUser:", "\nSystem:", "\nAssistant:"];

const LABEL: Record<ChatMessage["role"], string> = { system: "System", user: "User", assistant: "Assistant" };

export function formatChat(messages: readonly ChatMessage[]): string {
  const lines = messages.map((m) => `${LABEL[m.role]}: ${m.content.trim()}`);
  lines.push("Assistant:");
  return lines.join("\n");
}
