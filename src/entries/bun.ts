/**
 * The Bun adapter: `server.upgrade()`, with Bun's server-wide `websocket`
 * handlers dispatching to each socket's session. Export
 * {@linkcode websocket} next to the app's fetch so that `Bun.serve` gets it,
 * or take both from {@linkcode createBunWebSocket}, as with `hono/bun`.
 *
 * Bun's settings are per server, not per route: `maxPayloadLength` (Bun
 * closes with 1009 above it, before any route sees the message),
 * `idleTimeout` and `sendPings`. The default {@linkcode websocket} takes the
 * routes' defaults (64 MiB, 120 s, pings on); a route's smaller
 * `maxMessageSize` is still enforced per route by the session, while a route
 * limit above the server's needs {@linkcode createBunWebSocket}'s options.
 *
 * @example With `bun run`
 * ```ts ignore
 * import { Hono } from "hono";
 * import { upgradeWebSocket, websocket } from "@edgesocket/edgesocket/bun";
 * const app = new Hono();
 * app.get("/echo", upgradeWebSocket(() => ({ onMessage: (e, ws) => ws.send(e.data as string) })));
 * export default { fetch: app.fetch, websocket };
 * ```
 *
 * @module
 */
import type { BunServerWebSocket } from "../adapters/bun.ts";
import { type UpgradeWebSocket, upgradeWebSocket as upgrade } from "../hono/upgrade_web_socket.ts";

export * from "../../mod.ts";
export {
  bunAdapter,
  type BunServerWebSocket,
  type BunWebSocketHandler,
  type BunWebSocketOptions,
  createBunWebSocketHandler,
  isBun,
  websocket,
} from "../adapters/bun.ts";
export { type BunWebSocket, createBunWebSocket } from "../hono/create_bun_web_socket.ts";

/**
 * {@linkcode upgradeWebSocket} with `ws.raw` typed as Bun's `ServerWebSocket`.
 *
 * @example
 * ```ts ignore
 * app.get("/echo", upgradeWebSocket(() => ({ onOpen: (_e, ws) => ws.raw?.subscribe("all") })));
 * ```
 */
export const upgradeWebSocket: UpgradeWebSocket<BunServerWebSocket> = upgrade as UpgradeWebSocket<
  BunServerWebSocket
>;

// The types that this module's exports name, exported with them so that
// its documentation is whole on its own.
export type { ExtensionOffer } from "../codec/extension_offers.ts";
export type { AcceptedUpgrade, ConnectionLimits, RuntimeAdapter } from "../core/runtime_adapter.ts";
export type { SocketDriver } from "../core/socket_driver.ts";
export type { RawMessageData } from "../core/web_socket_events.ts";
export type { WebSocketSession } from "../core/web_socket_session.ts";
