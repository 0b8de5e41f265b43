// GET /api/live: what is happening right now — calls in progress (with their agent and state), the queues and the
// trunks' registration states. The event stream (/api/events) starts with the same content as its `snapshot`.
import { z } from "zod";
import type { LiveCall } from "../../calls/call-registry.ts";
import type { QueueSnapshot } from "../../calls/call-queue.ts";
import type { TrunkState } from "../../sip/trunk-states.ts";
import { type Route, route } from "../route.ts";

export interface LiveSnapshot {
  calls: LiveCall[];
  queues: QueueSnapshot[];
  trunks: TrunkState[];
}

export interface LiveDeps {
  registry: { live(): LiveCall[] };
  queues: { snapshot(): QueueSnapshot[] };
  trunks(): TrunkState[];
}

export const liveCallSchema = z.object({
  id: z.string(),
  direction: z.enum(["inbound", "outbound"]),
  caller: z.string(),
  did: z.string().optional(),
  agent: z.string().optional(),
  startedAt: z.number(),
  answeredAt: z.number().optional(),
  state: z.enum(["ringing", "talking", "queued", "transferred"]),
});

export const queueSnapshotSchema = z.object({
  id: z.string(),
  waiting: z.array(z.object({ id: z.string(), caller: z.string(), waitedMs: z.number(), callback: z.boolean() })),
  members: z.array(z.object({ member: z.string(), state: z.enum(["idle", "ringing", "busy"]) })),
});

export const trunkStateSchema = z.object({ id: z.string(), state: z.string(), detail: z.string().optional() });

export const liveSnapshotSchema = z.object({
  calls: z.array(liveCallSchema),
  queues: z.array(queueSnapshotSchema),
  trunks: z.array(trunkStateSchema),
});

export function liveSnapshot(deps: LiveDeps): LiveSnapshot {
  return { calls: deps.registry.live(), queues: deps.queues.snapshot(), trunks: deps.trunks() };
}

export function liveRoutes(deps: LiveDeps): Route[] {
  return [
    route({
      method: "GET",
      path: "/api/live",
      access: "staff",
      summary: "Calls in progress, queues and trunk states right now",
      tag: "live",
      response: liveSnapshotSchema,
      handle: () => liveSnapshot(deps),
    }),
  ];
}
