/**
 * Resumable sessions in a Durable Object's SQLite storage: a session whose
 * client dropped outlives the object's eviction, and resumes in the next
 * instance.
 *
 * @module
 */
import type { ResumeSessionRecord, SessionStore } from "../core/session_store.ts";
import {
  type DurableObjectSqlStorage,
  type DurableObjectSqlValue,
  sqlName,
} from "./durable_object_history_store.ts";

/** Options for {@linkcode DurableObjectSessionStore}. */
export interface DurableObjectSessionStoreOptions {
  /**
   * Most sessions kept (default 10,000): past it, the one that would expire
   * first goes (a waiting session nearest its end before any connected one).
   */
  maxSessions?: number;
  /**
   * Largest record, in bytes of its JSON (default 16,384): `ws.data` and the
   * topics' names count. A larger one is not kept, and `set()` throws a
   * `RangeError` saying so.
   */
  maxRecordBytes?: number;
  /**
   * How long a record with a socket connected is kept, in ms (default
   * 86,400,000: a day), so that an object that restarted with sessions
   * connected (a deploy) leaves nothing behind for ever. Every reconnect
   * writes it again.
   */
  connectedTtl?: number;
  /** The table's prefix (default `"edgesocket_sessions"`): letters, digits and `_`. */
  prefix?: string;
  /** The clock, in ms (default `Date.now`). */
  now?: () => number;
}

const encoder = new TextEncoder();

/**
 * Resumable sessions in one Durable Object's SQLite storage: each record as
 * JSON under the SHA-256 of its token (a key that gives no one the
 * session), with the time it may be dropped: its `expires` while it waits
 * for its client, `connectedTtl` from the last write while a socket is
 * connected. An expired record is never returned, and expired ones are
 * deleted as others are written. Bounded by count and by record size.
 *
 * `ws.data` must be JSON: it is restored from the record by the object's
 * next instance. The object is the only one that reads its storage, so the
 * store is not `shared`; every method answers at once.
 *
 * @example In a Durable Object
 * ```ts ignore
 * import { DurableObjectSessionStore, upgradeWebSocket } from "@edgesocket/edgesocket/cloudflare";
 *
 * const sessions = new DurableObjectSessionStore(ctx.storage, { maxSessions: 1000 });
 * app.get("/ws", upgradeWebSocket(() => events, { resume: { sessions, pubsub } }));
 * ```
 */
export class DurableObjectSessionStore implements SessionStore {
  readonly #storage: DurableObjectSqlStorage;
  readonly #maxSessions: number;
  readonly #maxRecordBytes: number;
  readonly #connectedTtl: number;
  readonly #now: () => number;
  readonly #table: string;
  // The number of records, counted once per schema (written here only).
  #count: number | undefined;

  /**
   * Creates the store on the object's storage (its table, if missing).
   *
   * @param storage The object's `ctx.storage` (SQLite-backed).
   * @param options The bounds.
   * @throws {RangeError} For a bound that is not a positive number.
   * @throws {TypeError} For a prefix that is not a plain SQL name.
   */
  constructor(storage: DurableObjectSqlStorage, options: DurableObjectSessionStoreOptions = {}) {
    this.#storage = storage;
    this.#maxSessions = positive(options.maxSessions ?? 10_000, "maxSessions");
    this.#maxRecordBytes = positive(options.maxRecordBytes ?? 16_384, "maxRecordBytes");
    this.#connectedTtl = positive(options.connectedTtl ?? 86_400_000, "connectedTtl");
    this.#now = options.now ?? Date.now;
    this.#table = sqlName(options.prefix ?? "edgesocket_sessions");
    this.#createTable();
  }

  /** The number of records kept, expired ones not yet deleted included. */
  get size(): number {
    return this.#run(() => this.#counted());
  }

  #createTable(): void {
    const { sql } = this.#storage;
    sql.exec(
      `CREATE TABLE IF NOT EXISTS ${this.#table} (key TEXT PRIMARY KEY, record TEXT NOT NULL, ` +
        `until INTEGER NOT NULL) WITHOUT ROWID`,
    );
    sql.exec(`CREATE INDEX IF NOT EXISTS ${this.#table}_until ON ${this.#table} (until)`);
    this.#count = undefined;
  }

  #rows(
    query: string,
    ...bindings: DurableObjectSqlValue[]
  ): Record<string, DurableObjectSqlValue>[] {
    return this.#storage.sql.exec(query, ...bindings).toArray();
  }

  #counted(): number {
    return this.#count ??= Number(this.#rows(`SELECT count(*) AS n FROM ${this.#table}`)[0].n);
  }

  // One operation, in one transaction; a table dropped under the store (the
  // app deleted the storage) is made again, empty.
  #run<T>(fn: () => T): T {
    const transaction = this.#storage.transactionSync?.bind(this.#storage) ?? ((f: () => T) => f());
    try {
      return transaction(fn);
    } catch (error) {
      if (!/no such table/i.test(String((error as Error)?.message))) throw error;
      this.#createTable();
      return transaction(fn);
    }
  }

  /**
   * Finds a session that has not expired.
   *
   * @param key The SHA-256 of its token, hex.
   * @returns The record, or `undefined` (none, expired, or not a record).
   */
  get(key: string): ResumeSessionRecord | undefined {
    return this.#run(() => {
      const [row] = this.#rows(`SELECT record, until FROM ${this.#table} WHERE key = ?`, key);
      if (!row) return undefined;
      if (Number(row.until) <= this.#now()) {
        const count = this.#counted();
        this.#rows(`DELETE FROM ${this.#table} WHERE key = ?`, key);
        this.#count = count - 1;
        return undefined;
      }
      try {
        const record = JSON.parse(String(row.record));
        return record && typeof record === "object" && typeof record.id === "string"
          ? record
          : undefined;
      } catch {
        return undefined;
      }
    });
  }

  /**
   * Keeps a session: while it waits for its client, until its `expires`.
   *
   * @param key The SHA-256 of its token, hex.
   * @param record The record.
   * @throws {RangeError} For a record over `maxRecordBytes` (not kept), or `data` that JSON
   *   cannot hold.
   */
  set(key: string, record: ResumeSessionRecord): void {
    let text: string;
    try {
      text = JSON.stringify(record);
    } catch (error) {
      throw new RangeError(`Session record is not JSON (ws.data must be): ${error}`);
    }
    // UTF-8 is at most 3 bytes a code unit: most records need no encoding.
    const size = text.length * 3 > this.#maxRecordBytes ? encoder.encode(text).length : 0;
    if (size > this.#maxRecordBytes) {
      throw new RangeError(
        `Session record of ${size} bytes is over the Durable Object session store's maxRecordBytes (${this.#maxRecordBytes}): keep ws.data small`,
      );
    }
    this.#run(() => {
      const now = this.#now();
      const until = record.expires ?? now + this.#connectedTtl;
      const updated = this.#rows(
        `UPDATE ${this.#table} SET record = ?, until = ? WHERE key = ? RETURNING key`,
        text,
        until,
        key,
      );
      if (updated.length > 0) return;
      let count = this.#counted();
      // Expired ones first (the index finds them), then the bound.
      count -= this.#rows(`DELETE FROM ${this.#table} WHERE until <= ? RETURNING key`, now).length;
      if (count >= this.#maxSessions) {
        count -= this.#rows(
          `DELETE FROM ${this.#table} WHERE key IN ` +
            `(SELECT key FROM ${this.#table} ORDER BY until LIMIT ?) RETURNING key`,
          count - this.#maxSessions + 1,
        ).length;
      }
      this.#rows(
        `INSERT INTO ${this.#table} (key, record, until) VALUES (?, ?, ?)`,
        key,
        text,
        until,
      );
      this.#count = count + 1;
    });
  }

  /**
   * Takes out the records of sessions whose wait for their client ran out
   * (`expires` passed): each is deleted and returned once, so that the
   * object can run their `onClose`, which no timer ran for them (a
   * hibernating object keeps none).
   *
   * @param limit The most to take (default 100).
   * @returns The records, the longest expired first.
   */
  takeExpired(limit = 100): ResumeSessionRecord[] {
    return this.#run(() => {
      const now = this.#now();
      const taken: ResumeSessionRecord[] = [];
      // Connected records (no `expires`) past connectedTtl are left to the sweep.
      const rows = this.#rows(
        `SELECT key, record FROM ${this.#table} WHERE until <= ? ORDER BY until LIMIT ?`,
        now,
        Math.max(1, Math.floor(limit)),
      );
      for (const row of rows) {
        let record: ResumeSessionRecord | undefined;
        try {
          record = JSON.parse(String(row.record));
        } catch { /* not a record: dropped with the rest */ }
        if (record && typeof record.expires !== "number") continue;
        this.#rows(`DELETE FROM ${this.#table} WHERE key = ?`, row.key);
        if (this.#count !== undefined) this.#count--;
        if (record && typeof record.id === "string") taken.push(record);
      }
      return taken;
    });
  }

  /**
   * The records of sessions that wait for their client (dropped, and
   * `expires` not passed yet): what a waiting session keeps, such as its
   * presence, is still the object's to list.
   *
   * @returns The records.
   */
  waiting(): ResumeSessionRecord[] {
    return this.#run(() => {
      const now = this.#now();
      const found: ResumeSessionRecord[] = [];
      // Connected sessions' records have no `expires`: SQLite leaves them
      // out, so a listing parses only the waiting ones. CASE, so that a row
      // that is no JSON is skipped rather than failing the query.
      const waiting = `SELECT record FROM ${this.#table} WHERE until > ? AND ` +
        `(CASE WHEN json_valid(record) THEN json_extract(record, '$.expires') END) IS NOT NULL`;
      for (const row of this.#rows(waiting, now)) {
        let record: ResumeSessionRecord | undefined;
        try {
          record = JSON.parse(String(row.record));
        } catch { /* not a record */ }
        if (record && typeof record.id === "string" && typeof record.expires === "number") {
          found.push(record);
        }
      }
      return found;
    });
  }

  /**
   * Forgets a session.
   *
   * @param key The SHA-256 of its token, hex.
   */
  delete(key: string): void {
    this.#run(() => {
      const gone = this.#rows(`DELETE FROM ${this.#table} WHERE key = ? RETURNING key`, key);
      if (gone.length > 0 && this.#count !== undefined) this.#count--;
    });
  }
}

function positive(value: number, name: string): number {
  if (!(value > 0) || !Number.isFinite(value)) {
    throw new RangeError(`Durable Object sessions ${name} must be a positive number, got ${value}`);
  }
  return value;
}
