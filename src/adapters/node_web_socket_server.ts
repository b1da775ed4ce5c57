/**
 * A `ws`-shaped `WebSocketServer` driven by the edgesocket codec, for the
 * `websocket: { server }` slot of `@hono/node-server`'s own `serve()`: Hono's
 * Node server and its `upgradeWebSocket` stay as they are, and `ws` is not
 * needed.
 *
 * @example
 * ```ts ignore
 * import { serve, upgradeWebSocket } from "@hono/node-server";
 * import { WebSocketServer } from "@edgesocket/edgesocket/node";
 * app.get("/ws", upgradeWebSocket(() => ({ onMessage: (e, ws) => ws.send(String(e.data)) })));
 * serve({ fetch: app.fetch, websocket: { server: new WebSocketServer() } });
 * ```
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { EventEmitter } from "node:events";
import type { IncomingMessage } from "node:http";
import type { Socket } from "node:net";
import type { Duplex } from "node:stream";
import {
  createAcceptHeaders,
  formatExtensions,
  HandshakeError,
  negotiatePerMessageDeflate,
  PerMessageDeflate,
  type PerMessageDeflateOptions,
  selectProtocol,
  validateUpgradeRequest,
} from "../codec/mod.ts";
import { WebSocketConnection } from "../core/web_socket_connection.ts";
import { nodeDeflateEngine } from "./node_deflate_engine.ts";
import { allocateFrame, openSocketTransport, pipeSocket, writeRawResponse } from "./node_socket.ts";

/** Options for {@linkcode WebSocketServer}. */
export interface WebSocketServerOptions {
  /**
   * Subprotocols the server speaks, in preference order. Without it (and
   * without `handleProtocols`) the client's first offer is answered, as
   * `ws` does.
   */
  protocols?: readonly string[];
  /**
   * `ws`'s option: picks the subprotocol from the client's offers, or
   * `false` for none. An answer the client did not offer sends none.
   */
  handleProtocols?: (protocols: Set<string>, request: IncomingMessage) => string | false;
  /** Largest message in bytes (default 64 MiB); above it the socket closes 1009. */
  maxPayload?: number;
  /**
   * `ws`'s option, taken so that `@hono/node-server`'s
   * `new WebSocketServer({ noServer: true })` moves over with its import
   * alone. This server never listens by itself: `false` throws.
   */
  noServer?: boolean;
  /**
   * permessage-deflate (RFC 7692), `ws`'s option of that name: off by
   * default, as in `ws`; `true` for the defaults (messages of 1 KiB and up
   * compressed), or the settings. `ws`'s `zlibDeflateOptions` give the
   * level and memLevel.
   */
  perMessageDeflate?: boolean | WebSocketServerDeflateOptions;
}

/**
 * The `perMessageDeflate` settings: the codec's (the RFC 7692 parameters
 * and `threshold`, named as in `ws`), and `ws`'s own fields.
 */
export interface WebSocketServerDeflateOptions extends PerMessageDeflateOptions {
  /** `ws`'s way to give zlib's `level` and `memLevel`; its other zlib fields are not read. */
  zlibDeflateOptions?: { level?: number; memLevel?: number; [option: string]: unknown };
  /** `ws`'s; not read (inflating is bounded by `maxPayload`). */
  zlibInflateOptions?: Record<string, unknown>;
  /** `ws`'s; not read: the codec compresses synchronously, with no zlib queue to bound. */
  concurrencyLimit?: number;
}

/**
 * One socket, with the surface `@hono/node-server` expects of `ws`: `send`,
 * `close`, `protocol`, `readyState`, and the `message` (data, isBinary),
 * `close` (code, reason) and `error` events.
 *
 * @example What {@linkcode WebSocketServer.handleUpgrade} hands over
 * ```ts ignore
 * wss.handleUpgrade(request, socket, head, (ws) => {
 *   ws.on("message", (data, isBinary) => ws.send(isBinary ? data : data.toString()));
 * });
 * ```
 */
export class NodeWebSocket extends EventEmitter {
  /** The codec connection underneath. */
  readonly connection: WebSocketConnection;

  /**
   * Wraps a connection.
   *
   * @param connection The open connection.
   */
  constructor(connection: WebSocketConnection) {
    super();
    this.connection = connection;
    connection.binaryType = "uint8array";
    connection.onmessage = (event) => {
      // Views, as binaryType "uint8array" above hands them over.
      const data = event.data as string | Uint8Array;
      if (typeof data === "string") this.emit("message", Buffer.from(data), false);
      else this.emit("message", Buffer.from(data.buffer, data.byteOffset, data.byteLength), true);
    };
    connection.onclose = (event) => this.emit("close", event.code, Buffer.from(event.reason));
    connection.onerror = (event) => this.emit("error", event.error);
  }

  /** The agreed subprotocol. */
  get protocol(): string {
    return this.connection.protocol;
  }

  /** `0`–`3`, as the WHATWG `readyState`. */
  get readyState(): 0 | 1 | 2 | 3 {
    return this.connection.readyState as 0 | 1 | 2 | 3;
  }

  /**
   * Sends a message.
   *
   * @param data Text or binary.
   * @param options `ws`'s: `compress: false` sends it uncompressed where
   * permessage-deflate was agreed; `binary` sends text as binary or the reverse.
   */
  send(
    data: string | ArrayBuffer | ArrayBufferView,
    options?: { compress?: boolean; binary?: boolean },
  ): void {
    this.connection.send(data, options);
  }

  /**
   * Closes with any code the server may send.
   *
   * @param code The close code.
   * @param reason The reason.
   */
  close(code?: number, reason?: string): void {
    this.connection.closeWith(code, reason ?? "");
  }
}

/**
 * A `WebSocketServer` in `noServer` mode, shaped like `ws`'s: `handleUpgrade`
 * validates the handshake with the codec (400 or 426 with a one-line reason
 * otherwise), writes the 101 and hands a {@linkcode NodeWebSocket} to the
 * callback.
 *
 * @example
 * ```ts ignore
 * const server = serve({
 *   fetch: app.fetch,
 *   websocket: { server: new WebSocketServer({ noServer: true }) }, // was: from "ws"
 * });
 * ```
 */
export class WebSocketServer extends EventEmitter {
  /** `ws`'s options object; only `noServer` is read by `@hono/node-server`. */
  readonly options: { noServer: true } = { noServer: true };
  #protocols: readonly string[] | undefined;
  #handleProtocols: WebSocketServerOptions["handleProtocols"];
  #maxPayload: number | undefined;
  #compression: PerMessageDeflateOptions | undefined;

  /**
   * Creates the server.
   *
   * @param options Subprotocols and the message size limit.
   */
  constructor(options: WebSocketServerOptions = {}) {
    super();
    // ws's own server (noServer: false) would listen: this one cannot.
    if (options.noServer === false) {
      throw new TypeError(
        "WebSocketServer serves @hono/node-server's websocket slot only: noServer must be true",
      );
    }
    this.#protocols = options.protocols;
    this.#handleProtocols = options.handleProtocols;
    this.#maxPayload = options.maxPayload;
    const deflate = options.perMessageDeflate;
    if (deflate) {
      const {
        zlibDeflateOptions,
        zlibInflateOptions: _inflate,
        concurrencyLimit: _limit,
        ...settings
      } = deflate === true ? {} : deflate;
      this.#compression = {
        level: zlibDeflateOptions?.level,
        memLevel: zlibDeflateOptions?.memLevel,
        ...settings,
      };
      // Bad window bits throw here, not on the first upgrade.
      negotiatePerMessageDeflate([], this.#compression);
    }
  }

  /**
   * Completes an upgrade.
   *
   * @param request The upgrade request.
   * @param socket Its socket.
   * @param head Bytes read past the request head.
   * @param callback Called with the open socket.
   */
  handleUpgrade(
    request: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    callback: (ws: NodeWebSocket, request: IncomingMessage) => void,
  ): void {
    let upgrade;
    try {
      upgrade = validateUpgradeRequest({
        method: request.method ?? "GET",
        headers: request.headers,
        httpVersion: request.httpVersion,
      });
    } catch (error) {
      if (!(error instanceof HandshakeError)) throw error;
      writeRawResponse(socket, error.status, error.message + "\n", error.headers);
      return;
    }
    const protocol = this.#chooseProtocol(upgrade.protocols, request);
    const compression = this.#compression;
    const agreement = compression
      ? negotiatePerMessageDeflate(upgrade.extensions, compression)
      : null;
    const extensions = agreement ? formatExtensions([agreement.response]) : "";
    const lines = ["HTTP/1.1 101 Switching Protocols"];
    const accept = createAcceptHeaders(upgrade.key, {
      protocol: protocol || undefined,
      extensions: extensions || undefined,
    });
    for (const [name, value] of Object.entries(accept)) lines.push(`${name}: ${value}`);
    this.emit("headers", lines, request);
    socket.write(lines.join("\r\n") + "\r\n\r\n");
    const connection = new WebSocketConnection(openSocketTransport(socket as Socket), {
      protocol,
      url: request.url,
      maxMessageSize: this.#maxPayload,
      allocate: allocateFrame,
      ...(agreement && {
        extensions,
        perMessageDeflate: new PerMessageDeflate(agreement, {
          engine: nodeDeflateEngine,
          threshold: compression!.threshold,
          level: compression!.level,
          memLevel: compression!.memLevel,
          maxMessageSize: this.#maxPayload,
        }),
      }),
    });
    const ws = new NodeWebSocket(connection);
    connection.open();
    callback(ws, request);
    pipeSocket(socket as Socket, connection, head);
  }

  #chooseProtocol(offered: string[], request: IncomingMessage): string {
    if (offered.length === 0) return "";
    if (this.#protocols) return selectProtocol(offered, this.#protocols) ?? "";
    if (!this.#handleProtocols) return offered[0];
    const chosen = this.#handleProtocols(new Set(offered), request);
    return typeof chosen === "string" && offered.includes(chosen) ? chosen : "";
  }

  /** Nothing to release: sockets close with their server. */
  close(): void {}
}
