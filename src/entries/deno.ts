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
import { type UpgradeWebSocket, upgradeWebSocket as upgrade } from "../hono/upgrade_web_socket.ts";

export * from "../../mod.ts";
export * from "../adapters/deno.ts";

/**
 * {@linkcode upgradeWebSocket} with `ws.raw` typed as Deno's `WebSocket`.
 *
 * @example
 * ```ts ignore
 * app.get("/ws", upgradeWebSocket(() => ({ onOpen: (_e, ws) => console.log(ws.raw?.extensions) })));
 * ```
 */
export const upgradeWebSocket: UpgradeWebSocket<WebSocket> = upgrade as UpgradeWebSocket<WebSocket>;
