import { EventEmitter } from "node:events";
import process from "node:process";
import type { IncomingMessage } from "node:http";
import type { WebSocketConnection } from "../core/web_socket_connection.ts";

/**
 * The `wss` of {@linkcode createNodeWebSocket}, as `@hono/node-ws` returns
 * one (there a `ws` server in `noServer` mode): the helper's open
 * connections in `clients`, a `connection` event for each, and `close()`.
 * A client is the codec's `WebSocketConnection` (the handlers' `ws.raw`),
 * with `send`, `close`, `ping`, `terminate`, `readyState` and
 * `WebSocketConnection.OPEN`, as the broadcast loops written for `ws` use
 * them.
 *
 * @example Broadcast to every open client, as with `ws`
 * ```ts ignore
 * const { upgradeWebSocket, injectWebSocket, wss } = createNodeWebSocket({ app });
 * app.get("/ws", upgradeWebSocket(() => ({
 *   onMessage(event) {
 *     wss.clients.forEach((client) => {
 *       if (client.readyState === 1) client.send(String(event.data));
 *     });
 *   },
 * })));
 * ```
 */
export class NodeWebSocketClients extends EventEmitter {
  /** The open connections, each from its opening (before its `onOpen`) to its close. */
  readonly clients: Set<WebSocketConnection> = new Set();
  #state: "running" | "closing" | "closed" = "running";

  /** Whether {@linkcode close} was called: new upgrades get 503. */
  get closed(): boolean {
    return this.#state !== "running";
  }

  /**
   * Adds a connection that opened; it leaves `clients` when it closes.
   *
   * @param connection The connection.
   * @param request The upgrade request, for the `connection` event.
   */
  add(connection: WebSocketConnection, request: IncomingMessage): void {
    this.clients.add(connection);
    connection.addEventListener("close", () => {
      this.clients.delete(connection);
      if (this.#state === "closing" && this.clients.size === 0) this.#emitClose();
    });
    try {
      this.emit("connection", connection, request);
    } catch (error) {
      // A listener's bug: logged, and the socket still opens (with ws it
      // would be thrown out of the server's upgrade event).
      console.error(error);
    }
  }

  /**
   * Stops accepting, as `ws`'s `close()` does in `noServer` mode: a new
   * upgrade gets 503, the open connections stay open (close them with
   * `client.close()`), and `close` is emitted once the last has closed (at
   * once, on the next tick, if none is open).
   *
   * @param callback Called on `close`; with an error if the server was
   * already closed.
   */
  close(callback?: (error?: Error) => void): void {
    if (this.#state === "closed") {
      if (callback) this.once("close", () => callback(new Error("The server is not running")));
      process.nextTick(() => this.emit("close"));
      return;
    }
    if (callback) this.once("close", callback);
    if (this.#state === "closing") return;
    this.#state = "closing";
    if (this.clients.size === 0) this.#emitClose();
  }

  #emitClose(): void {
    process.nextTick(() => {
      this.#state = "closed";
      this.emit("close");
    });
  }
}
