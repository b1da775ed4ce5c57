/**
 * The sockets this process has open, every route's: what `/healthz` counts
 * and what a shutdown closes with 1001. It stays per process when the rooms
 * move onto pub/sub, since only this process can close its own sockets.
 */
import type { WebSocketContext } from "../../mod.ts";

/** Options for {@linkcode ConnectionRegistry.closeAll}. */
export interface CloseAllOptions {
  /** Give up waiting for the clients' close frames after this long, in ms (default 3,000). */
  timeout?: number;
}

/**
 * A set of open sockets that can close them all with any code the server
 * may send, 1001 included.
 *
 * @example
 * ```ts ignore
 * const connections = new ConnectionRegistry();
 * // in onOpen: connections.add(ws); in onClose: connections.delete(ws)
 * Deno.addSignalListener("SIGTERM", async () => {
 *   await connections.closeAll(1001, "Server shutting down");
 *   Deno.exit(0);
 * });
 * ```
 */
export class ConnectionRegistry {
  readonly #open = new Set<WebSocketContext<unknown>>();
  #emptied: Array<() => void> = [];
  #closing: { code: number; reason: string } | undefined;

  /** How many sockets are open. */
  get size(): number {
    return this.#open.size;
  }

  /**
   * Counts a socket as open; once `closeAll()` was called, closes it at once
   * with the same code.
   *
   * @param ws The socket's context (from `onOpen`).
   */
  add(ws: WebSocketContext<unknown>): void {
    this.#open.add(ws);
    if (this.#closing) closeWithCode(ws, this.#closing.code, this.#closing.reason);
  }

  /**
   * Forgets a socket (from `onClose`).
   *
   * @param ws The socket's context.
   */
  delete(ws: WebSocketContext<unknown>): void {
    if (this.#open.delete(ws) && this.#open.size === 0) {
      for (const resolve of this.#emptied.splice(0)) resolve();
    }
  }

  /**
   * Closes every open socket, and any opened from now on, and waits until
   * their handlers saw the close, or the timeout.
   *
   * @param code The close code: 1001 to say the server is going away.
   * @param reason At most 123 UTF-8 bytes.
   * @param options How long to wait.
   * @returns Resolves once every socket closed or the time is up.
   */
  async closeAll(code: number, reason: string, options: CloseAllOptions = {}): Promise<void> {
    this.#closing = { code, reason };
    if (this.#open.size === 0) return;
    const emptied = new Promise<void>((resolve) => this.#emptied.push(resolve));
    for (const ws of this.#open) closeWithCode(ws, code, reason);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, options.timeout ?? 3000);
    });
    await Promise.race([emptied, timedOut]);
    clearTimeout(timer);
  }
}

/**
 * Closes a socket with a server code (1001 going away), if it is still open.
 *
 * @param ws The socket's context.
 * @param code Any code valid on the wire.
 * @param reason At most 123 UTF-8 bytes.
 */
export function closeWithCode(
  ws: WebSocketContext<unknown>,
  code: number,
  reason: string,
): void {
  if (ws.readyState <= 1) ws.closeWith(code, reason);
}
