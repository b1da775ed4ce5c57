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
import type { IncomingMessage, Server } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import type { Duplex } from "node:stream";
import {
  createCodecAdapter,
  type PendingUpgrade,
  PLACEHOLDER_STATUS,
} from "../core/codec_upgrade.ts";
import { RUNTIME_ADAPTER } from "../core/runtime_adapter.ts";
import {
  closeAllConnections,
  type CloseAllOptions,
  openConnectionCount,
} from "../core/session_registry.ts";
import { nodeDeflateEngine } from "./node_deflate_engine.ts";
import { openSocketTransport, pipeSocket, writeRawResponse } from "./node_socket.ts";

export { nodeDeflateEngine } from "./node_deflate_engine.ts";

export {
  NodeWebSocket,
  WebSocketServer,
  type WebSocketServerOptions,
} from "./node_web_socket_server.ts";

/** The app's fetch, as Hono's `app.fetch`. */
export type FetchHandler = (
  request: Request,
  env: Record<string | symbol, unknown>,
) => Response | Promise<Response>;

/** Options for {@linkcode serve}. */
export interface NodeServeOptions {
  /** The app's fetch (`app.fetch`). */
  fetch: FetchHandler;
  /** Port (default 8000; 0 picks a free one). */
  port?: number;
  /** Host to bind (default all interfaces). */
  hostname?: string;
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
 * Serves a Hono app on Node with WebSocket routes driven by the codec.
 *
 * @param options The app's fetch, port and host.
 * @param onListen Called with the bound address.
 * @returns The Node HTTP server.
 *
 * @example
 * ```ts ignore
 * const server = serve({ fetch: app.fetch, port: 0 }, (info) => console.log(info.port));
 * ```
 */
export function serve(
  options: NodeServeOptions,
  onListen?: (info: AddressInfo) => void,
): Server {
  const handshakeTimeout = options.handshakeTimeout ?? 10_000;
  const server = createAdaptorServer({
    fetch: options.fetch as never,
    serverOptions: {
      headersTimeout: handshakeTimeout,
      requestTimeout: Math.max(handshakeTimeout, 300_000),
      // Node checks the timeouts on this period: keep it under the timeout.
      connectionsCheckingInterval: Math.min(1000, handshakeTimeout),
      maxHeaderSize: options.maxHeaderSize ?? 16 * 1024,
    },
  }) as Server;
  attachWebSocket(server, options.fetch, { maxConnections: options.maxConnections });
  server.listen(options.port ?? 8000, options.hostname, () => {
    onListen?.(server.address() as AddressInfo);
  });
  return server;
}

/**
 * Routes a Node HTTP server's `upgrade` requests through the app, and drives
 * the accepted ones with the codec.
 *
 * @param server A Node HTTP server (for example from `createAdaptorServer`).
 * @param fetch The app's fetch.
 *
 * @example
 * ```ts ignore
 * const server = createAdaptorServer({ fetch: app.fetch });
 * attachWebSocket(server, app.fetch);
 * server.listen(8000);
 * ```
 */
export function attachWebSocket(
  server: Server,
  fetch: FetchHandler,
  options: { maxConnections?: number } = {},
): void {
  const maxConnections = options.maxConnections ?? 65_536;
  server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    if (openConnectionCount() >= maxConnections) {
      writeResponse(
        socket,
        new Response("Too many WebSocket connections: try again later\n", {
          status: 503,
          headers: { "Retry-After": "5" },
        }),
      );
      return;
    }
    handleUpgrade(fetch, req, socket as Socket, head).catch((error) => {
      console.error(error);
      writeResponse(
        socket,
        new Response("Internal Server Error\n", { status: 500 }),
      );
    });
  });
}

async function handleUpgrade(
  fetch: FetchHandler,
  req: IncomingMessage,
  socket: Socket,
  head: Buffer,
): Promise<void> {
  socket.on("error", ignore);
  let pending: PendingUpgrade | undefined;
  const adapter = createCodecAdapter("node", (p) => (pending = p), {
    deflateEngine: nodeDeflateEngine,
  });
  const response = await fetch(toRequest(req), {
    incoming: req,
    outgoing: undefined,
    [RUNTIME_ADAPTER]: adapter,
  });
  if (socket.destroyed) return;
  if (!pending || response.status !== PLACEHOLDER_STATUS) {
    await writeResponse(socket, response);
    return;
  }
  const lines = ["HTTP/1.1 101 Switching Protocols"];
  for (const [name, value] of Object.entries(pending.headers)) {
    lines.push(`${name}: ${value}`);
  }
  response.headers.forEach((value, name) => {
    if (!SKIPPED.has(name)) lines.push(`${name}: ${value}`);
  });
  socket.setNoDelay(true);
  socket.write(lines.join("\r\n") + "\r\n\r\n");
  socket.off("error", ignore);
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
  server: Server,
  options: CloseAllOptions = {},
): Promise<{ closed: number; dropped: number }> {
  const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
  const result = await closeAllConnections(options);
  server.closeAllConnections();
  await stopped;
  return result;
}

function toRequest(req: IncomingMessage): Request {
  const headers = new Headers();
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    headers.append(req.rawHeaders[i], req.rawHeaders[i + 1]);
  }
  const url = `http://${req.headers.host ?? "localhost"}${req.url ?? "/"}`;
  // Request, as of now: @hono/node-server swaps in its own at serve().
  if (Object.getPrototypeOf(UpgradeRequest.prototype) !== Request.prototype) {
    Object.setPrototypeOf(UpgradeRequest.prototype, Request.prototype);
  }
  return new UpgradeRequest(url, req.method ?? "GET", headers) as unknown as Request;
}

// An undici Request costs some 10% of a handshake's CPU: its constructor
// parses the URL again, checks every init member and creates an
// AbortSignal. Routing and validating an upgrade read only `url`, `method`
// and `headers`, so the app gets a Request (by prototype) that has those
// three and makes the real one only when something else is read, the way
// @hono/node-server's own listener does.
class UpgradeRequest {
  #url: string;
  #method: string;
  #headers: Headers;
  #real: Request | undefined;

  constructor(url: string, method: string, headers: Headers) {
    this.#url = url;
    this.#method = method;
    this.#headers = headers;
  }

  get url(): string {
    return this.#url;
  }

  get method(): string {
    return this.#method;
  }

  get headers(): Headers {
    return this.#headers;
  }

  /** The undici Request, made on first use of anything else. */
  toRequest(): Request {
    return this.#real ??= new Request(this.#url, {
      method: this.#method,
      headers: this.#headers,
    });
  }
}
for (
  const key of [
    "body",
    "bodyUsed",
    "cache",
    "credentials",
    "destination",
    "integrity",
    "keepalive",
    "mode",
    "redirect",
    "referrer",
    "referrerPolicy",
    "signal",
  ]
) {
  Object.defineProperty(UpgradeRequest.prototype, key, {
    get(this: UpgradeRequest) {
      return this.toRequest()[key as keyof Request];
    },
  });
}
for (const key of ["arrayBuffer", "blob", "bytes", "clone", "formData", "json", "text"]) {
  Object.defineProperty(UpgradeRequest.prototype, key, {
    value(this: UpgradeRequest) {
      return (this.toRequest() as unknown as Record<string, () => unknown>)[key]();
    },
  });
}

async function writeResponse(socket: Duplex, response: Response): Promise<void> {
  if (socket.destroyed) return;
  const body = new Uint8Array(await response.arrayBuffer());
  writeRawResponse(socket, response.status, body, response.headers);
}

function ignore(): void {}
