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
import type { AcceptedUpgrade, RuntimeAdapter } from "../core/runtime_adapter.ts";
import { WebSocketDriver } from "../core/web_socket_driver.ts";
import type { WebSocketSession } from "../core/web_socket_session.ts";

export type { AcceptedUpgrade, ConnectionLimits, RuntimeAdapter } from "../core/runtime_adapter.ts";

// The server end of a pair: a WebSocket the Worker must accept() itself.
interface WorkersWebSocket extends WebSocket {
  accept(): void;
}

declare const WebSocketPair: {
  new (): { 0: WebSocket; 1: WorkersWebSocket };
};

/**
 * Whether this is Cloudflare Workers (or workerd): `WebSocketPair` exists.
 *
 * @returns `true` on Workers.
 *
 * @example
 * ```ts
 * import { isCloudflare } from "@edgesocket/edgesocket/cloudflare";
 * console.log(isCloudflare()); // false
 * ```
 */
export function isCloudflare(): boolean {
  return typeof WebSocketPair === "function";
}

/**
 * The adapter that upgrades with a `WebSocketPair`.
 *
 * @example
 * ```ts ignore
 * const response = cloudflareAdapter.upgrade(accepted);
 * ```
 */
export const cloudflareAdapter: RuntimeAdapter = {
  name: "cloudflare",
  // Its runtime has no per-route limit: the session checks each message.
  enforcesMessageSize: false,
  upgrade({ protocol, session }: AcceptedUpgrade): Response {
    const pair = new WebSocketPair();
    const client = pair[0];
    const socket = pair[1];
    socket.accept();
    // Workers hand binary messages over as Blobs by default since the
    // `websocket_standard_binary_type` flag: the session wants the bytes.
    socket.binaryType = "arraybuffer";
    // Workers do not report what is queued.
    const driver = new WorkersSocket(socket, session);
    // One listener object for all of them, not a closure each (each costs
    // an idle socket memory); `error` matters only to `onError`.
    socket.addEventListener("message", driver);
    socket.addEventListener("close", driver);
    if (session.wantsError) socket.addEventListener("error", driver);
    // Workers never fire `open` on the server end: it is open once accepted,
    // and events arrive only after this task, so onOpen still comes first.
    session.open(driver);
    const headers = new Headers();
    if (protocol) headers.set("Sec-WebSocket-Protocol", protocol);
    return new Response(null, { status: 101, webSocket: client, headers } as ResponseInit);
  },
};

// A socket's driver and its listener for the Worker's events.
class WorkersSocket extends WebSocketDriver implements EventListenerObject {
  readonly session: WebSocketSession<unknown>;

  constructor(socket: WorkersWebSocket, session: WebSocketSession<unknown>) {
    super(socket, { reportsBuffered: false });
    this.session = session;
  }

  handleEvent(event: Event): void {
    switch (event.type) {
      case "message":
        this.session.message((event as MessageEvent).data);
        break;
      case "close": {
        const { code, reason, wasClean } = event as CloseEvent;
        this.session.close(code, reason, wasClean);
        // A peer that vanished (1006) leaves workerd's end held until the
        // server closes it too: a Durable Object stays in memory for it.
        if (!wasClean) {
          try {
            this.raw.close(1000);
          } catch { /* closed */ }
        }
        break;
      }
      case "error":
        this.session.error((event as ErrorEvent).error ?? new Error("WebSocket error"));
    }
  }
}
