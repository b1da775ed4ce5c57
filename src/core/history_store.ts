import type { StreamPosition } from "../protocol/resume_protocol.ts";

export type { StreamPosition };

/** One publication kept in a topic's history. */
export interface HistoryEntry {
  /** Its offset in the stream (1, 2, 3 … within an epoch). */
  offset: number;
  /** The payload, as published. */
  data: string | Uint8Array;
  /**
   * The id of the session that published it from a socket (`ws.publish()`),
   * which does not get it back, on resume either.
   */
  origin?: string;
}

/** What {@linkcode HistoryStore.read} answers when the position can be resumed. */
export interface HistoryPage {
  /** The entries after the position asked for, oldest first, at most `limit`. */
  entries: HistoryEntry[];
  /** The stream's position now: more entries follow when it is past the last one given. */
  position: StreamPosition;
}

/**
 * Where a resumable topic's publications are numbered and kept: one stream
 * per topic, positions `{ epoch, offset }`, bounded by count and age. The
 * in-memory store ({@linkcode MemoryHistoryStore}) is one process's; a
 * shared store (Redis Streams, a Durable Object's storage) lets a client
 * resume on another process or after a restart.
 *
 * Every method may answer at once or with a promise: the topics keep the
 * call order of `append()` either way. An implementation must:
 *
 * - give offsets 1, 2, 3 … with no gap within an epoch, in `append()` order;
 * - start a new epoch whenever it cannot vouch for the stream's continuity
 *   (its data was lost, a new incarnation of the store), never reusing one;
 * - answer `"gone"` from `read()` rather than skip entries it dropped.
 *
 * @example A store that keeps nothing (every resume is "gone")
 * ```ts
 * import type { HistoryStore } from "@edgesocket/edgesocket/adapter";
 *
 * let offset = 0;
 * const forgetful: HistoryStore = {
 *   append: () => ({ epoch: "once", offset: ++offset }),
 *   read: () => "gone",
 *   position: () => ({ epoch: "once", offset }),
 * };
 * ```
 */
export interface HistoryStore {
  /**
   * Whether other processes append to the same streams (Redis Streams):
   * `PubSub` then relays each publication with the position it got, and a
   * process that receives it delivers it with that position, in offset
   * order, instead of numbering it again. Absent or `false`: each process
   * numbers every publication in its own streams.
   */
  readonly shared?: boolean;
  /**
   * Numbers a publication and keeps it.
   *
   * @param topic The topic.
   * @param data The payload (the store keeps it: the caller does not reuse it).
   * @param origin The publishing session's id, to keep with the entry.
   * @returns Its position.
   */
  append(
    topic: string,
    data: string | Uint8Array,
    origin?: string,
  ): StreamPosition | Promise<StreamPosition>;
  /**
   * Reads what was published after a position.
   *
   * @param topic The topic.
   * @param after The last position the reader has.
   * @param limit The most entries to return.
   * @returns The entries after it, or `"gone"` when `after` is of another
   * epoch, past the stream's end, or older than what the store still keeps.
   */
  read(
    topic: string,
    after: StreamPosition,
    limit: number,
  ): HistoryPage | "gone" | Promise<HistoryPage | "gone">;
  /**
   * The stream's position now (offset 0 for a topic never published to; a
   * store may start the stream's epoch here).
   *
   * @param topic The topic.
   * @returns The epoch and the last offset.
   */
  position(topic: string): StreamPosition | Promise<StreamPosition>;
}
