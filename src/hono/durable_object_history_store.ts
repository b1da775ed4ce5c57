/**
 * Resumable topics' history in a Durable Object's SQLite storage
 * (`ctx.storage.sql`): it outlives the object's eviction and hibernation,
 * so a client that comes back to a woken object resumes from it.
 *
 * @module
 */
import type {
  HistoryEntry,
  HistoryPage,
  HistoryStore,
  StreamPosition,
} from "../core/history_store.ts";
import { createRandomId } from "../core/random_id.ts";

/** A value SQLite hands over or takes: `ctx.storage.sql`'s `SqlStorageValue`. */
export type DurableObjectSqlValue = string | number | ArrayBuffer | null;

/** The rows of one `exec()`: `ctx.storage.sql`'s `SqlStorageCursor`. */
export interface DurableObjectSqlCursor extends Iterable<Record<string, DurableObjectSqlValue>> {
  /** Every row left. */
  toArray(): Record<string, DurableObjectSqlValue>[];
}

/**
 * The part of a SQLite-backed Durable Object's `ctx.storage` the stores
 * use: declared here, so that the stores type-check without
 * `cloudflare:workers` (a class needs `new_sqlite_classes` in its migration).
 */
export interface DurableObjectSqlStorage {
  /** The SQL API. */
  readonly sql: {
    /** Runs one statement with `?` bindings; its rows are read from the cursor. */
    exec(query: string, ...bindings: DurableObjectSqlValue[]): DurableObjectSqlCursor;
  };
  /** Runs `fn` in one transaction: all of its writes, or none. */
  transactionSync?<T>(fn: () => T): T;
}

/** Options for {@linkcode DurableObjectHistoryStore}. */
export interface DurableObjectHistoryStoreOptions {
  /** Most entries kept per topic (default 1,000). */
  maxEntries?: number;
  /** Most bytes kept per topic, in UTF-8 for text (default 1 MiB). */
  maxBytes?: number;
  /** Keep entries this long, in ms (default 120,000: the resume routes' default retention). */
  maxAge?: number;
  /**
   * Most topics with a stream (default 1,000). Past it the stream used
   * least recently is dropped with its epoch: a client that comes back to
   * it is told `recovered: false`.
   */
  maxTopics?: number;
  /**
   * Largest publication, in bytes (default 65,536; SQLite in a Durable
   * Object holds at most 2 MB a row): a larger one throws `RangeError`.
   */
  maxEntryBytes?: number;
  /** The tables' prefix (default `"edgesocket_history"`): letters, digits and `_`. */
  prefix?: string;
  /** The clock, in ms (default `Date.now`): tests pass their own. */
  now?: () => number;
}

interface StreamRow {
  epoch: string;
  last: number;
  first: number;
  bytes: number;
}

/**
 * Resumable topics' history in one Durable Object's SQLite storage: a
 * stream per topic with offsets 1, 2, 3 … and no gap (numbered and kept in
 * one transaction), bounded per topic by entries, bytes and age, and by the
 * number of topics. Each stream's epoch is random, made when the stream is
 * and kept beside it: a stream whose rows were lost (the storage deleted,
 * the topic dropped for the bound) starts again under a new epoch, never an
 * old one, and `read()` answers `"gone"` for what was trimmed rather than
 * skipping it. A topic's position outlives its entries, so a quiet topic
 * still resumes.
 *
 * Give it to the object's own `PubSub`, and that to the route's
 * `resume.pubsub`: the isolate may hold other objects, and this storage is
 * this object's. The object is the only writer of its storage, so the store
 * is not `shared`; every method answers at once (the SQL API is synchronous,
 * and its writes are durable before the object's next output leaves).
 *
 * @example In a Durable Object
 * ```ts ignore
 * import { DurableObjectHistoryStore, PubSub } from "@edgesocket/edgesocket/cloudflare";
 *
 * export class Room {
 *   pubsub = new PubSub();
 *   constructor(ctx: DurableObjectState) {
 *     this.pubsub.useHistory(new DurableObjectHistoryStore(ctx.storage, { maxEntries: 500 }));
 *   }
 * }
 * ```
 */
export class DurableObjectHistoryStore implements HistoryStore {
  readonly #storage: DurableObjectSqlStorage;
  readonly #maxEntries: number;
  readonly #maxBytes: number;
  readonly #maxAge: number;
  readonly #maxTopics: number;
  readonly #maxEntryBytes: number;
  readonly #now: () => number;
  readonly #streams: string;
  readonly #entries: string;
  // The number of streams, counted once per schema (topics come and go here only).
  #topics: number | undefined;

  /**
   * Creates the store on the object's storage (its tables, if missing).
   *
   * @param storage The object's `ctx.storage` (SQLite-backed).
   * @param options The bounds.
   * @throws {RangeError} For a bound that is not a positive number.
   * @throws {TypeError} For a prefix that is not a plain SQL name.
   */
  constructor(storage: DurableObjectSqlStorage, options: DurableObjectHistoryStoreOptions = {}) {
    this.#storage = storage;
    this.#maxEntries = positive(options.maxEntries ?? 1000, "maxEntries");
    this.#maxBytes = positive(options.maxBytes ?? 1024 * 1024, "maxBytes");
    this.#maxAge = positive(options.maxAge ?? 120_000, "maxAge");
    this.#maxTopics = positive(options.maxTopics ?? 1000, "maxTopics");
    this.#maxEntryBytes = positive(options.maxEntryBytes ?? 65_536, "maxEntryBytes");
    this.#now = options.now ?? Date.now;
    const prefix = sqlName(options.prefix ?? "edgesocket_history");
    this.#streams = `${prefix}_streams`;
    this.#entries = `${prefix}_entries`;
    this.#createTables();
  }

  #createTables(): void {
    const { sql } = this.#storage;
    // `data` has no type affinity (BLOB): text stays text, bytes stay bytes.
    sql.exec(
      `CREATE TABLE IF NOT EXISTS ${this.#streams} (topic TEXT PRIMARY KEY, epoch TEXT NOT NULL, ` +
        `last INTEGER NOT NULL, first INTEGER NOT NULL, bytes INTEGER NOT NULL, ` +
        `used INTEGER NOT NULL) WITHOUT ROWID`,
    );
    sql.exec(
      `CREATE TABLE IF NOT EXISTS ${this.#entries} (topic TEXT NOT NULL, seq INTEGER NOT NULL, ` +
        `at INTEGER NOT NULL, size INTEGER NOT NULL, data BLOB, origin TEXT, ` +
        `PRIMARY KEY (topic, seq)) WITHOUT ROWID`,
    );
    this.#topics = undefined;
  }

  #rows(
    query: string,
    ...bindings: DurableObjectSqlValue[]
  ): Record<string, DurableObjectSqlValue>[] {
    return this.#storage.sql.exec(query, ...bindings).toArray();
  }

  // One operation, in one transaction. Tables dropped under the store (the
  // app deleted the storage) are made again, empty: every stream starts
  // again under a new epoch.
  #run<T>(fn: () => T): T {
    const transaction = this.#storage.transactionSync?.bind(this.#storage) ?? ((f: () => T) => f());
    try {
      return transaction(fn);
    } catch (error) {
      if (!/no such table/i.test(String((error as Error)?.message))) throw error;
      this.#createTables();
      return transaction(fn);
    }
  }

  #find(topic: string): StreamRow | undefined {
    const [row] = this.#rows(
      `SELECT epoch, last, first, bytes FROM ${this.#streams} WHERE topic = ?`,
      topic,
    );
    return row as unknown as StreamRow | undefined;
  }

  // The topic's stream, made (under a new epoch) if it has none.
  #stream(topic: string, now: number): StreamRow {
    const found = this.#find(topic);
    if (found) return found;
    this.#topics ??= Number(this.#rows(`SELECT count(*) AS n FROM ${this.#streams}`)[0].n);
    while (this.#topics >= this.#maxTopics) {
      const [oldest] = this.#rows(
        `SELECT topic FROM ${this.#streams} ORDER BY used LIMIT 1`,
      );
      if (!oldest) break;
      this.#rows(`DELETE FROM ${this.#entries} WHERE topic = ?`, oldest.topic);
      this.#rows(`DELETE FROM ${this.#streams} WHERE topic = ?`, oldest.topic);
      this.#topics--;
    }
    const stream: StreamRow = { epoch: createRandomId(9), last: 0, first: 1, bytes: 0 };
    this.#rows(
      `INSERT INTO ${this.#streams} (topic, epoch, last, first, bytes, used) VALUES (?, ?, 0, 1, 0, ?)`,
      topic,
      stream.epoch,
      now,
    );
    this.#topics++;
    return stream;
  }

  // Drops what the bounds no longer keep, oldest first: past maxEntries,
  // older than maxAge, over maxBytes. Offsets stay dense from `first` on.
  #prune(topic: string, stream: StreamRow, now: number): void {
    let first = Math.max(stream.first, stream.last - this.#maxEntries + 1);
    const [head] = this.#rows(
      `SELECT seq, at FROM ${this.#entries} WHERE topic = ? AND seq >= ? ORDER BY seq LIMIT 1`,
      topic,
      first,
    );
    const cutoff = now - this.#maxAge;
    if (!head) first = stream.last + 1;
    else if (Number(head.at) < cutoff) {
      // Times rise with offsets: the first young enough ends the old ones.
      const [young] = this.#rows(
        `SELECT seq FROM ${this.#entries} WHERE topic = ? AND seq >= ? AND at >= ? ` +
          `ORDER BY seq LIMIT 1`,
        topic,
        first,
        cutoff,
      );
      first = young ? Number(young.seq) : stream.last + 1;
    } else first = Number(head.seq);
    let bytes = stream.bytes;
    if (first > stream.first) bytes -= this.#drop(topic, first);
    if (bytes > this.#maxBytes) {
      // Oldest first, a page at a time: usually one or two entries go.
      let until = first;
      while (bytes > this.#maxBytes && until <= stream.last) {
        const page = this.#rows(
          `SELECT seq, size FROM ${this.#entries} WHERE topic = ? AND seq >= ? ORDER BY seq LIMIT 16`,
          topic,
          until,
        );
        if (page.length === 0) break;
        for (const row of page) {
          if (bytes <= this.#maxBytes) break;
          bytes -= Number(row.size);
          until = Number(row.seq) + 1;
        }
      }
      this.#drop(topic, until);
      first = until;
    }
    stream.first = first;
    stream.bytes = Math.max(0, bytes);
  }

  // Deletes the topic's entries before `until`: the bytes they held.
  #drop(topic: string, until: number): number {
    let freed = 0;
    for (
      const row of this.#rows(
        `DELETE FROM ${this.#entries} WHERE topic = ? AND seq < ? RETURNING size`,
        topic,
        until,
      )
    ) freed += Number(row.size);
    return freed;
  }

  #save(topic: string, stream: StreamRow, now: number): void {
    this.#rows(
      `UPDATE ${this.#streams} SET last = ?, first = ?, bytes = ?, used = ? WHERE topic = ?`,
      stream.last,
      stream.first,
      stream.bytes,
      now,
      topic,
    );
  }

  /**
   * Numbers a publication and keeps it.
   *
   * @param topic The topic.
   * @param data The payload.
   * @param origin The publishing session's id.
   * @returns Its position.
   * @throws {RangeError} For a payload over `maxEntryBytes`.
   */
  append(topic: string, data: string | Uint8Array, origin?: string): StreamPosition {
    const size = typeof data === "string" ? utf8Length(data) : data.byteLength;
    if (size > this.#maxEntryBytes) {
      throw new RangeError(
        `Publication of ${size} bytes is over the Durable Object history's maxEntryBytes (${this.#maxEntryBytes})`,
      );
    }
    const value = typeof data === "string"
      ? data
      : data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) as ArrayBuffer;
    return this.#run(() => {
      const now = this.#now();
      const stream = this.#stream(topic, now);
      const offset = ++stream.last;
      this.#rows(
        `INSERT INTO ${this.#entries} (topic, seq, at, size, data, origin) VALUES (?, ?, ?, ?, ?, ?)`,
        topic,
        offset,
        now,
        size,
        value,
        origin ?? null,
      );
      stream.bytes += size;
      this.#prune(topic, stream, now);
      this.#save(topic, stream, now);
      return { epoch: stream.epoch, offset };
    });
  }

  /**
   * Reads what was published after a position.
   *
   * @param topic The topic.
   * @param after The reader's last position.
   * @param limit The most entries to return.
   * @returns The entries, or `"gone"`: another epoch, past the end, or trimmed.
   */
  read(topic: string, after: StreamPosition, limit: number): HistoryPage | "gone" {
    return this.#run(() => {
      const stream = this.#find(topic);
      if (!stream || stream.epoch !== after.epoch || after.offset > stream.last) return "gone";
      const now = this.#now();
      this.#prune(topic, stream, now);
      this.#save(topic, stream, now);
      if (after.offset < stream.first - 1) return "gone";
      const entries: HistoryEntry[] = [];
      for (
        const row of this.#rows(
          `SELECT seq, data, origin FROM ${this.#entries} WHERE topic = ? AND seq > ? ` +
            `ORDER BY seq LIMIT ?`,
          topic,
          after.offset,
          Math.max(1, Math.floor(limit)),
        )
      ) {
        const offset = Number(row.seq);
        const data = typeof row.data === "string"
          ? row.data
          : new Uint8Array(row.data as ArrayBuffer);
        entries.push(
          typeof row.origin === "string" ? { offset, data, origin: row.origin } : { offset, data },
        );
      }
      return { entries, position: { epoch: stream.epoch, offset: stream.last } };
    });
  }

  /**
   * The stream's position now; a topic without a stream gets one here,
   * under a new epoch.
   *
   * @param topic The topic.
   * @returns The epoch and the last offset.
   */
  position(topic: string): StreamPosition {
    return this.#run(() => {
      const now = this.#now();
      const stream = this.#stream(topic, now);
      this.#rows(`UPDATE ${this.#streams} SET used = ? WHERE topic = ?`, now, topic);
      return { epoch: stream.epoch, offset: stream.last };
    });
  }
}

function utf8Length(text: string): number {
  let bytes = text.length;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x80) continue;
    if (code < 0x800) {
      bytes += 1;
    } else if (code < 0xdc00 && code >= 0xd800 && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      // A surrogate pair: 4 bytes for its 2 code units.
      bytes += 2;
      i++;
    } else {
      // 3 bytes, a lone surrogate too (sent as U+FFFD).
      bytes += 2;
    }
  }
  return bytes;
}

/**
 * @internal A table prefix, checked: it is spliced into the SQL.
 * @throws {TypeError} For anything but letters, digits and `_`, or SQLite's reserved `_cf_`.
 */
export function sqlName(prefix: string): string {
  if (!/^[A-Za-z][A-Za-z0-9_]{0,62}$/.test(prefix)) {
    throw new TypeError(
      `Durable Object store prefix must be letters, digits and _ (from a letter), got ${prefix}`,
    );
  }
  return prefix;
}

function positive(value: number, name: string): number {
  if (!(value > 0) || !Number.isFinite(value)) {
    throw new RangeError(`Durable Object history ${name} must be a positive number, got ${value}`);
  }
  return value;
}
