/**
 * The reconnecting client of edgesocket's resumable routes: a WHATWG-shaped
 * WebSocket that comes back after a dropped network and loses nothing —
 * what it sent is resent until acknowledged and handed to the server's
 * `onMessage` once; what was published on its topics meanwhile arrives
 * once and in order, or it is told `recovered: false`. Zero dependencies;
 * the same code in browsers, Deno, Bun, Workers and Node 22 (Node 20 with
 * a `WebSocket` such as `ws`'s passed in).
 *
 * @example A chat page
 * ```ts ignore
 * import { ResumableWebSocket } from "@edgesocket/edgesocket/client";
 *
 * const socket = new ResumableWebSocket("wss://chat.example/ws", { storage: sessionStorage });
 * socket.addEventListener("message", (e) => show(e.topic, e.data));
 * socket.addEventListener("reconnecting", () => banner("Reconnecting…"));
 * socket.addEventListener("resumed", (e) => e.recovered ? banner("") : reloadRoom());
 * form.onsubmit = () => socket.send(input.value);
 * ```
 *
 * @module
 */
export {
  type ResumableMessageEvent,
  ResumableWebSocket,
  type ResumableWebSocketOptions,
  type ResumedEvent,
  type ResumeStorage,
  type WebSocketConstructor,
  type WebSocketLike,
} from "./resumable_web_socket.ts";
export { RESUME_PROTOCOL, type StreamPosition } from "../protocol/resume_protocol.ts";
