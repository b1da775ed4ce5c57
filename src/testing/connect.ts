import { createClientHandshake, HandshakeError, validateServerHandshake } from "../codec/mod.ts";
import type { ByteTransport } from "../core/byte_transport.ts";
import {
  createCodecAdapter,
  type PendingUpgrade,
  PLACEHOLDER_STATUS,
} from "../core/codec_upgrade.ts";
import { RUNTIME_ADAPTER } from "../core/runtime_adapter.ts";
import { WebSocketConnection } from "../core/web_socket_connection.ts";
import { WebSocketTestClient } from "./web_socket_test_client.ts";

/** Anything with Hono's `fetch(request, env)`. */
export interface FetchApp {
  /** Hono's `app.fetch`. */
  fetch(request: Request, env?: unknown): Response | Promise<Response>;
}

/** Options for {@linkcode connect}. */
export interface ConnectOptions {
  /** Extra request headers (a cookie, an origin). */
  headers?: Record<string, string>;
  /** Subprotocols to offer. */
  protocols?: string[];
  /** Extra env for the app (bindings). */
  env?: Record<string | symbol, unknown>;
}

/**
 * Opens a WebSocket to a Hono app's route in-process: the request goes
 * through the app's middleware and router, and the socket runs through the
 * codec over an in-memory duplex, with real framing both ways.
 *
 * @param app The Hono app.
 * @param path The route path, with any query.
 * @param options Headers, subprotocols, env.
 * @returns The open test client.
 * @throws {HandshakeError} With the app's status and body when it refuses.
 *
 * @example
 * ```ts
 * import { Hono } from "hono";
 * import { upgradeWebSocket } from "@edgesocket/edgesocket";
 * import { connect } from "@edgesocket/edgesocket/testing";
 *
 * const app = new Hono();
 * app.get("/echo", upgradeWebSocket(() => ({ onMessage: (e, ws) => ws.send(e.data as string) })));
 * const ws = await connect(app, "/echo");
 * ws.send("hi");
 * console.log(await ws.nextMessage()); // "hi"
 * ws.close(1000);
 * console.log((await ws.closed).code); // 1000
 * ```
 */
export async function connect(
  app: FetchApp,
  path: string,
  options: ConnectOptions = {},
): Promise<WebSocketTestClient> {
  const handshake = createClientHandshake({ protocols: options.protocols });
  const request = new Request(new URL(path, "http://localhost"), {
    headers: { ...handshake.headers, ...options.headers },
  });
  let pending: PendingUpgrade | undefined;
  const env = {
    ...options.env,
    [RUNTIME_ADAPTER]: createCodecAdapter("memory", (p) => (pending = p)),
  };
  const response = await app.fetch(request, env);
  if (!pending || response.status !== PLACEHOLDER_STATUS) {
    throw new HandshakeError(response.status, (await response.text()).trim());
  }
  const { protocol } = validateServerHandshake(101, pending.headers, {
    key: handshake.key,
    protocols: options.protocols,
  });
  const peers: { client?: WebSocketConnection; server?: WebSocketConnection } = {};
  const pipe = (
    deliver: () => WebSocketConnection | undefined,
  ): ByteTransport => {
    let ended = false;
    return {
      write(chunks) {
        // Copy and deliver later, as a socket would: no re-entrant calls.
        const bytes = chunks.map((c) => c.slice());
        queueMicrotask(() => {
          if (!ended) { for (const b of bytes) deliver()?.receive(b); }
        });
      },
      end() {
        queueMicrotask(() => {
          ended = true;
          peers.client?.receiveEnd();
          peers.server?.receiveEnd();
        });
      },
      destroy() {
        ended = true;
        queueMicrotask(() => {
          peers.client?.receiveEnd();
          peers.server?.receiveEnd();
        });
      },
      bufferedAmount: 0,
    };
  };
  const client = new WebSocketConnection(pipe(() => peers.server), {
    role: "client",
    protocol,
  });
  peers.client = client;
  const testClient = new WebSocketTestClient(client, protocol);
  client.open();
  peers.server = pending.start(pipe(() => peers.client));
  return testClient;
}
