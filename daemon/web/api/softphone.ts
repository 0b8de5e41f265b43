// The browser softphone's signalling: a staff user calls an agent from the page (test call), offers themselves as a
// human target ("browser:NAME", "browser:*"), and answers, holds, declines and hangs up browser calls. SDP is
// offer/answer in one request each (non-trickle ICE: the browser gathers before it sends its offer). Rings arrive
// as SSE `ring`/`ring-cancel` events, call state as `softphone` events.
import { z } from "zod";
import { HttpError, type Route, type RouteContext, route } from "../route.ts";
import { type Softphone, SoftphoneError } from "../softphone/softphone.ts";

export interface SoftphoneDeps {
  softphone: Softphone;
}

// a browser's audio-only offer with host candidates is 2-6 kB; video or many interfaces stay well under 64 kB
const sdp = z.string().min(10).max(65_536);
const callId = z.string().regex(/^[0-9a-f-]{36}$/, "a call id");
const agent = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,63}$/i, "an agent id");

const cardSchema = z.object({
  from: z.string(),
  context: z.object({
    caller: z.string(),
    intent: z.string().optional(),
    summary: z.string(),
    slots: z.record(z.string(), z.string()),
  }),
  whisper: z.string().optional(),
});

const stateSchema = z.object({
  available: z.boolean(),
  rings: z.array(cardSchema.extend({ callId: z.string() })),
  calls: z.array(
    z.object({ callId: z.string(), kind: z.enum(["test", "staff"]), state: z.string(), held: z.boolean() }),
  ),
});

function userOf(ctx: RouteContext): string {
  if (!ctx.user) throw new HttpError(401, "not logged in", "session");
  return ctx.user.name;
}

/** The softphone's refusals as HTTP errors; anything else stays a 500. */
async function answering<T>(f: () => T | Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (e) {
    if (e instanceof SoftphoneError) throw new HttpError(e.status, e.message, e.where);
    throw e;
  }
}

export function softphoneRoutes(deps: SoftphoneDeps): Route[] {
  const { softphone } = deps;
  return [
    route({
      method: "GET",
      path: "/api/softphone",
      access: "staff",
      summary: "The caller's softphone state: available or not, calls ringing for them, their browser calls",
      tag: "softphone",
      response: stateSchema,
      handle: (ctx) => softphone.state(userOf(ctx)),
    }),
    route({
      method: "POST",
      path: "/api/softphone/test-call",
      access: "staff",
      summary: "Call an agent from the browser: send the WebRTC offer, get the answer (non-trickle ICE)",
      tag: "softphone",
      body: z.object({ agent, sdp }).strict(),
      response: z.object({ callId: z.string(), sdp: z.string() }),
      handle: (ctx) =>
        answering(() => softphone.testCall(userOf(ctx), ctx.body.agent, ctx.body.sdp, { address: ctx.remoteAddress })),
    }),
    route({
      method: "POST",
      path: "/api/softphone/available",
      access: "staff",
      summary: 'Take (or stop taking) calls in this browser as human target "browser:NAME" and "browser:*"',
      tag: "softphone",
      body: z.object({ available: z.boolean() }).strict(),
      response: z.object({ available: z.boolean() }),
      handle: (ctx) => {
        const user = userOf(ctx);
        softphone.setAvailable(user, ctx.body.available);
        return { available: softphone.isAvailable(user) };
      },
    }),
    route({
      method: "POST",
      path: "/api/softphone/answer",
      access: "staff",
      summary: "Answer a call ringing in this browser: send the WebRTC offer, get the answer",
      tag: "softphone",
      body: z.object({ callId, sdp }).strict(),
      response: z.object({ sdp: z.string() }),
      handle: (ctx) => answering(() => softphone.answer(userOf(ctx), ctx.body.callId, ctx.body.sdp)),
    }),
    route({
      method: "POST",
      path: "/api/softphone/hold",
      access: "staff",
      summary: "Put a browser call on hold (the caller is not heard and hears nothing from the browser) or resume",
      tag: "softphone",
      body: z.object({ callId, hold: z.boolean() }).strict(),
      handle: (ctx) => answering(() => softphone.hold(userOf(ctx), ctx.body.callId, ctx.body.hold)),
    }),
    route({
      method: "POST",
      path: "/api/softphone/decline",
      access: "staff",
      summary: "Do not take a call ringing in this browser",
      tag: "softphone",
      body: z.object({ callId }).strict(),
      handle: (ctx) => answering(() => softphone.decline(userOf(ctx), ctx.body.callId)),
    }),
    route({
      method: "POST",
      path: "/api/softphone/hangup",
      access: "staff",
      summary: "Hang up a browser call (a ringing one is declined)",
      tag: "softphone",
      body: z.object({ callId }).strict(),
      handle: (ctx) => answering(() => softphone.hangup(userOf(ctx), ctx.body.callId)),
    }),
  ];
}
