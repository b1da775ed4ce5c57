import {
  DEFAULT_MAX_FRAGMENTS,
  DEFAULT_MAX_MESSAGE_SIZE,
  HandshakeError,
  isUpgradeRequest,
  negotiatePerMessageDeflate,
  type PerMessageDeflateOptions,
  type ProtocolSelector,
  selectProtocol,
  validateUpgradeRequest,
} from "../codec/mod.ts";
import { RUNTIME_ADAPTER, type RuntimeAdapter } from "../core/runtime_adapter.ts";
import { WebSocketContext } from "../core/web_socket_context.ts";
import { type WebSocketEvents, WebSocketSession } from "../core/web_socket_session.ts";
import { bunAdapter, isBun } from "../adapters/bun.ts";
import { cloudflareAdapter, isCloudflare } from "../adapters/cloudflare.ts";
import { denoAdapter, isDeno } from "../adapters/deno.ts";

/**
 * The part of Hono's `Context` the middleware reads. Hono's `Context`
 * satisfies it, and handlers get the route's full `Context` type.
 */
export interface UpgradeContext {
  /** The request. */
  req: { raw: Request };
  /** The runtime's env: bindings, Bun's server, the Node adapter's hooks. */
  env: unknown;
}

/** Options for {@linkcode upgradeWebSocket}. */
export interface UpgradeWebSocketOptions<D = undefined, C extends UpgradeContext = UpgradeContext> {
  /** Subprotocols: a preference list, or a callback given the client's offers. */
  protocols?: ProtocolSelector;
  /** Allowed `Origin` values, or a predicate; any other origin gets 403. */
  origins?: readonly string[] | ((origin: string) => boolean);
  /** Per-connection data, computed from the request before the upgrade. */
  data?: (c: C) => D | Promise<D>;
  /** Largest message in bytes (default 64 MiB); above it the socket closes 1009. */
  maxMessageSize?: number;
  /** Most fragments in one message (default 8,192), where the codec decodes. */
  maxFragments?: number;
  /** Close a peer silent this long, in ms (default 120,000; 0 turns it off). */
  idleTimeout?: number;
  /** Wait this long for the peer's close frame, in ms (default 5,000). */
  closeTimeout?: number;
  /**
   * permessage-deflate (RFC 7692), off by default: `true` for the defaults
   * (messages of 1 KiB and up compressed, context kept), or the settings.
   * Negotiated where the codec drives the socket: the Node adapter's
   * `serve()`, on Node or on Deno. Deno's native server cannot compress and
   * ignores it; on Bun and Workers the runtime's own setting decides.
   */
  compression?: boolean | PerMessageDeflateOptions;
  /**
   * Upgrades with this adapter instead of the runtime's (a Durable Object's
   * hibernatable sockets: see `DurableObjectWebSockets`).
   */
  adapter?: RuntimeAdapter;
}

/** Adapters the middleware can find from globals, tried after the env's own. */
// Registered adapters first; the built-in Bun, Workers and Deno ones last.
// Read lazily: the adapter modules re-export this one, so nothing here may
// touch them at load.
const registered: Array<[() => boolean, RuntimeAdapter]> = [];

/**
 * Registers a runtime adapter found by a global check (Bun, Workers).
 *
 * @param isPresent Whether the runtime is this one.
 * @param adapter The adapter.
 *
 * @example
 * ```ts ignore
 * registerRuntimeAdapter(() => typeof WebSocketPair === "function", cloudflareAdapter);
 * ```
 */
export function registerRuntimeAdapter(
  isPresent: () => boolean,
  adapter: RuntimeAdapter,
): void {
  if (!registered.some(([, a]) => a === adapter)) {
    registered.push([isPresent, adapter]);
  }
}

function findAdapter(env: unknown): RuntimeAdapter | undefined {
  const own = (env as Record<symbol, RuntimeAdapter> | undefined)
    ?.[RUNTIME_ADAPTER];
  if (own) return own;
  const found = registered.find(([isPresent]) => isPresent());
  if (found) return found[1];
  // The native runtimes, from their globals: importing the main module is
  // enough on each of them.
  if (isBun(env)) return bunAdapter;
  if (isCloudflare()) return cloudflareAdapter;
  return isDeno() ? denoAdapter : undefined;
}

function refuse(
  status: number,
  reason: string,
  headers: Record<string, string> = {},
): Response {
  return new Response(reason + "\n", {
    status,
    headers: { "Content-Type": "text/plain; charset=utf-8", ...headers },
  });
}

function isAllowedOrigin(
  origin: string | null,
  origins: UpgradeWebSocketOptions<unknown>["origins"],
): boolean {
  if (!origins) return true;
  if (origin === null) return false;
  return typeof origins === "function" ? origins(origin) : origins.includes(origin);
}

/**
 * Hono middleware that upgrades a route to WebSocket on any runtime: the
 * native upgrade on Deno, Workers and Bun, the codec on Node. Handlers have
 * Hono's shape (`onOpen`, `onMessage`, `onClose`, `onError`).
 *
 * A request that is not an upgrade gets 426; a forbidden `Origin` 403; a
 * malformed handshake 400 (or 426 for another version), each with a one-line
 * reason. Authentication is ordinary middleware before this one.
 *
 * @param createEvents Builds the handlers from the request's context.
 * @param options Subprotocols, origins, per-connection data, limits.
 * @returns The middleware.
 *
 * @example An echo route
 * ```ts ignore
 * import { Hono } from "hono";
 * import { upgradeWebSocket } from "@edgesocket/edgesocket";
 * const app = new Hono();
 * app.get("/echo", upgradeWebSocket(() => ({
 *   onMessage(event, ws) {
 *     ws.send(event.data as string);
 *   },
 * })));
 * ```
 */
export function upgradeWebSocket<D = unknown, C extends UpgradeContext = UpgradeContext>(
  createEvents: (c: C) => WebSocketEvents<NoInfer<D>> | Promise<WebSocketEvents<NoInfer<D>>>,
  options: UpgradeWebSocketOptions<D, C> = {},
): (c: C, next: () => Promise<void>) => Promise<Response> {
  const limits = {
    maxMessageSize: options.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE,
    maxFragments: options.maxFragments ?? DEFAULT_MAX_FRAGMENTS,
    idleTimeout: options.idleTimeout ?? 120_000,
    closeTimeout: options.closeTimeout ?? 5_000,
  };
  const compression = options.compression === true ? {} : options.compression || undefined;
  // Bad window bits throw here, at startup, not on the first upgrade.
  if (compression) negotiatePerMessageDeflate([], compression);
  return async (c: C): Promise<Response> => {
    const request = c.req.raw;
    if (!isUpgradeRequest(request.headers)) {
      return refuse(
        426,
        "Expected a WebSocket upgrade request (Upgrade: websocket)",
        {
          "Upgrade": "websocket",
        },
      );
    }
    const origin = request.headers.get("origin");
    if (!isAllowedOrigin(origin, options.origins)) {
      return refuse(403, `Origin not allowed: ${origin ?? "(none)"}`);
    }
    let key: string, offered: string[], extensionOffers;
    try {
      ({ key, protocols: offered, extensions: extensionOffers } = validateUpgradeRequest(request));
    } catch (error) {
      if (!(error instanceof HandshakeError)) throw error;
      return refuse(error.status, error.message, error.headers);
    }
    const adapter = options.adapter ?? findAdapter(c.env);
    if (!adapter) return refuse(501, "No WebSocket upgrade on this runtime");
    const events = await createEvents(c);
    const protocol = selectProtocol(offered, options.protocols) ?? "";
    const data = (options.data ? await options.data(c) : undefined) as D;
    const ctx = new WebSocketContext<D>({
      protocol,
      url: request.url,
      data,
    });
    const session = new WebSocketSession<D>(events, ctx, {
      // The codec enforces the limit while decoding; native runtimes here.
      maxMessageSize: adapter.name === "node" || adapter.name === "memory"
        ? 0
        : limits.maxMessageSize,
    });
    return adapter.upgrade({
      request,
      env: c.env,
      key,
      protocol,
      extensionOffers,
      compression,
      limits,
      session: session as WebSocketSession<unknown>,
    });
  };
}
