// DTMF from every source (RFC 4733, in-band, SIP INFO) merged into one queue the call's app reads from.

export class DigitQueue {
  private readonly digits: string[] = [];
  private waiter: ((d: string | undefined) => void) | undefined;
  private readonly listeners = new Set<(digit: string) => void>();

  /** Be told of every digit as it arrives (e.g. to cut a prompt short); returns the unsubscribe function. */
  subscribe(fn: (digit: string) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  push(digit: string): void {
    for (const fn of this.listeners) fn(digit);
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = undefined;
      w(digit);
    } else this.digits.push(digit);
  }

  /** Drop digits typed ahead, e.g. before a prompt whose answer must be fresh. */
  clear(): void {
    this.digits.length = 0;
  }

  get pending(): number {
    return this.digits.length;
  }

  /** Next digit, or undefined on timeout or abort. */
  next(timeoutMs: number, signal?: AbortSignal): Promise<string | undefined> {
    const queued = this.digits.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    if (signal?.aborted) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      const done = (d: string | undefined) => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
        this.waiter = undefined;
        resolve(d);
      };
      const onAbort = () => done(undefined);
      const timer = setTimeout(() => done(undefined), timeoutMs);
      signal?.addEventListener("abort", onAbort, { once: true });
      this.waiter = done;
    });
  }
}
