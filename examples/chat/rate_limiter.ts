/** Options for {@linkcode RateLimiter}. */
export interface RateLimiterOptions {
  /** Most events allowed in one window (default 20). */
  limit?: number;
  /** The window, in ms (default 10,000). */
  window?: number;
  /** The clock, in ms (default `Date.now`); tests pass their own. */
  now?: () => number;
}

/**
 * A sliding-window limit per key: at most `limit` events in any `window` ms.
 * Refused events do not count, so a user who waits gets through again.
 *
 * @example
 * ```ts
 * import { RateLimiter } from "./rate_limiter.ts";
 * const limiter = new RateLimiter({ limit: 2, window: 1000 });
 * console.log([limiter.take("ada"), limiter.take("ada"), limiter.take("ada")]); // [ true, true, false ]
 * ```
 */
export class RateLimiter {
  readonly #limit: number;
  readonly #window: number;
  readonly #now: () => number;
  readonly #events = new Map<string, number[]>();

  /**
   * Creates the limiter.
   *
   * @param options The limit, the window and the clock.
   */
  constructor(options: RateLimiterOptions = {}) {
    this.#limit = options.limit ?? 20;
    this.#window = options.window ?? 10_000;
    this.#now = options.now ?? Date.now;
  }

  /**
   * Counts an event for `key` if the limit allows it.
   *
   * @param key Whose event (a user name).
   * @returns `true` if allowed (and counted), `false` if refused.
   */
  take(key: string): boolean {
    const now = this.#now();
    const since = now - this.#window;
    let times = this.#events.get(key);
    if (!times) {
      if (this.#events.size >= 10_000) this.#sweep(since);
      this.#events.set(key, times = []);
    }
    while (times.length > 0 && times[0] <= since) times.shift();
    if (times.length >= this.#limit) return false;
    times.push(now);
    return true;
  }

  #sweep(since: number): void {
    for (const [key, times] of this.#events) {
      if (times.length === 0 || times[times.length - 1] <= since) this.#events.delete(key);
    }
  }
}
