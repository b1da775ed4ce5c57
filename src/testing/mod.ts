/**
 * Testing helpers: open a WebSocket to a Hono app's route in-process, with
 * no network, through the real codec.
 *
 * @example
 * ```ts ignore
 * import { connect } from "@edgesocket/edgesocket/testing";
 * const ws = await connect(app, "/echo");
 * ws.send("hi");
 * await ws.nextMessage(); // "hi"
 * ```
 *
 * @module
 */
export { connect, type ConnectOptions, type FetchApp } from "./connect.ts";
export { type ClosedInfo, WebSocketTestClient } from "./web_socket_test_client.ts";
export type { WebSocketConnection } from "../core/web_socket_connection.ts";
export type { SendData } from "../core/send_data.ts";

// The types that this module's exports name, exported with them so that
// its documentation is whole on its own.
export type { ProtocolHandler } from "../codec/web_socket_protocol.ts";
export type { RuntimeTopics } from "../core/runtime_topics.ts";
export type { SocketDriver } from "../core/socket_driver.ts";
export type {
  ConnectionBinaryType,
  WebSocketEventMap,
  WebSocketListener,
} from "../core/web_socket_connection.ts";
export type {
  MessageData,
  WebSocketCloseEvent,
  WebSocketErrorEvent,
  WebSocketMessageEvent,
  WebSocketOpenEvent,
} from "../core/web_socket_events.ts";
