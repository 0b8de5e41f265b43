// The state of every configured trunk with the detail of its last registration change (a registration itself keeps
// only the state), for the web page, the LEDs and the metrics. It follows the endpoint's trunk list, so a trunk added
// or removed by a reload shows up or disappears without a restart.
import { EventEmitter } from "node:events";
import type { RegistrationEvents, TrunkRegistration } from "./types.ts";

export interface TrunkState {
  id: string;
  /** A registration state (idle, registering, registered, failed, unregistered) or "static" (no REGISTER). */
  state: string;
  /** Why it is in that state: the registrar's answer, the retry time. */
  detail?: string;
}

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

/** What TrunkStates reads of the SIP endpoint. */
export interface TrunkSource {
  readonly trunks: readonly { id: string; register: boolean }[];
  readonly registrations: ReadonlyMap<string, TrunkRegistration>;
  on?(event: "trunks", listener: () => void): unknown;
  off?(event: "trunks", listener: () => void): unknown;
}

export interface TrunkStatesEvents {
  trunk: [state: TrunkState];
}

export class TrunkStates extends EventEmitter<TrunkStatesEvents> {
  private readonly details = new Map<string, string | undefined>();
  private readonly watched = new Map<TrunkRegistration, (...args: RegistrationEvents["state"]) => void>();
  private readonly onTrunks = () => this.follow();

  constructor(private readonly sip: TrunkSource) {
    super();
    sip.on?.("trunks", this.onTrunks);
    this.watch();
  }

  list(): TrunkState[] {
    this.watch();
    return this.sip.trunks.map((t) => this.stateOf(t));
  }

  /** Stop listening to the registrations and the trunk list. */
  close(): void {
    this.sip.off?.("trunks", this.onTrunks);
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

  /** The trunk list changed: let go of replaced registrations, watch new ones, and tell listeners every state. */
  private follow(): void {
    const current = new Set(this.sip.registrations.values());
    for (const [reg, l] of this.watched) {
      if (current.has(reg)) continue;
      reg.off("state", l);
      this.watched.delete(reg);
      this.details.delete(reg.trunkId);
    }
    this.watch();
    for (const t of this.sip.trunks) this.emit("trunk", this.stateOf(t));
  }

  private watch(): void {
    for (const [id, reg] of this.sip.registrations) {
      if (this.watched.has(reg)) continue;
      const l = (_state: RegistrationEvents["state"][0], detail: RegistrationDetail) => {
        this.details.set(id, describeRegistration(detail));
        this.emit("trunk", this.stateOf({ id, register: true }));
      };
      reg.on("state", l);
      this.watched.set(reg, l);
    }
  }
}
