/**
 * The Bun adapter: `server.upgrade()`, with Bun's server-wide `websocket`
 * handlers dispatching to each socket's session. Export
 * {@linkcode websocket} next to the app's fetch so that `Bun.serve` gets it.
 *
 * Bun's settings are per server, not per route: `maxPayloadLength` (Bun
 * closes with 1009 above it, before any route sees the message),
 * `idleTimeout` and `sendPings`. The default {@linkcode websocket} takes the
 * routes' defaults (64 MiB, 120 s, pings on); a route's smaller
 * `maxMessageSize` is still enforced per route by the session, while a route
 * limit above the server's needs {@linkcode createBunWebSocket}.
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
export * from "../../mod.ts";
export * from "../adapters/bun.ts";
