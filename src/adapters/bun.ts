/**
 * The Bun adapter: `server.upgrade()`, with Bun's server-wide `websocket`
 * handlers dispatching to each socket's session. Export
 * {@linkcode websocket} next to the app's fetch so that `Bun.serve` gets it.
 *
 * Bun's settings are per server, not per route: `maxPayloadLength` (Bun
 * closes with 1009 above it, before any route sees the message),
 * `idleTimeout` and `sendPings`. The default {@linkcode websocket} takes the
 * routes' defaults (64 MiB, 120 s, pings on); a route's smaller
 * `maxMessageSize` is still enforced per route by the session, while a route
 * limit above the server's needs `createBunWebSocket()` from
 * `@edgesocket/edgesocket/bun`.
 *
 * @example With `bun run`
 * ```ts ignore
 * import { Hono } from "hono";
 * import { upgradeWebSocket, websocket } from "@edgesocket/edgesocket/bun";
 * const app = new Hono();
 * app.get("/echo", upgradeWebSocket(() => ({ onMessage: (e, ws) => ws.send(e.data as string) })));
 * export default { fetch: app.fetch, websocket };
 * ```
 *
 * @module
 */
import { CloseCode, DEFAULT_MAX_MESSAGE_SIZE, ProtocolError } from "../codec/mod.ts";
import type { AcceptedUpgrade, RuntimeAdapter } from "../core/runtime_adapter.ts";
import type { RuntimeTopics } from "../core/runtime_topics.ts";
import type { SocketDriver } from "../core/socket_driver.ts";
import type { WebSocketSession } from "../core/web_socket_session.ts";

export type { AcceptedUpgrade, ConnectionLimits, RuntimeAdapter } from "../core/runtime_adapter.ts";

declare const Bun: unknown;

/** The part of Bun's `ServerWebSocket` the adapter uses. */
export interface BunServerWebSocket {
  /** What `server.upgrade()` was given. */
  data: unknown;
  /** `0` connecting, `1` open, `2` closing, `3` closed. */
  readonly readyState: number;
  /** How Bun hands over binary messages. */
  binaryType?: "nodebuffer" | "arraybuffer" | "uint8array";
  /** Sends a message; a string as text; `compress` where `perMessageDeflate` is on. */
  send(data: string | Uint8Array | ArrayBuffer, compress?: boolean): number;
  /** Starts the closing handshake. */
  close(code?: number, reason?: string): void;
  /** Sends a ping. */
  ping(data?: Uint8Array): number;
  /** Bytes queued and not yet sent. */
  getBufferedAmount(): number;
  /** Joins a native topic. */
  subscribe(topic: string): void;
  /** Leaves a native topic. */
  unsubscribe(topic: string): void;
  /** Publishes to a native topic's subscribers but this socket. */
  publish(topic: string, data: string | Uint8Array): number;
}

/** The server-wide handlers and settings `Bun.serve` takes as `websocket`. */
export interface BunWebSocketHandler {
  /** Largest message Bun accepts, in bytes (1009 above it). */
  maxPayloadLength: number;
  /** Seconds a peer may stay silent (0: off). */
  idleTimeout: number;
  /** Whether Bun pings silent peers before `idleTimeout` closes them. */
  sendPings: boolean;
  /** Bytes queued per socket past which Bun drops messages (or closes). */
  backpressureLimit: number;
  /** Whether Bun closes a socket past `backpressureLimit` instead of dropping. */
  closeOnBackpressureLimit: boolean;
  /** Bun opened a socket. */
  open(ws: BunServerWebSocket): void;
  /** A message arrived. */
  message(ws: BunServerWebSocket, message: string | ArrayBuffer | Uint8Array): void;
  /** The socket closed. */
  close(ws: BunServerWebSocket, code: number, reason: string): void;
  /** The socket's queue, which had backed up, has emptied. */
  drain(ws: BunServerWebSocket): void;
}

/** Options for {@linkcode createBunWebSocketHandler} (and `createBunWebSocket()`). */
export interface BunWebSocketOptions {
  /** Largest message on this server, in bytes (default 64 MiB, the routes' default). */
  maxPayloadLength?: number;
  /** Close a silent peer after this many ms (default 120,000; Bun counts whole seconds, at most 960; 0: off). */
  idleTimeout?: number;
  /** Ping silent peers (default `true`). */
  sendPings?: boolean;
  /**
   * Bytes queued on one socket past which Bun drops what is published to it
   * (default 16 MiB, Bun's); a direct `send()` it would drop closes the
   * socket with 1013 instead. Topic publishes go through Bun's native
   * `publish`, so this, not the `PubSub` high-water mark, is the
   * slow-consumer limit on Bun.
   */
  backpressureLimit?: number;
  /** Close instead of dropping past `backpressureLimit` (default `false`). */
  closeOnBackpressureLimit?: boolean;
}

interface BunServer {
  upgrade(
    request: Request,
    options: { data: unknown; headers: Record<string, string> },
  ): boolean;
  publish(topic: string, data: string | Uint8Array): number;
}

// What each socket carries in `ws.data`, and its driver once open: one
// object, not a state and a driver, which cost an idle connection ~50
// bytes more. Two fields only (JSC rounds an object to 16 bytes): the
// server's topics come from the class, one subclass per server.
abstract class BunSocket implements SocketDriver {
  readonly session: WebSocketSession<unknown>;
  // Bun's socket, from open on.
  raw: BunServerWebSocket = undefined as never;

  constructor(session: WebSocketSession<unknown>) {
    this.session = session;
  }

  abstract get topics(): BunTopics;

  // edgesocket's handlers leave permessage-deflate off.
  get extensions(): string {
    return "";
  }

  send(data: string | Uint8Array | ArrayBuffer, compress?: boolean): void {
    // 0 for a non-empty message: Bun dropped it, the queue being past
    // backpressureLimit. Other runtimes never drop a send, so the loss is
    // made visible: 1013.
    if (
      this.raw.send(data, compress) === 0 &&
      (typeof data === "string" ? data.length : data.byteLength) > 0 &&
      this.raw.readyState === 1
    ) {
      this.raw.close(CloseCode.TryAgainLater, "Slow consumer");
    }
  }

  closeWith(code?: number, reason?: string): void {
    this.raw.close(code, reason);
  }

  ping(data: Uint8Array): void {
    this.raw.ping(data);
  }

  get readyState(): number {
    return this.raw.readyState;
  }

  get bufferedAmount(): number {
    return this.raw.getBufferedAmount();
  }
}

// Bun's topics are per server: a publish without a sender goes through it.
class BunTopics implements RuntimeTopics {
  #server: BunServer;
  constructor(server: BunServer) {
    this.#server = server;
  }
  subscribe(socket: unknown, topic: string): void {
    (socket as BunServerWebSocket).subscribe(topic);
  }
  unsubscribe(socket: unknown, topic: string): void {
    const ws = socket as BunServerWebSocket;
    // Bun has already dropped a closed socket's topics.
    if (ws.readyState === 1) ws.unsubscribe(topic);
  }
  publish(topic: string, data: string | Uint8Array, except?: unknown): void {
    if (except) (except as BunServerWebSocket).publish(topic, data);
    else this.#server.publish(topic, data);
  }
}

type BunSocketClass = new (session: WebSocketSession<unknown>) => BunSocket;

const socketClassByServer = new WeakMap<BunServer, BunSocketClass>();

// The BunSocket class of a server's sockets: its `topics` on the prototype,
// not in a field of every socket.
function socketClassOf(server: BunServer): BunSocketClass {
  let socketClass = socketClassByServer.get(server);
  if (!socketClass) {
    const topics = new BunTopics(server);
    socketClass = class extends BunSocket {
      override get topics(): BunTopics {
        return topics;
      }
    };
    socketClassByServer.set(server, socketClass);
  }
  return socketClass;
}

/**
 * Whether this is Bun, called by a Bun server (`env` is the server).
 *
 * @param env The env the app was called with.
 * @returns `true` on Bun with a server to upgrade on.
 *
 * @example
 * ```ts
 * import { isBun } from "@edgesocket/edgesocket/bun";
 * console.log(isBun({})); // false
 * ```
 */
export function isBun(env: unknown): boolean {
  return typeof Bun !== "undefined" &&
    typeof (env as Partial<BunServer> | undefined)?.upgrade === "function";
}

/**
 * The adapter that upgrades with Bun's `server.upgrade()`.
 *
 * @example
 * ```ts ignore
 * const response = bunAdapter.upgrade(accepted);
 * ```
 */
export const bunAdapter: RuntimeAdapter = {
  name: "bun",
  // Its runtime has no per-route limit: the session checks each message.
  enforcesMessageSize: false,
  upgrade({ request, env, protocol, session }: AcceptedUpgrade): Response {
    let upgraded: boolean;
    try {
      const server = env as BunServer;
      const BunServerSocket = socketClassOf(server);
      upgraded = server.upgrade(request, {
        data: new BunServerSocket(session),
        // Unless told, Bun answers with the client's first offer: always
        // name the chosen one, or none (an empty value sends no header).
        headers: { "Sec-WebSocket-Protocol": protocol },
      });
    } catch (error) {
      throw new TypeError(
        "Bun.serve() needs edgesocket's websocket handler: export default { fetch: app.fetch, websocket }",
        { cause: error },
      );
    }
    if (!upgraded) return new Response("WebSocket upgrade failed\n", { status: 400 });
    // Bun has written the 101 and ignores this answer, but Hono needs one.
    return new Response(null);
  },
};

/**
 * Creates Bun's server-wide `websocket` handlers with other settings than
 * the default {@linkcode websocket}'s.
 *
 * @param options Bun's per-server limit and timers.
 * @returns The object to pass as `websocket` to `Bun.serve`.
 *
 * @example Routes that take messages up to 256 MiB
 * ```ts ignore
 * const websocket = createBunWebSocketHandler({ maxPayloadLength: 256 * 1024 * 1024 });
 * export default { fetch: app.fetch, websocket };
 * ```
 */
export function createBunWebSocketHandler(
  options: BunWebSocketOptions = {},
): BunWebSocketHandler {
  const maxPayloadLength = options.maxPayloadLength ?? DEFAULT_MAX_MESSAGE_SIZE;
  let warned = false;
  return {
    maxPayloadLength,
    idleTimeout: Math.min(Math.ceil((options.idleTimeout ?? 120_000) / 1000), 960),
    sendPings: options.sendPings ?? true,
    backpressureLimit: options.backpressureLimit ?? 16 * 1024 * 1024,
    closeOnBackpressureLimit: options.closeOnBackpressureLimit ?? false,
    open(ws) {
      const state = ws.data;
      if (!(state instanceof BunSocket)) return;
      const routeMaxMessageSize = state.session.maxMessageSize;
      if (routeMaxMessageSize > maxPayloadLength && !warned) {
        warned = true;
        console.warn(
          `A route allows ${routeMaxMessageSize}-byte messages, Bun's server only ${maxPayloadLength}: pass maxPayloadLength to createBunWebSocket()`,
        );
      }
      // Bun's own Uint8Array for a route that asked for views: no
      // ArrayBuffer made for each message.
      ws.binaryType = (state.session.context.binaryType as string) === "uint8array"
        ? "uint8array"
        : "arraybuffer";
      state.raw = ws;
      // Bun closes with 1009 above maxPayloadLength itself: the session
      // checks only a route with a smaller limit (its check costs ~11% of
      // an echo's CPU on Bun).
      state.session.open(state, maxPayloadLength);
    },
    message(ws, message) {
      const state = ws.data;
      if (state instanceof BunSocket) state.session.message(message);
    },
    close(ws, code, reason) {
      const state = ws.data;
      if (!(state instanceof BunSocket)) return;
      // Bun reports no wasClean: 1006 is the code for a lost connection.
      // When Bun failed the connection itself (the peer broke the protocol)
      // it sent the right code but reports 1006 with its reason: the
      // session hears the code sent, after the error, as on Node.
      if (code === 1006 && reason !== "") {
        const sent = failureCode(reason);
        state.session.error(new ProtocolError(sent, reason));
        state.session.close(sent, reason, false);
        return;
      }
      state.session.close(code, reason, code !== 1006);
    },
    drain(ws) {
      const state = ws.data;
      // Bun calls this as its queue shrinks, even from inside send(): the
      // session hears only of an empty queue, as on Node and Deno.
      if (state instanceof BunSocket && ws.getBufferedAmount() === 0) state.session.drain();
    },
  };
}

// The code Bun sent for its own failure, from the reason it reports
// ("Received invalid UTF-8", "Received too big message" …).
function failureCode(reason: string): number {
  if (/utf-?8/i.test(reason)) return CloseCode.InvalidPayload;
  if (/too big message|message too big/i.test(reason)) return CloseCode.MessageTooBig;
  return CloseCode.ProtocolError;
}

/**
 * Bun's server-wide `websocket` handlers with the routes' defaults: messages
 * up to 64 MiB, silent peers pinged and closed after 120 s.
 *
 * @example
 * ```ts ignore
 * import { websocket } from "@edgesocket/edgesocket/bun";
 * export default { fetch: app.fetch, websocket };
 * ```
 */
export const websocket: BunWebSocketHandler = createBunWebSocketHandler();
