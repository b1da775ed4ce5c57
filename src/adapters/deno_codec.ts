/**
 * The codec on Deno: the Node adapter's server (`serve()` from
 * src/adapters/node.ts) run on Deno's `node:http`, behind options and a
 * server object shaped as `Deno.serve`'s. The sockets are driven by the
 * edgesocket codec, as on Node, instead of by `Deno.upgradeWebSocket`.
 *
 * @example
 * ```ts ignore
 * import { Hono } from "hono";
 * import { serveWithCodec, upgradeWebSocket } from "@edgesocket/edgesocket/deno";
 *
 * const app = new Hono();
 * app.get("/echo", upgradeWebSocket(() => ({ onMessage: (e, ws) => ws.send(e.data as string) })));
 * serveWithCodec({ port: 8000 }, app.fetch);
 * ```
 *
 * @module
 */
import type { CloseAllOptions } from "../core/session_registry.ts";
import { shutdown as shutdownNative, type StoppableServer } from "./deno.ts";
import type { FetchHandler, NodeServer } from "./node.ts";

/**
 * The app's fetch under {@linkcode serveWithCodec}: Hono's `app.fetch`. The
 * second argument is not `Deno.ServeHandlerInfo` but the Node server's env
 * (`incoming`, and the codec's adapter, which the upgrade needs): pass
 * `app.fetch` itself, or hand the second argument on.
 */
export type CodecFetchHandler = FetchHandler;

/** Where a {@linkcode CodecServer} listens: `Deno.NetAddr`'s shape. */
export interface CodecServerAddr {
  /** Always `"tcp"`. */
  transport: "tcp";
  /** The bound address (`"0.0.0.0"` by default). */
  hostname: string;
  /** The bound port. */
  port: number;
}

/**
 * Options for {@linkcode serveWithCodec}: `Deno.serve`'s names and defaults,
 * then the codec server's own limits.
 */
export interface ServeWithCodecOptions {
  /** Port (default 8000; 0 picks a free one). */
  port?: number;
  /** Host to bind (default `"0.0.0.0"`, as `Deno.serve`). */
  hostname?: string;
  /**
   * Called with the bound address once listening. By default a line as
   * `Deno.serve` prints it: `Listening on http://0.0.0.0:8000/`.
   */
  onListen?: (addr: CodecServerAddr) => void;
  /** Aborting it shuts the server down, as {@linkcode CodecServer.shutdown}. */
  signal?: AbortSignal;
  /** The certificate chain, PEM, as `Deno.serve`'s `cert`: with `key`, HTTPS and `wss://`. */
  cert?: string | Uint8Array;
  /** The private key, PEM, as `Deno.serve`'s `key`. */
  key?: string | Uint8Array;
  /**
   * Answers a request whose handler threw, as `Deno.serve`'s `onError`
   * (default: the Node server's 500).
   */
  onError?: (error: unknown) => Response | Promise<Response>;
  /** Drop a request (or TLS handshake) not complete after this many ms (default 10,000). */
  handshakeTimeout?: number;
  /** Largest request head in bytes (default 16 KiB); larger gets 431. */
  maxHeaderSize?: number;
  /** Most open WebSocket connections (default 65,536); past it an upgrade gets 503. */
  maxConnections?: number;
}

/** {@linkcode ServeWithCodecOptions} with the handler in them, as `Deno.serve({ handler })`. */
export interface ServeWithCodecInit extends ServeWithCodecOptions {
  /** The app's fetch (`app.fetch`). */
  handler: CodecFetchHandler;
}

/**
 * The server {@linkcode serveWithCodec} returns: `Deno.HttpServer`'s shape,
 * so code written for `Deno.serve()`'s server (and `shutdown()` from
 * `@edgesocket/edgesocket/deno`) works with it.
 */
export interface CodecServer {
  /**
   * Where it listens. Node binds asynchronously: until `onListen` has run
   * this is the requested address (port 0 included).
   */
  readonly addr: CodecServerAddr;
  /** Settles when the server has closed; rejects if it could not listen. */
  readonly finished: Promise<void>;
  /**
   * Stops accepting, sends 1001 (Going Away) to every WebSocket, waits up
   * to 5 s for their close frames, then closes every connection.
   */
  shutdown(): Promise<void>;
  /** Keeps the process alive while the server listens (the default). */
  ref(): void;
  /** Lets the process exit while the server still listens. */
  unref(): void;
  /** {@linkcode CodecServer.shutdown}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void>;
}

type NodeAdapter = typeof import("./node.ts");

// The Node adapter and @hono/node-server cost ~15 MB of RSS and ~45 ms of
// startup under Deno: loaded on the first serveWithCodec(), not by every
// app that imports the Deno entry for the native path.
let nodeAdapter: Promise<NodeAdapter> | undefined;

class CodecHttpServer implements CodecServer {
  #addr: CodecServerAddr;
  #node: Promise<[NodeAdapter, NodeServer]>;
  #finished: Promise<void>;
  #stopping: Promise<{ closed: number; dropped: number }> | undefined;
  #referenced = true;

  constructor(options: ServeWithCodecOptions, handler: CodecFetchHandler) {
    const hostname = options.hostname ?? "0.0.0.0";
    this.#addr = { transport: "tcp", hostname, port: options.port ?? 8000 };
    let fail: (error: unknown) => void = () => {};
    let close: () => void = () => {};
    this.#finished = new Promise<void>((resolve, reject) => {
      close = resolve;
      fail = reject;
    });
    this.#node = (nodeAdapter ??= import("./node.ts")).then((adapter) => {
      const onError = options.onError;
      const fetch: FetchHandler = onError
        ? async (request, env) => {
          try {
            return await handler(request, env);
          } catch (error) {
            return await onError(error);
          }
        }
        : handler;
      const tls = options.cert !== undefined || options.key !== undefined
        ? { cert: options.cert ?? "", key: options.key ?? "" }
        : undefined;
      const server = adapter.serve({
        fetch,
        port: this.#addr.port,
        hostname,
        tls,
        handshakeTimeout: options.handshakeTimeout,
        maxHeaderSize: options.maxHeaderSize,
        maxConnections: options.maxConnections,
      }, (info) => {
        this.#addr = { transport: "tcp", hostname, port: info.port };
        (options.onListen ?? printListening(tls !== undefined))(this.#addr);
      });
      // Before listening, an error (the port taken) is Deno.serve's throw:
      // `finished` rejects, and unhandled it ends the process.
      server.once("error", fail);
      server.once("close", close);
      if (!this.#referenced) server.unref();
      return [adapter, server] as [NodeAdapter, NodeServer];
    });
    this.#node.catch(fail);
    const signal = options.signal;
    if (signal?.aborted) void this.shutdown();
    else signal?.addEventListener("abort", () => void this.shutdown(), { once: true });
  }

  get addr(): CodecServerAddr {
    return this.#addr;
  }

  get finished(): Promise<void> {
    return this.#finished;
  }

  async shutdown(): Promise<void> {
    await this.stop({});
  }

  // The graceful stop, once: a second call waits for the first.
  stop(options: CloseAllOptions): Promise<{ closed: number; dropped: number }> {
    this.#stopping ??= this.#node.then(([adapter, server]) => adapter.shutdown(server, options));
    return this.#stopping;
  }

  ref(): void {
    this.#referenced = true;
    this.#node.then(([, server]) => server.ref(), () => {});
  }

  unref(): void {
    this.#referenced = false;
    this.#node.then(([, server]) => server.unref(), () => {});
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.shutdown();
  }
}

// Deno.serve's own line: the wildcard address also as localhost.
function printListening(secure: boolean): (addr: CodecServerAddr) => void {
  return ({ hostname, port }) => {
    const scheme = secure ? "https" : "http";
    const local = hostname === "0.0.0.0" ? ` (${scheme}://localhost:${port}/)` : "";
    console.log(`Listening on ${scheme}://${hostname}:${port}/${local}`);
  };
}

/**
 * Serves a Hono app on Deno with its WebSocket routes driven by the
 * edgesocket codec over Deno's `node:http`, instead of by
 * `Deno.upgradeWebSocket`. Called as `Deno.serve` is: `(handler)`,
 * `(options, handler)` or `({ ...options, handler })`.
 *
 * Which to pick: `serveWithCodec()` when the WebSockets matter. It is
 * strict (RFC 6455: an unmasked client frame closes with 1002, invalid
 * UTF-8 with 1007, each with a close frame, where Deno's native server takes
 * the unmasked frame as a message and drops the TCP connection on most
 * other errors), it compresses (the `compression` route option; Deno's
 * native server cannot), and in `deno task bench` it echoes about 3× and
 * fans out about 5× as fast, with half the memory per idle connection
 * (handshakes are even). `Deno.serve()` (or `export default app` under
 * `deno serve`) when Deno's own HTTP server matters: HTTP/2 over TLS,
 * `deno serve` and its `--parallel` workers, hosts that run only
 * `Deno.serve`, and handlers that read `Deno.ServeHandlerInfo`. The name
 * says "codec" because the server is not `Deno.serve`: HTTP/1.1 only, and
 * the handler's second argument is the Node server's env.
 *
 * Under it, `ws.raw` is the codec's `WebSocketConnection` (not Deno's
 * `WebSocket`), and `ws.ping()` works.
 *
 * @param options `Deno.serve`'s `port`, `hostname`, `onListen`, `signal`,
 * `cert`/`key`, `onError`, plus `handshakeTimeout`, `maxHeaderSize` and
 * `maxConnections`; or the handler alone.
 * @param handler The app's fetch (`app.fetch`), unless given in `options`.
 * @returns The server, shaped as `Deno.HttpServer`.
 * @throws {TypeError} With no handler.
 *
 * @example
 * ```ts ignore
 * const server = serveWithCodec({ port: 8000, hostname: "127.0.0.1" }, app.fetch);
 * Deno.addSignalListener("SIGTERM", async () => {
 *   await shutdown(server, { timeout: 5000 }); // 1001 to every client
 *   Deno.exit(0);
 * });
 * ```
 */
export function serveWithCodec(
  options: ServeWithCodecOptions | ServeWithCodecInit | CodecFetchHandler,
  handler?: CodecFetchHandler,
): CodecServer {
  const init: ServeWithCodecOptions = typeof options === "function" ? {} : options;
  const fetch: unknown = typeof options === "function"
    ? options
    : handler ?? (options as Partial<ServeWithCodecInit>).handler;
  if (typeof fetch !== "function") {
    throw new TypeError("serveWithCodec() needs a handler: (options, app.fetch) or { handler }");
  }
  return new CodecHttpServer(init, fetch as CodecFetchHandler);
}

/**
 * Graceful shutdown on Deno, for either server: `Deno.serve()`'s (as
 * {@linkcode shutdownNative}: new upgrades get 503 while the sockets close)
 * or {@linkcode serveWithCodec}'s (it stops accepting first, then every
 * WebSocket gets 1001, their close frames are awaited up to `timeout`, the
 * rest dropped, and the HTTP connections closed).
 *
 * @param server The server from `Deno.serve()` or `serveWithCodec()`.
 * @param options Timeout (default 5,000 ms), code and reason.
 * @returns How many sockets closed cleanly and how many were dropped.
 *
 * @example
 * ```ts ignore
 * const server = serveWithCodec(app.fetch);
 * Deno.addSignalListener("SIGTERM", async () => {
 *   await shutdown(server, { timeout: 5000 });
 *   Deno.exit(0);
 * });
 * ```
 */
export async function shutdown(
  server: StoppableServer | CodecServer,
  options: CloseAllOptions = {},
): Promise<{ closed: number; dropped: number }> {
  return server instanceof CodecHttpServer
    ? await server.stop(options)
    : await shutdownNative(server, options);
}
