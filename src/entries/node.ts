/**
 * The Node.js adapter: Hono's own Node server (`@hono/node-server`) serves
 * HTTP; its `upgrade` requests are routed by Hono, and the sockets are driven
 * by the edgesocket codec, not by `ws`. Either `serve()` from here, or
 * `createNodeWebSocket({ app })` as with `@hono/node-ws`.
 *
 * @example
 * ```ts ignore
 * import { Hono } from "hono";
 * import { serve, upgradeWebSocket } from "@edgesocket/edgesocket/node";
 *
 * const app = new Hono();
 * app.get("/echo", upgradeWebSocket(() => ({ onMessage: (e, ws) => ws.send(e.data as string) })));
 * serve({ fetch: app.fetch, port: 8000 });
 * ```
 *
 * @module
 */
import type { WebSocketConnection } from "../core/web_socket_connection.ts";
import { type UpgradeWebSocket, upgradeWebSocket as upgrade } from "../hono/upgrade_web_socket.ts";

export * from "../../mod.ts";
export * from "../adapters/node.ts";
export {
  createNodeWebSocket,
  type NodeWebSocketHelper,
  type NodeWebSocketHelperOptions,
} from "../hono/create_node_web_socket.ts";
export { NodeWebSocketClients } from "../hono/node_web_socket_clients.ts";
export type { WebSocketConnection } from "../core/web_socket_connection.ts";

/**
 * {@linkcode upgradeWebSocket} with `ws.raw` typed as the codec's
 * `WebSocketConnection`.
 *
 * @example
 * ```ts ignore
 * app.get("/ws", upgradeWebSocket(() => ({ onOpen: (_e, ws) => ws.raw?.ping() })));
 * ```
 */
export const upgradeWebSocket: UpgradeWebSocket<WebSocketConnection> = upgrade as UpgradeWebSocket<
  WebSocketConnection
>;

// The types that this module's exports name, exported with them so that
// its documentation is whole on its own.
export type {
  DeflateEngine,
  DeflateStream,
  DeflateStreamOptions,
} from "../codec/deflate_engine.ts";
export type { ProtocolHandler } from "../codec/web_socket_protocol.ts";
export type { SocketDriver } from "../core/socket_driver.ts";
export type {
  ConnectionBinaryType,
  WebSocketEventMap,
  WebSocketListener,
} from "../core/web_socket_connection.ts";
