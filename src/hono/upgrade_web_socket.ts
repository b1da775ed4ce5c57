// Hono's own types, named so that these signatures are Hono's helper's
// (the RPC client `hc` infers from them). `@internal` tells `deno doc
// --lint` they are documented by Hono, not private types of ours.
/** @internal */
import type { Context, Env, Input, MiddlewareHandler, TypedResponse } from "hono";
/** @internal */
import type { BlankInput } from "hono/types";
/** @internal */
import type { StatusCode } from "hono/utils/http-status";
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
import { RESUME_PROTOCOL } from "../protocol/resume_protocol.ts";
import type { ResumeOptions } from "../core/resume_options.ts";
import { ResumeRoute } from "../core/resume_route.ts";
import {
  type AcceptedUpgrade,
  RUNTIME_ADAPTER,
  type RuntimeAdapter,
} from "../core/runtime_adapter.ts";
import { internUrl } from "../core/intern_url.ts";
import { WebSocketContext } from "../core/web_socket_context.ts";
import type { BinaryType } from "../core/web_socket_events.ts";
import "./hono_ws_context.ts";
import {
  ReportingWebSocketSession,
  type WebSocketEvents,
  WebSocketSession,
} from "../core/web_socket_session.ts";
import { bunAdapter, isBun } from "../adapters/bun.ts";
import { cloudflareAdapter, isCloudflare } from "../adapters/cloudflare.ts";
import { denoAdapter, isDeno } from "../adapters/deno.ts";

/** Options for {@linkcode upgradeWebSocket}. */
export interface UpgradeWebSocketOptions<D = unknown, C = Context> {
  /**
   * Subprotocols: a preference list, or a callback given the client's
   * offers. Without it the first one the client offers is answered, as
   * Hono's helper, `ws` and Bun do.
   */
  protocols?: ProtocolSelector;
  /**
   * One subprotocol to answer when the client offers it: Deno's and
   * `hono/deno`'s option, kept so that code written for them moves over
   * (the same as `protocols: [protocol]`; `protocols` wins when both are given).
   */
  protocol?: string;
  /** Allowed `Origin` values, or a predicate; any other origin gets 403. */
  origins?: readonly string[] | ((origin: string) => boolean);
  /** Per-connection data (`ws.data`), computed from the request before the upgrade. */
  data?: (c: C) => D | Promise<D>;
  /**
   * How binary messages reach `onMessage` at first (`ws.binaryType`, which
   * a handler may change): `"arraybuffer"` (the default, Hono's and
   * WHATWG's), `"blob"`, or `"uint8array"`: a `Uint8Array` over the bytes
   * as they were read, with no copy, as `ws` hands a Node `Buffer` and Bun
   * its `"uint8array"`. On Node an `ArrayBuffer` per message costs about
   * 30% of an echo's throughput; a view costs nothing. Hono types
   * `event.data` without `Uint8Array`: cast it (`event.data as Uint8Array`).
   * A view may share its `buffer` with the other bytes of the same read:
   * use the view, not its `buffer`.
   */
  binaryType?: "arraybuffer" | "blob" | "uint8array";
  /** Largest message in bytes (default 64 MiB); above it the socket closes 1009. */
  maxMessageSize?: number;
  /**
   * Most fragments in one message, where the codec decodes (default 0: no
   * count limit; a message costs its size, whatever its fragment count).
   */
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
   * Resumable sessions for clients that offer `edgesocket.resume.v1` (the
   * `@edgesocket/edgesocket/client` one): a dropped client comes back to
   * the same `ws`, `ws.data` and topics, gets what was published on
   * resumable topics meanwhile, once and in order, and its unacknowledged
   * messages reach `onMessage` once. Other clients of the route get the
   * plain behaviour. On a resumed session `onOpen` and `onClose` bracket
   * the session, not each socket, and `createEvents` and `data` run once
   * per session. Which topics are resumable: `defaultPubSub.useHistory()`.
   */
  resume?: ResumeOptions<C>;
  /**
   * Where a handler's error goes when no `onError` handler hears it (the
   * route has none, or it came from `onClose` or `onError` itself): by
   * default the log (`console.error`). `@hono/node-ws`'s option of that name.
   */
  onError?: (error: unknown) => void;
}

/** Options for {@linkcode createUpgradeMiddleware}: a route's, and the adapter. */
export interface UpgradeMiddlewareOptions<D = unknown, C = Context>
  extends UpgradeWebSocketOptions<D, C> {
  /**
   * Upgrades with this adapter instead of the runtime's (a Durable Object's
   * hibernatable sockets: see `DurableObjectWebSockets`).
   */
  adapter?: RuntimeAdapter;
}

/** The answer of the direct form: typed for Hono's RPC client as a WebSocket route. */
// deno-lint-ignore ban-types -- Hono's own TypedResponse of a ws route has `{}` output.
export type UpgradeResponse = Response & TypedResponse<{}, StatusCode, "ws">;

/**
 * Hono's `UpgradeWebSocket`, with edgesocket's `ws` and options: the
 * middleware form and the direct form. `R` is the type of `ws.raw`, the
 * runtime's own socket, fixed by the entry module.
 */
export interface UpgradeWebSocket<R = unknown> {
  /**
   * The middleware: `app.get("/ws", upgradeWebSocket((c) => events))`.
   * `c` is the route's own `Context` (its params, env and variables).
   */
  // deno-lint-ignore no-explicit-any -- Hono's default Env and path are `any`.
  <D = unknown, E extends Env = any, P extends string = any, I extends Input = BlankInput>(
    createEvents: (
      c: Context<E, P, I>,
    ) => WebSocketEvents<NoInfer<D>, R> | Promise<WebSocketEvents<NoInfer<D>, R>>,
    options?: UpgradeWebSocketOptions<D, Context<E, P, I>>,
  ): MiddlewareHandler<E, P, { outputFormat: "ws" }>;
  /**
   * The direct form, inside a handler: `(c) => upgradeWebSocket(c, events)`.
   * A request that is not an upgrade gets 426.
   */
  // deno-lint-ignore no-explicit-any -- as above.
  <D = unknown, E extends Env = any, P extends string = any, I extends Input = BlankInput>(
    c: Context<E, P, I>,
    events: WebSocketEvents<NoInfer<D>, R>,
    options?: UpgradeWebSocketOptions<D, Context<E, P, I>>,
  ): Promise<UpgradeResponse>;
}

// Registered adapters first; the built-in Bun, Workers and Deno ones last.
const registered: Array<[() => boolean, RuntimeAdapter]> = [];

/**
 * Registers a runtime adapter found by a global check, tried before the
 * built-in ones.
 *
 * @param isPresent Whether the runtime is this one.
 * @param adapter The adapter.
 *
 * @example
 * ```ts ignore
 * registerRuntimeAdapter(() => typeof MyRuntime !== "undefined", myAdapter);
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
  origins: NonNullable<UpgradeWebSocketOptions<unknown>["origins"]>,
): boolean {
  if (origin === null) return false;
  return typeof origins === "function" ? origins(origin) : origins.includes(origin);
}

/** What a route needs to upgrade: given once per route, applied per request. */
interface RouteUpgrade<D, C> {
  options: UpgradeMiddlewareOptions<D, C>;
  limits: {
    maxMessageSize: number;
    maxFragments: number;
    idleTimeout: number;
    closeTimeout: number;
  };
  compression: PerMessageDeflateOptions | undefined;
  resume: ResumeRoute | undefined;
  /** The route's subprotocol choice (none: the client's first offer). */
  protocols: ProtocolSelector | undefined;
  /** Where handlers' unheard errors go, when the route's `onError` option says. */
  report: ((error: unknown) => void) | undefined;
}

function prepareRoute<D, C>(options: UpgradeMiddlewareOptions<D, C>): RouteUpgrade<D, C> {
  const compression = options.compression === true ? {} : options.compression || undefined;
  // Bad window bits throw here, at startup, not on the first upgrade.
  if (compression) negotiatePerMessageDeflate([], compression);
  const report = createReporter(options.onError);
  const { binaryType } = options;
  if (binaryType !== undefined && !BINARY_TYPES.includes(binaryType)) {
    throw new TypeError(`binaryType must be "arraybuffer", "blob" or "uint8array": ${binaryType}`);
  }
  return {
    options,
    compression,
    report,
    // Bad resume bounds throw here too.
    resume: options.resume ? createResumeRoute(options, report) : undefined,
    protocols: options.protocols ??
      (options.protocol === undefined ? undefined : [options.protocol]),
    limits: {
      maxMessageSize: options.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE,
      maxFragments: options.maxFragments ?? DEFAULT_MAX_FRAGMENTS,
      idleTimeout: options.idleTimeout ?? 120_000,
      closeTimeout: options.closeTimeout ?? 5_000,
    },
  };
}

const BINARY_TYPES: readonly unknown[] = ["arraybuffer", "blob", "uint8array"];

// The route's binaryType, on the context only where it is not the default
// (the prototype's): a field would cost every idle socket 8 to 16 bytes.
function applyBinaryType(ctx: WebSocketContext<unknown>, route: RouteUpgrade<unknown, unknown>) {
  const type = route.options.binaryType;
  // "uint8array" is edgesocket's, past Hono's BinaryType.
  if (type !== undefined && type !== "arraybuffer") ctx.binaryType = type as BinaryType;
}

function createResumeRoute<D, C>(
  options: UpgradeWebSocketOptions<D, C>,
  report: ((error: unknown) => void) | undefined,
): ResumeRoute {
  const route = new ResumeRoute(options.resume as ResumeOptions<never>);
  if (report) route.report = report;
  return route;
}

// The route's onError option, made safe once: what it throws is logged,
// not a failure of the session that reported.
function createReporter(
  onError: ((error: unknown) => void) | undefined,
): ((error: unknown) => void) | undefined {
  if (!onError) return undefined;
  return (error) => {
    try {
      onError(error);
    } catch (e) {
      console.error(e);
    }
  };
}

/** The part of Hono's `Context` an upgrade reads: Hono's satisfies it. */
export interface UpgradeRequestContext {
  /** The request. */
  req: { raw: Request };
  /** The runtime's env: bindings, Bun's server, the Node adapter's hooks. */
  env: unknown;
}

// Everything after "is this an upgrade at all": origin, handshake, the
// adapter, the session. Answers the 101 (or its stand-in) or a refusal.
// Synchronous unless createEvents or data is: an await costs each upgrade a
// promise and a microtask even on a value that is no promise.
function upgradeRequest<D, C extends UpgradeRequestContext>(
  c: C,
  route: RouteUpgrade<D, C>,
  createEvents: (c: C) => WebSocketEvents<D> | Promise<WebSocketEvents<D>>,
): Response | Promise<Response> {
  const { options } = route;
  const request = c.req.raw;
  if (options.origins) {
    const origin = request.headers.get("origin");
    if (!isAllowedOrigin(origin, options.origins)) {
      return refuse(403, `Origin not allowed: ${origin ?? "(none)"}`);
    }
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
  const resumable = offered.includes(RESUME_PROTOCOL);
  if (route.resume && resumable) {
    return upgradeResumable(c, route, createEvents, { adapter, key, extensionOffers });
  }
  // The resume protocol is answered only where `resume` is on: a client
  // that offers it elsewhere learns it is not resumed.
  if (resumable) offered = offered.filter((offer) => offer !== RESUME_PROTOCOL);
  const accepted = { adapter, key, offered, extensionOffers };
  const events = createEvents(c);
  return events instanceof Promise
    ? events.then((events) => upgradeWithEvents(c, route, accepted, events))
    : upgradeWithEvents(c, route, accepted, events);
}

// What upgradeRequest() validated, for the steps after createEvents.
interface AcceptedRequest {
  adapter: RuntimeAdapter;
  key: string;
  offered: string[];
  extensionOffers: AcceptedUpgrade["extensionOffers"];
}

function upgradeWithEvents<D, C extends UpgradeRequestContext>(
  c: C,
  route: RouteUpgrade<D, C>,
  accepted: AcceptedRequest,
  events: WebSocketEvents<D>,
): Response | Promise<Response> {
  const data = route.options.data?.(c) as D | Promise<D>;
  return data instanceof Promise
    ? data.then((data) => openSession(c, route, accepted, events, data))
    : openSession(c, route, accepted, events, data);
}

function openSession<D, C extends UpgradeRequestContext>(
  c: C,
  route: RouteUpgrade<D, C>,
  accepted: AcceptedRequest,
  events: WebSocketEvents<D>,
  data: D,
): Response | Promise<Response> {
  const { limits } = route;
  const { adapter, offered } = accepted;
  const request = c.req.raw;
  // No preference list: the first offer, as Hono's helper, ws and Bun answer
  // (a token or "graphql-transport-ws" passed that way keeps working).
  const protocol =
    (route.protocols === undefined ? offered[0] : selectProtocol(offered, route.protocols)) ??
      "";
  const ctx = new WebSocketContext<D>({ protocol, url: internUrl(request.url), data });
  applyBinaryType(ctx, route as RouteUpgrade<unknown, unknown>);
  // Where the adapter does not enforce the limit itself, the session does.
  const sessionOptions = {
    maxMessageSize: adapter.enforcesMessageSize ? 0 : limits.maxMessageSize,
  };
  const session = route.report
    ? new ReportingWebSocketSession<D>(events, ctx, sessionOptions, route.report)
    : new WebSocketSession<D>(events, ctx, sessionOptions);
  return adapter.upgrade({
    request,
    env: c.env,
    key: accepted.key,
    protocol,
    extensionOffers: accepted.extensionOffers,
    compression: route.compression,
    limits,
    session: session as WebSocketSession<unknown>,
  });
}

// The middleware and the direct form answer with a promise, as Hono's own
// helper does: a synchronous answer or throw of upgradeRequest() becomes one.
function upgradeRequestAsync<D, C extends UpgradeRequestContext>(
  c: C,
  route: RouteUpgrade<D, C>,
  createEvents: (c: C) => WebSocketEvents<D> | Promise<WebSocketEvents<D>>,
): Promise<Response> {
  try {
    const response = upgradeRequest(c, route, createEvents);
    return response instanceof Promise ? response : Promise.resolve(response);
  } catch (error) {
    return Promise.reject(error);
  }
}

// A client of the resume protocol on a resumable route: the socket speaks
// the protocol, and the route's handlers (made once per session, at the
// hello, as is `ws.data`) run in the session it resumes or starts.
function upgradeResumable<D, C extends UpgradeRequestContext>(
  c: C,
  route: RouteUpgrade<D, C>,
  createEvents: (c: C) => WebSocketEvents<D> | Promise<WebSocketEvents<D>>,
  accepted: Pick<AcceptedUpgrade, "key" | "extensionOffers"> & { adapter: RuntimeAdapter },
): Response | Promise<Response> {
  const { options, limits } = route;
  const request = c.req.raw;
  const identify = options.resume?.identify;
  const transport = route.resume!.connect({
    url: request.url,
    identify: () => identify ? identify(c) : "",
    open: async () => ({
      events: await createEvents(c) as WebSocketEvents,
      data: options.data ? await options.data(c) : undefined,
      binaryType: options.binaryType,
    }),
  });
  const ctx = new WebSocketContext({
    protocol: RESUME_PROTOCOL,
    url: request.url,
    data: undefined,
  });
  const session = new WebSocketSession<unknown>(transport.events, ctx, {
    maxMessageSize: accepted.adapter.enforcesMessageSize ? 0 : limits.maxMessageSize,
  });
  transport.bind(session);
  return accepted.adapter.upgrade({
    request,
    env: c.env,
    key: accepted.key,
    protocol: RESUME_PROTOCOL,
    extensionOffers: accepted.extensionOffers,
    compression: route.compression,
    limits,
    session,
  });
}

function refuseNonUpgrade(): Response {
  return refuse(426, "Expected a WebSocket upgrade request (Upgrade: websocket)", {
    "Upgrade": "websocket",
  });
}

/**
 * The middleware form for helpers built on it (a Durable Object's): the
 * same checks, with the adapter and handlers the caller gives.
 *
 * @param createEvents Builds the handlers from the request's context.
 * @param options Subprotocols, origins, per-connection data, limits, adapter.
 * @returns The middleware: a non-upgrade request goes on to `next()`.
 *
 * @example An upgrade through an adapter of one's own
 * ```ts ignore
 * app.get("/ws", createUpgradeMiddleware(() => events, { adapter: myAdapter }));
 * ```
 */
export function createUpgradeMiddleware<D, C extends UpgradeRequestContext>(
  createEvents: (c: C) => WebSocketEvents<D> | Promise<WebSocketEvents<D>>,
  options: UpgradeMiddlewareOptions<D, C> = {},
): (c: C, next: () => Promise<void>) => Promise<Response | void> {
  const route = prepareRoute(options);
  return (c: C, next: () => Promise<void>): Promise<Response | void> => {
    // As Hono's helper: a page or a later handler on the same path answers.
    if (!isUpgradeRequest(c.req.raw.headers)) return next();
    return upgradeRequestAsync(c, route, createEvents);
  };
}

function upgradeWebSocketImpl(
  ...args:
    | [
      createEvents: (c: Context) => WebSocketEvents | Promise<WebSocketEvents>,
      options?: UpgradeWebSocketOptions<unknown>,
    ]
    | [c: Context, events: WebSocketEvents, options?: UpgradeWebSocketOptions<unknown>]
): MiddlewareHandler | Promise<Response> {
  if (typeof args[0] === "function") {
    return createUpgradeMiddleware(args[0], args[1] as UpgradeWebSocketOptions<unknown>);
  }
  const [c, events, options = {}] = args as [Context, WebSocketEvents, UpgradeWebSocketOptions?];
  if (!isUpgradeRequest(c.req.raw.headers)) return Promise.resolve(refuseNonUpgrade());
  return upgradeRequestAsync(c, prepareRoute(options), () => events);
}

/**
 * Hono's `upgradeWebSocket`, on every runtime: the native upgrade on Deno,
 * Workers and Bun, the codec on Node. Handlers have Hono's shape and types
 * (`onOpen`, `onMessage`, `onClose`, `onError`; a `WSEvents` from `hono/ws`
 * is accepted), and the route stays typed for Hono's RPC client (`$ws()`).
 *
 * The middleware form passes a request that is not an upgrade on to
 * `next()`, as Hono's helper does (with nothing after it, Hono answers 404);
 * the direct form answers it 426. A forbidden `Origin` gets 403, a malformed
 * handshake 400 (or 426 for another version), each with a one-line reason.
 * Authentication is ordinary middleware before it.
 *
 * @example The middleware form
 * ```ts
 * import { Hono } from "hono";
 * import { upgradeWebSocket } from "@edgesocket/edgesocket";
 *
 * const app = new Hono().get(
 *   "/room/:name",
 *   upgradeWebSocket((c) => {
 *     const room = c.req.param("name");
 *     return { onMessage: (event, ws) => ws.send(`${room}: ${event.data}`) };
 *   }),
 * );
 * ```
 *
 * @example The direct form
 * ```ts
 * import { Hono } from "hono";
 * import { upgradeWebSocket } from "@edgesocket/edgesocket";
 *
 * const app = new Hono().get("/echo/:id", (c) =>
 *   upgradeWebSocket(c, {
 *     onMessage: (event, ws) => ws.send(event.data as string),
 *   }));
 * ```
 */
export const upgradeWebSocket: UpgradeWebSocket = upgradeWebSocketImpl as UpgradeWebSocket;
