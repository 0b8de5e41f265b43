// Connects what changes in the daemon (calls, queues, trunk registrations, health) to the live event hub, so every
// open admin page hears about it. main.ts calls wireLiveEvents once everything is started.
import type { CallEvent } from "../calls/call-registry.ts";
import type { QueueSnapshot } from "../calls/call-queue.ts";
import type { HealthReport } from "../ops/health.ts";
import type { TrunkState } from "../sip/trunk-states.ts";
import type { EventHub } from "./live-events.ts";

export interface LiveSources {
  hub: EventHub;
  registry: {
    on(event: "call", listener: (e: CallEvent) => void): unknown;
    off(event: "call", listener: (e: CallEvent) => void): unknown;
  };
  queues: { onChange(listener: (queues: QueueSnapshot[]) => void): () => void };
  trunks?: {
    on(event: "trunk", listener: (s: TrunkState) => void): unknown;
    off(event: "trunk", listener: (s: TrunkState) => void): unknown;
  };
  health?: {
    on(event: "health", listener: (r: HealthReport) => void): unknown;
    off(event: "health", listener: (r: HealthReport) => void): unknown;
  };
}

/** Forward call, queue, trunk and health changes to the hub; returns the function that undoes it. */
export function wireLiveEvents(src: LiveSources): () => void {
  const { hub } = src;
  const onCall = (e: CallEvent) => hub.publish("call", e);
  const onTrunk = (s: TrunkState) => hub.publish("trunk", s);
  const onHealth = (r: HealthReport) => hub.publish("health", r);
  src.registry.on("call", onCall);
  const offQueues = src.queues.onChange((queues) => hub.publish("queue", { queues }));
  src.trunks?.on("trunk", onTrunk);
  src.health?.on("health", onHealth);
  return () => {
    src.registry.off("call", onCall);
    offQueues();
    src.trunks?.off("trunk", onTrunk);
    src.health?.off("health", onHealth);
  };
}
