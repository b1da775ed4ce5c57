/**
 * Presence inside one Durable Object: who is in a topic among the object's
 * hibernatable sockets and resumable sessions, kept in the sockets'
 * attachments (and a waiting session's record), and join / leave events
 * within the object. `DurableObjectWebSockets.presence` is this.
 *
 * @module
 */
import type { PresenceEvent, PresenceMember, PresenceMeta } from "../core/presence_store.ts";
import { assertTopic } from "../core/pub_sub.ts";
import type { WebSocketContext } from "../core/web_socket_context.ts";

const encoder = new TextEncoder();

/**
 * Who is in a topic of one Durable Object, with small per-member metadata,
 * and join / leave events within the object. Members are kept in their
 * sockets' attachments, so they outlive hibernation; the listeners are in
 * memory, so give them in the object's constructor, which runs again on
 * every wake-up. A member is one socket in one topic, or on a resumable
 * route one session (through its drops and resumes: a waiting session is
 * still listed); the membership ends on `leave()`, `ws.unsubscribe(topic)`,
 * or the socket's close (the session's end). Every event is `local: true`:
 * the object is the only process.
 *
 * @example
 * ```ts ignore
 * const sockets = new DurableObjectWebSockets<{ user: string }>(ctx, {
 *   onOpen(_event, ws) {
 *     sockets.presence.join(ws, "room", { name: ws.data.user });
 *     ws.send(JSON.stringify(sockets.presence.list("room").map((m) => m.meta)));
 *   },
 * });
 * sockets.presence.watch("room", (e) => sockets.publish("room", `${e.type}: ${e.member.id}`));
 * ```
 */
export interface DurableObjectPresence {
  /**
   * Makes a socket of this object a member of a topic (and a subscriber of
   * it); a socket already in it keeps its membership.
   *
   * @param ws The handlers' `ws`.
   * @param topic 1 to 256 characters.
   * @param meta Small JSON metadata (default `null`), saved in the attachment.
   * @returns The member.
   * @throws {RangeError} For a bad topic name, metadata over `maxPresenceMetaBytes`, or an
   *   attachment that would pass the runtime's limit.
   * @throws {TypeError} For a `ws` that is not one of this object's.
   */
  join(
    ws: WebSocketContext<unknown, WebSocket>,
    topic: string,
    meta?: PresenceMeta,
  ): PresenceMember;
  /**
   * Ends a socket's membership of a topic (it stays subscribed).
   *
   * @param ws The handlers' `ws`.
   * @param topic The topic.
   */
  leave(ws: WebSocketContext<unknown, WebSocket>, topic: string): void;
  /**
   * The members of a topic among this object's open sockets, oldest first.
   * A socket whose `onClose` is running is no longer one.
   *
   * @param topic The topic.
   * @returns The members.
   */
  list(topic: string): PresenceMember[];
  /**
   * Tells `listener` of joins and leaves on a topic of this object.
   *
   * @param topic The topic.
   * @param listener Called with each event.
   * @returns A function that stops it.
   */
  watch(topic: string, listener: (event: PresenceEvent) => void): () => void;
}

/** A membership as a socket's attachment keeps it: [member id, metadata, joined at (ms)]. */
export type Membership = [id: string, meta: PresenceMeta, at: number];

/** What presence needs of a hibernatable socket's context. */
export interface MemberContext {
  /** Its memberships, topic → membership, saved with the attachment. */
  readonly memberships: Map<string, Membership>;
  readonly topics: ReadonlySet<string>;
  readonly closed: boolean;
  readonly readyState: number;
  subscribe(topic: string): void;
  /** Writes the attachment; throws `RangeError` when it would be too large. */
  save(): void;
}

/** {@linkcode DurableObjectPresence} over an object's contexts. */
export class ObjectPresence<C extends MemberContext> implements DurableObjectPresence {
  readonly #contexts: (topic: string) => C[];
  readonly #waiting: (topic: string) => Membership[];
  readonly #isOurs: (ws: unknown) => ws is C;
  readonly #maxMetaBytes: number;
  readonly #watchers = new Map<string, Set<(event: PresenceEvent) => void>>();

  constructor(options: {
    contexts: (topic: string) => C[];
    /** Memberships of resumable sessions that wait for their client, without a socket. */
    waiting?: (topic: string) => Membership[];
    isOurs: (ws: unknown) => ws is C;
    maxMetaBytes: number;
  }) {
    this.#contexts = options.contexts;
    this.#waiting = options.waiting ?? (() => []);
    this.#isOurs = options.isOurs;
    this.#maxMetaBytes = options.maxMetaBytes;
  }

  join(
    ws: WebSocketContext<unknown, WebSocket>,
    topic: string,
    meta: PresenceMeta = null,
  ): PresenceMember {
    assertTopic(topic);
    if (!this.#isOurs(ws)) throw new TypeError("Presence: not a socket of this Durable Object");
    if (encoder.encode(JSON.stringify(meta)).length > this.#maxMetaBytes) {
      throw new RangeError(`Presence metadata must be at most ${this.#maxMetaBytes} bytes of JSON`);
    }
    const known = ws.memberships.get(topic);
    if (known) return { id: known[0], meta: known[1] };
    const membership: Membership = [crypto.randomUUID(), meta, Date.now()];
    const subscribed = ws.topics.has(topic);
    ws.memberships.set(topic, membership);
    try {
      // Saves the attachment, or throws when it would be too large.
      if (subscribed) ws.save();
      else ws.subscribe(topic);
    } catch (error) {
      ws.memberships.delete(topic);
      throw error;
    }
    this.emit("join", topic, membership);
    return { id: membership[0], meta };
  }

  leave(ws: WebSocketContext<unknown, WebSocket>, topic: string): void {
    if (!this.#isOurs(ws)) return;
    const membership = ws.memberships.get(topic);
    if (!membership) return;
    ws.memberships.delete(topic);
    if (!ws.closed && ws.readyState <= 1) ws.save();
    this.emit("leave", topic, membership);
  }

  list(topic: string): PresenceMember[] {
    const found: Membership[] = [];
    // By member id: a session taken over by a new socket is on both for a
    // moment, and one being resumed is on a socket and in storage.
    const seen = new Set<string>();
    const add = (membership: Membership | undefined) => {
      if (membership && !seen.has(membership[0])) {
        seen.add(membership[0]);
        found.push(membership);
      }
    };
    for (const ws of this.#contexts(topic)) add(ws.memberships.get(topic));
    for (const membership of this.#waiting(topic)) add(membership);
    // Workers' clock stands still within an event: ties go by id.
    found.sort((a, b) => a[2] - b[2] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    return found.map(([id, meta]) => ({ id, meta }));
  }

  watch(topic: string, listener: (event: PresenceEvent) => void): () => void {
    let set = this.#watchers.get(topic);
    if (!set) this.#watchers.set(topic, set = new Set());
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0 && this.#watchers.get(topic) === set) this.#watchers.delete(topic);
    };
  }

  /** @internal Tells the topic's listeners. */
  emit(type: "join" | "leave", topic: string, [id, meta]: Membership): void {
    const event: PresenceEvent = { type, topic, member: { id, meta }, local: true };
    for (const listener of this.#watchers.get(topic) ?? []) {
      try {
        listener(event);
      } catch (error) {
        // One listener's bug must not keep the others from hearing it.
        console.error(error);
      }
    }
  }

  /** @internal A socket closed: its memberships end. */
  closed(ws: C): void {
    const ended = [...ws.memberships];
    ws.memberships.clear();
    for (const [topic, membership] of ended) this.emit("leave", topic, membership);
  }
}
