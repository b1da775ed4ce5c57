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

export type { AcceptedUpgrade, ConnectionLimits, RuntimeAdapter } from "../core/runtime_adapter.ts";
import type { SocketDriver } from "../core/socket_driver.ts";

export * from "../hono/upgrade_web_socket.ts";

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
  upgrade({ request, protocol, limits, session }: AcceptedUpgrade): Response {
    const { socket, response } = Deno.upgradeWebSocket(request, {
      protocol: protocol || undefined,
      // Deno counts in seconds; 0 turns its heartbeat off.
      idleTimeout: Math.ceil(limits.idleTimeout / 1000),
    });
    socket.binaryType = "arraybuffer";
    const driver: SocketDriver = {
      send: (data) => socket.send(data),
      close: (code, reason) => socket.close(code, reason),
      get readyState() {
        return socket.readyState;
      },
      get bufferedAmount() {
        return socket.bufferedAmount;
      },
      get extensions() {
        return socket.extensions;
      },
      raw: socket,
    };
    socket.onopen = () => session.open(driver);
    socket.onmessage = (event) => session.message(event.data);
    socket.onclose = (event) => session.close(event.code, event.reason, event.wasClean);
    socket.onerror = (event) =>
      session.error(
        (event as ErrorEvent).error ?? new Error("WebSocket error"),
      );
    return response;
  },
};
