// The durable action outbox: every side effect a caller can trigger (webhook, e-mail, ...) is written here first, in
// the same SQLite file as the call, and delivered at least once by handlers registered per kind. A failed attempt is
// retried with capped exponential backoff; a permanent failure or exhausted attempts leave a visible dead letter that
// the web page can send back with retryDead. Receivers de-duplicate by the idempotency key, which every attempt repeats.
import { type Log, silentLog } from "../ops/log.ts";
import type { Db } from "./db.ts";

export type OutboxState = "pending" | "delivering" | "delivered" | "dead";

/** What the caller side learns from waitFor: the action happened, an attempt failed, or no answer yet. */
export type DeliveryOutcome = "delivered" | "failed" | "pending";

export interface OutboxItem {
  id: number;
  kind: string;
  payload: unknown;
  idempotencyKey: string;
  callId?: string;
  state: OutboxState;
  /** Attempts started so far (an attempt interrupted by a crash counts). */
  attempts: number;
  maxAttempts: number;
  /** The last failure, kept after a later success for the web page; never holds secrets (see safeErrorText). */
  lastError?: string;
  nextAttemptAt: number;
  createdAt: number;
  updatedAt: number;
  deliveredAt?: number;
}

export interface NewOutboxItem {
  kind: string;
  /** Anything JSON can hold; handlers validate it themselves. */
  payload: unknown;
  /** One key = one side effect: a second enqueue with it returns the first item's id. */
  idempotencyKey: string;
  callId?: string;
  maxAttempts?: number;
}

/** Delivers one item; resolves when the side effect really happened, throws otherwise. */
export type ActionHandler = (item: OutboxItem, signal: AbortSignal) => Promise<void>;

/** Thrown by a handler when retrying cannot help (rejected request, bad config): the item goes dead at once. */
export class PermanentError extends Error {
  override name = "PermanentError";
}

export interface OutboxOptions {
  /** Delay after the first failure; doubles per failure up to backoffCapMs. */
  backoffBaseMs?: number;
  backoffCapMs?: number;
  /** Default for items enqueued without their own. */
  maxAttempts?: number;
  /** Attempts running at once. */
  concurrency?: number;
  /** An attempt without a result by then counts as failed and its signal aborts, so stop() always ends. */
  attemptTimeoutMs?: number;
  log?: Log;
  /** Jitter source in [0, 1); tests may pin it. */
  random?: () => number;
}

interface Row {
  id: number;
  kind: string;
  payload: string;
  idempotency_key: string;
  call_id: string | null;
  state: OutboxState;
  attempts: number;
  max_attempts: number;
  last_error: string | null;
  next_attempt_at: number;
  created_at: number;
  updated_at: number;
  delivered_at: number | null;
}

function fromRow(r: Row): OutboxItem {
  return {
    id: r.id,
    kind: r.kind,
    payload: JSON.parse(r.payload),
    idempotencyKey: r.idempotency_key,
    callId: r.call_id ?? undefined,
    state: r.state,
    attempts: r.attempts,
    maxAttempts: r.max_attempts,
    lastError: r.last_error ?? undefined,
    nextAttemptAt: r.next_attempt_at,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    deliveredAt: r.delivered_at ?? undefined,
  };
}

/**
 * Delay before the next attempt after `failures` failed ones: base * 2^(failures-1), capped, with "equal jitter"
 * (half fixed, half random) so a receiver coming back is not hit by every item at the same instant, yet no retry
 * comes sooner than half the nominal delay.
 */
export function backoffDelay(failures: number, baseMs: number, capMs: number, random: () => number = Math.random) {
  const nominal = Math.min(capMs, baseMs * 2 ** Math.min(Math.max(failures - 1, 0), 40));
  return Math.round(nominal / 2 + random() * (nominal / 2));
}

/**
 * An error as text fit for the database and the web page: the message only (no stack), without URL credentials,
 * query strings (tokens ride there) or `password=...`-style pairs, and bounded in length.
 */
export function safeErrorText(e: unknown): string {
  const text = e instanceof Error ? e.message : String(e);
  return text
    .replace(/\b([a-z][a-z0-9+.-]*:\/\/)[^/\s@]*@/gi, "$1")
    .replace(/\b(https?:\/\/[^\s?#]*)[?#]\S*/gi, "$1")
    .replace(/\b(password|passwd|secret|token|authorization|api[-_]?key)(\s*[=:]\s*)\S+/gi, "$1$2[redacted]")
    .slice(0, 500);
}

// Longest sleep of the idle loop: the next due time is re-read at least this often.
const maxSleepMs = 60_000;

function positiveInt(name: string, v: number | undefined, fallback: number): number {
  const n = v ?? fallback;
  if (!Number.isInteger(n) || n < 1) throw new Error(`outbox: ${name} must be a positive integer (got ${v})`);
  return n;
}

export class Outbox {
  private readonly handlers = new Map<string, ActionHandler>();
  private readonly inFlight = new Set<Promise<void>>();
  private readonly waiters = new Map<number, Set<() => void>>();
  private readonly log: Log;
  private readonly random: () => number;
  private readonly baseMs: number;
  private readonly capMs: number;
  private readonly defaultMaxAttempts: number;
  private readonly concurrency: number;
  private readonly attemptTimeoutMs: number;
  private running = false;
  private timer: NodeJS.Timeout | undefined;

  private readonly insertStmt;
  private readonly idByKeyStmt;
  private readonly getStmt;
  private readonly dueStmt;
  private readonly nextDueStmt;
  private readonly claimStmt;
  private readonly deliveredStmt;
  private readonly failedStmt;
  private readonly recoverStmt;
  private readonly retryStmt;

  constructor(
    private readonly db: Db,
    opts: OutboxOptions = {},
  ) {
    this.baseMs = positiveInt("backoffBaseMs", opts.backoffBaseMs, 2000);
    this.capMs = positiveInt("backoffCapMs", opts.backoffCapMs, 600_000);
    if (this.capMs < this.baseMs) throw new Error("outbox: backoffCapMs must be >= backoffBaseMs");
    this.defaultMaxAttempts = positiveInt("maxAttempts", opts.maxAttempts, 12);
    this.concurrency = positiveInt("concurrency", opts.concurrency, 4);
    this.attemptTimeoutMs = positiveInt("attemptTimeoutMs", opts.attemptTimeoutMs, 60_000);
    this.log = opts.log ?? silentLog;
    this.random = opts.random ?? Math.random;

    this.insertStmt = db.prepare(
      `INSERT INTO outbox (kind, payload, idempotency_key, call_id, state, max_attempts, next_attempt_at, created_at,
         updated_at)
       VALUES (@kind, @payload, @key, @callId, 'pending', @maxAttempts, @now, @now, @now)
       ON CONFLICT (idempotency_key) DO NOTHING`,
    );
    this.idByKeyStmt = db.prepare("SELECT id FROM outbox WHERE idempotency_key = ?").pluck();
    this.getStmt = db.prepare("SELECT * FROM outbox WHERE id = ?");
    // Only kinds with a handler: an item nobody can deliver yet waits instead of failing.
    const registered = "kind IN (SELECT value FROM json_each(@kinds))";
    this.dueStmt = db.prepare(
      `SELECT * FROM outbox WHERE state = 'pending' AND next_attempt_at <= @now AND ${registered}
       ORDER BY next_attempt_at, id LIMIT @limit`,
    );
    this.nextDueStmt = db
      .prepare(`SELECT min(next_attempt_at) FROM outbox WHERE state = 'pending' AND ${registered}`)
      .pluck();
    this.claimStmt = db.prepare(
      `UPDATE outbox SET state = 'delivering', attempts = attempts + 1, updated_at = ?
       WHERE id = ? AND state = 'pending'`,
    );
    this.deliveredStmt = db.prepare(
      "UPDATE outbox SET state = 'delivered', delivered_at = @now, updated_at = @now WHERE id = @id",
    );
    this.failedStmt = db.prepare(
      `UPDATE outbox SET state = @state, last_error = @error, next_attempt_at = @next, updated_at = @now
       WHERE id = @id`,
    );
    this.recoverStmt = db.prepare(
      `UPDATE outbox SET state = 'pending', next_attempt_at = @now, updated_at = @now,
         last_error = 'interrupted by a restart during attempt ' || attempts
       WHERE state = 'delivering'`,
    );
    this.retryStmt = db.prepare(
      `UPDATE outbox SET state = 'pending', attempts = 0, next_attempt_at = @now, updated_at = @now
       WHERE id = @id AND state = 'dead'`,
    );
  }

  register(kind: string, handler: ActionHandler): void {
    this.handlers.set(kind, handler);
    this.wake();
  }

  /** Stores the item (or finds the one with the same idempotency key) and returns its id. Safe inside a transaction. */
  enqueue(item: NewOutboxItem): number {
    if (!item.kind) throw new Error("outbox: an item needs a kind");
    if (!item.idempotencyKey) throw new Error(`outbox: a ${item.kind} item needs an idempotency key`);
    const payload = JSON.stringify(item.payload);
    if (payload === undefined) throw new Error(`outbox: the ${item.kind} payload is not JSON`);
    const maxAttempts = positiveInt("maxAttempts", item.maxAttempts, this.defaultMaxAttempts);
    this.insertStmt.run({
      kind: item.kind,
      payload,
      key: item.idempotencyKey,
      callId: item.callId ?? null,
      maxAttempts,
      now: Date.now(),
    });
    this.wake();
    return this.idByKeyStmt.get(item.idempotencyKey) as number;
  }

  get(id: number): OutboxItem | undefined {
    const r = this.getStmt.get(id) as Row | undefined;
    return r && fromRow(r);
  }

  /** Newest first, for the web page. */
  list(opts: { state?: OutboxState; callId?: string; limit?: number } = {}): OutboxItem[] {
    const rows = this.db
      .prepare(
        `SELECT * FROM outbox WHERE (@state IS NULL OR state = @state) AND (@callId IS NULL OR call_id = @callId)
         ORDER BY id DESC LIMIT @limit`,
      )
      .all({ state: opts.state ?? null, callId: opts.callId ?? null, limit: opts.limit ?? 100 }) as Row[];
    return rows.map(fromRow);
  }

  /** Deletes delivered items older than `before` (epoch ms), for retention; dead letters stay until handled. */
  deleteDelivered(before: number): number {
    return this.db.prepare("DELETE FROM outbox WHERE state = 'delivered' AND delivered_at < ?").run(before).changes;
  }

  /** Sends a dead letter round again with a fresh attempt budget; false when the item is not dead. */
  retryDead(id: number): boolean {
    const moved = this.retryStmt.run({ id, now: Date.now() }).changes === 1;
    if (moved) this.wake();
    return moved;
  }

  /**
   * Waits at most timeoutMs for an outcome the caller can be told: "delivered"; "failed" once an attempt has failed
   * (whether a retry follows or the item is dead); "pending" when no attempt has ended by then.
   */
  waitFor(id: number, timeoutMs: number): Promise<DeliveryOutcome> {
    let known: DeliveryOutcome | undefined;
    try {
      known = this.outcome(id);
    } catch (e) {
      return Promise.reject(e);
    }
    if (known) return Promise.resolve(known);
    return new Promise((resolve) => {
      const set = this.waiters.get(id) ?? new Set();
      this.waiters.set(id, set);
      const finish = (o: DeliveryOutcome) => {
        clearTimeout(timer);
        set.delete(check);
        if (set.size === 0) this.waiters.delete(id);
        resolve(o);
      };
      const check = () => {
        const o = this.outcome(id);
        if (o) finish(o);
      };
      const timer = setTimeout(() => finish("pending"), timeoutMs);
      set.add(check);
    });
  }

  /** Starts delivering; items a crash left in "delivering" are attempted again (at least once). */
  start(): void {
    if (this.running) return;
    this.running = true;
    const recovered = this.recoverStmt.run({ now: Date.now() }).changes;
    if (recovered > 0) this.log.warn({ recovered }, "outbox: items interrupted by a restart are pending again");
    this.wake();
  }

  /** Stops taking new attempts and waits for those running (each bounded by attemptTimeoutMs). */
  async stop(): Promise<void> {
    this.running = false;
    clearTimeout(this.timer);
    this.timer = undefined;
    await Promise.allSettled([...this.inFlight]);
  }

  private outcome(id: number): DeliveryOutcome | undefined {
    const r = this.getStmt.get(id) as Row | undefined;
    if (!r) throw new Error(`outbox: no item ${id}`);
    if (r.state === "delivered") return "delivered";
    if (r.state === "dead" || (r.state === "pending" && r.attempts > 0)) return "failed";
    return undefined;
  }

  // Deferred, so an enqueue inside a transaction is looked at after the commit. Unref'd: an idle outbox alone does
  // not keep the process alive (attempts in flight do, through their own I/O and timeout).
  private wake(delayMs = 0): void {
    if (!this.running) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.pump();
    }, delayMs);
    this.timer.unref();
  }

  private pump(): void {
    if (!this.running) return;
    const kinds = JSON.stringify([...this.handlers.keys()]);
    const free = this.concurrency - this.inFlight.size;
    if (free <= 0) return; // a finishing attempt wakes the loop
    const now = Date.now();
    for (const r of this.dueStmt.all({ kinds, now, limit: free }) as Row[]) this.begin(r, now);
    if (this.inFlight.size >= this.concurrency) return;
    const next = this.nextDueStmt.get({ kinds }) as number | null;
    if (next !== null) this.wake(Math.min(Math.max(next - Date.now(), 0), maxSleepMs));
  }

  private begin(r: Row, now: number): void {
    if (this.claimStmt.run(now, r.id).changes !== 1) return;
    const item = fromRow({ ...r, state: "delivering", attempts: r.attempts + 1, updated_at: now });
    const handler = this.handlers.get(item.kind)!;
    const attempt = this.attempt(item, handler)
      .catch((e: unknown) => this.log.error({ outboxId: item.id, error: safeErrorText(e) }, "outbox: store failed"))
      .finally(() => {
        this.inFlight.delete(attempt);
        this.wake();
      });
    this.inFlight.add(attempt);
  }

  private async attempt(item: OutboxItem, handler: ActionHandler): Promise<void> {
    const abort = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const e = new Error(`no result within ${this.attemptTimeoutMs} ms`);
        abort.abort(e);
        reject(e);
      }, this.attemptTimeoutMs);
    });
    try {
      await Promise.race([handler(item, abort.signal), timeout]);
      this.deliveredStmt.run({ id: item.id, now: Date.now() });
      this.log.info({ outboxId: item.id, kind: item.kind, attempt: item.attempts }, "outbox: delivered");
    } catch (e) {
      this.failed(item, e);
    } finally {
      clearTimeout(timer);
    }
    const waiting = this.waiters.get(item.id);
    if (waiting) for (const check of [...waiting]) check();
  }

  private failed(item: OutboxItem, e: unknown): void {
    const error = safeErrorText(e);
    const now = Date.now();
    const dead = e instanceof PermanentError || item.attempts >= item.maxAttempts;
    const next = dead ? now : now + backoffDelay(item.attempts, this.baseMs, this.capMs, this.random);
    this.failedStmt.run({ id: item.id, state: dead ? "dead" : "pending", error, next, now });
    const fields = { outboxId: item.id, kind: item.kind, attempt: item.attempts, error };
    if (dead) this.log.error(fields, "outbox: dead letter (needs attention on the web page)");
    else this.log.warn({ ...fields, retryInMs: next - now }, "outbox: attempt failed, will retry");
  }
}
