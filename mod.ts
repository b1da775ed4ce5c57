/**
 * edgesocket: one Hono WebSocket handler for every runtime. The native
 * upgrade on Deno, Cloudflare Workers and Bun; a pure-TypeScript RFC 6455
 * codec on Node.js and any raw byte stream.
 *
 * @example An echo route, the same on every runtime
 * ```ts ignore
 * import { Hono } from "hono";
 * import { upgradeWebSocket } from "@edgesocket/edgesocket";
 *
 * const app = new Hono();
 * app.get("/echo", upgradeWebSocket(() => ({
 *   onMessage(event, ws) {
 *     ws.send(event.data as string);
 *   },
 * })));
 * export default app;
 * ```
 *
 * @module
 */
export {
  registerRuntimeAdapter,
  type UpgradeContext,
  upgradeWebSocket,
  type UpgradeWebSocketOptions,
} from "./src/hono/upgrade_web_socket.ts";
export { WebSocketContext } from "./src/core/web_socket_context.ts";
export { type WebSocketEvents, WebSocketSession } from "./src/core/web_socket_session.ts";
export {
  WebSocketConnection,
  type WebSocketConnectionHandler,
  type WebSocketConnectionOptions,
  type WebSocketEventMap,
  type WebSocketListener,
} from "./src/core/web_socket_connection.ts";
export type { ByteTransport } from "./src/core/byte_transport.ts";
export type { Backplane } from "./src/core/backplane.ts";
export type { SocketDriver } from "./src/core/socket_driver.ts";
export type { RuntimeTopics } from "./src/core/runtime_topics.ts";
export {
  closeAllConnections,
  type CloseAllOptions,
  openConnectionCount,
  type TrackedSession,
} from "./src/core/session_registry.ts";
export {
  type AcceptedUpgrade,
  type ConnectionLimits,
  RUNTIME_ADAPTER,
  type RuntimeAdapter,
} from "./src/core/runtime_adapter.ts";
export { type SendData, toBytes } from "./src/core/send_data.ts";
export {
  assertTopic,
  defaultPubSub,
  MAX_TOPIC_LENGTH,
  publish,
  PubSub,
  type PubSubOptions,
  type Subscriber,
  subscriberCount,
} from "./src/core/pub_sub.ts";
export {
  type BinaryType,
  createCloseEvent,
  createErrorEvent,
  createMessageEvent,
  type MessageData,
  type WebSocketCloseEvent,
  type WebSocketDrainEvent,
  type WebSocketErrorEvent,
  type WebSocketMessageEvent,
  type WebSocketOpenEvent,
} from "./src/core/web_socket_events.ts";
export {
  CloseCode,
  type DeflateEngine,
  type DeflateStream,
  type DeflateStreamOptions,
  type ExtensionOffer,
  HandshakeError,
  PerMessageDeflate,
  type PerMessageDeflateNegotiation,
  type PerMessageDeflateOptions,
  ProtocolError,
  type ProtocolHandler,
  type ProtocolSelector,
} from "./src/codec/mod.ts";
