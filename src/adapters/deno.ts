/**
 * The Deno adapter: `Deno.upgradeWebSocket`. Deno has no message size knob
 * (denoland/deno #15809), so the session enforces `maxMessageSize`; its
 * `idleTimeout` pings and closes silent peers natively.
 *
 * @example With `deno serve`
 * ```ts ignore
 * import { Hono } from "hono";
 * import { upgradeWebSocket } from "@edgesocket/edgesocket/deno";
 * const app = new Hono();
 * app.get("/echo", upgradeWebSocket(() => ({ onMessage: (e, ws) => ws.send(e.data as string) })));
 * export default app;
 * ```
 *
 * @module
 */
import type { AcceptedUpgrade, RuntimeAdapter } from "../core/runtime_adapter.ts";
import { closeAllConnections, type CloseAllOptions } from "../core/session_registry.ts";
import { WebSocketDriver } from "../core/web_socket_driver.ts";
import type { WebSocketSession } from "../core/web_socket_session.ts";

export type { AcceptedUpgrade, ConnectionLimits, RuntimeAdapter } from "../core/runtime_adapter.ts";

declare const Deno: {
  upgradeWebSocket(
    request: Request,
    options?: { protocol?: string; idleTimeout?: number },
  ): { socket: WebSocket; response: Response };
};

/**
 * Whether this is Deno with a native upgrade.
 *
 * @returns `true` on Deno.
 *
 * @example
 * ```ts
 * import { isDeno } from "@edgesocket/edgesocket/deno";
 * console.log(typeof isDeno()); // "boolean"
 * ```
 */
export function isDeno(): boolean {
  return typeof Deno !== "undefined" &&
    typeof Deno?.upgradeWebSocket === "function";
}

/**
 * The adapter that upgrades with `Deno.upgradeWebSocket`.
 *
 * @example
 * ```ts ignore
 * const response = denoAdapter.upgrade(accepted);
 * ```
 */
export const denoAdapter: RuntimeAdapter = {
  name: "deno",
  // Its runtime has no per-route limit: the session checks each message.
  enforcesMessageSize: false,
  upgrade({ request, protocol, limits, session }: AcceptedUpgrade): Response {
    if (draining) {
      return new Response("Server shutting down: try again later\n", {
        status: 503,
        headers: { "Retry-After": "5", "Content-Type": "text/plain; charset=utf-8" },
      });
    }
    const { socket, response } = Deno.upgradeWebSocket(request, {
      // Deno counts in seconds; 0 turns its heartbeat off.
      idleTimeout: Math.ceil(limits.idleTimeout / 1000),
    });
    // Not Deno's `protocol` option: it splits the offers on ", " only and
    // throws on "v1,v2" (RFC 9110 lists take any spacing). The codec has
    // parsed the offers; the 101's headers can be set.
    if (protocol) response.headers.set("Sec-WebSocket-Protocol", protocol);
    socket.binaryType = "arraybuffer";
    const driver = new DenoSocket(socket, session);
    // One listener object for all of them, not a closure each: each of
    // Deno's listeners costs an idle socket memory. `open` fires once;
    // `error` (which always precedes a `close`) matters only to `onError`.
    socket.addEventListener("open", driver, { once: true });
    socket.addEventListener("message", driver);
    if (session.wantsError) socket.addEventListener("error", driver);
    socket.addEventListener("close", driver);
    return response;
  },
};

// A socket's driver and its listener for Deno's events.
class DenoSocket extends WebSocketDriver implements EventListenerObject {
  readonly session: WebSocketSession<unknown>;
  // Deno's `error`, held until its `close`.
  failure: unknown;

  constructor(socket: WebSocket, session: WebSocketSession<unknown>) {
    super(socket, { onDrain: session.wantsDrain ? () => session.drain() : undefined });
    this.session = session;
  }

  handleEvent(event: Event): void {
    const session = this.session;
    switch (event.type) {
      case "message":
        session.message((event as MessageEvent).data);
        break;
      case "open":
        session.open(this);
        break;
      case "error":
        this.failure = (event as ErrorEvent).error ??
          new Error((event as ErrorEvent).message || "WebSocket error");
        break;
      case "close": {
        // A peer gone without a close frame is "Unexpected EOF" and code 0
        // on Deno: the other runtimes report only a 1006 close, no error. A
        // protocol violation is an error event, then the same code 0.
        const { code, reason, wasClean } = event as CloseEvent;
        const failure = this.failure;
        if (failure !== undefined && !isEndOfStream(failure)) session.error(failure);
        session.close(code || 1006, reason, wasClean);
      }
    }
  }
}

function isEndOfStream(error: unknown): boolean {
  return error instanceof Error &&
    /unexpected eof|connection reset|broken pipe/i.test(error.message);
}

/** What {@linkcode shutdown} needs of the server: `Deno.serve()`'s `Deno.HttpServer`. */
export interface StoppableServer {
  /** Stops accepting and ends the server's connections. */
  shutdown(): Promise<void>;
}

// Set by shutdown(): new upgrades get 503 while the open sockets close.
let draining = false;

/**
 * Graceful shutdown on Deno: new upgrades get 503 at once, every WebSocket
 * gets 1001 (Going Away), their close frames are awaited up to `timeout`,
 * then `server.shutdown()` stops accepting and drops the sockets that never
 * answered. Deno's own `shutdown()` alone would close every socket with 1001
 * without waiting for the answers, and its `WebSocket` has no way to drop
 * one sooner.
 *
 * @param server The server from `Deno.serve()`.
 * @param options Timeout (default 5,000 ms), code and reason.
 * @returns How many sockets closed cleanly and how many were dropped.
 *
 * @example
 * ```ts ignore
 * const server = Deno.serve(app.fetch);
 * Deno.addSignalListener("SIGTERM", async () => {
 *   await shutdown(server, { timeout: 5000 });
 *   Deno.exit(0);
 * });
 * ```
 */
export async function shutdown(
  server: StoppableServer,
  options: CloseAllOptions = {},
): Promise<{ closed: number; dropped: number }> {
  draining = true;
  const result = await closeAllConnections(options);
  await server.shutdown();
  return result;
}
