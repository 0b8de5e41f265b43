// Customer queues (contact-centre style): callers wait for the next free human with hold music, hear their
// position now and then, and may ask for a call back instead of waiting (they keep their place). The members are
// the humans who take the queue's calls; how they are rung lives in calls/call-queue.ts.
import { z } from "zod";
import { browserTargetSchema, handsetTargetSchema, sayText, slug } from "./nodes.ts";
import { textsFor } from "./text-language.ts";

export const queueMemberSchema = z.union([
  z.object({ sip: z.string().regex(/^sips?:[^\s]+$/i, "a sip: URI") }).strict(),
  z.object({ number: z.string().regex(/^\+?[0-9]{2,20}$/, "a phone number"), trunk: slug.optional() }).strict(),
  browserTargetSchema,
  handsetTargetSchema,
]);
export type QueueMember = z.infer<typeof queueMemberSchema>;

export const queueSchema = z
  .object({
    id: slug,
    name: z.string().optional(),
    members: z.array(queueMemberSchema).min(1),
    /** ringall: every free member rings, the first to answer takes the call; roundrobin: one after the other. */
    strategy: z.enum(["ringall", "roundrobin"]).default("ringall"),
    /** How long one attempt rings a member before the queue tries again (the caller keeps waiting). */
    ringTimeoutS: z.number().int().min(5).max(120).default(20),
    /** Seconds a member rests after a call before the queue rings them again. */
    wrapUpS: z.number().int().min(0).max(300).default(5),
    /** WAV played while waiting (any rate); default: a soft built-in tone melody. */
    holdMusic: z.string().optional(),
    /** Position announcement interval; 0 = only on entry. */
    announceEveryS: z.number().int().min(0).max(600).default(30),
    /** After this long the caller is offered a call back (key 1); 0 = never. */
    callbackAfterS: z.number().int().min(0).max(3600).default(60),
    /** After this long the caller leaves the queue for the fallback (message or call back). */
    maxWaitS: z.number().int().min(10).max(7200).default(300),
    /** Callers beyond this many are not queued: the fallback at once. */
    maxWaiting: z.number().int().min(1).max(500).default(20),
    /** Said to the caller just before the human is connected (customer whisper). */
    customerWhisper: sayText.optional(),
    /** Said to a caller who is called back, when they pick up, before the human is connected (outbound whisper). */
    outboundWhisper: sayText.optional(),
  })
  .strict();
export type QueueConfig = z.infer<typeof queueSchema>;

const TEXTS = {
  de: {
    entered: "Alle Mitarbeiter sind im Gespräch. Sie sind an Position {position}. Bitte bleiben Sie dran.",
    position: "Sie sind an Position {position}.",
    next: "Sie sind als Nächstes an der Reihe.",
    callbackOffer: "Wenn wir Sie zurückrufen sollen, drücken Sie die 1. Sie behalten Ihren Platz.",
    connecting: "Ich verbinde Sie jetzt.",
    outbound: "Hier ist Ihr Rückruf. Ich verbinde Sie jetzt.",
    full: "Im Moment warten schon zu viele Anrufer.",
  },
  en: {
    entered: "All our staff are busy. You are number {position} in the queue. Please hold.",
    position: "You are number {position} in the queue.",
    next: "You are next.",
    callbackOffer: "To be called back instead, press 1. You keep your place.",
    connecting: "Connecting you now.",
    outbound: "This is your call back. Connecting you now.",
    full: "Too many callers are waiting right now.",
  },
  zh: {
    entered: "所有工作人员都在通话中。您排在第{position}位，请稍候。",
    position: "您排在第{position}位。",
    next: "下一位就是您。",
    callbackOffer: "如需回电，请按1。您的排队位置会保留。",
    connecting: "现在为您接通。",
    outbound: "这是给您的回电，现在为您接通。",
    full: "目前等候的来电太多。",
  },
};

export function queueTexts(language: string): (typeof TEXTS)["de"] {
  return textsFor(language, TEXTS);
}

/** "Position 1" reads as "you are next". */
export function positionText(language: string, position: number, entered: boolean): string {
  const t = queueTexts(language);
  if (position <= 1 && !entered) return t.next;
  return (entered ? t.entered : t.position).replace("{position}", String(position));
}
