import {
  type BunServerWebSocket,
  type BunWebSocketHandler,
  type BunWebSocketOptions,
  createBunWebSocketHandler,
} from "../adapters/bun.ts";
import { type UpgradeWebSocket, upgradeWebSocket as upgrade } from "./upgrade_web_socket.ts";

/** What {@linkcode createBunWebSocket} returns, as Hono's `createBunWebSocket()` does. */
export interface BunWebSocket {
  /** The helper; `ws.raw` is Bun's `ServerWebSocket`. */
  upgradeWebSocket: UpgradeWebSocket<BunServerWebSocket>;
  /** The server-wide handlers to pass as `websocket` to `Bun.serve`. */
  websocket: BunWebSocketHandler;
}

/**
 * Hono's `createBunWebSocket()`: the helper and Bun's server-wide
 * `websocket` handlers, with Bun's per-server settings.
 *
 * @param options Bun's per-server limit and timers (`maxPayloadLength`,
 * `idleTimeout`, `sendPings`, `backpressureLimit` …).
 * @returns `{ upgradeWebSocket, websocket }`.
 *
 * @example
 * ```ts ignore
 * import { Hono } from "hono";
 * import { createBunWebSocket } from "@edgesocket/edgesocket/bun";
 *
 * const { upgradeWebSocket, websocket } = createBunWebSocket();
 * const app = new Hono().get("/echo", upgradeWebSocket(() => ({
 *   onMessage: (event, ws) => ws.send(event.data as string),
 * })));
 * export default { fetch: app.fetch, websocket };
 * ```
 */
export function createBunWebSocket(options: BunWebSocketOptions = {}): BunWebSocket {
  return {
    upgradeWebSocket: upgrade as UpgradeWebSocket<BunServerWebSocket>,
    websocket: createBunWebSocketHandler(options),
  };
}
