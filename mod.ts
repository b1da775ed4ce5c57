/**
 * edgesocket: Hono's WebSocket helper for every runtime. The native upgrade
 * on Deno, Cloudflare Workers and Bun; a pure-TypeScript RFC 6455 codec on
 * Node.js and any raw byte stream. Hono's types (`WSEvents`, `WSContext`,
 * the RPC client's `$ws()`) and Hono's behaviour, plus topics, per-socket
 * data, limits and graceful shutdown.
 *
 * This is the face app authors use. What runtime adapters need lives in
 * `@edgesocket/edgesocket/adapter`; the codec in `@edgesocket/edgesocket/codec`.
 *
 * @example An echo route and a room, the same on every runtime
 * ```ts
 * import { Hono } from "hono";
 * import { upgradeWebSocket } from "@edgesocket/edgesocket";
 *
 * const app = new Hono()
 *   .get("/echo", upgradeWebSocket(() => ({
 *     onMessage: (event, ws) => ws.send(event.data as string),
 *   })))
 *   .get("/room/:name", upgradeWebSocket((c) => {
 *     const topic = `room:${c.req.param("name")}`;
 *     return {
 *       onOpen: (_event, ws) => ws.subscribe(topic),
 *       onMessage: (event, ws) => ws.publish(topic, event.data as string),
 *     };
 *   }));
 * export default app;
 * ```
 *
 * @module
 */
export {
  type UpgradeResponse,
  type UpgradeWebSocket,
  upgradeWebSocket,
  type UpgradeWebSocketOptions,
} from "./src/hono/upgrade_web_socket.ts";
export {
  WebSocketContext,
  type WebSocketReadyState,
  type WebSocketSendOptions,
} from "./src/core/web_socket_context.ts";
export type { WebSocketEvents } from "./src/core/web_socket_session.ts";
export type {
  BinaryType,
  MessageData,
  WebSocketCloseEvent,
  WebSocketDrainEvent,
  WebSocketErrorEvent,
  WebSocketMessageEvent,
  WebSocketOpenEvent,
} from "./src/core/web_socket_events.ts";
export type { SendData } from "./src/core/send_data.ts";
export {
  closeAllConnections,
  type CloseAllOptions,
  openConnectionCount,
} from "./src/core/session_registry.ts";
export {
  defaultPubSub,
  MAX_TOPIC_LENGTH,
  publish,
  PubSub,
  type PubSubOptions,
  subscriberCount,
  type TopicLeaveListener,
} from "./src/core/pub_sub.ts";
export type { Subscriber } from "./src/core/subscriber.ts";
export type { Backplane } from "./src/core/backplane.ts";
export type { ResumeOptions } from "./src/core/resume_options.ts";
export type { TopicHistory, TopicHistoryOptions } from "./src/core/topic_history.ts";
export type { HistoryStore } from "./src/core/history_store.ts";
export type { SessionStore } from "./src/core/session_store.ts";
export {
  MemoryHistoryStore,
  type MemoryHistoryStoreOptions,
} from "./src/core/memory_history_store.ts";
export {
  MemorySessionStore,
  type MemorySessionStoreOptions,
} from "./src/core/memory_session_store.ts";
export { RESUME_PROTOCOL } from "./src/protocol/resume_protocol.ts";
export {
  defaultPresence,
  Presence,
  type PresenceOptions,
  type PresenceSocket,
} from "./src/core/presence.ts";
export type {
  PresenceEvent,
  PresenceList,
  PresenceMember,
  PresenceMeta,
  PresenceStore,
} from "./src/core/presence_store.ts";
export { MemoryPresenceStore } from "./src/core/memory_presence_store.ts";
export type { RuntimeTopics } from "./src/core/runtime_topics.ts";
export {
  CloseCode,
  HandshakeError,
  type PerMessageDeflateNegotiation,
  type PerMessageDeflateOptions,
  ProtocolError,
  type ProtocolSelector,
} from "./src/codec/mod.ts";

// The types that this module's exports name, exported with them so that
// its documentation is whole on its own.
export type { HistoryEntry, HistoryPage } from "./src/core/history_store.ts";
export type { ResumeSessionRecord } from "./src/core/session_store.ts";
export type { StreamPosition } from "./src/protocol/resume_protocol.ts";
