/**
 * Who is in a room's Durable Object, read from its sockets' attachments: the
 * object may have left memory since they joined, the attachments did not.
 * The chat asks only this file, so a presence of another kind (one that
 * spans objects, or carries more than a name) replaces it here.
 */
import type { DurableObjectWebSockets } from "../../src/entries/cloudflare.ts";

/** What presence needs from each socket's `ws.data`. */
export interface PresenceData {
  /** The signed-in name. */
  user: string;
  /** When the socket opened, in ms: the online list's order. */
  since: number;
}

/**
 * The room's online list, from the object's open sockets.
 *
 * @example
 * ```ts ignore
 * const presence = new SocketPresence(sockets, "room");
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
   * Names online, in order of arrival, each once. A socket whose `onClose`
   * is running is no longer among them.
   *
   * @returns The names.
   */
  online(): string[] {
    const members = this.#sockets.getContexts(this.#topic).map((ws) => ws.data);
    members.sort((a, b) => a.since - b.since);
    return [...new Set(members.map((m) => m.user))];
  }

  /**
   * How many open sockets a name has here: a name joins with its first and
   * leaves with its last.
   *
   * @param user The name.
   * @returns The count.
   */
  socketsOf(user: string): number {
    return this.#sockets.getContexts(this.#topic).filter((ws) => ws.data.user === user).length;
  }
}
