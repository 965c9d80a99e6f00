// The rate limit's counts, kept on the monotonic clock. The plugin's own store times its windows by
// the wall clock: a backward step of it (an NTP correction, a virtual machine resumed) left every
// window then open open for the length of the step, and each key that reached its allowance in it
// refused for as long (an hour back, an hour of 429s).
import { performance } from 'node:perf_hooks';

/** One key's window: when it opened (ms on the monotonic clock) and the requests counted in it. */
interface Window {
  start: number;
  count: number;
}

type Answer = (err: Error | null, res: { current: number; ttl: number }) => void;

/**
 * A store for @fastify/rate-limit: fixed windows of `timeWindow` ms per key, opened by a key's first
 * request, timed by `performance.now()`. Windows that have ended are swept at most once a window, when
 * a new key comes: memory holds the keys seen within about two windows.
 */
export class MonotonicRateStore {
  private readonly windows = new Map<string, Window>();
  private nextSweep = 0;

  /** The plugin calls it with its settings, which it does not need; `now` is for tests. */
  constructor(_settings?: unknown, private readonly now: () => number = () => performance.now()) {}

  incr(key: string, answer: Answer, timeWindow: number): void {
    const now = this.now();
    let w = this.windows.get(key);
    if (w === undefined) {
      this.sweep(now, timeWindow);
      w = { start: now, count: 0 };
      this.windows.set(key, w);
    } else if (now - w.start >= timeWindow) {
      w.start = now;
      w.count = 0;
    }
    w.count += 1;
    answer(null, { current: w.count, ttl: Math.ceil(w.start + timeWindow - now) });
  }

  /** The count without counting (the plugin's `increment: false`). */
  read(key: string, answer: Answer, timeWindow: number): void {
    const now = this.now();
    const w = this.windows.get(key);
    if (w === undefined || now - w.start >= timeWindow) answer(null, { current: 0, ttl: 0 });
    else answer(null, { current: w.count, ttl: Math.ceil(w.start + timeWindow - now) });
  }

  /** A route with settings of its own counts apart (the plugin asks for a child per such route). */
  child(): MonotonicRateStore {
    return new MonotonicRateStore(undefined, this.now);
  }

  /** Keys held (for tests). */
  get size(): number {
    return this.windows.size;
  }

  private sweep(now: number, timeWindow: number): void {
    if (now < this.nextSweep) return;
    this.nextSweep = now + timeWindow;
    for (const [key, w] of this.windows) if (now - w.start >= timeWindow) this.windows.delete(key);
  }
}
