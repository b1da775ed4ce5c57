/**
 * The Cloudflare Workers adapter: a `WebSocketPair`, the server end accepted
 * in the Worker. Workers never fire `open` on the server end, so the adapter
 * opens the session itself; Workers cannot send a ping (`ws.canPing` is
 * `false`) and do not report `bufferedAmount` (always 0). The session
 * enforces `maxMessageSize`, under the platform's own per-message limit.
 *
 * @example A Worker
 * ```ts ignore
 * import { Hono } from "hono";
 * import { upgradeWebSocket } from "@edgesocket/edgesocket/cloudflare";
 * const app = new Hono();
 * app.get("/echo", upgradeWebSocket(() => ({ onMessage: (e, ws) => ws.send(e.data as string) })));
 * export default app;
 * ```
 *
 * @module
 */
import { type UpgradeWebSocket, upgradeWebSocket as upgrade } from "../hono/upgrade_web_socket.ts";

export * from "../../mod.ts";
export * from "../adapters/cloudflare.ts";
export * from "../hono/durable_object_web_sockets.ts";
export {
  DurableObjectHistoryStore,
  type DurableObjectHistoryStoreOptions,
  type DurableObjectSqlCursor,
  type DurableObjectSqlStorage,
  type DurableObjectSqlValue,
} from "../hono/durable_object_history_store.ts";
export type {
  HistoryEntry,
  HistoryPage,
  HistoryStore,
  StreamPosition,
} from "../core/history_store.ts";
export type { ResumeSessionRecord } from "../core/session_store.ts";
export {
  DurableObjectSessionStore,
  type DurableObjectSessionStoreOptions,
} from "../hono/durable_object_session_store.ts";

/**
 * {@linkcode upgradeWebSocket} with `ws.raw` typed as the Worker's `WebSocket`.
 *
 * @example
 * ```ts ignore
 * app.get("/ws", upgradeWebSocket(() => ({ onOpen: (_e, ws) => console.log(ws.raw?.readyState) })));
 * ```
 */
export const upgradeWebSocket: UpgradeWebSocket<WebSocket> = upgrade as UpgradeWebSocket<WebSocket>;

// The types that this module's exports name, exported with them so that
// its documentation is whole on its own.
export type { ExtensionOffer } from "../codec/extension_offers.ts";
export type { SocketDriver } from "../core/socket_driver.ts";
export type { RawMessageData } from "../core/web_socket_events.ts";
export type { WebSocketSession } from "../core/web_socket_session.ts";
