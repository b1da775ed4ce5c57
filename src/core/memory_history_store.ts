import type { HistoryEntry, HistoryPage, HistoryStore, StreamPosition } from "./history_store.ts";
import { createRandomId } from "./random_id.ts";

/** Bounds of a {@linkcode MemoryHistoryStore}. */
export interface MemoryHistoryStoreOptions {
  /** Most entries kept per topic (default 1,000). */
  maxEntries?: number;
  /** Most bytes kept per topic: a string counts its length, binary its byteLength (default 1 MiB). */
  maxBytes?: number;
  /** Keep entries this long, in ms (default 120,000: the resume routes' default retention). */
  maxAge?: number;
  /**
   * Most topics with a stream (default 1,000). Past it the stream used
   * least recently is dropped; its epoch goes with it, so a client that
   * comes back to it is told `recovered: false`.
   */
  maxTopics?: number;
  /** The clock, in ms (default `Date.now`): tests pass their own. */
  now?: () => number;
}

interface Kept extends HistoryEntry {
  at: number;
  size: number;
}

interface Stream {
  epoch: string;
  last: number;
  // entries[head…] are kept; the array is compacted when half of it is dead.
  entries: Kept[];
  head: number;
  bytes: number;
}

/**
 * Resumable topics' history in this process's memory: the default, for one
 * process. Each topic's stream gets a random epoch when it is first used,
 * so a process that restarts (or a stream dropped for the topic bound)
 * starts a new epoch and a client that was following the old one is told
 * `recovered: false`. Bounded by entries, bytes and age per topic and by
 * the number of topics; a stream's position outlives its entries, so a
 * quiet topic still resumes (with nothing to replay).
 *
 * @example
 * ```ts
 * import { defaultPubSub, MemoryHistoryStore } from "@edgesocket/edgesocket";
 *
 * defaultPubSub.useHistory(new MemoryHistoryStore({ maxEntries: 500 }), {
 *   topics: (topic) => topic.startsWith("room:"),
 * });
 * ```
 */
export class MemoryHistoryStore implements HistoryStore {
  #streams = new Map<string, Stream>();
  readonly #maxEntries: number;
  readonly #maxBytes: number;
  readonly #maxAge: number;
  readonly #maxTopics: number;
  readonly #now: () => number;

  /**
   * Creates an empty store.
   *
   * @param options Its bounds.
   * @throws {RangeError} For a bound that is not a positive number.
   */
  constructor(options: MemoryHistoryStoreOptions = {}) {
    this.#maxEntries = positive(options.maxEntries ?? 1000, "maxEntries");
    this.#maxBytes = positive(options.maxBytes ?? 1024 * 1024, "maxBytes");
    this.#maxAge = positive(options.maxAge ?? 120_000, "maxAge");
    this.#maxTopics = positive(options.maxTopics ?? 1000, "maxTopics");
    this.#now = options.now ?? Date.now;
  }

  /** The number of topics with a stream. */
  get size(): number {
    return this.#streams.size;
  }

  #stream(topic: string): Stream {
    let stream = this.#streams.get(topic);
    if (stream) {
      // Most recently used last: the first one is the one to drop.
      this.#streams.delete(topic);
    } else {
      stream = { epoch: createRandomId(9), last: 0, entries: [], head: 0, bytes: 0 };
      if (this.#streams.size >= this.#maxTopics) {
        this.#streams.delete(this.#streams.keys().next().value as string);
      }
    }
    this.#streams.set(topic, stream);
    return stream;
  }

  #prune(stream: Stream): void {
    const oldest = this.#now() - this.#maxAge;
    const { entries } = stream;
    while (
      stream.head < entries.length &&
      (entries.length - stream.head > this.#maxEntries || stream.bytes > this.#maxBytes ||
        entries[stream.head].at < oldest)
    ) {
      stream.bytes -= entries[stream.head].size;
      entries[stream.head++] = undefined as never;
    }
    if (stream.head > 64 && stream.head * 2 > entries.length) {
      entries.splice(0, stream.head);
      stream.head = 0;
    }
  }

  /**
   * Numbers a publication and keeps it.
   *
   * @param topic The topic.
   * @param data The payload.
   * @param origin The publishing session's id.
   * @returns Its position.
   */
  append(topic: string, data: string | Uint8Array, origin?: string): StreamPosition {
    const stream = this.#stream(topic);
    const size = typeof data === "string" ? data.length : data.byteLength;
    const entry: Kept = { offset: ++stream.last, data, at: this.#now(), size };
    if (origin !== undefined) entry.origin = origin;
    stream.entries.push(entry);
    stream.bytes += size;
    this.#prune(stream);
    return { epoch: stream.epoch, offset: stream.last };
  }

  /**
   * Reads what was published after a position.
   *
   * @param topic The topic.
   * @param after The reader's last position.
   * @param limit The most entries to return.
   * @returns The entries, or `"gone"`.
   */
  read(topic: string, after: StreamPosition, limit: number): HistoryPage | "gone" {
    const stream = this.#streams.get(topic);
    if (!stream || stream.epoch !== after.epoch || after.offset > stream.last) return "gone";
    this.#stream(topic);
    this.#prune(stream);
    const { entries, head } = stream;
    const first = head < entries.length ? entries[head].offset : stream.last + 1;
    if (after.offset < first - 1) return "gone";
    const start = head + (after.offset - first + 1);
    const page: HistoryEntry[] = [];
    for (let i = start; i < entries.length && page.length < limit; i++) {
      const { offset, data, origin } = entries[i];
      page.push(origin === undefined ? { offset, data } : { offset, data, origin });
    }
    return { entries: page, position: { epoch: stream.epoch, offset: stream.last } };
  }

  /**
   * The stream's position now; a topic never used gets its stream (and
   * epoch) here.
   *
   * @param topic The topic.
   * @returns The epoch and the last offset.
   */
  position(topic: string): StreamPosition {
    const stream = this.#stream(topic);
    return { epoch: stream.epoch, offset: stream.last };
  }
}

function positive(value: number, name: string): number {
  if (!(value > 0)) throw new RangeError(`${name} must be a positive number, got ${value}`);
  return value;
}
