/** A member's small, JSON-serialisable metadata (a user's name, an avatar id). */
export type PresenceMeta = string | number | boolean | null | PresenceMeta[] | {
  [key: string]: PresenceMeta;
};

/** One member of a topic: one socket, with its metadata. */
export interface PresenceMember {
  /** The member's id: one per socket and topic, unique across processes. */
  id: string;
  /** What the app gave at `join()`. */
  meta: PresenceMeta;
}

/**
 * A topic's members, oldest first. `partial` says when the store could not
 * list them all: `"capped"`, more members than it lists (the Redis store's
 * `maxListed`); `"unreachable"`, only this process's own members, its backend
 * (Redis) being down.
 */
export type PresenceList = PresenceMember[] & { partial?: "capped" | "unreachable" };

/** A member joined or left a topic. */
export interface PresenceEvent {
  /** `"join"` or `"leave"`. */
  type: "join" | "leave";
  /** The topic. */
  topic: string;
  /** Who. */
  member: PresenceMember;
  /**
   * Whether this process caused it: its socket joined or left, or it found
   * another process's member expired. Exactly one process sees each event
   * with `local: true`, so an announcement made on it is made once.
   */
  local: boolean;
}

/**
 * Where a topic's members are kept: in memory for one process, in Redis
 * across processes (members of a process that dies expire), in a Durable
 * Object. {@linkcode Presence} is written against this.
 */
export interface PresenceStore {
  /** Adds a member. */
  join(topic: string, member: PresenceMember): Promise<void> | void;
  /** Removes a member (unknown ones are ignored). */
  leave(topic: string, id: string): Promise<void> | void;
  /** Every member of a topic, across every process the store spans, oldest first. */
  list(topic: string): Promise<PresenceList> | PresenceList;
  /**
   * Tells `listener` of joins and leaves on a topic, wherever they happen.
   *
   * @returns A function that stops it.
   */
  watch(topic: string, listener: (event: PresenceEvent) => void): () => void;
  /** Stops timers and connections. */
  close?(): Promise<void> | void;
}
