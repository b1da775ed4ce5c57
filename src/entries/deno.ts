/**
 * The Deno adapter: `Deno.upgradeWebSocket`. Deno has no message size knob
 * (denoland/deno #15809), so the session enforces `maxMessageSize`; its
 * `idleTimeout` pings and closes silent peers natively. Or, with
 * `serveWithCodec()` in place of `Deno.serve()`, the same app with its
 * sockets driven by the edgesocket codec over Deno's `node:http`: strict
 * (RFC 6455), compressed where a route asks, faster on messages (see its
 * JSDoc for which to pick).
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
 * @example With the codec: `deno run -A app.ts`
 * ```ts ignore
 * import { Hono } from "hono";
 * import { serveWithCodec, upgradeWebSocket } from "@edgesocket/edgesocket/deno";
 * const app = new Hono();
 * app.get("/echo", upgradeWebSocket(() => ({ onMessage: (e, ws) => ws.send(e.data as string) })));
 * serveWithCodec({ port: 8000 }, app.fetch);
 * ```
 *
 * @module
 */
import type { WebSocketConnection } from "../core/web_socket_connection.ts";
import { type UpgradeWebSocket, upgradeWebSocket as upgrade } from "../hono/upgrade_web_socket.ts";

export * from "../../mod.ts";
export * from "../adapters/deno.ts";
// This shutdown() takes either server; it shadows the native-only one above.
export {
  type CodecFetchHandler,
  type CodecServer,
  type CodecServerAddr,
  serveWithCodec,
  type ServeWithCodecInit,
  type ServeWithCodecOptions,
  shutdown,
} from "../adapters/deno_codec.ts";

export type { WebSocketConnection } from "../core/web_socket_connection.ts";

/**
 * {@linkcode upgradeWebSocket} with `ws.raw` typed as the socket it is:
 * Deno's `WebSocket` under `Deno.serve()`, the codec's `WebSocketConnection`
 * under `serveWithCodec()`.
 *
 * @example
 * ```ts ignore
 * app.get("/ws", upgradeWebSocket(() => ({ onOpen: (_e, ws) => console.log(ws.raw?.extensions) })));
 * ```
 */
export const upgradeWebSocket: UpgradeWebSocket<WebSocket | WebSocketConnection> =
  upgrade as UpgradeWebSocket<WebSocket | WebSocketConnection>;

// The types that this module's exports name, exported with them so that
// its documentation is whole on its own.
export type { ExtensionOffer } from "../codec/extension_offers.ts";
export type { ProtocolHandler } from "../codec/web_socket_protocol.ts";
export type { SocketDriver } from "../core/socket_driver.ts";
export type {
  ConnectionBinaryType,
  WebSocketEventMap,
  WebSocketListener,
} from "../core/web_socket_connection.ts";
export type { RawMessageData } from "../core/web_socket_events.ts";
export type { WebSocketSession } from "../core/web_socket_session.ts";
