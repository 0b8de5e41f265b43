// The calls in progress: admission (limits, draining on shutdown), lookup for metrics, and orderly teardown.
import type { CallSession } from "./call-session.ts";

export class CallRegistry {
  private readonly active = new Map<string, CallSession>();
  private draining = false;
  /** Calls offered to the box (every one has a CDR row), and of those the ones answered. */
  offered = 0;
  answered = 0;

  constructor(private readonly maxCalls: number) {}

  /** Why a new call cannot be taken now (SIP status and reason), or undefined when it can. */
  admission(): { status: number; reason: string } | undefined {
    if (this.draining) return { status: 503, reason: "Service Unavailable" };
    if (this.active.size >= this.maxCalls) return { status: 486, reason: "Busy Here" };
    return undefined;
  }

  add(call: CallSession): void {
    this.active.set(call.id, call);
    this.answered++;
    void call.ended.then(() => this.active.delete(call.id));
  }

  get size(): number {
    return this.active.size;
  }

  list(): CallSession[] {
    return [...this.active.values()];
  }

  /** Stop admitting, hang up every call, and wait (bounded) until their records are written. */
  async drain(timeoutMs: number): Promise<void> {
    this.draining = true;
    const calls = this.list();
    await Promise.all(calls.map((c) => c.hangup("system", "shutdown")));
    const all = Promise.all(calls.map((c) => c.ended));
    await Promise.race([all, new Promise((r) => setTimeout(r, timeoutMs).unref())]);
  }
}
