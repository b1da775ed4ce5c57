import { createAcceptHeaders } from "../codec/mod.ts";
import type { ByteTransport } from "./byte_transport.ts";
import type { AcceptedUpgrade, RuntimeAdapter } from "./runtime_adapter.ts";
import type { SocketDriver } from "./socket_driver.ts";
import { WebSocketConnection } from "./web_socket_connection.ts";

/**
 * An upgrade the codec completes: the adapter answered the app with a
 * placeholder; the server writes the 101 and calls `start()`.
 */
export interface PendingUpgrade {
  /** The headers of the 101, from the codec. */
  readonly headers: Record<string, string>;
  /**
   * Opens the connection over the transport and runs the handlers.
   *
   * @param transport The byte stream after the 101.
   * @returns The connection; feed it with `receive()` and `receiveEnd()`.
   */
  start(transport: ByteTransport): WebSocketConnection;
}

/** Status of the placeholder answer that stands for an accepted upgrade. */
export const PLACEHOLDER_STATUS = 200;

/**
 * Creates the adapter for servers that drive sockets with the codec (Node,
 * the in-memory client). `accept` receives each accepted upgrade; the
 * placeholder response lets middleware add headers to the 101.
 *
 * @param name The adapter's name.
 * @param accept Called with each upgrade the app accepted.
 * @returns The adapter to put in the app's env.
 *
 * @example
 * ```ts ignore
 * let pending: PendingUpgrade | undefined;
 * const adapter = createCodecAdapter("node", (p) => (pending = p));
 * const response = await app.fetch(request, { [RUNTIME_ADAPTER]: adapter });
 * ```
 */
export function createCodecAdapter(
  name: string,
  accept: (pending: PendingUpgrade) => void,
): RuntimeAdapter {
  return {
    name,
    upgrade(upgrade: AcceptedUpgrade): Response {
      const headers = createAcceptHeaders(upgrade.key, {
        protocol: upgrade.protocol || undefined,
      });
      accept({
        headers,
        start: (transport) => startConnection(upgrade, transport),
      });
      return new Response(null, { status: PLACEHOLDER_STATUS });
    },
  };
}

function startConnection(
  upgrade: AcceptedUpgrade,
  transport: ByteTransport,
): WebSocketConnection {
  const { limits, session } = upgrade;
  const connection = new WebSocketConnection(transport, {
    protocol: upgrade.protocol,
    url: upgrade.request.url,
    maxMessageSize: limits.maxMessageSize,
    maxFragments: limits.maxFragments,
    idleTimeout: limits.idleTimeout,
    closeTimeout: limits.closeTimeout,
  });
  // The session converts binary once, to the handler's binaryType.
  connection.binaryType = "uint8array";
  connection.onmessage = (event) => session.message(event.data);
  connection.onclose = (event) => session.close(event.code, event.reason, event.wasClean);
  connection.onerror = (event) => session.error(event.error);
  const driver: SocketDriver = {
    send: (data) => connection.send(data),
    close: (code, reason) => connection.closeWith(code, reason),
    ping: (data) => connection.ping(data),
    terminate: () => connection.terminate(),
    sendEncoded: (chunks) => connection.sendEncoded(chunks),
    get readyState() {
      return connection.readyState;
    },
    get bufferedAmount() {
      return connection.bufferedAmount;
    },
    extensions: connection.extensions,
    raw: connection,
  };
  connection.open();
  session.open(driver);
  return connection;
}
