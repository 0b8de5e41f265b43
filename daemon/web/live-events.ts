// The fan-out of live events to the admin page's event streams: every published event goes to every subscriber
// (or only to one user's, e.g. a ring for the staff member being rung). Each subscriber has a bounded backlog: a
// client that does not read its stream is dropped, never buffered without limit.
import type { MetricSample } from "../ops/metrics.ts";

export interface LiveEvent {
  /** Increases by one per published event (per-subscriber `first` events reuse the latest id). */
  id: number;
  event: string;
  data: unknown;
}

/**
 * Delivers one event. Returning a promise says "busy until it settles" (the transport is backed up): events that
 * arrive meanwhile wait in the subscriber's backlog. A rejected promise or a throw drops the subscriber.
 */
export type Send = (event: LiveEvent) => void | Promise<void>;

export interface SubscribeOptions {
  /** Delivered to this subscriber before anything else (the snapshot a new stream starts with). */
  first?: { event: string; data: unknown };
  /** The hub dropped this subscriber (slow client, too many streams, close()); end the stream. */
  onDrop?(reason: string): void;
}

interface Subscriber {
  user: string;
  send: Send;
  onDrop?: (reason: string) => void;
  backlog: LiveEvent[];
  busy: boolean;
  gone: boolean;
}

export class EventHub {
  private readonly subs = new Set<Subscriber>();
  private seq = 0;
  private published = 0;
  private delivered = 0;
  private dropped = 0;
  private readonly maxBacklog: number;
  private readonly maxPerUser: number;

  /** Called when a user's last stream is gone (the page was closed): the softphone stops ringing them. */
  private readonly userGone: (user: string) => void;

  constructor(opts: { maxBacklog?: number; maxPerUser?: number; userGone?: (user: string) => void } = {}) {
    this.maxBacklog = opts.maxBacklog ?? 256;
    this.maxPerUser = opts.maxPerUser ?? 8;
    this.userGone = opts.userGone ?? (() => {});
  }

  /** The user has at least one open stream. */
  online(user: string): boolean {
    for (const s of this.subs) if (s.user === user) return true;
    return false;
  }

  private left(user: string): void {
    if (!this.online(user)) this.userGone(user);
  }

  /** To every subscriber, or only to `user`'s. Never throws: a failing subscriber is dropped. */
  publish(event: string, data: unknown, opts: { user?: string } = {}): void {
    const e: LiveEvent = { id: ++this.seq, event, data };
    this.published++;
    for (const s of [...this.subs]) if (opts.user === undefined || s.user === opts.user) this.enqueue(s, e);
  }

  /** Returns the unsubscribe function. A user's oldest stream is dropped when they open more than maxPerUser. */
  subscribe(user: string, send: Send, opts: SubscribeOptions = {}): () => void {
    const mine = [...this.subs].filter((s) => s.user === user);
    for (const old of mine.slice(0, Math.max(0, mine.length - this.maxPerUser + 1)))
      this.drop(old, `more than ${this.maxPerUser} event streams for this user`);
    const s: Subscriber = { user, send, onDrop: opts.onDrop, backlog: [], busy: false, gone: false };
    this.subs.add(s);
    if (opts.first) this.enqueue(s, { id: this.seq, event: opts.first.event, data: opts.first.data });
    return () => {
      if (s.gone) return;
      s.gone = true;
      s.backlog.length = 0;
      this.subs.delete(s);
      this.left(user);
    };
  }

  /** End the streams of `user` (logged out, deleted) or of everybody (shutdown). */
  close(user?: string, reason = "closed"): void {
    for (const s of [...this.subs]) if (user === undefined || s.user === user) this.drop(s, reason);
  }

  stats(): { subscribers: number; published: number; delivered: number; dropped: number } {
    return { subscribers: this.subs.size, published: this.published, delivered: this.delivered, dropped: this.dropped };
  }

  private enqueue(s: Subscriber, e: LiveEvent): void {
    if (s.gone) return;
    if (s.backlog.length >= this.maxBacklog) {
      this.drop(s, `client too slow: more than ${this.maxBacklog} events waiting`);
      return;
    }
    s.backlog.push(e);
    this.pump(s);
  }

  /** Sends from the backlog until the subscriber is busy (backed up) or the backlog is empty. */
  private pump(s: Subscriber): void {
    while (!s.busy && !s.gone && s.backlog.length > 0) {
      const e = s.backlog.shift() as LiveEvent;
      let r: void | Promise<void>;
      try {
        r = s.send(e);
      } catch (err) {
        this.drop(s, `send failed: ${(err as Error).message}`);
        return;
      }
      this.delivered++;
      if (r instanceof Promise) {
        s.busy = true;
        r.then(
          () => {
            s.busy = false;
            this.pump(s);
          },
          (err: Error) => this.drop(s, `send failed: ${err.message}`),
        );
      }
    }
  }

  private drop(s: Subscriber, reason: string): void {
    if (s.gone) return;
    s.gone = true;
    s.backlog.length = 0;
    this.subs.delete(s);
    this.dropped++;
    try {
      s.onDrop?.(reason);
    } catch {
      // the stream is being torn down anyway
    }
    this.left(s.user);
  }
}

/** Prometheus samples of a hub (for the metrics endpoint's sources). */
export function hubMetrics(hub: EventHub): MetricSample[] {
  const s = hub.stats();
  return [
    { name: "switchboard_live_subscribers", help: "Open live event streams.", type: "gauge", value: s.subscribers },
    {
      name: "switchboard_live_events_total",
      help: "Live events published.",
      type: "counter",
      value: s.published,
    },
    {
      name: "switchboard_live_dropped_total",
      help: "Live event streams dropped (slow client, too many streams, logout).",
      type: "counter",
      value: s.dropped,
    },
  ];
}
