/**
 * {@linkcode Rooms} on edgesocket's topics: a room is the topic
 * `chat:<room>`, and every event is published to it. With a backplane on
 * the process's topics (`REDIS_URL`: Redis), the same room spans every
 * server process: a message published on one reaches the members on all.
 *
 * Each process keeps a room's online list and history by listening to the
 * room's topic itself, so they include what the other processes publish
 * from the moment this one has the room open. Redis relays, it stores
 * nothing: a process started later does not learn earlier history or
 * presence, and a process that dies without its `leave` events leaves
 * ghosts in the others' online lists until their users come back.
 */
import { defaultPubSub, type PubSub, type SendData, type Subscriber } from "../../mod.ts";
import {
  type BroadcastOptions,
  type JoinResult,
  type LeaveResult,
  openRoom,
  type RoomMember,
  type Rooms,
} from "./rooms.ts";
import type { ChatMessage, ServerEvent } from "./protocol.ts";

/** Options for {@linkcode TopicRooms}. */
export interface TopicRoomsOptions {
  /** The topics (default: the process's, where `useBackplane()` applies). */
  pubsub?: PubSub;
  /** Messages kept per room (default 50). */
  historySize?: number;
  /** Rooms kept with no local member, history and all (default 1,000). */
  maxIdleRooms?: number;
}

// A topic subscriber that hands frames to a chat member.
class MemberSubscriber implements Subscriber {
  readonly topics: Set<string> = new Set();
  readonly bufferedAmount = 0;
  readonly #member: RoomMember;
  constructor(member: RoomMember) {
    this.#member = member;
  }
  send(data: SendData): void {
    this.#member.deliver(data as string);
  }
  closeWith(): void {}
}

// One room as this process sees it: its members here, and what it heard.
class TopicRoom implements Subscriber {
  readonly topics: Set<string> = new Set();
  readonly bufferedAmount = 0;
  /** Local members and their subscribers. */
  readonly members = new Map<RoomMember, MemberSubscriber>();
  /** Local sockets per name. */
  readonly localNames = new Map<string, number>();
  /** Processes' arrivals per name, from the topic's join and leave events. */
  readonly names = new Map<string, number>();
  readonly history: ChatMessage[] = [];
  readonly #historySize: number;

  constructor(historySize: number) {
    this.#historySize = historySize;
  }

  // Every event published to the room, here or in another process.
  send(data: SendData): void {
    const event = JSON.parse(data as string) as ServerEvent;
    if (event.type === "message") {
      this.history.push(event);
      if (this.history.length > this.#historySize) this.history.shift();
    } else if (event.type === "join") {
      this.names.set(event.name, (this.names.get(event.name) ?? 0) + 1);
    } else if (event.type === "leave") {
      const count = (this.names.get(event.name) ?? 0) - 1;
      if (count > 0) this.names.set(event.name, count);
      else this.names.delete(event.name);
    }
  }

  closeWith(): void {}

  /** The online list, with a change not yet heard on the topic. */
  online(arriving?: string, departing?: string): string[] {
    const online = new Set(this.names.keys());
    // Local names count even before their event comes back.
    for (const name of this.localNames.keys()) online.add(name);
    if (arriving) online.add(arriving);
    if (departing && (this.names.get(departing) ?? 0) <= 1) online.delete(departing);
    return [...online];
  }
}

/**
 * {@linkcode Rooms} over topics, one process or many.
 *
 * @example
 * ```ts
 * import { TopicRooms } from "./topic_rooms.ts";
 * const rooms = new TopicRooms();
 * const frames: string[] = [];
 * await rooms.join("lobby", { name: "ada", deliver: (f) => frames.push(f) });
 * await rooms.broadcast("lobby", { type: "join", name: "lin", online: [] });
 * console.log(frames.length); // 1
 * ```
 */
export class TopicRooms implements Rooms {
  readonly #rooms = new Map<string, TopicRoom>();
  readonly #pubsub: PubSub;
  readonly #historySize: number;
  readonly #maxIdleRooms: number;

  /**
   * Creates the registry.
   *
   * @param options The topics, history size and idle rooms kept.
   */
  constructor(options: TopicRoomsOptions = {}) {
    this.#pubsub = options.pubsub ?? defaultPubSub;
    this.#historySize = options.historySize ?? 50;
    this.#maxIdleRooms = options.maxIdleRooms ?? 1000;
  }

  join(name: string, member: RoomMember): Promise<JoinResult> {
    const room = this.#open(name);
    let arrived = false;
    if (!room.members.has(member)) {
      const subscriber = new MemberSubscriber(member);
      room.members.set(member, subscriber);
      this.#pubsub.subscribe(subscriber, topicOf(name));
      const sockets = room.localNames.get(member.name) ?? 0;
      arrived = sockets === 0;
      room.localNames.set(member.name, sockets + 1);
    }
    return Promise.resolve({
      online: room.online(arrived ? member.name : undefined),
      history: room.history.slice(),
      arrived,
    });
  }

  leave(name: string, member: RoomMember): Promise<LeaveResult> {
    const room = this.#rooms.get(name);
    const subscriber = room?.members.get(member);
    if (!room || !subscriber) {
      return Promise.resolve({ online: room?.online() ?? [], departed: false });
    }
    room.members.delete(member);
    this.#pubsub.unsubscribe(subscriber, topicOf(name));
    const sockets = (room.localNames.get(member.name) ?? 1) - 1;
    const departed = sockets === 0;
    if (departed) room.localNames.delete(member.name);
    else room.localNames.set(member.name, sockets);
    return Promise.resolve({
      online: room.online(undefined, departed ? member.name : undefined),
      departed,
    });
  }

  broadcast(name: string, event: ServerEvent, options: BroadcastOptions = {}): Promise<void> {
    const room = this.#rooms.get(name);
    const except = options.except ? room?.members.get(options.except) : undefined;
    this.#pubsub.publish(topicOf(name), JSON.stringify(event), except);
    return Promise.resolve();
  }

  history(name: string): Promise<ChatMessage[]> {
    return Promise.resolve(this.#rooms.get(name)?.history.slice() ?? []);
  }

  #open(name: string): TopicRoom {
    return openRoom(this.#rooms, name, {
      create: () => {
        const room = new TopicRoom(this.#historySize);
        this.#pubsub.subscribe(room, topicOf(name));
        return room;
      },
      maxIdle: this.#maxIdleRooms,
      forget: (key, room) => this.#pubsub.unsubscribe(room, topicOf(key)),
    });
  }
}

function topicOf(room: string): string {
  return `chat:${room}`;
}
