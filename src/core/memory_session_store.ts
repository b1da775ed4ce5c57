import type { ResumeSessionRecord, SessionStore } from "./session_store.ts";

/** Bounds of a {@linkcode MemorySessionStore}. */
export interface MemorySessionStoreOptions {
  /** Most sessions kept (default 10,000): past it, the one kept least recently goes. */
  maxSessions?: number;
  /** The clock, in ms (default `Date.now`). */
  now?: () => number;
}

/**
 * Resumable sessions in this process's memory: the default. Records are
 * kept as they are (not serialized: `ws.data` may be anything), bounded by
 * count; an expired record is never returned.
 *
 * @example
 * ```ts
 * import { MemorySessionStore } from "@edgesocket/edgesocket";
 * const sessions = new MemorySessionStore({ maxSessions: 50_000 });
 * console.log(sessions.size); // 0
 * ```
 */
export class MemorySessionStore implements SessionStore {
  #records = new Map<string, ResumeSessionRecord>();
  readonly #maxSessions: number;
  readonly #now: () => number;

  /**
   * Creates an empty store.
   *
   * @param options Its bound.
   * @throws {RangeError} For a bound that is not a positive number.
   */
  constructor(options: MemorySessionStoreOptions = {}) {
    const max = options.maxSessions ?? 10_000;
    if (!(max > 0)) throw new RangeError(`maxSessions must be a positive number, got ${max}`);
    this.#maxSessions = max;
    this.#now = options.now ?? Date.now;
  }

  /** The number of sessions kept. */
  get size(): number {
    return this.#records.size;
  }

  /**
   * Finds a session that has not expired.
   *
   * @param key The SHA-256 of its token, hex.
   * @returns The record, or `undefined`.
   */
  get(key: string): ResumeSessionRecord | undefined {
    const record = this.#records.get(key);
    if (record?.expires !== undefined && record.expires <= this.#now()) {
      this.#records.delete(key);
      return undefined;
    }
    return record;
  }

  /**
   * Keeps a session, the most recent last.
   *
   * @param key The SHA-256 of its token, hex.
   * @param record The record.
   */
  set(key: string, record: ResumeSessionRecord): void {
    this.#records.delete(key);
    this.#records.set(key, record);
    if (this.#records.size > this.#maxSessions) {
      this.#records.delete(this.#records.keys().next().value as string);
    }
  }

  /**
   * Forgets a session.
   *
   * @param key The SHA-256 of its token, hex.
   */
  delete(key: string): void {
    this.#records.delete(key);
  }
}
