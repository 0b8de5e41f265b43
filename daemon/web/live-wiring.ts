// Connects what changes in the daemon (calls, queues, trunk registrations, health) to the live event hub, so every
// open admin page hears about it. main.ts calls wireLiveEvents once everything is started.
import { EventEmitter } from "node:events";
import type { CallEvent } from "../calls/call-registry.ts";
import type { QueueSnapshot } from "../calls/call-queue.ts";
import type { HealthReport } from "../ops/health.ts";
import type { RegistrationEvents, TrunkRegistration } from "../sip/types.ts";
import type { TrunkState } from "./api/live.ts";
import type { EventHub } from "./live-events.ts";

type RegistrationDetail = RegistrationEvents["state"][1];

/** "403 Forbidden, retry in 60 s": the registrar's answer and what happens next, for people. */
export function describeRegistration(d: RegistrationDetail): string | undefined {
  const parts: string[] = [];
  const answer = [d.status, d.reason].filter((x) => x !== undefined && x !== "").join(" ");
  if (answer) parts.push(answer);
  if (d.expiresS !== undefined) parts.push(`expires in ${d.expiresS} s`);
  if (d.retryInS !== undefined) parts.push(`retry in ${d.retryInS} s`);
  return parts.length ? parts.join(", ") : undefined;
}

export interface TrunkStatesEvents {
  trunk: [state: TrunkState];
}

/**
 * The state of every configured trunk with the detail of its last registration change (the registration itself only
 * keeps the state). Trunks that do not register are "static". Registrations exist once SipEndpoint.start() ran;
 * ones that appear later are picked up by list().
 */
export class TrunkStates extends EventEmitter<TrunkStatesEvents> {
  private readonly details = new Map<string, string | undefined>();
  private readonly watched = new Map<TrunkRegistration, (...args: RegistrationEvents["state"]) => void>();

  constructor(
    private readonly trunks: readonly { id: string; register: boolean }[],
    private readonly sip: { readonly registrations: ReadonlyMap<string, TrunkRegistration> },
  ) {
    super();
    this.watch();
  }

  list(): TrunkState[] {
    this.watch();
    return this.trunks.map((t) => this.stateOf(t));
  }

  /** Stop listening to the registrations. */
  close(): void {
    for (const [reg, l] of this.watched) reg.off("state", l);
    this.watched.clear();
  }

  private stateOf(t: { id: string; register: boolean }): TrunkState {
    const reg = this.sip.registrations.get(t.id);
    if (!reg) return { id: t.id, state: t.register ? "idle" : "static" };
    const s: TrunkState = { id: t.id, state: reg.state };
    const detail = this.details.get(t.id);
    if (detail) s.detail = detail;
    return s;
  }

  private watch(): void {
    for (const [id, reg] of this.sip.registrations) {
      if (this.watched.has(reg)) continue;
      const l = (state: RegistrationEvents["state"][0], detail: RegistrationDetail) => {
        this.details.set(id, describeRegistration(detail));
        const s: TrunkState = { id, state };
        const d = this.details.get(id);
        if (d) s.detail = d;
        this.emit("trunk", s);
      };
      reg.on("state", l);
      this.watched.set(reg, l);
    }
  }
}

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
