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
  }

  has(id: string): boolean {
    return this.queues.has(id);
  }

  join(id: string, caller: string, whisper: string): QueueTicket<CallSession> | undefined {
    return this.queues.get(id)?.join(caller, whisper);
  }

  config(id: string): QueueConfig | undefined {
    return this.queues.get(id)?.config;
  }

  snapshot(): QueueSnapshot[] {
    return [...this.queues.values()].map((q) => q.snapshot());
  }

  close(): void {
    for (const q of this.queues.values()) q.close();
  }

  private create(cfg: QueueConfig): CallQueue<CallSession> {
    const q: CallQueue<CallSession> = new CallQueue<CallSession>(cfg, {
      ring: async (member, entry, signal) => {
        const leg = await ringHuman(member, this.deps(), {
          whisper: entry.whisper,
          timeoutS: q.config.ringTimeoutS,
          signal,
        });
        return leg ? { leg, ended: leg.ended } : undefined;
      },
      drop: (a) => void a.leg.hangup("box", "the caller left before the member was connected"),
      callback: (entry, member) => void this.callBack(q.config, entry.callbackTo ?? entry.caller, member),
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
