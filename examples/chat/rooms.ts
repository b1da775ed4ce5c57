/**
 * The room registry behind the chat: who is in which room, and each room's
 * recent messages. {@linkcode Rooms} is the seam: this module holds them in
 * memory for one process (one isolate on Workers); a pub/sub layer can take
 * its place later without the app changing, which is why every method
 * returns a promise though this one never waits.
 */
import type { ChatMessage, ServerEvent } from "./protocol.ts";

/** One socket in a room, as the registry sees it. */
export interface RoomMember {
  /** The user's name. Several members may share one (two tabs). */
  readonly name: string;
  /**
   * Delivers an encoded event to this socket.
   *
   * @param frame One JSON text frame.
   */
  deliver(frame: string): void;
  /**
   * The member's own socket, for a registry on topics to subscribe to the
   * room (a resumable session's `ws`: what the room publishes then reaches
   * it numbered, and replays after a reconnect). Registries that have no
   * topics ({@linkcode MemoryRooms}) deliver through `deliver()` anyway.
   */
  readonly socket?: RoomSocket;
}

/** What a registry on topics needs of a member's socket: the handlers' `ws` has it. */
export interface RoomSocket {
  /** Subscribes to the room's topic. */
  subscribe(topic: string): void;
  /** Unsubscribes. */
  unsubscribe(topic: string): void;
  /** Publishes to the topic's other subscribers; returns how many. */
  publish(topic: string, data: string): number;
}

/** What a member finds when it joins. */
export interface JoinResult {
  /** Names in the room, the new one included, in order of arrival. */
  online: string[];
  /** The room's last messages, oldest first. */
  history: ChatMessage[];
  /** Whether the name was not in the room before (its first socket there). */
  arrived: boolean;
}

/** What is left when a member leaves. */
export interface LeaveResult {
  /** Names still in the room. */
  online: string[];
  /** Whether that was the name's last socket in the room. */
  departed: boolean;
}

/** Options for {@linkcode Rooms.broadcast}. */
export interface BroadcastOptions {
  /** A member not to deliver to (the one who joined or left). */
  except?: RoomMember;
}

/** The registry's interface: the chat app uses nothing else. */
export interface Rooms {
  /**
   * Adds a member to a room.
   *
   * @param room The room's name.
   * @param member The socket.
   * @returns Who is online, the history, and whether the name just arrived.
   */
  join(room: string, member: RoomMember): Promise<JoinResult>;
  /**
   * Removes a member from a room; does nothing for one not in it.
   *
   * @param room The room's name.
   * @param member The socket.
   * @returns Who is still online, and whether the name just departed.
   */
  leave(room: string, member: RoomMember): Promise<LeaveResult>;
  /**
   * Sends an event to every member of a room, encoded once. A `message`
   * event is also kept in the room's history.
   *
   * @param room The room's name.
   * @param event The event.
   * @param options A member to skip.
   */
  broadcast(room: string, event: ServerEvent, options?: BroadcastOptions): Promise<void>;
  /**
   * The room's last messages, oldest first.
   *
   * @param room The room's name.
   * @returns At most the history size, copied.
   */
  history(room: string): Promise<ChatMessage[]>;
}

/** Options for {@linkcode MemoryRooms}. */
export interface MemoryRoomsOptions {
  /** Messages kept per room (default 50). */
  historySize?: number;
  /** Rooms kept with no one in them, history and all (default 1,000). */
  maxIdleRooms?: number;
}

interface Room {
  members: Set<RoomMember>;
  /** Sockets per name, in order of arrival: the online list. */
  names: Map<string, number>;
  history: ChatMessage[];
}

/**
 * {@linkcode Rooms} in this process's memory.
 *
 * @example
 * ```ts
 * import { MemoryRooms } from "./rooms.ts";
 * const rooms = new MemoryRooms();
 * const frames: string[] = [];
 * await rooms.join("lobby", { name: "ada", deliver: (f) => frames.push(f) });
 * await rooms.broadcast("lobby", { type: "join", name: "lin", online: [] });
 * console.log(frames.length); // 1
 * ```
 */
export class MemoryRooms implements Rooms {
  readonly #rooms = new Map<string, Room>();
  readonly #historySize: number;
  readonly #maxIdleRooms: number;

  /**
   * Creates an empty registry.
   *
   * @param options History size and how many empty rooms to remember.
   */
  constructor(options: MemoryRoomsOptions = {}) {
    this.#historySize = options.historySize ?? 50;
    this.#maxIdleRooms = options.maxIdleRooms ?? 1000;
  }

  /** Rooms with at least one member. */
  get activeRooms(): number {
    let n = 0;
    for (const room of this.#rooms.values()) if (room.members.size > 0) n++;
    return n;
  }

  join(name: string, member: RoomMember): Promise<JoinResult> {
    const room = this.#open(name);
    let arrived = false;
    if (!room.members.has(member)) {
      room.members.add(member);
      const sockets = room.names.get(member.name) ?? 0;
      arrived = sockets === 0;
      room.names.set(member.name, sockets + 1);
    }
    return Promise.resolve({
      online: [...room.names.keys()],
      history: room.history.slice(),
      arrived,
    });
  }

  leave(name: string, member: RoomMember): Promise<LeaveResult> {
    const room = this.#rooms.get(name);
    let departed = false;
    if (room?.members.delete(member)) {
      const sockets = room.names.get(member.name)! - 1;
      departed = sockets === 0;
      if (departed) room.names.delete(member.name);
      else room.names.set(member.name, sockets);
    }
    return Promise.resolve({ online: room ? [...room.names.keys()] : [], departed });
  }

  broadcast(name: string, event: ServerEvent, options: BroadcastOptions = {}): Promise<void> {
    const room = event.type === "message" ? this.#open(name) : this.#rooms.get(name);
    if (!room) return Promise.resolve();
    if (event.type === "message") {
      room.history.push(event);
      if (room.history.length > this.#historySize) room.history.shift();
    }
    const frame = JSON.stringify(event);
    for (const member of room.members) {
      if (member !== options.except) member.deliver(frame);
    }
    return Promise.resolve();
  }

  history(name: string): Promise<ChatMessage[]> {
    return Promise.resolve(this.#rooms.get(name)?.history.slice() ?? []);
  }

  #open(name: string): Room {
    return openRoom(this.#rooms, name, {
      create: () => ({ members: new Set(), names: new Map(), history: [] }),
      maxIdle: this.#maxIdleRooms,
    });
  }
}

/** What {@linkcode openRoom} needs of a room. */
export interface IdleAware {
  /** The room's local members: none makes it idle. */
  readonly members: { readonly size: number };
}

/**
 * Finds or makes a room, keeping the map in order of use (most recent last)
 * and forgetting the least recently used empty rooms past `maxIdle`: a user
 * may name any number of rooms.
 *
 * @param rooms The rooms by name.
 * @param name The room wanted.
 * @param options How to make one, how many empty ones to keep, and what to do when one is forgotten.
 * @returns The room.
 *
 * @example
 * ```ts
 * import { openRoom } from "./rooms.ts";
 * const rooms = new Map<string, { members: Set<string> }>();
 * openRoom(rooms, "a", { create: () => ({ members: new Set() }), maxIdle: 1 });
 * openRoom(rooms, "b", { create: () => ({ members: new Set() }), maxIdle: 1 });
 * console.log([...rooms.keys()]); // ["b"]
 * ```
 */
export function openRoom<R extends IdleAware>(
  rooms: Map<string, R>,
  name: string,
  options: { create(): R; maxIdle: number; forget?(name: string, room: R): void },
): R {
  let room = rooms.get(name);
  if (room) {
    rooms.delete(name);
    rooms.set(name, room);
    return room;
  }
  room = options.create();
  rooms.set(name, room);
  let idle = 0;
  for (const r of rooms.values()) if (r.members.size === 0) idle++;
  for (const [key, r] of rooms) {
    if (idle <= options.maxIdle) break;
    if (r.members.size === 0) {
      rooms.delete(key);
      options.forget?.(key, r);
      idle--;
    }
  }
  return room;
}
