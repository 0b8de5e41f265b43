// GDPR erasure for admins: everything the box stores about one caller number (calls, what the flow made of them,
// actions in the outbox, questions, tickets, appointments, recordings, voicemails). The number must be typed twice
// (confirm); the deletion and its counts go to the audit log, with the number as its target.
import { z } from "zod";
import { eraseCaller } from "../../store/caller-erasure.ts";
import { callerKey } from "../../store/chats.ts";
import type { Db } from "../../store/db.ts";
import { HttpError, type Route, route } from "../route.ts";

export interface GdprDeps {
  db: Db;
  /** Where voicemails are written (<dataDir>/voicemail): <callId>.wav files go with their calls. */
  voicemailDir: string;
}

// Digits with the usual separators, or a SIP user name: never a pattern, so nothing but that caller matches.
const numberSchema = z
  .string()
  .trim()
  .min(1)
  .max(64)
  .regex(/^(\+?[\d\s\-./()]+|[A-Za-z0-9._~-]+)$/, "a phone number (+49 30 123456, 030 123456) or a SIP user name");

const resultSchema = z.object({
  calls: z.number(),
  recordings: z.number(),
  outbox: z.number(),
  cancelled: z.number().describe("outbox items not yet delivered: they will not be sent"),
  questions: z.number(),
  tickets: z.number(),
  appointments: z.number(),
  inProgress: z.number().describe("calls of the number still running: kept; erase again after they end"),
  filesFailed: z.array(z.object({ path: z.string(), error: z.string() })),
});

export function gdprRoutes(deps: GdprDeps): Route[] {
  return [
    route({
      method: "POST",
      path: "/api/gdpr/delete-caller",
      access: "admin",
      summary: "Erase every call, recording and record of one caller number (+49…, 0049…, 0… match); audited",
      tag: "gdpr",
      body: z.object({ number: numberSchema, confirm: z.string().max(64) }).strict(),
      response: resultSchema,
      handle: async ({ body, audit }) => {
        if (body.confirm.trim() !== body.number)
          throw new HttpError(400, "confirm must repeat the number exactly", "body.confirm");
        if (callerKey(body.number) === undefined)
          throw new HttpError(400, "an anonymous caller cannot be erased by number", "body.number");
        const r = await eraseCaller(deps.db, body.number, { voicemailDir: deps.voicemailDir });
        const { filesFailed, ...counts } = r;
        audit({
          action: "calls.delete-caller",
          target: body.number,
          detail: { ...counts, filesFailed: filesFailed.length },
        });
        return r;
      },
    }),
  ];
}
