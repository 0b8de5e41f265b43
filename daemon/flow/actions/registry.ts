// The actions a config defines, bound to the outbox: a flow names an action by id, the outbox item carries only that
// id and the data (never a URL secret or password), and the handlers look the settings up when they deliver.
import { z } from "zod";
import { slug } from "../ids.ts";
import type { DeliveryOutcome, Outbox } from "../../store/outbox.ts";
import { mailActionSchema, mailHandler, mailItem, mailKind } from "./mail.ts";
import { webhookActionSchema, webhookHandler, webhookItem, webhookKind } from "./webhook.ts";

export const actionSchema = z
  .object({
    id: slug,
    /** POST the captured data as JSON, signed with HMAC-SHA256 when a secret is set. */
    webhook: webhookActionSchema.optional(),
    /** Send the captured data as an e-mail over SMTP. */
    mail: mailActionSchema.optional(),
  })
  .strict()
  .refine((a) => (a.webhook ? 1 : 0) + (a.mail ? 1 : 0) === 1, { message: "needs exactly one of webhook or mail" });
export type ActionConfig = z.infer<typeof actionSchema>;

/** Registers the handlers and returns what the flow calls: queue the action, wait (bounded) for its first delivery. */
export function bindActions(
  outbox: Outbox,
  actions: readonly ActionConfig[],
): (id: string, data: Record<string, string>, key: string, waitMs: number) => Promise<DeliveryOutcome> {
  const byId = new Map(actions.map((a) => [a.id, a]));
  outbox.register(
    webhookKind,
    webhookHandler((id) => byId.get(id)?.webhook),
  );
  outbox.register(
    mailKind,
    mailHandler((id) => byId.get(id)?.mail),
  );
  return async (id, data, key, waitMs) => {
    const a = byId.get(id);
    if (!a) return "failed";
    const common = { target: id, idempotencyKey: key, callId: data.call_id };
    const item = a.webhook
      ? webhookItem({ ...common, event: "flow.action", data })
      : mailItem({ ...common, fields: data });
    return outbox.waitFor(outbox.enqueue(item), waitMs);
  };
}
