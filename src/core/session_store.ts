import type { StreamPosition } from "../protocol/resume_protocol.ts";

/**
 * What a resumable session keeps between connections. A shared store
 * (Redis, a Durable Object's storage) serializes it, so `data` must then be
 * JSON (or structured-clonable, for a Durable Object).
 */
export interface ResumeSessionRecord {
  /** The session's public id (`ws.id`); never the token. */
  id: string;
  /** What `identify(c)` answered when it was made: only the same value resumes it. */
  owner: string;
  /** The upgrade's path: a token resumes only on the path that issued it. */
  path: string;
  /** `ws.data`. */
  data: unknown;
  /** The highest client message id handed to `onMessage`: the dedupe window, one number. */
  lastClientId: number;
  /** Each resumable topic it is subscribed to, with the position it was subscribed at. */
  topics: Record<string, StreamPosition>;
  /** Topics without history it is subscribed to. */
  plainTopics: string[];
  /** While no socket is connected: when it ends (ms since 1970). */
  expires?: number;
  /**
   * Which process's copy of the session last took a socket (a random id
   * per copy). In a shared store a process that still has a copy naming
   * another holder knows its copy is stale: another process resumed the
   * session since.
   */
  holder?: string;
}

/**
 * Where resumable sessions are kept between connections, under a key that
 * is the SHA-256 of the session's token (hex): a store never holds a token
 * itself, so reading it gives no one a session. The default,
 * {@linkcode MemorySessionStore}, is one process's; a shared one lets a
 * client resume on another process.
 *
 * `set` is awaited before the client's messages are acknowledged, so a
 * store that keeps the record durably keeps the dedupe window durable too.
 * Every method may answer at once or with a promise.
 *
 * @example A store over a Map (what MemorySessionStore does, unbounded)
 * ```ts
 * import type { ResumeSessionRecord, SessionStore } from "@edgesocket/edgesocket/adapter";
 *
 * const map = new Map<string, ResumeSessionRecord>();
 * const store: SessionStore = {
 *   get: (key) => map.get(key),
 *   set: (key, record) => void map.set(key, record),
 *   delete: (key) => void map.delete(key),
 * };
 * ```
 */
export interface SessionStore {
  /**
   * Whether other processes resume sessions from the same store (Redis). A
   * process then checks the record's `holder` before it resumes or ends
   * its own copy of a session: a copy another process took over is dropped
   * without `onClose` (the session goes on, or ended, over there). Such a
   * store keeps a waiting record a little past its `expires`, so that its
   * holder can still tell it holds it when the wait runs out.
   */
  readonly shared?: boolean;
  /**
   * Finds a session.
   *
   * @param key The SHA-256 of its token, hex.
   * @returns The record, or `undefined`.
   */
  get(key: string): ResumeSessionRecord | undefined | Promise<ResumeSessionRecord | undefined>;
  /**
   * Keeps a session (again: its id, dedupe window, topics or expiry changed).
   *
   * @param key The SHA-256 of its token, hex.
   * @param record The record.
   */
  set(key: string, record: ResumeSessionRecord): void | Promise<void>;
  /**
   * Forgets a session: it ended.
   *
   * @param key The SHA-256 of its token, hex.
   */
  delete(key: string): void | Promise<void>;
  /**
   * Keeps a session only if the stored record is still this copy's: it
   * names `record.holder`, or `previous` (the holder this copy took the
   * session over from; `undefined` for a new session, which also matches
   * no record at all). Checked and written in one step, so a copy that
   * lost the session to another process while its socket was half-open
   * cannot write its stale dedupe window over the new holder's. A shared
   * store should have it (the Redis store does); without it `set` is used.
   *
   * @param key The SHA-256 of its token, hex.
   * @param record The record.
   * @param previous The holder it took over from.
   * @returns Whether it was written; `false` tells the copy it was replaced.
   */
  setIfHolder?(
    key: string,
    record: ResumeSessionRecord,
    previous: string | undefined,
  ): boolean | Promise<boolean>;
  /**
   * Forgets a session only if the stored record names `holder` or
   * `previous`, in one step: a stale copy's end does not delete the
   * session another process goes on with. Without it `delete` is used.
   *
   * @param key The SHA-256 of its token, hex.
   * @param holder The copy that ended it.
   * @param previous The holder that copy took over from.
   */
  deleteIfHolder?(
    key: string,
    holder: string,
    previous: string | undefined,
  ): void | Promise<void>;
}
