import {
  createAcceptHeaders,
  type DeflateEngine,
  formatExtensions,
  negotiatePerMessageDeflate,
  PerMessageDeflate,
  type PerMessageDeflateAgreement,
} from "../codec/mod.ts";
import type { ByteTransport } from "./byte_transport.ts";
import { internUrl } from "./intern_url.ts";
import type { AcceptedUpgrade, RuntimeAdapter } from "./runtime_adapter.ts";
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

/** Options for {@linkcode createCodecAdapter}. */
export interface CodecAdapterOptions {
  /** Where permessage-deflate's DEFLATE comes from; without one, compression is never negotiated. */
  deflateEngine?: DeflateEngine;
  /** Where outgoing frames' bytes come from (a pool, such as Node's `Buffer.allocUnsafe`). */
  allocate?: (size: number) => Uint8Array;
  /**
   * Called with each connection as it opens, before the route's `onOpen`
   * (a server keeping a set of its clients adds it here).
   */
  onStart?: (connection: WebSocketConnection, upgrade: AcceptedUpgrade) => void;
}

/**
 * Status of the placeholder answer that stands for an accepted upgrade.
 *
 * @example An adapter's server tells an accepted upgrade from an answer
 * ```ts ignore
 * if (response.status === PLACEHOLDER_STATUS && pending) write101(pending);
 * ```
 */
export const PLACEHOLDER_STATUS = 200;

/**
 * Creates the adapter for servers that drive sockets with the codec (Node,
 * the in-memory client). `accept` receives each accepted upgrade, with the
 * upgrade itself (its `env` is the one the app was called with: a server
 * with one adapter for all its requests finds the request's pending
 * upgrade through it); the placeholder response lets middleware add
 * headers to the 101.
 *
 * @param name The adapter's name.
 * @param accept Called with each upgrade the app accepted.
 * @param options The DEFLATE engine, the frames' allocator, and a hook for
 * each connection as it opens.
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
  accept: (pending: PendingUpgrade, upgrade: AcceptedUpgrade) => void,
  options: CodecAdapterOptions = {},
): RuntimeAdapter {
  const engine = options.deflateEngine;
  return {
    name,
    // The decoder closes with 1009 before a message over the limit is whole.
    enforcesMessageSize: true,
    upgrade(upgrade: AcceptedUpgrade): Response {
      const agreement = engine && upgrade.compression
        ? negotiatePerMessageDeflate(upgrade.extensionOffers, upgrade.compression)
        : null;
      const headers = createAcceptHeaders(upgrade.key, {
        protocol: upgrade.protocol || undefined,
        extensions: agreement ? formatExtensions([agreement.response]) : undefined,
      });
      accept(new CodecUpgrade(headers, upgrade, engine ? agreement : null, options), upgrade);
      return new Response(null, { status: PLACEHOLDER_STATUS });
    },
  };
}

// A class, not an object with a `start` closure: nothing per upgrade but
// its fields.
class CodecUpgrade implements PendingUpgrade {
  readonly headers: Record<string, string>;
  #upgrade: AcceptedUpgrade;
  #agreement: PerMessageDeflateAgreement | null;
  #options: CodecAdapterOptions;

  constructor(
    headers: Record<string, string>,
    upgrade: AcceptedUpgrade,
    agreement: PerMessageDeflateAgreement | null,
    options: CodecAdapterOptions,
  ) {
    this.headers = headers;
    this.#upgrade = upgrade;
    this.#agreement = agreement;
    this.#options = options;
  }

  start(transport: ByteTransport): WebSocketConnection {
    return startConnection(this.#upgrade, transport, this.#agreement, this.#options);
  }
}

function startConnection(
  upgrade: AcceptedUpgrade,
  transport: ByteTransport,
  agreement: PerMessageDeflateAgreement | null,
  options: CodecAdapterOptions,
): WebSocketConnection {
  const { limits, session } = upgrade;
  const connection = new WebSocketConnection(transport, {
    protocol: upgrade.protocol,
    ...(agreement && createDeflateOptions(upgrade, agreement, options.deflateEngine!)),
    url: internUrl(upgrade.request.url),
    maxMessageSize: limits.maxMessageSize,
    maxFragments: limits.maxFragments,
    idleTimeout: limits.idleTimeout,
    closeTimeout: limits.closeTimeout,
    // The session itself, not three closures: a few hundred bytes less per
    // idle connection.
    handler: session,
    allocate: options.allocate,
  });
  // The session converts binary once, to the handler's binaryType.
  connection.binaryType = "uint8array";
  connection.open();
  // Before the session opens: what onStart records (a server's clients),
  // onOpen already finds.
  options.onStart?.(connection, upgrade);
  // The connection is its own driver: a wrapper would cost each idle
  // connection 32 bytes.
  session.open(connection);
  return connection;
}

// Only for a connection that agreed to compress: the others allocate nothing.
function createDeflateOptions(
  upgrade: AcceptedUpgrade,
  agreement: PerMessageDeflateAgreement,
  engine: DeflateEngine,
): { extensions: string; perMessageDeflate: PerMessageDeflate } {
  const { threshold, level, memLevel } = upgrade.compression ?? {};
  return {
    extensions: formatExtensions([agreement.response]),
    perMessageDeflate: new PerMessageDeflate(agreement, {
      engine,
      threshold,
      level,
      memLevel,
      maxMessageSize: upgrade.limits.maxMessageSize,
    }),
  };
}
