import type { ExtensionOffer, PerMessageDeflateOptions } from "../codec/mod.ts";
import type { WebSocketSession } from "./web_socket_session.ts";

/** Limits and timers, resolved to numbers, that every adapter applies. */
export interface ConnectionLimits {
  /** Largest message in bytes (1009 above it). */
  maxMessageSize: number;
  /** Most fragments in one message (1009 above it; 0: no count limit, the default). */
  maxFragments: number;
  /** Close a silent peer after this many ms (0: off). */
  idleTimeout: number;
  /** Wait this many ms for the peer's close frame. */
  closeTimeout: number;
}

/** A validated upgrade, handed to the runtime's adapter. */
export interface AcceptedUpgrade {
  /** The upgrade request. */
  request: Request;
  /** The env the app was called with (Bun's server, Workers bindings …). */
  env: unknown;
  /** The client's `Sec-WebSocket-Key`. */
  key: string;
  /** The chosen subprotocol, or `""`. */
  protocol: string;
  /** The extensions the client offered. */
  extensionOffers: ExtensionOffer[];
  /**
   * permessage-deflate, when the route asks for it: adapters that compress
   * negotiate it from `extensionOffers`; the others ignore it.
   */
  compression?: PerMessageDeflateOptions;
  /** Limits and timers. */
  limits: ConnectionLimits;
  /** The session that runs the route's handlers. */
  session: WebSocketSession<unknown>;
}

/**
 * One runtime's way to turn a validated request into an open socket. It
 * answers with the response the app returns (a 101 where the runtime builds
 * one; a placeholder the server completes where the codec writes it).
 */
export interface RuntimeAdapter {
  /** `"deno"`, `"cloudflare"`, `"bun"`, `"node"`, `"memory"`: for messages and logs only. */
  readonly name: string;
  /**
   * Whether the adapter closes with 1009 above `limits.maxMessageSize`
   * itself, before a message is whole (the codec does). Where it does not,
   * the session checks each message it is handed.
   */
  readonly enforcesMessageSize: boolean;
  /** Upgrades: the session's `open()` follows once the socket is open. */
  upgrade(upgrade: AcceptedUpgrade): Response | Promise<Response>;
}

/**
 * The env key under which a server that drives sockets itself (the Node
 * adapter, the in-memory test client) offers its {@linkcode RuntimeAdapter}.
 *
 * @example A server of one's own hands its adapter to the app
 * ```ts ignore
 * const response = await app.fetch(request, { [RUNTIME_ADAPTER]: myAdapter });
 * ```
 */
export const RUNTIME_ADAPTER: unique symbol = Symbol.for(
  "edgesocket.adapter",
) as never;
