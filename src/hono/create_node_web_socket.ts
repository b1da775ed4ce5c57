import type { Server } from "node:http";
import { attachWebSocket, type FetchHandler } from "../adapters/node.ts";
import type { WebSocketConnection } from "../core/web_socket_connection.ts";
import { NodeWebSocketClients } from "./node_web_socket_clients.ts";
import { type UpgradeWebSocket, upgradeWebSocket as upgrade } from "./upgrade_web_socket.ts";

/** Options for {@linkcode createNodeWebSocket}, as `@hono/node-ws` takes them. */
export interface NodeWebSocketHelperOptions {
  /** The Hono app (anything with its `fetch`). */
  app: {
    fetch: FetchHandler | ((request: Request, env?: unknown) => Response | Promise<Response>);
  };
  /**
   * Most open WebSocket connections (default 65,536); past it a new upgrade
   * gets 503 with `Retry-After`.
   */
  maxConnections?: number;
  /**
   * The base the requests' URLs are resolved against, as `@hono/node-ws`
   * takes it; by default the scheme of the socket and the `Host` header
   * (`@hono/node-ws` uses `http://localhost`).
   */
  baseUrl?: string | URL;
}

/** What {@linkcode createNodeWebSocket} returns, as `@hono/node-ws` does. */
export interface NodeWebSocketHelper {
  /** The helper; `ws.raw` is the codec's `WebSocketConnection`. */
  upgradeWebSocket: UpgradeWebSocket<WebSocketConnection>;
  /** Routes the server's `upgrade` requests through the app. */
  injectWebSocket(server: Server): void;
  /**
   * `@hono/node-ws`'s `wss`: the open connections in `clients` (for the
   * broadcast loops written for `ws`), a `connection` event, `close()`.
   */
  wss: NodeWebSocketClients;
}

/**
 * `@hono/node-ws`'s `createNodeWebSocket()`, on the codec instead of `ws`:
 * keep `serve()` from `@hono/node-server` and change one import.
 *
 * @param options The app.
 * @returns `{ upgradeWebSocket, injectWebSocket, wss }`.
 *
 * @example
 * ```ts ignore
 * import { Hono } from "hono";
 * import { serve } from "@hono/node-server";
 * import { createNodeWebSocket } from "@edgesocket/edgesocket/node";
 *
 * const app = new Hono();
 * const { injectWebSocket, upgradeWebSocket, wss } = createNodeWebSocket({ app });
 * app.get("/echo", upgradeWebSocket(() => ({
 *   onMessage: (event, ws) => ws.send(event.data as string),
 * })));
 * injectWebSocket(serve({ fetch: app.fetch, port: 8000 }));
 * ```
 */
export function createNodeWebSocket(options: NodeWebSocketHelperOptions): NodeWebSocketHelper {
  const fetch = options.app.fetch as FetchHandler;
  const wss = new NodeWebSocketClients();
  return {
    upgradeWebSocket: upgrade as UpgradeWebSocket<WebSocketConnection>,
    injectWebSocket(server: Server): void {
      attachWebSocket(server, (request, env) => fetch(request, env), {
        maxConnections: options.maxConnections,
        baseUrl: options.baseUrl,
        onConnection: (connection, request) => wss.add(connection, request),
        refuses: () => wss.closed,
      });
    },
    wss,
  };
}
