// The webhook action: an outbox item of kind "webhook" is POSTed as JSON to a configured URL.
//
// Request (every attempt of one item repeats the same body and Idempotency-Key, so the receiver can de-duplicate):
//   POST <url>
//   Content-Type: application/json
//   Idempotency-Key: <the outbox item's idempotency key>
//   X-Switchboard-Event: <event, e.g. ticket.created>
//   X-Switchboard-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>   (only with a secret)
//   body: {"event": ..., "callId": ..., "createdAt": <ISO time the item was enqueued>, "data": ...}
// The signature works like Stripe's: the receiver recomputes the HMAC over the timestamp, a dot and the raw body bytes
// exactly as received, compares in constant time, and rejects timestamps outside its tolerance (replays). Each attempt
// is signed anew, so a late retry still passes. Several v1= entries may appear (secret rotation); one match suffices.
// `verifySignature` below is that check, for receivers written in TypeScript.
//
// Outcome: 2xx = delivered; 408, 429, 5xx, timeouts and connection errors are retried; other 4xx and 3xx (redirects
// are not followed: a redirected POST would silently become a GET) go dead at once.
import { createHmac, timingSafeEqual } from "node:crypto";
import { z } from "zod";
import { type ActionHandler, type NewOutboxItem, PermanentError } from "../../store/outbox.ts";

export const webhookKind = "webhook";

const reservedHeaders = ["content-type", "idempotency-key", "x-switchboard-event", "x-switchboard-signature"];

export const webhookActionSchema = z.object({
  url: z.url({ protocol: /^https?$/, error: "must be an http:// or https:// URL" }).refine((u) => {
    const p = new URL(u);
    return p.username === "" && p.password === "";
  }, "must not carry credentials (user:password@); put them in headers, e.g. Authorization"),
  /** Shared secret for X-Switchboard-Signature; without it requests are unsigned. */
  secret: z.string().min(16, "must be at least 16 characters").optional(),
  timeoutMs: z.number().int().min(100).max(120_000).default(10_000),
  /** Extra request headers (e.g. Authorization); values are secrets as far as logs are concerned. */
  headers: z
    .record(
      z.string().regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, "is not a valid header name"),
      z.string().regex(/^[\t\x20-\x7e]*$/, "must be printable ASCII on one line"),
    )
    .refine((h) => Object.keys(h).every((k) => !reservedHeaders.includes(k.toLowerCase())), {
      message: `must not set ${reservedHeaders.join(", ")} (the box sets them)`,
    })
    .optional(),
});
export type WebhookAction = z.infer<typeof webhookActionSchema>;

/** What a webhook outbox item carries: which configured action, the event name and its data. No secrets. */
export const webhookPayloadSchema = z.object({
  target: z.string().min(1),
  event: z.string().min(1),
  data: z.unknown(),
});
export type WebhookPayload = z.infer<typeof webhookPayloadSchema>;

export function webhookItem(
  p: WebhookPayload & { idempotencyKey: string; callId?: string; maxAttempts?: number },
): NewOutboxItem {
  return {
    kind: webhookKind,
    payload: { target: p.target, event: p.event, data: p.data },
    idempotencyKey: p.idempotencyKey,
    callId: p.callId,
    maxAttempts: p.maxAttempts,
  };
}

const unixNow = () => Math.floor(Date.now() / 1000);

const hmacHex = (secret: string, t: number, body: string | Buffer) =>
  createHmac("sha256", secret).update(`${t}.`).update(body).digest("hex");

export function signatureHeader(secret: string, body: string, t = unixNow()): string {
  return `t=${t},v1=${hmacHex(secret, t, body)}`;
}

/**
 * Checks an X-Switchboard-Signature header against the raw request body: true when one v1 signature matches and the
 * timestamp is within toleranceS of now (unix seconds).
 */
export function verifySignature(
  secret: string,
  header: string | undefined,
  body: string | Buffer,
  toleranceS = 300,
  now = unixNow(),
): boolean {
  if (!header) return false;
  let t: number | undefined;
  const signatures: string[] = [];
  for (const part of header.split(",")) {
    const eq = part.indexOf("=");
    const k = part.slice(0, eq).trim();
    const v = part.slice(eq + 1).trim();
    if (k === "t" && /^\d+$/.test(v)) t = Number(v);
    else if (k === "v1" && /^[0-9a-f]{64}$/i.test(v)) signatures.push(v.toLowerCase());
  }
  if (t === undefined || signatures.length === 0 || Math.abs(now - t) > toleranceS) return false;
  const expected = Buffer.from(hmacHex(secret, t, body), "hex");
  return signatures.some((s) => timingSafeEqual(Buffer.from(s, "hex"), expected));
}

// Where a request went, fit for last_error: no query string (tokens ride there), no credentials.
const placeOf = (url: string) => {
  const u = new URL(url);
  return u.origin + u.pathname;
};

function connectionFailure(e: unknown): string {
  const cause = e instanceof Error && e.cause instanceof Error ? e.cause : e;
  const code = (cause as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : cause instanceof Error ? cause.message : String(cause);
}

/** The outbox handler for webhook items; `actionOf` looks a configured action up by name (config reloads apply). */
export function webhookHandler(actionOf: (name: string) => WebhookAction | undefined): ActionHandler {
  return async (item, signal) => {
    const parsed = webhookPayloadSchema.safeParse(item.payload);
    if (!parsed.success) throw new PermanentError(`webhook item ${item.id}: bad payload: ${parsed.error.message}`);
    const { target, event, data } = parsed.data;
    const action = actionOf(target);
    if (!action) throw new PermanentError(`no webhook action "${target}" is configured`);
    const where = placeOf(action.url);
    const body = JSON.stringify({ event, callId: item.callId ?? null, createdAt: new Date(item.createdAt), data });
    const headers: Record<string, string> = {
      ...action.headers,
      "Content-Type": "application/json",
      "Idempotency-Key": item.idempotencyKey,
      "X-Switchboard-Event": event,
    };
    if (action.secret) headers["X-Switchboard-Signature"] = signatureHeader(action.secret, body);
    const timeout = AbortSignal.timeout(action.timeoutMs);
    let res: Response;
    try {
      res = await fetch(action.url, {
        method: "POST",
        headers,
        body,
        redirect: "manual",
        signal: AbortSignal.any([signal, timeout]),
      });
    } catch (e) {
      if (timeout.aborted) throw new Error(`no answer from ${where} within ${action.timeoutMs} ms`);
      if (signal.aborted) throw new Error(`POST to ${where} aborted`);
      throw new Error(`POST to ${where} failed: ${connectionFailure(e)}`);
    }
    await res.body?.cancel().catch(() => {}); // the answer's body is not used; free the connection
    if (res.status >= 200 && res.status < 300) return;
    const what = `HTTP ${res.status} from ${where}`;
    if (res.status === 408 || res.status === 429 || res.status >= 500) throw new Error(what);
    if (res.status >= 300 && res.status < 400)
      throw new PermanentError(`${what}: redirects are not followed, configure the final URL`);
    throw new PermanentError(`${what}: request rejected, not retried`);
  };
}
