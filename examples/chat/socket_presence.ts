/**
 * Who is in a room's Durable Object, on the object's own presence
 * (`DurableObjectWebSockets.presence`): each socket's membership and name
 * are in its attachment, so the object may have left memory since they
 * joined. The chat asks only this file, so a presence of another kind (one
 * that spans objects) replaces it here.
 */
import type { DurableObjectWebSockets, WebSocketContext } from "../../src/entries/cloudflare.ts";

/** What presence needs from each socket's `ws.data`. */
export interface PresenceData {
  /** The signed-in name. */
  user: string;
}

/**
 * The room's online list, from the object's open sockets.
 *
 * @example
 * ```ts ignore
 * const presence = new SocketPresence(sockets, "room");
 * presence.join(ws); // in onOpen
 * presence.online(); // ["ada", "lin"]
 * ```
 */
export class SocketPresence<D extends PresenceData> {
  readonly #sockets: DurableObjectWebSockets<D>;
  readonly #topic: string;

  /**
   * Creates the view.
   *
   * @param sockets The object's sockets.
   * @param topic The room's topic among them.
   */
  constructor(sockets: DurableObjectWebSockets<D>, topic: string) {
    this.#sockets = sockets;
    this.#topic = topic;
  }

  /**
   * Makes a socket a member of the room, under its user's name.
   *
   * @param ws The socket, in its `onOpen`.
   */
  join(ws: WebSocketContext<D, WebSocket>): void {
    this.#sockets.presence.join(ws, this.#topic, { name: ws.data.user });
  }

  /**
   * Names online, in order of arrival, each once. A socket whose `onClose`
   * is running is no longer among them.
   *
   * @returns The names.
   */
  online(): string[] {
    return [...new Set(this.#names())];
  }

  /**
   * The names online and how many members a name has here, from one
   * listing (each reads the waiting sessions' records): a name joins with
   * its first member and leaves with its last.
   *
   * @param user The name.
   * @returns The names online, as {@linkcode online} has them, and the count.
   */
  onlineWith(user: string): { online: string[]; count: number } {
    const names = this.#names();
    return { online: [...new Set(names)], count: names.filter((name) => name === user).length };
  }

  #names(): string[] {
    return this.#sockets.presence.list(this.#topic).map((m) => (m.meta as { name: string }).name);
  }
}
