// The mail action: an outbox item of kind "mail" becomes one plain-text e-mail sent over SMTP (nodemailer). The
// Message-ID is derived from the idempotency key, so a message delivered twice (at-least-once) is recognisably the
// same message to the mail client. Passwords live only in the config; error texts carry the server's reply, never
// the credentials.
import { createHash } from "node:crypto";
import { createTransport } from "nodemailer";
import { z } from "zod";
import { type ActionHandler, type NewOutboxItem, PermanentError } from "../../store/outbox.ts";

export const mailKind = "mail";

export const mailActionSchema = z
  .object({
    host: z.string().min(1, "is required"),
    port: z.number().int().min(1).max(65535).default(587),
    /** tls: TLS from the first byte (port 465); starttls: upgrade required; none: plain (a relay on loopback). */
    security: z.enum(["tls", "starttls", "none"]).default("starttls"),
    /** false accepts a self-signed server certificate (an on-prem relay); the connection is still encrypted. */
    verifyCertificate: z.boolean().default(true),
    user: z.string().min(1).optional(),
    password: z.string().optional(),
    from: z.email("must be an e-mail address"),
    fromName: z
      .string()
      .regex(/^[^\r\n]*$/, "must be one line")
      .optional(),
    to: z.array(z.email("must be an e-mail address")).min(1, "needs at least one address"),
    /** Template: {{field}} is replaced by the item's field of that name (missing: empty). */
    subject: z.string().min(1, "is required"),
    /** Template like subject; without it the body lists every field as "name: value". */
    text: z.string().optional(),
    timeoutMs: z.number().int().min(1000).max(300_000).default(30_000),
  })
  .refine((m) => m.password === undefined || m.user !== undefined, {
    message: "a password needs a user",
    path: ["user"],
  });
export type MailAction = z.infer<typeof mailActionSchema>;

const fieldValue = z.union([z.string(), z.number(), z.boolean(), z.null()]);

/** What a mail outbox item carries: which configured action and the fields its templates use. No secrets. */
export const mailPayloadSchema = z.object({
  target: z.string().min(1),
  fields: z.record(z.string(), fieldValue),
});
export type MailPayload = z.infer<typeof mailPayloadSchema>;

export function mailItem(
  p: MailPayload & { idempotencyKey: string; callId?: string; maxAttempts?: number },
): NewOutboxItem {
  return {
    kind: mailKind,
    payload: { target: p.target, fields: p.fields },
    idempotencyKey: p.idempotencyKey,
    callId: p.callId,
    maxAttempts: p.maxAttempts,
  };
}

/** Replaces {{name}} (spaces allowed inside the braces) with the field's value; unknown names become empty. */
export function renderTemplate(template: string, fields: Readonly<Record<string, unknown>>): string {
  return template.replace(/\{\{\s*([\w.-]+)\s*\}\}/g, (_, name: string) => {
    const v = fields[name];
    return v === undefined || v === null ? "" : String(v);
  });
}

// SMTP replies and nodemailer codes that a retry cannot fix: rejected by the server, bad login, TLS not possible.
const permanentCodes = new Set(["EAUTH", "ETLS", "EENVELOPE"]);

function smtpFailure(e: unknown, where: string): Error {
  const err = e as { code?: unknown; responseCode?: unknown; message?: unknown } | null;
  const text = `SMTP ${where}: ${typeof err?.message === "string" ? err.message : String(e)}`;
  const reply = typeof err?.responseCode === "number" ? err.responseCode : undefined;
  if (reply !== undefined && reply >= 400 && reply < 500) return new Error(text);
  if ((reply !== undefined && reply >= 500) || (typeof err?.code === "string" && permanentCodes.has(err.code)))
    return new PermanentError(text);
  return new Error(text);
}

/** The outbox handler for mail items; `actionOf` looks a configured action up by name. */
export function mailHandler(actionOf: (name: string) => MailAction | undefined): ActionHandler {
  return async (item, signal) => {
    const parsed = mailPayloadSchema.safeParse(item.payload);
    if (!parsed.success) throw new PermanentError(`mail item ${item.id}: bad payload: ${parsed.error.message}`);
    const action = actionOf(parsed.data.target);
    if (!action) throw new PermanentError(`no mail action "${parsed.data.target}" is configured`);
    const fields = { callId: item.callId ?? "", ...parsed.data.fields };
    const subject = renderTemplate(action.subject, fields).replace(/[\r\n]+/g, " ");
    const text =
      action.text !== undefined
        ? renderTemplate(action.text, fields)
        : Object.entries(fields)
            .map(([k, v]) => `${k}: ${v ?? ""}`)
            .join("\n");
    const domain = action.from.slice(action.from.lastIndexOf("@") + 1);
    const messageId = `<${createHash("sha256").update(item.idempotencyKey).digest("hex").slice(0, 32)}@${domain}>`;
    const where = `${action.host}:${action.port}`;
    const transport = createTransport({
      host: action.host,
      port: action.port,
      secure: action.security === "tls",
      requireTLS: action.security === "starttls",
      ignoreTLS: action.security === "none",
      tls: { rejectUnauthorized: action.verifyCertificate },
      auth: action.user ? { user: action.user, pass: action.password ?? "" } : undefined,
      connectionTimeout: action.timeoutMs,
      greetingTimeout: action.timeoutMs,
      socketTimeout: action.timeoutMs,
      logger: false,
      debug: false,
    });
    const abort = () => transport.close();
    signal.addEventListener("abort", abort, { once: true });
    try {
      await transport.sendMail({
        from: action.fromName ? { name: action.fromName, address: action.from } : action.from,
        to: action.to,
        subject,
        text,
        messageId,
      });
    } catch (e) {
      throw smtpFailure(e, where);
    } finally {
      signal.removeEventListener("abort", abort);
      transport.close();
    }
  };
}
