// Flows are data: an ordered list of typed nodes (jambonz verbs, Amazon Connect blocks). Each node type has one
// schema here; a node runs, then goes to its `next` (default: the node after it) or to the target its outcome names.
// Targets are node ids; `checkFlow` proves every target exists, so a flow that loads cannot jump into nowhere.
import { z } from "zod";
import { slotSpecSchema } from "../nlu/slots.ts";
import { slug } from "./ids.ts";

export { slug };
/** A variable name: slots and `set` share one namespace per call. */
export const varName = z.string().regex(/^[a-z_][a-z0-9_]*$/i, "a variable name (letters, digits, _)");
/** Text the box says; `{name}` inserts a variable (`{caller}`, `{agent}`, `{intent}` and captured slots). */
export const sayText = z.string().min(1).max(2000);

const commandWord = z.enum(["agent", "repeat", "cancel", "sales", "support", "billing", "appointment", "yes", "no"]);

/** A staff user taking calls in the web page's softphone, or "*" for whoever of them is available first. */
export const browserTargetSchema = z
  .object({ browser: z.string().regex(/^([a-z0-9._-]{1,64}|\*)$/, 'a staff user name or "*"') })
  .strict();

/** The handset on the box (hw/handset.ts): rings its ringer, answered by lifting it. */
export const handsetTargetSchema = z.object({ handset: z.literal(true) }).strict();

export const transferTargetSchema = z.union([
  z.object({ agent: slug }).strict(),
  z.object({ queue: slug }).strict(),
  z.object({ number: z.string().regex(/^\+?[0-9]{2,20}$/, "a phone number"), trunk: slug.optional() }).strict(),
  z.object({ sip: z.string().regex(/^sips?:[^\s]+$/i, "a sip: URI") }).strict(),
  browserTargetSchema,
  handsetTargetSchema,
]);
export type TransferTarget = z.infer<typeof transferTargetSchema>;

const base = { id: slug.optional(), next: slug.optional() };
const attempts = z.number().int().min(1).max(10);
const confirmMode = z.enum(["auto", "always", "never"]);

export const nodeSchema = z.discriminatedUnion("type", [
  z
    .object({
      ...base,
      type: z.literal("say"),
      text: sayText,
      /** Recorded prompt for boxes without a voice. */
      file: z.string().optional(),
      /** A legal notice: the caller cannot cut it off. */
      legal: z.boolean().default(false),
    })
    .strict(),
  z.object({ ...base, type: z.literal("play"), file: z.string().min(1), legal: z.boolean().default(false) }).strict(),
  z
    .object({
      ...base,
      type: z.literal("gather"),
      prompt: sayText,
      expect: z.enum(["digits", "yesno"]),
      into: varName,
      min: z.number().int().min(1).max(30).optional(),
      max: z.number().int().min(1).max(30).optional(),
      finishKey: z.enum(["#", "*"]).optional(),
      noInputMs: z.number().int().min(1000).max(60_000).optional(),
      attempts: attempts.optional(),
      confirm: confirmMode.optional(),
      onFail: slug.optional(),
    })
    .strict(),
  z
    .object({
      ...base,
      type: z.literal("menu"),
      prompt: sayText,
      options: z
        .array(
          z
            .object({
              key: z
                .string()
                .regex(/^[0-9*#]$/, "one key")
                .optional(),
              words: z.array(commandWord).optional(),
              phrases: z.array(z.string().min(1)).optional(),
              intent: slug.optional(),
              label: z.string().optional(),
              goto: slug,
            })
            .strict(),
        )
        .min(1),
      attempts: attempts.optional(),
      onFail: slug.optional(),
    })
    .strict(),
  z
    .object({
      ...base,
      type: z.literal("intent"),
      /** Asked first; without it the node classifies the caller's last turn (e.g. the answer to the greeting). */
      prompt: sayText.optional(),
      routes: z.array(z.object({ intent: slug, goto: slug }).strict()).min(1),
      /** Said when the intent is unclear (clarify band) before asking again. */
      clarify: sayText.optional(),
      attempts: attempts.optional(),
      onNoMatch: slug.optional(),
    })
    .strict(),
  z
    .object({
      ...base,
      type: z.literal("capture"),
      slot: varName,
      prompt: sayText,
      spec: slotSpecSchema,
      /** Said after an invalid answer, before asking again; `{reason}` is what was wrong. */
      retry: sayText.optional(),
      attempts: attempts.optional(),
      confirm: confirmMode.optional(),
      onFail: slug.optional(),
    })
    .strict(),
  z
    .object({ ...base, type: z.literal("confirm"), prompt: sayText, onNo: slug, attempts: attempts.optional() })
    .strict(),
  z
    .object({
      ...base,
      type: z.literal("condition"),
      var: varName,
      op: z.enum(["eq", "ne", "in", "exists", "missing", "gt", "lt"]),
      value: z.union([z.string(), z.number(), z.array(z.string())]).optional(),
      /** Where to go when the test holds; otherwise `else` (default: the next node). */
      goto: slug,
      else: slug.optional(),
    })
    .strict(),
  z.object({ ...base, type: z.literal("set"), var: varName, value: z.string() }).strict(),
  z
    .object({
      ...base,
      type: z.literal("action"),
      action: slug,
      /** Fields sent with the action (templates); captured slots are always included. */
      payload: z.record(z.string(), z.string()).default({}),
      /** How long the caller waits for the first attempt before the box promises a follow-up. */
      waitMs: z.number().int().min(0).max(30_000).default(5000),
      done: sayText.optional(),
      pending: sayText.optional(),
      onFail: slug.optional(),
    })
    .strict(),
  z
    .object({
      ...base,
      type: z.literal("transfer"),
      to: transferTargetSchema,
      mode: z.enum(["blind", "attended"]).default("attended"),
      /** Said to the caller before the transfer. */
      text: sayText.optional(),
      /** Played to the human before connecting (who calls, why, what was captured); default: a generated one. */
      whisper: sayText.optional(),
      /** Said to the caller once the human has answered, just before connecting (customer whisper). */
      customerWhisper: sayText.optional(),
      timeoutS: z.number().int().min(5).max(300).default(25),
      /** Where to go when nobody answers (a queue: maxWaitS passed or it is full); default: the message/call-back offer. */
      onNoAnswer: slug.optional(),
    })
    .strict(),
  z
    .object({
      ...base,
      type: z.literal("voicemail"),
      prompt: sayText.optional(),
      maxS: z.number().int().min(5).max(600).default(120),
    })
    .strict(),
  z.object({ ...base, type: z.literal("callback"), prompt: sayText.optional() }).strict(),
  /** Nobody can take the call: the box offers a message (key 1) or a call back (key 2). */
  z.object({ ...base, type: z.literal("offer") }).strict(),
  z.object({ ...base, type: z.literal("hangup"), text: sayText.optional() }).strict(),
]);
export type FlowNode = z.infer<typeof nodeSchema>;
export type NodeType = FlowNode["type"];

export const flowSchema = z.array(nodeSchema).min(1);
export type Flow = FlowNode[];

export interface FlowProblem {
  path: (string | number)[];
  message: string;
}

/** Node ids are unique and every jump names an existing node; intents named by the flow exist in the agent. */
export function checkFlow(flow: Flow, intents?: ReadonlySet<string>): FlowProblem[] {
  const problems: FlowProblem[] = [];
  const ids = new Map<string, number>();
  flow.forEach((n, i) => {
    if (!n.id) return;
    if (ids.has(n.id)) problems.push({ path: [i, "id"], message: `duplicate node id "${n.id}"` });
    else ids.set(n.id, i);
  });
  const target = (i: number, path: (string | number)[], id: string | undefined) => {
    if (id !== undefined && !ids.has(id)) problems.push({ path: [i, ...path], message: `no node with id "${id}"` });
  };
  const intent = (i: number, path: (string | number)[], id: string | undefined) => {
    if (id !== undefined && intents && !intents.has(id))
      problems.push({ path: [i, ...path], message: `the agent has no intent "${id}"` });
  };
  flow.forEach((n, i) => {
    target(i, ["next"], n.next);
    switch (n.type) {
      case "gather":
      case "capture":
        target(i, ["onFail"], n.onFail);
        break;
      case "menu":
        n.options.forEach((o, k) => {
          target(i, ["options", k, "goto"], o.goto);
          intent(i, ["options", k, "intent"], o.intent);
          if (!o.key && !o.words?.length && !o.phrases?.length && !o.intent)
            problems.push({ path: [i, "options", k], message: "an option needs a key, words, phrases or an intent" });
        });
        target(i, ["onFail"], n.onFail);
        break;
      case "intent":
        n.routes.forEach((r, k) => {
          target(i, ["routes", k, "goto"], r.goto);
          intent(i, ["routes", k, "intent"], r.intent);
        });
        target(i, ["onNoMatch"], n.onNoMatch);
        break;
      case "confirm":
        target(i, ["onNo"], n.onNo);
        break;
      case "condition":
        target(i, ["goto"], n.goto);
        target(i, ["else"], n.else);
        if ((n.op === "in") !== Array.isArray(n.value) && n.op !== "exists" && n.op !== "missing")
          problems.push({
            path: [i, "value"],
            message: n.op === "in" ? "`in` needs a list" : `\`${n.op}\` needs one value`,
          });
        if ((n.op === "gt" || n.op === "lt") && Number.isNaN(Number(n.value)))
          problems.push({ path: [i, "value"], message: `\`${n.op}\` needs a number` });
        break;
      case "action":
        target(i, ["onFail"], n.onFail);
        break;
      case "transfer":
        target(i, ["onNoAnswer"], n.onNoAnswer);
        break;
      default:
        break;
    }
  });
  return problems;
}
