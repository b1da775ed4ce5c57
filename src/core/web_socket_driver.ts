import type { SocketDriver } from "./socket_driver.ts";

/**
 * Queued bytes past which a send counts as backed up: Node's socket default.
 *
 * @example
 * ```ts
 * import { DRAIN_MARK } from "@edgesocket/edgesocket/adapter";
 * console.log(DRAIN_MARK); // 16384
 * ```
 */
export const DRAIN_MARK = 16 * 1024;
// How often a backed-up queue is looked at: these runtimes have no event.
const DRAIN_POLL_MS = 10;

/** Options for {@linkcode WebSocketDriver}. */
export interface WebSocketDriverOptions {
  /**
   * `false` where the runtime never counts queued bytes (Workers), so
   * `bufferedAmount` is 0.
   */
  reportsBuffered?: boolean;
  /**
   * Called when a queue that passed {@linkcode DRAIN_MARK} has emptied; the
   * queue is watched only when this is given.
   */
  onDrain?: () => void;
}

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
  #onDrain: (() => void) | undefined;
  #drainTimer: ReturnType<typeof setInterval> | undefined;

  /**
   * Wraps a socket.
   *
   * @param socket The server end of the connection.
   * @param options Whether the runtime counts queued bytes; a drain callback.
   */
  constructor(socket: WebSocket, options: WebSocketDriverOptions = {}) {
    this.raw = socket;
    this.#reportsBuffered = options.reportsBuffered ?? true;
    this.#onDrain = this.#reportsBuffered ? options.onDrain : undefined;
  }

  /**
   * Sends a message.
   *
   * @param data Text, or exactly the view's bytes.
   */
  send(data: string | Uint8Array | ArrayBuffer): void {
    this.raw.send(data);
    if (this.#onDrain && this.#drainTimer === undefined && this.raw.bufferedAmount > DRAIN_MARK) {
      this.#drainTimer = setInterval(() => this.#checkDrained(), DRAIN_POLL_MS);
    }
  }

  #checkDrained(): void {
    const socket = this.raw;
    if (socket.readyState === 1 && socket.bufferedAmount > 0) return;
    clearInterval(this.#drainTimer);
    this.#drainTimer = undefined;
    if (socket.readyState === 1) this.#onDrain?.();
  }

  /**
   * Closes with any code a server may send (server sockets take 1001, 1009 …).
   *
   * @param code The close code.
   * @param reason The reason.
   */
  closeWith(code?: number, reason?: string): void {
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
