// The runtime of one customer queue: callers wait first come, first served; free members are rung (all at once,
// or one after the other); the first member to answer takes the caller at the head. A member is busy until the
// call ends plus the wrap-up time. A caller may leave the line and keep the place (call back): when their turn
// comes the member answers first and the queue hands both to `callback`. How a member is rung (SIP dial + whisper)
// is injected, so the dispatching is tested without SIP and later serves browser staff and the handset alike.
import type { QueueConfig, QueueMember } from "../flow/queues.ts";

export interface QueueEntry {
  id: string;
  caller: string;
  /** Told to the member before the caller is connected. */
  whisper: string;
  joinedAt: number;
  /** The caller left the line; the queue calls them back on this number. */
  callbackTo?: string;
  /** The caller's call record: members' legs are linked to it. */
  callId?: string;
}

export interface Answered<A> {
  leg: A;
  /** Resolves when the member's call is over (then the wrap-up time starts). */
  ended: Promise<void>;
}

/** Ring one member for one entry; undefined when they did not answer. Must stop ringing when `signal` aborts. */
export type Ring<A> = (member: QueueMember, entry: QueueEntry, signal: AbortSignal) => Promise<Answered<A> | undefined>;

export type QueueOutcome<A> =
  | { kind: "connected"; answered: Answered<A> }
  | { kind: "timeout" }
  | { kind: "left" }
  | { kind: "callback" };

export interface QueueTicket<A> {
  readonly entry: QueueEntry;
  /** 1 = next; 0 once the entry is no longer waiting. */
  position(): number;
  readonly done: Promise<QueueOutcome<A>>;
  /** The caller hung up or gave up. */
  leave(): void;
  /** Keep the place, drop the line: the queue calls back on `number` when it is this entry's turn. */
  callback(number: string): void;
}

export interface QueueSnapshot {
  id: string;
  waiting: { id: string; caller: string; waitedMs: number; callback: boolean }[];
  members: { member: string; state: "idle" | "ringing" | "busy" }[];
}

interface Waiting<A> {
  entry: QueueEntry;
  ringing?: AbortController;
  settle(o: QueueOutcome<A>): void;
  timer?: ReturnType<typeof setTimeout>;
}

interface MemberState {
  member: QueueMember;
  key: string;
  state: "idle" | "ringing" | "busy";
  readyAt: number;
}

/** A member whose ring failed at once (404, unreachable) is not rung again for this long. */
const RETRY_MS = 2000;

export class CallQueue<A> {
  private cfg: QueueConfig;
  private readonly waiting: Waiting<A>[] = [];
  private members: MemberState[] = [];
  private next = 0;
  private wake: ReturnType<typeof setTimeout> | undefined;
  private closed = false;
  private seq = 0;

  constructor(
    cfg: QueueConfig,
    private readonly opts: {
      ring: Ring<A>;
      /** An answered member nobody waits for any more (the caller left in the same moment): hang them up. */
      drop(a: Answered<A>): void;
      /** A call-back entry's turn: the member is on the line, now call the customer. */
      callback(entry: QueueEntry, answered: Answered<A>): void;
      now?: () => number;
    },
  ) {
    this.cfg = cfg;
    this.configure(cfg);
  }

  get id(): string {
    return this.cfg.id;
  }
  get config(): QueueConfig {
    return this.cfg;
  }
  get size(): number {
    return this.waiting.length;
  }

  /** A new config version: members are matched by address, so one on a call stays busy. */
  configure(cfg: QueueConfig): void {
    this.cfg = cfg;
    const old = new Map(this.members.map((m) => [m.key, m]));
    this.members = cfg.members.map((member) => {
      const key = memberKey(member);
      return old.get(key) ?? { member, key, state: "idle" as const, readyAt: 0 };
    });
    this.pump();
  }

  /** Undefined when the queue is full (the caller gets the fallback at once). */
  join(caller: string, whisper: string, callId?: string): QueueTicket<A> | undefined {
    if (this.closed || this.waiting.length >= this.cfg.maxWaiting) return undefined;
    const entry: QueueEntry = { id: `${this.cfg.id}-${++this.seq}`, caller, whisper, joinedAt: this.now(), callId };
    let settle!: (o: QueueOutcome<A>) => void;
    const done = new Promise<QueueOutcome<A>>((r) => {
      settle = r;
    });
    const w: Waiting<A> = {
      entry,
      settle: (o) => {
        if (w.timer) clearTimeout(w.timer);
        settle(o);
      },
    };
    w.timer = setTimeout(() => this.remove(w, { kind: "timeout" }), this.cfg.maxWaitS * 1000);
    this.waiting.push(w);
    this.pump();
    return {
      entry,
      done,
      position: () => this.waiting.indexOf(w) + 1,
      leave: () => this.remove(w, { kind: "left" }),
      callback: (number) => {
        if (!this.waiting.includes(w)) return;
        entry.callbackTo = number;
        // A waiting call back has no line to hold: it does not time out, it waits for its turn.
        if (w.timer) clearTimeout(w.timer);
        w.settle({ kind: "callback" });
      },
    };
  }

  snapshot(): QueueSnapshot {
    const now = this.now();
    return {
      id: this.cfg.id,
      waiting: this.waiting.map((w) => ({
        id: w.entry.id,
        caller: w.entry.caller,
        waitedMs: now - w.entry.joinedAt,
        callback: w.entry.callbackTo !== undefined,
      })),
      members: this.members.map((m) => ({ member: m.key, state: m.state })),
    };
  }

  /** Shutdown: nobody is rung any more; waiting callers are let go. */
  close(): void {
    this.closed = true;
    if (this.wake) clearTimeout(this.wake);
    for (const w of [...this.waiting]) this.remove(w, { kind: "left" });
  }

  private now(): number {
    return this.opts.now?.() ?? Date.now();
  }

  private remove(w: Waiting<A>, o: QueueOutcome<A>): void {
    const i = this.waiting.indexOf(w);
    if (i < 0) return;
    this.waiting.splice(i, 1);
    w.ringing?.abort();
    w.settle(o);
    this.pump();
  }

  /** Give free members to waiting entries in order: ring-all gives the head every free member. */
  private pump(): void {
    if (this.closed) return;
    if (this.wake) clearTimeout(this.wake);
    this.wake = undefined;
    const now = this.now();
    for (const w of this.waiting) {
      if (w.ringing) continue;
      const free = this.members.filter((m) => m.state === "idle" && m.readyAt <= now);
      if (free.length === 0) break;
      const pick = this.cfg.strategy === "ringall" ? free : [this.roundRobin(free)];
      this.ring(w, pick);
    }
    // Members resting (wrap-up, failed ring) wake the queue when they are ready.
    const resting = this.members.filter((m) => m.state === "idle" && m.readyAt > now);
    if (resting.length && this.waiting.some((w) => !w.ringing)) {
      const at = Math.min(...resting.map((m) => m.readyAt));
      this.wake = setTimeout(() => this.pump(), Math.max(10, at - now));
    }
  }

  private roundRobin(free: MemberState[]): MemberState {
    for (let k = 0; k < this.members.length; k++) {
      const m = this.members[(this.next + k) % this.members.length] as MemberState;
      if (free.includes(m)) {
        this.next = (this.members.indexOf(m) + 1) % this.members.length;
        return m;
      }
    }
    return free[0] as MemberState;
  }

  private ring(w: Waiting<A>, members: MemberState[]): void {
    const ac = new AbortController();
    w.ringing = ac;
    const timeout = setTimeout(() => ac.abort(), this.cfg.ringTimeoutS * 1000);
    let winner: MemberState | undefined;
    for (const m of members) m.state = "ringing";
    const attempts = members.map(async (m) => {
      const started = this.now();
      let a: Answered<A> | undefined;
      try {
        a = await this.opts.ring(m.member, w.entry, ac.signal);
      } catch {
        a = undefined;
      }
      if (a && !winner && this.waiting.includes(w)) {
        winner = m;
        m.state = "busy";
        ac.abort(); // the others stop ringing
        this.take(w, m, a);
        return;
      }
      if (a) this.opts.drop(a);
      if (m.state === "ringing") {
        m.state = "idle";
        if (this.now() - started < RETRY_MS) m.readyAt = this.now() + RETRY_MS;
      }
    });
    void Promise.all(attempts).then(() => {
      clearTimeout(timeout);
      if (w.ringing === ac) w.ringing = undefined;
      this.pump();
    });
  }

  private take(w: Waiting<A>, m: MemberState, a: Answered<A>): void {
    const i = this.waiting.indexOf(w);
    this.waiting.splice(i, 1);
    if (w.entry.callbackTo !== undefined) this.opts.callback(w.entry, a);
    else w.settle({ kind: "connected", answered: a });
    void a.ended.then(() => {
      m.state = "idle";
      m.readyAt = this.now() + this.cfg.wrapUpS * 1000;
      this.pump();
    });
  }
}

export function memberKey(m: QueueMember): string {
  if ("browser" in m) return `browser:${m.browser}`;
  if ("handset" in m) return "handset:";
  return "sip" in m ? m.sip : m.number;
}
