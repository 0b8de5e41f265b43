// The calls in progress: admission (limits, draining on shutdown), lookup for metrics, orderly teardown, and the
// live view of each call (caller, agent, state) that the admin page shows and receives as `call` events.
import { EventEmitter } from "node:events";
import type { CallSession } from "./call-session.ts";

export type LiveCallState = "ringing" | "talking" | "queued" | "transferred";

/** What the live view shows of one call in progress. */
export interface LiveCall {
  /** The call's record id (the same as /api/calls/:id). */
  id: string;
  direction: "inbound" | "outbound";
  caller: string;
  did?: string;
  /** The agent serving the call now (the flow may hand over to another). */
  agent?: string;
  startedAt: number;
  answeredAt?: number;
  state: LiveCallState;
}

/**
 * started: the registry took the call; answered: a ringing call was answered; agent: another agent took over;
 * state: queued / transferred / back to talking; ended: the call is over (the last view of it).
 */
export type CallEventType = "started" | "answered" | "agent" | "state" | "ended";
export interface CallEvent {
  type: CallEventType;
  call: LiveCall;
}

export interface CallRegistryEvents {
  call: [event: CallEvent];
}

/** What the registry reads of a call (CallSession has it all; tests use fakes). */
export type RegisteredCall = Pick<CallSession, "id" | "direction" | "from" | "did" | "ended" | "hangup">;

export class CallRegistry<C extends RegisteredCall = CallSession> extends EventEmitter<CallRegistryEvents> {
  private readonly active = new Map<string, { call: C; live: LiveCall }>();
  private draining = false;
  /** Calls offered to the box (every one has a CDR row), and of those the ones answered. */
  offered = 0;
  answered = 0;

  constructor(
    private readonly maxCalls: number,
    private readonly now: () => number = Date.now,
  ) {
    super();
  }

  /** Why a new call cannot be taken now (SIP status and reason), or undefined when it can. */
  admission(): { status: number; reason: string } | undefined {
    if (this.draining) return { status: 503, reason: "Service Unavailable" };
    if (this.active.size >= this.maxCalls) return { status: 486, reason: "Busy Here" };
    return undefined;
  }

  /**
   * Track a call until `call.ended` resolves. By default it was just answered (what CallSession.answer returns);
   * `state: "ringing"` tracks it before that, and setState(id, "talking") marks it answered.
   */
  add(call: C, opts: { startedAt?: number; agent?: string; state?: LiveCallState } = {}): void {
    const at = this.now();
    const state = opts.state ?? "talking";
    const live: LiveCall = {
      id: call.id,
      direction: call.direction,
      caller: call.from ?? "anonymous",
      startedAt: opts.startedAt ?? at,
      state,
    };
    if (call.did) live.did = call.did;
    if (opts.agent) live.agent = opts.agent;
    if (state !== "ringing") {
      live.answeredAt = at;
      this.answered++;
    }
    this.active.set(call.id, { call, live });
    this.publish("started", live);
    void call.ended.then(() => {
      const entry = this.active.get(call.id);
      if (entry?.call !== call) return;
      this.active.delete(call.id);
      this.publish("ended", entry.live);
    });
  }

  /** The agent now serving the call; no event when it is the same one. */
  setAgent(id: string, agent: string): void {
    const entry = this.active.get(id);
    if (!entry || entry.live.agent === agent) return;
    entry.live.agent = agent;
    this.publish("agent", entry.live);
  }

  /** Queued, transferred, talking again; the first move out of "ringing" is the answer. */
  setState(id: string, state: LiveCallState): void {
    const entry = this.active.get(id);
    if (!entry || entry.live.state === state) return;
    const answering = entry.live.answeredAt === undefined && state !== "ringing";
    entry.live.state = state;
    if (answering) {
      entry.live.answeredAt = this.now();
      this.answered++;
    }
    this.publish(answering ? "answered" : "state", entry.live);
  }

  get size(): number {
    return this.active.size;
  }

  list(): C[] {
    return [...this.active.values()].map((e) => e.call);
  }

  /** The live view of every call in progress, oldest first (copies: callers may keep them). */
  live(): LiveCall[] {
    return [...this.active.values()].map((e) => ({ ...e.live }));
  }

  /** Stop admitting, hang up every call, and wait (bounded) until their records are written. */
  async drain(timeoutMs: number): Promise<void> {
    this.draining = true;
    const calls = this.list();
    await Promise.all(calls.map((c) => c.hangup("system", "shutdown")));
    const all = Promise.all(calls.map((c) => c.ended));
    await Promise.race([all, new Promise((r) => setTimeout(r, timeoutMs).unref())]);
  }

  private publish(type: CallEventType, live: LiveCall): void {
    this.emit("call", { type, call: { ...live } });
  }
}
