/**
 * The Node.js adapter: Hono's own Node server (`@hono/node-server`) serves
 * HTTP; its `upgrade` requests are routed by Hono, and the sockets are driven
 * by the edgesocket codec, not by `ws`.
 *
 * @example
 * ```ts ignore
 * import { Hono } from "hono";
 * import { upgradeWebSocket } from "@edgesocket/edgesocket";
 * import { serve } from "@edgesocket/edgesocket/node";
 *
 * const app = new Hono();
 * app.get("/echo", upgradeWebSocket(() => ({ onMessage: (e, ws) => ws.send(e.data as string) })));
 * serve({ fetch: app.fetch, port: 8000 });
 * ```
 *
 * @module
 */
export * from "../../mod.ts";
export * from "../adapters/node.ts";
