/**
 * The Node.js adapter: Hono's own Node server (`@hono/node-server`) serves
 * HTTP; its `upgrade` requests are routed by Hono, and the sockets are driven
 * by the edgesocket codec, not by `ws`.
 *
 * @example
 * ```ts ignore
 * import { Hono } from "hono";
 * import { upgradeWebSocket } from "@edgesocket/edgesocket";
 * import { serve } from "@edgesocket/edgesocket/node";
 *
 * const app = new Hono();
 * app.get("/echo", upgradeWebSocket(() => ({ onMessage: (e, ws) => ws.send(e.data as string) })));
 * serve({ fetch: app.fetch, port: 8000 });
 * ```
 *
 * @module
 */
import { createAdaptorServer } from "@hono/node-server";
import { Buffer } from "node:buffer";
import type { IncomingMessage, Server as HttpServer } from "node:http";
import { createServer as createHttpsServer, type Server as HttpsServer } from "node:https";
import type { AddressInfo, Socket } from "node:net";
import type { Duplex } from "node:stream";
import {
  createCodecAdapter,
  type PendingUpgrade,
  PLACEHOLDER_STATUS,
} from "../core/codec_upgrade.ts";
import {
  type AcceptedUpgrade,
  RUNTIME_ADAPTER,
  type RuntimeAdapter,
} from "../core/runtime_adapter.ts";
import {
  closeAllConnections,
  type CloseAllOptions,
  openConnectionCount,
} from "../core/session_registry.ts";
import type { WebSocketConnection } from "../core/web_socket_connection.ts";
import { nodeDeflateEngine } from "./node_deflate_engine.ts";
import {
  allocateFrame,
  ignoreSocketError,
  isSocketTaken,
  openSocketTransport,
  pipeSocket,
  type SocketMark,
  takeSocketMark,
  writeRawResponse,
} from "./node_socket.ts";
import { toUpgradeRequest } from "./node_upgrade_request.ts";

export { nodeDeflateEngine } from "./node_deflate_engine.ts";

export {
  NodeWebSocket,
  WebSocketServer,
  type WebSocketServerDeflateOptions,
  type WebSocketServerOptions,
} from "./node_web_socket_server.ts";

/** The app's fetch, as Hono's `app.fetch`. */
export type FetchHandler = (
  request: Request,
  env: Record<string | symbol, unknown>,
) => Response | Promise<Response>;

/**
 * A PEM certificate, key or CA: text, its bytes, or several of them (an RSA
 * and an ECDSA certificate, say), as Node's and Bun's `tls` options take.
 */
export type TlsPem = string | Uint8Array | ReadonlyArray<string | Uint8Array>;

/**
 * TLS for {@linkcode serve}, named as `Deno.serve({ cert, key })` and Bun's
 * `tls` name them. HTTP/2 would join here as one more member (the ALPN
 * protocols to offer, served by `node:http2`'s `createSecureServer` with
 * `allowHTTP1`), so no name in it says HTTP/1.1.
 */
export interface NodeTlsOptions {
  /** The certificate chain, PEM: the server's certificate first, then its intermediates. */
  cert: TlsPem;
  /** The private key, PEM. */
  key: TlsPem;
  /** Unlocks an encrypted `key`. */
  passphrase?: string;
  /**
   * Intermediate (and root) certificates, PEM, that the served chain is
   * completed from when `cert` holds only the server's own: Node's and
   * Bun's `ca`.
   */
  ca?: TlsPem;
}

/** The server {@linkcode serve} returns: plain HTTP, or HTTPS with `tls`. */
export type NodeServer = HttpServer | HttpsServer;

/** Options for {@linkcode serve}. */
export interface NodeServeOptions {
  /** The app's fetch (`app.fetch`). */
  fetch: FetchHandler;
  /** Port (default 8000; 0 picks a free one). */
  port?: number;
  /** Host to bind (default all interfaces). */
  hostname?: string;
  /**
   * Serve HTTPS and `wss://` with this certificate and key, instead of
   * plain HTTP and `ws://`.
   */
  tls?: NodeTlsOptions;
  /**
   * Drop a request whose headers are not complete after this many ms
   * (default 10,000): a slow-headers flood holds nothing for long.
   */
  handshakeTimeout?: number;
  /** Largest request head in bytes (default 16 KiB); larger gets 431. */
  maxHeaderSize?: number;
  /**
   * Most open WebSocket connections (default 65,536); past it a new upgrade
   * gets 503 with `Retry-After`, and the open ones are not disturbed.
   */
  maxConnections?: number;
}

// Headers of the app's answer that must not reach a 101 (RFC 9110 §7.6.1).
const SKIPPED = new Set([
  "connection",
  "content-length",
  "content-type",
  "keep-alive",
  "transfer-encoding",
  "upgrade",
  "sec-websocket-accept",
  "sec-websocket-extensions",
  "sec-websocket-protocol",
]);

/**
 * Serves a Hono app on Node with WebSocket routes driven by the codec; with
 * `tls`, HTTPS and `wss://`.
 *
 * @param options The app's fetch, port, host, and `tls` for HTTPS.
 * @param onListen Called with the bound address.
 * @returns The Node server: `node:http`'s, or `node:https`'s with `tls`.
 *
 * @example
 * ```ts ignore
 * const server = serve({ fetch: app.fetch, port: 0 }, (info) => console.log(info.port));
 * const secure = serve({
 *   fetch: app.fetch,
 *   port: 8443,
 *   tls: { cert: readFileSync("cert.pem", "utf8"), key: readFileSync("key.pem", "utf8") },
 * });
 * ```
 */
export function serve(
  options: NodeServeOptions,
  onListen?: (info: AddressInfo) => void,
): NodeServer {
  const handshakeTimeout = options.handshakeTimeout ?? 10_000;
  const serverOptions = {
    headersTimeout: handshakeTimeout,
    requestTimeout: Math.max(handshakeTimeout, 300_000),
    // Node checks the timeouts on this period: keep it under the timeout.
    connectionsCheckingInterval: Math.min(1000, handshakeTimeout),
    maxHeaderSize: options.maxHeaderSize ?? 16 * 1024,
  };
  const tls = options.tls;
  const server = (tls
    ? createAdaptorServer({
      fetch: options.fetch as never,
      createServer: createHttpsServer,
      serverOptions: {
        ...serverOptions,
        cert: toPem(tls.cert),
        key: toPem(tls.key),
        ca: tls.ca === undefined ? undefined : toPem(tls.ca),
        passphrase: tls.passphrase,
        // A stalled TLS handshake is a slow-headers flood one layer down.
        handshakeTimeout,
      },
    })
    : createAdaptorServer({ fetch: options.fetch as never, serverOptions })) as NodeServer;
  attachWebSocket(server, options.fetch, { maxConnections: options.maxConnections });
  server.listen(options.port ?? 8000, options.hostname, () => {
    onListen?.(server.address() as AddressInfo);
  });
  return server;
}

// Node's TLS is typed for strings, Buffers and mutable arrays of them.
function toPem(pem: TlsPem): string | Buffer | Array<string | Buffer> {
  return typeof pem === "string" || pem instanceof Uint8Array ? toPemPart(pem) : pem.map(toPemPart);
}

function toPemPart(part: string | Uint8Array): string | Buffer {
  return typeof part === "string"
    ? part
    : Buffer.from(part.buffer, part.byteOffset, part.byteLength);
}

/**
 * Routes a Node server's `upgrade` requests through the app, and drives the
 * accepted ones with the codec.
 *
 * The server may have other `upgrade` listeners (a second WebSocket
 * library, a dev server's hot reload): a socket one of them wrote to, reads
 * from or closed is left to it, and so is one the app has no route for
 * (404) while another listener is there to take it. Otherwise the app's
 * answer (401, 403, 400 …) is written and the socket ended.
 *
 * @param server A Node HTTP or HTTPS server (for example from `createAdaptorServer`).
 * @param fetch The app's fetch.
 * @param options `maxConnections`, past which an upgrade gets 503; a
 * `baseUrl` for the requests' URLs; a hook for each connection as it opens.
 *
 * @example
 * ```ts ignore
 * const server = createAdaptorServer({ fetch: app.fetch });
 * attachWebSocket(server, app.fetch);
 * server.listen(8000);
 * ```
 */
export function attachWebSocket(
  server: NodeServer,
  fetch: FetchHandler,
  options: AttachWebSocketOptions = {},
): void {
  const maxConnections = options.maxConnections ?? 65_536;
  const onConnection = options.onConnection;
  // One adapter for every upgrade of this server: the accepted upgrade
  // goes on the request's own env, where handleUpgrade() finds it.
  const adapter = createCodecAdapter("node", keepPending, {
    deflateEngine: nodeDeflateEngine,
    allocate: allocateFrame,
    onStart: onConnection &&
      ((connection, upgrade) => onConnection(connection, (upgrade.env as UpgradeEnv).incoming)),
  });
  const context: UpgradeContext = {
    server,
    fetch,
    maxConnections,
    adapter,
    // Parsed here: a bad one throws when attached, not on every upgrade.
    baseUrl: options.baseUrl === undefined ? undefined : new URL(options.baseUrl).href,
    refuses: options.refuses,
  };
  server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    // Alone on the server, a full one refuses before routing: the cheapest
    // answer under a flood. With others, only a socket the app accepts is ours to refuse.
    if (server.listenerCount("upgrade") === 1 && openConnectionCount() >= maxConnections) {
      writeResponse(socket, createTooManyResponse());
      return;
    }
    const mark = takeSocketMark(socket);
    handleUpgrade(context, req, socket as Socket, head, mark).catch((error) => {
      console.error(error);
      if (!isSocketTaken(socket, mark)) {
        writeResponse(socket, new Response("Internal Server Error\n", { status: 500 }));
      }
    });
  });
}

/** Options for {@linkcode attachWebSocket}. */
export interface AttachWebSocketOptions {
  /** Most open WebSocket connections (default 65,536); past it an upgrade gets 503. */
  maxConnections?: number;
  /**
   * The base the requests' URLs are resolved against (`@hono/node-ws`'s
   * `baseUrl`); by default `http://` or `https://` and the `Host` header.
   */
  baseUrl?: string | URL;
  /** Called with each connection as it opens, before the route's `onOpen`. */
  onConnection?: (connection: WebSocketConnection, request: IncomingMessage) => void;
  /** While it answers `true`, an accepted upgrade gets 503 (a closed `wss`). */
  refuses?: () => boolean;
}

interface UpgradeContext {
  server: NodeServer;
  fetch: FetchHandler;
  maxConnections: number;
  adapter: RuntimeAdapter;
  baseUrl: string | undefined;
  refuses: (() => boolean) | undefined;
}

const PENDING = Symbol("edgesocket.pending");

// The env an upgrade's fetch gets, as @hono/node-server's (`incoming`,
// `outgoing`), with the adapter, and the upgrade the app accepted.
class UpgradeEnv {
  readonly incoming: IncomingMessage;
  readonly outgoing: undefined = undefined;
  readonly [RUNTIME_ADAPTER]: RuntimeAdapter;
  [PENDING]: PendingUpgrade | undefined = undefined;

  constructor(incoming: IncomingMessage, adapter: RuntimeAdapter) {
    this.incoming = incoming;
    this[RUNTIME_ADAPTER] = adapter;
  }
}

function keepPending(pending: PendingUpgrade, upgrade: AcceptedUpgrade): void {
  // Another adapter's env (a test's, an app's own) has no slot: the
  // upgrade then counts as not ours.
  if (upgrade.env instanceof UpgradeEnv) upgrade.env[PENDING] = pending;
}

function createTooManyResponse(): Response {
  return new Response("Too many WebSocket connections: try again later\n", {
    status: 503,
    headers: { "Retry-After": "5" },
  });
}

async function handleUpgrade(
  context: UpgradeContext,
  req: IncomingMessage,
  socket: Socket,
  head: Buffer,
  mark: SocketMark,
): Promise<void> {
  socket.on("error", ignoreSocketError);
  const env = new UpgradeEnv(req, context.adapter);
  const response = await context.fetch(
    toUpgradeRequest(req, context.baseUrl),
    env as unknown as Record<string | symbol, unknown>,
  );
  const pending = env[PENDING];
  // Every other listener's synchronous part has run by now (the fetch
  // awaited at least once): what one of them took is not ours to answer.
  if (isSocketTaken(socket, mark)) {
    socket.off("error", ignoreSocketError);
    if (pending) {
      console.error(
        `edgesocket: another 'upgrade' listener took ${req.method} ${req.url} first; left to it`,
      );
    }
    return;
  }
  if (!pending || response.status !== PLACEHOLDER_STATUS) {
    // No route here: the path is another listener's (as @hono/node-server's
    // own upgrade listener decides), not a 404 to write into its socket.
    if (response.status === 404 && context.server.listenerCount("upgrade") > 1) {
      socket.off("error", ignoreSocketError);
      return;
    }
    await writeResponse(socket, response);
    return;
  }
  if (openConnectionCount() >= context.maxConnections) {
    await writeResponse(socket, createTooManyResponse());
    return;
  }
  if (context.refuses?.()) {
    await writeResponse(
      socket,
      new Response("WebSocket server closed: no new connections\n", { status: 503 }),
    );
    return;
  }
  // The head as one string, built as it goes: no array of lines to join.
  let head101 = "HTTP/1.1 101 Switching Protocols\r\n";
  const headers = pending.headers;
  for (const name in headers) head101 += `${name}: ${headers[name]}\r\n`;
  response.headers.forEach((value, name) => {
    if (!SKIPPED.has(name)) head101 += `${name}: ${value}\r\n`;
  });
  socket.write(head101 + "\r\n");
  socket.off("error", ignoreSocketError);
  const connection = pending.start(openSocketTransport(socket));
  pipeSocket(socket, connection, head);
}

/**
 * Graceful shutdown: stops accepting, sends 1001 (Going Away) to every
 * WebSocket, waits for their close frames up to `timeout`, drops the rest,
 * then closes idle HTTP connections.
 *
 * @param server The server from {@linkcode serve}.
 * @param options Timeout (default 5,000 ms), code and reason.
 * @returns How many sockets closed cleanly and how many were dropped.
 *
 * @example
 * ```ts ignore
 * process.on("SIGTERM", async () => {
 *   await shutdown(server, { timeout: 5000 });
 *   process.exit(0);
 * });
 * ```
 */
export async function shutdown(
  server: NodeServer,
  options: CloseAllOptions = {},
): Promise<{ closed: number; dropped: number }> {
  const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
  const result = await closeAllConnections(options);
  server.closeAllConnections();
  await stopped;
  return result;
}

async function writeResponse(socket: Duplex, response: Response): Promise<void> {
  if (socket.destroyed) return;
  const body = new Uint8Array(await response.arrayBuffer());
  writeRawResponse(socket, response.status, body, response.headers);
}
