// All customer queues of the box over real calls: members are rung with ringHuman (SIP dial + whisper), answered
// members are bridged to the waiting caller, and call-back entries dial the customer (outbound whisper) once a member
// has picked up. A config reload reconfigures queues by id; callers already waiting stay where they are.
import type { QueueConfig } from "../flow/queues.ts";
import { queueTexts } from "../flow/queues.ts";
import type { Log } from "../ops/log.ts";
import { bridgeCalls, type CallSession } from "./call-session.ts";
import { type Answered, CallQueue, type QueueSnapshot, type QueueTicket } from "./call-queue.ts";
import { type RingDeps, ringHuman } from "./ring-human.ts";

export class QueueDesk {
  private readonly queues = new Map<string, CallQueue<CallSession>>();
  private readonly listeners = new Set<(queues: QueueSnapshot[]) => void>();
  private changePending = false;
  private lastShape = "";

  constructor(
    private readonly deps: () => RingDeps,
    private readonly log: Log,
  ) {}

  configure(configs: QueueConfig[]): void {
    for (const cfg of configs) {
      const q = this.queues.get(cfg.id);
      if (q) q.configure(cfg);
      else this.queues.set(cfg.id, this.create(cfg));
    }
    // A queue dropped from the config keeps serving the callers already in it, but takes nobody new.
    for (const [id, q] of this.queues) if (!configs.some((c) => c.id === id) && q.size === 0) this.queues.delete(id);
    this.changed();
  }

  has(id: string): boolean {
    return this.queues.has(id);
  }

  join(id: string, caller: string, whisper: string, callId?: string): QueueTicket<CallSession> | undefined {
    const ticket = this.queues.get(id)?.join(caller, whisper, callId);
    if (ticket) {
      this.changed();
      void ticket.done.then(() => this.changed());
    }
    return ticket;
  }

  config(id: string): QueueConfig | undefined {
    return this.queues.get(id)?.config;
  }

  snapshot(): QueueSnapshot[] {
    return [...this.queues.values()].map((q) => q.snapshot());
  }

  close(): void {
    for (const q of this.queues.values()) q.close();
    this.changed();
  }

  /**
   * `listener` gets every queue's snapshot after callers joined or left or members changed state (coalesced: one
   * call per burst of changes; the waiting time alone is no change). Returns the unsubscribe function.
   */
  onChange(listener: (queues: QueueSnapshot[]) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Called after anything that may move callers or members; the queue settles its state first. */
  private changed(): void {
    if (this.changePending || this.listeners.size === 0) return;
    this.changePending = true;
    setImmediate(() => {
      this.changePending = false;
      const queues = this.snapshot();
      const shape = JSON.stringify(
        queues.map((q) => [q.id, q.waiting.map((w) => [w.id, w.callback]), q.members.map((m) => [m.member, m.state])]),
      );
      if (shape === this.lastShape) return;
      this.lastShape = shape;
      for (const l of this.listeners) {
        try {
          l(queues);
        } catch (e) {
          this.log.warn({ err: (e as Error).message }, "queue change listener failed");
        }
      }
    });
  }

  private create(cfg: QueueConfig): CallQueue<CallSession> {
    const q: CallQueue<CallSession> = new CallQueue<CallSession>(cfg, {
      ring: async (member, entry, signal) => {
        this.changed(); // the queue marked the member ringing
        const leg = await ringHuman(member, this.deps(), {
          whisper: entry.whisper,
          timeoutS: q.config.ringTimeoutS,
          signal,
          linkedTo: entry.callId,
          card: { from: entry.caller, context: { caller: entry.caller, summary: entry.whisper, slots: {} } },
        }).finally(() => this.changed());
        if (!leg) return undefined;
        void leg.ended.then(() => this.changed()); // busy -> idle (wrap-up)
        return { leg, ended: leg.ended };
      },
      drop: (a) => void a.leg.hangup("box", "the caller left before the member was connected"),
      callback: (entry, member) => {
        this.changed();
        void this.callBack(q.config, entry.callbackTo ?? entry.caller, member);
      },
    });
    return q;
  }

  /** The member is on the line for a call back: dial the customer, greet them, bridge. */
  private async callBack(cfg: QueueConfig, number: string, member: Answered<CallSession>): Promise<void> {
    const deps = this.deps();
    const language = deps.config.speech.language;
    const customer = await ringHuman({ number }, deps, {
      whisper: cfg.outboundWhisper ?? queueTexts(language).outbound,
      timeoutS: 30,
      signal: member.leg.signal,
      linkedTo: member.leg.id,
      language,
    });
    if (!customer) {
      this.log.info({ queue: cfg.id }, "call back: the customer did not answer");
      member.leg.event(`call back to ${number}: no answer`);
      await member.leg.hangup("box", "call back not answered");
      return;
    }
    member.leg.event(`call back to ${number}: connected`);
    await bridgeCalls(member.leg, customer);
  }
}
