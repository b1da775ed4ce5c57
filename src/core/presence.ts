import { assertTopic, defaultPubSub, type PubSub } from "./pub_sub.ts";
import { MemoryPresenceStore } from "./memory_presence_store.ts";
import type {
  PresenceEvent,
  PresenceList,
  PresenceMember,
  PresenceMeta,
  PresenceStore,
} from "./presence_store.ts";

/** What presence needs of a socket: the handlers' `ws`. */
export interface PresenceSocket {
  /** Joins the topic: a member is always a subscriber too. */
  subscribe(topic: string): void;
  /** Leaves the topic. */
  unsubscribe(topic: string): void;
}

/** Options for {@linkcode Presence}. */
export interface PresenceOptions {
  /** Where members are kept (default: this process's memory). */
  store?: PresenceStore;
  /** The topics whose leaves end a membership (default: the process-wide `PubSub`). */
  pubsub?: PubSub;
  /** Largest metadata, in bytes of JSON (default 1,024); larger throws `RangeError`. */
  maxMetaBytes?: number;
}

const encoder = new TextEncoder();

/**
 * Who is in a topic, with small per-member metadata, and join / leave
 * events: in memory for one process, across processes with a shared store
 * (`createRedisPresence()` from `@edgesocket/edgesocket/redis`).
 *
 * A member is one socket in one topic. Joining subscribes the socket to the
 * topic; the membership ends when the socket leaves the topic: on
 * `ws.unsubscribe()`, on `presence.leave()`, or when it closes.
 *
 * @example A room's online list
 * ```ts
 * import { Hono } from "hono";
 * import { defaultPresence, publish, upgradeWebSocket } from "@edgesocket/edgesocket";
 *
 * const app = new Hono().get("/room/:name", upgradeWebSocket((c) => {
 *   const topic = `room:${c.req.param("name")}`;
 *   return {
 *     async onOpen(_event, ws) {
 *       await defaultPresence.join(ws, topic, { name: c.req.query("name") ?? "anon" });
 *       const online = await defaultPresence.list(topic);
 *       publish(topic, JSON.stringify({ online: online.map((m) => m.meta) }));
 *     },
 *   };
 * }));
 * ```
 */
export class Presence {
  #store: PresenceStore;
  readonly #maxMetaBytes: number;
  // This process's members: socket → member id, per topic.
  readonly #members = new Map<string, Map<object, string>>();
  // A join still on its way to the store: a leave waits for it.
  readonly #pending = new Map<string, Promise<void>>();

  /**
   * Creates a presence registry.
   *
   * @param options The store, the topics, the metadata limit.
   */
  constructor(options: PresenceOptions = {}) {
    this.#store = options.store ?? new MemoryPresenceStore();
    this.#maxMetaBytes = options.maxMetaBytes ?? 1024;
    (options.pubsub ?? defaultPubSub).onLeave((subscriber, topic) => {
      const socket = subscriber.context;
      if (typeof socket === "object" && socket !== null) this.#left(socket, topic);
    });
  }

  /**
   * Switches the store (for example to Redis at startup, before sockets join).
   *
   * @param store The store.
   */
  useStore(store: PresenceStore): void {
    this.#store = store;
  }

  /** The store in use. */
  get store(): PresenceStore {
    return this.#store;
  }

  /**
   * Makes a socket a member of a topic (and a subscriber of it).
   *
   * @param ws The handlers' `ws`.
   * @param topic 1 to 256 characters.
   * @param meta Small JSON metadata (default `null`).
   * @returns The member, once the store has it.
   * @throws {RangeError} For a bad topic name or metadata over `maxMetaBytes`.
   */
  async join(
    ws: PresenceSocket,
    topic: string,
    meta: PresenceMeta = null,
  ): Promise<PresenceMember> {
    assertTopic(topic);
    const size = encoder.encode(JSON.stringify(meta)).length;
    if (size > this.#maxMetaBytes) {
      throw new RangeError(`Presence metadata must be at most ${this.#maxMetaBytes} bytes of JSON`);
    }
    let members = this.#members.get(topic);
    const known = members?.get(ws);
    if (known) return { id: known, meta };
    if (!members) this.#members.set(topic, members = new Map());
    const id = crypto.randomUUID();
    members.set(ws, id);
    ws.subscribe(topic);
    const member = { id, meta };
    const joined = Promise.resolve(this.#store.join(topic, member));
    this.#pending.set(id, joined);
    try {
      await joined;
    } finally {
      this.#pending.delete(id);
    }
    return member;
  }

  /**
   * Ends a socket's membership of a topic (it stays subscribed).
   *
   * @param ws The handlers' `ws`.
   * @param topic The topic.
   * @returns Once the store has it.
   */
  async leave(ws: PresenceSocket, topic: string): Promise<void> {
    await this.#left(ws, topic);
  }

  /**
   * The members of a topic, across every process the store spans, oldest
   * first.
   *
   * @param topic The topic.
   * @returns The members, with their metadata; `partial` is set where the
   *   store could not list them all (over its cap, or its backend down).
   */
  async list(topic: string): Promise<PresenceList> {
    return await this.#store.list(topic);
  }

  /**
   * Tells `listener` of joins and leaves on a topic, from every process.
   *
   * @param topic The topic.
   * @param listener Called with each event.
   * @returns A function that stops it.
   */
  watch(topic: string, listener: (event: PresenceEvent) => void): () => void {
    return this.#store.watch(topic, listener);
  }

  async #left(socket: object, topic: string): Promise<void> {
    const members = this.#members.get(topic);
    const id = members?.get(socket);
    if (!members || id === undefined) return;
    members.delete(socket);
    if (members.size === 0) this.#members.delete(topic);
    // A socket that closes while its join is on the way leaves after it.
    await this.#pending.get(id)?.catch(() => {});
    try {
      await this.#store.leave(topic, id);
    } catch (error) {
      // The store (Redis) is down: its expiry removes the member later.
      console.error(`Presence: leave of ${topic} not recorded:`, error);
    }
  }
}

/**
 * The process-wide presence, on `defaultPubSub`, in memory until `useStore()`.
 *
 * @example Who is in a room
 * ```ts ignore
 * import { defaultPresence } from "@edgesocket/edgesocket";
 * const members = await defaultPresence.list("room:lobby");
 * ```
 */
export const defaultPresence: Presence = new Presence();
