import type { SocketDriver } from "./socket_driver.ts";

/**
 * The {@linkcode SocketDriver} over a runtime's own server-side WHATWG
 * `WebSocket` (Deno's, Workers'): a class, not an object literal with getters,
 * which V8 would keep as a dictionary per connection.
 *
 * @example
 * ```ts ignore
 * const driver = new WebSocketDriver(socket);
 * socket.onopen = () => session.open(driver);
 * ```
 */
export class WebSocketDriver implements SocketDriver {
  /** The runtime's socket. */
  readonly raw: WebSocket;
  #reportsBuffered: boolean;

  /**
   * Wraps a socket.
   *
   * @param socket The server end of the connection.
   * @param options `reportsBuffered: false` where the runtime never counts
   * queued bytes (Workers), so `bufferedAmount` is 0.
   */
  constructor(socket: WebSocket, options: { reportsBuffered?: boolean } = {}) {
    this.raw = socket;
    this.#reportsBuffered = options.reportsBuffered ?? true;
  }

  /**
   * Sends a message.
   *
   * @param data Text, or exactly the view's bytes.
   */
  send(data: string | Uint8Array): void {
    this.raw.send(data);
  }

  /**
   * Closes with any code a server may send (server sockets take 1001, 1009 …).
   *
   * @param code The close code.
   * @param reason The reason.
   */
  close(code?: number, reason?: string): void {
    this.raw.close(code, reason);
  }

  /** The socket's `readyState`. */
  get readyState(): number {
    return this.raw.readyState;
  }

  /** Bytes queued, where the runtime reports them. */
  get bufferedAmount(): number {
    return this.#reportsBuffered ? this.raw.bufferedAmount : 0;
  }

  /** The agreed extensions. */
  get extensions(): string {
    return this.raw.extensions ?? "";
  }
}
