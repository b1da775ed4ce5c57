/**
 * {@linkcode Rooms} on edgesocket's topics and presence: a room is the topic
 * `chat:<room>`, every event is published to it, and who is in it is the
 * topic's presence, each socket a member with its user's name. With a
 * backplane on the process's topics and a shared presence store
 * (`REDIS_URL`: Redis for both), the same room spans every server process:
 * a message published on one reaches the members on all, and a user joining
 * through any process is welcomed with everyone online.
 *
 * Join and leave frames: the process where a name's first socket arrives
 * announces the join (the name's oldest member in the room is that socket);
 * the process where its last one leaves announces the leave. When a process
 * dies without saying goodbye, its members expire from presence, and the
 * process whose sweep removed them (their leave is `local` there, and there
 * only) announces the leave of each name that is gone. Two last sockets of
 * one name closing at the same moment on two processes may both announce it.
 *
 * Each process keeps a room's last messages (the welcome's `history`) by
 * listening to the room's topic, so it holds what the other processes
 * publish from the moment this one has the room open.
 *
 * The rooms' topics are resumable: every event published to a room is
 * numbered by the topics' history (`PubSub.useHistory()`: Redis Streams
 * with `REDIS_URL`, else this process's memory, which the registry sets at
 * its first use when the topics have no history yet). A member that brings its own
 * `socket` (a resumable session's `ws`) is subscribed itself, so a client
 * that comes back gets what it missed once and in order, or is told
 * `recovered: false`; other members get frames through `deliver()`, after
 * their welcome, as before.
 */
import {
  defaultPresence,
  defaultPubSub,
  MemoryHistoryStore,
  type MemoryHistoryStoreOptions,
  Presence,
  type PresenceList,
  type PresenceMember,
  type PresenceSocket,
  type PubSub,
  type SendData,
  type Subscriber,
} from "../../mod.ts";
import {
  type BroadcastOptions,
  type JoinResult,
  type LeaveResult,
  openRoom,
  type RoomMember,
  type Rooms,
  type RoomSocket,
} from "./rooms.ts";
import type { ChatMessage, ServerEvent } from "./protocol.ts";

/** Options for {@linkcode TopicRooms}. */
export interface TopicRoomsOptions {
  /** The topics (default: the process's, where `useBackplane()` applies). */
  pubsub?: PubSub;
  /**
   * Who is in each room (default: the process's `defaultPresence`, where
   * `useStore()` applies; with `pubsub`, a presence of its own on it).
   */
  presence?: Presence;
  /** Messages kept per room (default 50). */
  historySize?: number;
  /** Rooms kept with no local member, history and all (default 1,000). */
  maxIdleRooms?: number;
  /**
   * Bounds of the in-memory history the registry gives the rooms' topics,
   * at its first use, when `pubsub` has none yet (default: `MemoryHistoryStore`'s, 1,000
   * events and 2 minutes per room). A client away for longer is told
   * `recovered: false`.
   */
  replay?: MemoryHistoryStoreOptions;
}

/** The topic prefix of the rooms. */
const PREFIX = "chat:";

/**
 * Whether a topic is a chat room's: what `useHistory()` makes resumable.
 *
 * @param topic A topic.
 * @returns `true` for `chat:<room>`.
 *
 * @example
 * ```ts
 * import { isRoomTopic } from "./topic_rooms.ts";
 * console.log(isRoomTopic("chat:lobby")); // true
 * ```
 */
export function isRoomTopic(topic: string): boolean {
  return topic.startsWith(PREFIX);
}

// A chat socket as topics and presence see it: it hands frames to the member.
class MemberSubscriber implements Subscriber, PresenceSocket, RoomSocket {
  readonly topics: Set<string> = new Set();
  readonly bufferedAmount = 0;
  readonly #member: RoomMember;
  readonly #pubsub: PubSub;
  constructor(member: RoomMember, pubsub: PubSub) {
    this.#member = member;
    this.#pubsub = pubsub;
  }
  // Presence tells a socket's leave by its context.
  get context(): this {
    return this;
  }
  send(data: SendData): void {
    this.#member.deliver(data as string);
  }
  closeWith(): void {}
  subscribe(topic: string): void {
    this.#pubsub.subscribe(this, topic);
  }
  unsubscribe(topic: string): void {
    this.#pubsub.unsubscribe(this, topic);
  }
  publish(topic: string, data: string): number {
    return this.#pubsub.publish(topic, data, this);
  }
}

// A member in a room: the socket presence knows it by (its subscriber, or
// its own resumable socket) and its presence id.
interface Membership {
  socket: RoomSocket;
  id: string;
}

// One room as this process sees it: its members here, and what it heard.
class TopicRoom implements Subscriber {
  readonly topics: Set<string> = new Set();
  readonly bufferedAmount = 0;
  /** Local members and their sockets. */
  readonly members = new Map<RoomMember, Membership>();
  /** Presence ids of the local members: their leaves are announced by `leave()`. */
  readonly ownIds = new Set<string>();
  /** Names whose members this process swept, not announced yet. */
  readonly expired = new Set<string>();
  readonly history: ChatMessage[] = [];
  stopWatching: () => void = () => {};
  readonly #historySize: number;
  // Joins and leaves of this room, one at a time in this process, so that
  // "first" and "last" of a name are decided on what the previous one left.
  #queue: Promise<unknown> = Promise.resolve();

  constructor(historySize: number) {
    this.#historySize = historySize;
  }

  // Every event published to the room, here or in another process.
  send(data: SendData): void {
    const event = JSON.parse(data as string) as ServerEvent;
    if (event.type !== "message") return;
    this.history.push(event);
    if (this.history.length > this.#historySize) this.history.shift();
  }

  closeWith(): void {}

  serialize<T>(task: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(task, task);
    this.#queue = run.catch(() => {});
    return run;
  }
}

function nameOf(member: PresenceMember): string {
  return (member.meta as { name?: string } | null)?.name ?? "";
}

/** Names in order of arrival, each once. */
function namesOf(list: PresenceList): string[] {
  return [...new Set(list.map(nameOf))];
}

/**
 * {@linkcode Rooms} over topics and presence, one process or many.
 *
 * @example
 * ```ts
 * import { TopicRooms } from "./topic_rooms.ts";
 * const rooms = new TopicRooms();
 * const frames: string[] = [];
 * const { online } = await rooms.join("lobby", { name: "ada", deliver: (f) => frames.push(f) });
 * console.log(online); // ["ada"]
 * await rooms.broadcast("lobby", { type: "join", name: "lin", online: [] });
 * console.log(frames.length); // 1
 * ```
 */
export class TopicRooms implements Rooms {
  readonly #rooms = new Map<string, TopicRoom>();
  readonly #pubsub: PubSub;
  readonly #presence: Presence;
  readonly #historySize: number;
  readonly #maxIdleRooms: number;
  readonly #replay: MemoryHistoryStoreOptions | undefined;

  /**
   * Creates the registry.
   *
   * @param options The topics, presence, history size and idle rooms kept.
   */
  constructor(options: TopicRoomsOptions = {}) {
    this.#pubsub = options.pubsub ?? defaultPubSub;
    this.#presence = options.presence ??
      (options.pubsub ? new Presence({ pubsub: options.pubsub }) : defaultPresence);
    this.#historySize = options.historySize ?? 50;
    this.#maxIdleRooms = options.maxIdleRooms ?? 1000;
    this.#replay = options.replay;
  }

  // The rooms' topics get their history at the first use, not at
  // construction: an entry point may set another one after importing a
  // module that made a registry (app.ts's default app).
  #useReplay(): void {
    if (this.#pubsub.history) return;
    this.#pubsub.useHistory(new MemoryHistoryStore(this.#replay), { topics: isRoomTopic });
  }

  /** The topics the rooms are on: a member's `socket` must be on them too. */
  get pubsub(): PubSub {
    return this.#pubsub;
  }

  join(name: string, member: RoomMember): Promise<JoinResult> {
    this.#useReplay();
    const room = this.#open(name);
    const topic = topicOf(name);
    return room.serialize(async () => {
      let membership = room.members.get(member);
      let arrived = false;
      if (!membership) {
        const socket = member.socket ?? new MemberSubscriber(member, this.#pubsub);
        membership = { socket, id: "" };
        room.members.set(member, membership);
        // Joining subscribes the socket: a resumable one gets the room numbered.
        const joined = await this.#presence.join(socket, topic, { name: member.name });
        membership.id = joined.id;
        room.ownIds.add(joined.id);
        arrived = true;
      }
      const list = await this.#presence.list(topic);
      const oldest = list.find((m) => nameOf(m) === member.name);
      if (oldest) arrived &&= oldest.id === membership.id;
      const online = namesOf(list);
      // A capped list may not reach this socket.
      if (!online.includes(member.name)) online.push(member.name);
      return { online, history: room.history.slice(), arrived };
    });
  }

  leave(name: string, member: RoomMember): Promise<LeaveResult> {
    const room = this.#rooms.get(name);
    const topic = topicOf(name);
    if (!room) return Promise.resolve({ online: [], departed: false });
    return room.serialize(async () => {
      const membership = room.members.get(member);
      if (!membership) {
        return { online: namesOf(await this.#presence.list(topic)), departed: false };
      }
      room.members.delete(member);
      await this.#presence.leave(membership.socket, topic);
      room.ownIds.delete(membership.id);
      membership.socket.unsubscribe(topic);
      const online = namesOf(await this.#presence.list(topic));
      return { online, departed: !online.includes(member.name) };
    });
  }

  broadcast(name: string, event: ServerEvent, options: BroadcastOptions = {}): Promise<void> {
    this.#useReplay();
    const except = options.except && this.#rooms.get(name)?.members.get(options.except);
    const frame = JSON.stringify(event);
    // From the skipped member's socket: a resumable one gets the position only.
    if (except) except.socket.publish(topicOf(name), frame);
    else this.#pubsub.publish(topicOf(name), frame);
    return Promise.resolve();
  }

  history(name: string): Promise<ChatMessage[]> {
    return Promise.resolve(this.#rooms.get(name)?.history.slice() ?? []);
  }

  // Members of a process that died, swept by this one: each name gone from
  // the room is announced once, here.
  #expired(room: TopicRoom, topic: string, member: PresenceMember): void {
    room.expired.add(nameOf(member));
    if (room.expired.size > 1) return;
    void room.serialize(async () => {
      const online = namesOf(await this.#presence.list(topic));
      const names = [...room.expired];
      room.expired.clear();
      for (const name of names) {
        if (!online.includes(name)) {
          this.#pubsub.publish(topic, JSON.stringify({ type: "leave", name, online }));
        }
      }
    });
  }

  #open(name: string): TopicRoom {
    return openRoom(this.#rooms, name, {
      create: () => {
        const room = new TopicRoom(this.#historySize);
        const topic = topicOf(name);
        this.#pubsub.subscribe(room, topic);
        room.stopWatching = this.#presence.watch(topic, (event) => {
          if (event.type === "leave" && event.local && !room.ownIds.has(event.member.id)) {
            this.#expired(room, topic, event.member);
          }
        });
        return room;
      },
      maxIdle: this.#maxIdleRooms,
      forget: (key, room) => {
        room.stopWatching();
        this.#pubsub.unsubscribe(room, topicOf(key));
      },
    });
  }
}

function topicOf(room: string): string {
  return PREFIX + room;
}
