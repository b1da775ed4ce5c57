import type { WebSocketConnection } from "../core/web_socket_connection.ts";
import type { SendData } from "../core/send_data.ts";

/** How a test client's connection ended. */
export interface ClosedInfo {
  /** The close code (1005 none sent, 1006 no close frame). */
  code: number;
  /** The close reason. */
  reason: string;
  /** Whether the closing handshake completed. */
  wasClean: boolean;
}

/**
 * The client surface tests want over an open client-role connection: send,
 * await the next message, close, and the close code.
 *
 * @example
 * ```ts ignore
 * const ws = await connect(app, "/echo");
 * ws.send("hi");
 * console.log(await ws.nextMessage()); // "hi"
 * ws.close();
 * console.log((await ws.closed).code); // 1005
 * ```
 */
export class WebSocketTestClient {
  /** The underlying client-role connection. */
  readonly connection: WebSocketConnection;
  /** The subprotocol the server chose, or `""`. */
  readonly protocol: string;
  /** Resolves once the connection is closed. */
  readonly closed: Promise<ClosedInfo>;
  #messages: Array<string | Uint8Array> = [];
  #waiters: Array<
    { resolve: (m: string | Uint8Array) => void; reject: (e: Error) => void }
  > = [];
  #done: ClosedInfo | undefined;
  #keep = true;

  /**
   * Creates the instance.
   *
   * @param connection An open client-role connection.
   * @param protocol The agreed subprotocol.
   */
  constructor(connection: WebSocketConnection, protocol = "") {
    this.connection = connection;
    this.protocol = protocol;
    connection.binaryType = "uint8array";
    connection.addEventListener("message", (event) => {
      const data = event.data as string | Uint8Array;
      const message = typeof data === "string" ? data : data.slice();
      const waiter = this.#waiters.shift();
      if (waiter) waiter.resolve(message);
      else if (this.#keep) this.#messages.push(message);
    });
    this.closed = new Promise((resolve) => {
      connection.addEventListener("close", (event) => {
        this.#done = {
          code: event.code,
          reason: event.reason,
          wasClean: event.wasClean,
        };
        for (const waiter of this.#waiters.splice(0)) {
          waiter.reject(
            new Error(`Connection closed with ${event.code} ${event.reason}`),
          );
        }
        resolve(this.#done);
      });
    });
  }

  /**
   * Sends a message.
   *
   * @param data Text or binary.
   */
  send(data: SendData): void {
    this.connection.send(data);
  }

  /**
   * Waits for the next message.
   *
   * @param timeout Milliseconds before it rejects (default 5,000).
   * @returns Text as a string, binary as a `Uint8Array`.
   */
  nextMessage(timeout = 5000): Promise<string | Uint8Array> {
    const queued = this.#messages.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    if (this.#done) {
      return Promise.reject(
        new Error(`Connection closed with ${this.#done.code}`),
      );
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
        reject(new Error(`No message within ${timeout} ms`));
      }, timeout);
      const waiter = {
        resolve: (m: string | Uint8Array) => {
          clearTimeout(timer);
          resolve(m);
        },
        reject: (e: Error) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      this.#waiters.push(waiter);
    });
  }

  /**
   * Stops keeping messages nobody waits for, and drops those kept: for a
   * client that only counts what arrives (a load test listening on
   * `connection` itself), whose queue would otherwise hold every message.
   * `nextMessage()` still gets what arrives after it is called.
   *
   * @example
   * ```ts ignore
   * const ws = await connect(app, "/feed");
   * ws.discardUnread();
   * let count = 0;
   * ws.connection.addEventListener("message", () => count++);
   * ```
   */
  discardUnread(): void {
    this.#keep = false;
    this.#messages = [];
  }

  /**
   * Starts the closing handshake; await `closed` for the outcome.
   *
   * @param code The close code.
   * @param reason The reason.
   */
  close(code?: number, reason?: string): void {
    this.connection.close(code, reason);
  }
}
