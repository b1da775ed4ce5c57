/**
 * For authors of runtime adapters and servers that drive sockets themselves:
 * the session that runs a route's handlers, the adapter contract, the event
 * factories, the codec-driven connection and its upgrade. App authors need
 * none of it: they use `@edgesocket/edgesocket`.
 *
 * An adapter turns a validated upgrade into an open socket and says what it
 * enforces itself (`enforcesMessageSize`); the core never asks its name.
 *
 * @example A server that drives sockets with the codec over its own bytes
 * ```ts ignore
 * import { createCodecAdapter, RUNTIME_ADAPTER } from "@edgesocket/edgesocket/adapter";
 *
 * const adapter = createCodecAdapter("my-server", (pending) => {
 *   writeResponseHead(101, pending.headers);
 *   const connection = pending.start(myByteTransport);
 *   onBytes((chunk) => connection.receive(chunk));
 *   onEnd((error) => connection.receiveEnd(error));
 * });
 * const response = await app.fetch(request, { [RUNTIME_ADAPTER]: adapter });
 * ```
 *
 * @module
 */
export {
  createUpgradeMiddleware,
  registerRuntimeAdapter,
  type UpgradeMiddlewareOptions,
  type UpgradeRequestContext,
} from "../hono/upgrade_web_socket.ts";
export {
  type AcceptedUpgrade,
  type ConnectionLimits,
  RUNTIME_ADAPTER,
  type RuntimeAdapter,
} from "../core/runtime_adapter.ts";
export { WebSocketSession } from "../core/web_socket_session.ts";
export type { SocketDriver } from "../core/socket_driver.ts";
export type { RuntimeTopics } from "../core/runtime_topics.ts";
export type { ByteTransport } from "../core/byte_transport.ts";
export type { TrackedSession } from "../core/session_registry.ts";
export { assertTopic } from "../core/pub_sub.ts";
export { toBytes } from "../core/send_data.ts";
export {
  DRAIN_MARK,
  WebSocketDriver,
  type WebSocketDriverOptions,
} from "../core/web_socket_driver.ts";
export {
  createCloseEvent,
  createErrorEvent,
  createEvent,
  createMessageEvent,
  type RawMessageData,
} from "../core/web_socket_events.ts";
export {
  type ConnectionBinaryType,
  WebSocketConnection,
  type WebSocketConnectionHandler,
  type WebSocketConnectionOptions,
  type WebSocketEventMap,
  type WebSocketListener,
} from "../core/web_socket_connection.ts";
export {
  type CodecAdapterOptions,
  createCodecAdapter,
  type PendingUpgrade,
  PLACEHOLDER_STATUS,
} from "../core/codec_upgrade.ts";
export type {
  HistoryEntry,
  HistoryPage,
  HistoryStore,
  StreamPosition,
} from "../core/history_store.ts";
export type { ResumeSessionRecord, SessionStore } from "../core/session_store.ts";
export { TopicHistory } from "../core/topic_history.ts";
export { hashToken } from "../core/resume_route.ts";

// The types that this module's exports name, exported with them so that
// its documentation is whole on its own.
export type {
  DeflateEngine,
  DeflateStream,
  DeflateStreamOptions,
} from "../codec/deflate_engine.ts";
export type { ExtensionOffer } from "../codec/extension_offers.ts";
export type { PerMessageDeflateNegotiation } from "../codec/negotiate_per_message_deflate.ts";
export type { PerMessageDeflate, PerMessageDeflateOptions } from "../codec/per_message_deflate.ts";
export type { ProtocolSelector } from "../codec/server_handshake.ts";
export type { ProtocolHandler } from "../codec/web_socket_protocol.ts";
export type { Backplane } from "../core/backplane.ts";
export type { PubSub, TopicLeaveListener } from "../core/pub_sub.ts";
export type { Subscriber } from "../core/subscriber.ts";
export type { ResumeOptions } from "../core/resume_options.ts";
export type { SendData } from "../core/send_data.ts";
export type { TopicHistoryOptions } from "../core/topic_history.ts";
export type {
  WebSocketContext,
  WebSocketReadyState,
  WebSocketSendOptions,
} from "../core/web_socket_context.ts";
export type {
  BinaryType,
  MessageData,
  WebSocketCloseEvent,
  WebSocketDrainEvent,
  WebSocketErrorEvent,
  WebSocketMessageEvent,
  WebSocketOpenEvent,
} from "../core/web_socket_events.ts";
export type { WebSocketEvents } from "../core/web_socket_session.ts";
export type { UpgradeWebSocketOptions } from "../hono/upgrade_web_socket.ts";
