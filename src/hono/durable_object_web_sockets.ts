/**
 * WebSockets in a Cloudflare Durable Object with the WebSocket Hibernation
 * API: the object may leave memory between events while its sockets stay
 * connected, and each event wakes a fresh instance.
 *
 * @module
 */
// Hono's own types, named so that these signatures are Hono's helper's
// (the RPC client `hc` infers from them). `@internal` tells `deno doc
// --lint` they are documented by Hono, not private types of ours.
/** @internal */
import type { Context, Env, Input, MiddlewareHandler } from "hono";
/** @internal */
import type { BlankInput } from "hono/types";
import { isOverSize } from "../core/is_over_size.ts";
import type { AcceptedUpgrade, RuntimeAdapter } from "../core/runtime_adapter.ts";
import { assertTopic } from "../core/pub_sub.ts";
import {
  type DurableObjectPresence,
  type Membership,
  ObjectPresence,
} from "./durable_object_presence.ts";
import type { SendData } from "../core/send_data.ts";
import { WebSocketContext } from "../core/web_socket_context.ts";
import "./hono_ws_context.ts";
import { WebSocketDriver } from "../core/web_socket_driver.ts";
import {
  type BinaryType,
  createCloseEvent,
  createErrorEvent,
  createEvent,
  createMessageEvent,
  type MessageData,
} from "../core/web_socket_events.ts";
import type { WebSocketEvents } from "../core/web_socket_session.ts";
import { createUpgradeMiddleware, type UpgradeWebSocketOptions } from "./upgrade_web_socket.ts";
import { offersResume } from "../core/offers_resume.ts";
import { ObjectResume } from "./durable_object_resume.ts";
import { ResumableObjectContext, type ResumeAttachment } from "./durable_object_resume_context.ts";
import type {
  DurableObjectResumeOptions,
  DurableObjectRouteResume,
} from "./durable_object_resume_options.ts";

export type { DurableObjectPresence } from "./durable_object_presence.ts";
export type {
  DurableObjectResumeOptions,
  DurableObjectRouteResume,
} from "./durable_object_resume_options.ts";

/** A socket accepted with `ctx.acceptWebSocket()`: it carries an attachment. */
export interface HibernatableWebSocket extends WebSocket {
  /** Keeps a structured-clonable value with the socket, across hibernation. */
  serializeAttachment(value: unknown): void;
  /** The last value given to `serializeAttachment()`, or `null`. */
  deserializeAttachment(): unknown;
}

/** The part of a Durable Object's `ctx` (`DurableObjectState`) this uses. */
export interface DurableObjectWebSocketState {
  /** Accepts a socket the runtime may keep while the object hibernates. */
  acceptWebSocket(ws: WebSocket, tags?: string[]): void;
  /** The object's accepted sockets, or those accepted with `tag`. */
  getWebSockets(tag?: string): WebSocket[];
  /** Answers `request` with `response` without waking the object. */
  setWebSocketAutoResponse(pair?: unknown): void;
}

/** Options for {@linkcode DurableObjectWebSockets}. */
export interface DurableObjectWebSocketsOptions {
  /**
   * A message the runtime answers by itself, without waking the object
   * (`{ request: "ping", response: "pong" }`); none by default.
   */
  autoResponse?: { request: string; response: string };
  /** Largest presence metadata, in bytes of JSON (default 1,024); larger throws `RangeError`. */
  maxPresenceMetaBytes?: number;
  /**
   * Resumable sessions for clients that offer `edgesocket.resume.v1`, on
   * routes with `resume` (see {@linkcode DurableObjectResumeOptions}): the
   * object's history and session stores. It takes the object's
   * auto-response (`{"t":"ping"}` answered `{"t":"pong"}` without waking
   * it), so it does not go with `autoResponse`.
   */
  resume?: DurableObjectResumeOptions;
}

/** Options for {@linkcode DurableObjectWebSockets.upgradeWebSocket}. */
export interface DurableObjectUpgradeOptions<D, C = Context> extends
  Pick<
    UpgradeWebSocketOptions<D, C>,
    "protocols" | "origins" | "data" | "maxMessageSize" | "binaryType"
  > {
  /**
   * Topics the socket is in from the start. They are also its tags (at most
   * 10), so `ctx.getWebSockets(topic)` finds it (not a resume socket's: a
   * resumed session keeps the topics it had).
   */
  topics?: (data: D) => string[];
  /**
   * Answers clients that offer `edgesocket.resume.v1` with resumable
   * sessions (`true`, or how to identify the upgrade); needs the object's
   * `resume` option. Other clients of the route get a plain socket.
   */
  resume?: true | DurableObjectRouteResume<C>;
}

/** What a socket's attachment holds: all that must outlive the instance. */
interface Attachment {
  /** `ws.data`. */
  d: unknown;
  /** The topics. */
  t: string[];
  /** The upgrade request's URL. */
  u: string;
  /** The subprotocol. */
  p: string;
  /** `maxMessageSize` (0: none). */
  m: number;
  /** `binaryType`, when not `"arraybuffer"` (`"uint8array"`: the route's option). */
  b?: BinaryType | "uint8array";
  /** Presence, where the socket is a member: topic → [member id, metadata, joined at (ms)]. */
  r?: Record<string, Membership>;
}

declare const WebSocketPair: {
  new (): { 0: WebSocket; 1: HibernatableWebSocket };
};
declare const WebSocketRequestResponsePair: {
  new (request: string, response: string): unknown;
};

const MAX_TAGS = 10;

// The contexts presence keeps members in: plain sockets' and resumable sessions'.
type PresenceContext = HibernatableContext<unknown> | ResumableObjectContext<unknown>;

/**
 * The handlers' `ws` for one hibernatable socket. Its topics live in the
 * attachment, not in the process-wide `PubSub`: the object's memory does not
 * outlive hibernation, and another object's sockets are another request's
 * I/O, which Workers forbid touching.
 */
class HibernatableContext<D> extends WebSocketContext<D, WebSocket> {
  readonly #owner: DurableObjectWebSockets<D>;
  readonly #presence: ObjectPresence<PresenceContext>;
  readonly #socket: HibernatableWebSocket;
  readonly #topics: Set<string>;
  /** @internal This socket's memberships, as in the attachment. */
  readonly memberships: Map<string, Membership>;
  /** @internal Set once `onClose` has run. */
  closed = false;
  /** @internal The limit to enforce on incoming messages (0: none). */
  readonly maxMessageSize: number;

  constructor(
    owner: DurableObjectWebSockets<D>,
    presence: ObjectPresence<PresenceContext>,
    socket: HibernatableWebSocket,
    attachment: Attachment,
  ) {
    super({ protocol: attachment.p, url: attachment.u, data: attachment.d as D });
    this.#owner = owner;
    this.#presence = presence;
    this.#socket = socket;
    this.#topics = new Set(attachment.t);
    this.memberships = new Map(Object.entries(attachment.r ?? {}));
    this.maxMessageSize = attachment.m;
    if (attachment.b) this.binaryType = attachment.b as BinaryType;
    // Workers do not report what is queued.
    this.attach(new WebSocketDriver(socket, { reportsBuffered: false }));
  }

  override subscribe(topic: string): void {
    assertTopic(topic);
    if (this.#topics.has(topic)) return;
    this.#topics.add(topic);
    try {
      this.save();
    } catch (error) {
      this.#topics.delete(topic);
      throw error;
    }
  }

  override unsubscribe(topic: string): void {
    if (!this.#topics.delete(topic)) return;
    const membership = this.memberships.get(topic);
    this.memberships.delete(topic);
    this.save();
    if (membership) this.#presence.emit("leave", topic, membership);
  }

  override get topics(): ReadonlySet<string> {
    return this.#topics;
  }

  /** @internal Whether it is subscribed to `topic` (no copy). */
  has(topic: string): boolean {
    return this.#topics.has(topic);
  }

  override publish(topic: string, data: SendData): number {
    return this.#owner.publish(topic, data, { except: this });
  }

  /** @internal Writes `data`, topics and the rest into the attachment. */
  save(): void {
    const attachment: Attachment = {
      d: this.data,
      t: [...this.#topics],
      u: this.url.href,
      p: this.protocol,
      m: this.maxMessageSize,
    };
    if (this.binaryType !== "arraybuffer") attachment.b = this.binaryType;
    if (this.memberships.size > 0) attachment.r = Object.fromEntries(this.memberships);
    storeAttachment(this.#socket, attachment);
  }
}

function storeAttachment(socket: HibernatableWebSocket, attachment: Attachment): void {
  try {
    socket.serializeAttachment(attachment);
  } catch (error) {
    // The runtime's message does not say what went in the attachment.
    const detail = error instanceof Error ? error.message : String(error);
    throw new RangeError(
      `WebSocket attachment is too large for ws.data and the topic names: ${detail}`,
      { cause: error },
    );
  }
}

/**
 * The WebSockets of one Durable Object, with the WebSocket Hibernation API:
 * the object can leave memory while its sockets stay connected, and the
 * route's handlers run again in the next instance with the same `ws.data`
 * and topics. The handlers have the usual shape (`onOpen`, `onMessage`,
 * `onClose`, `onError`) and `ws` the usual methods (`send`, `close`,
 * `subscribe`, `publish` …).
 *
 * The handlers are given once per object, not per request as to
 * `upgradeWebSocket()`: after hibernation no request is left to build them
 * from, and a closure over one would silently lose its state. What a socket
 * needs to remember goes in `ws.data`; it is saved in the socket's
 * attachment when the socket opens, after each handler, and on
 * `subscribe()`/`unsubscribe()`. Cloudflare documents a limit of 16,384
 * bytes serialized for an attachment, and workerd enforces it; the topic
 * names and the upgrade's URL count too: keep ids there, and the rest in
 * `ctx.storage`.
 *
 * Topics are the socket's, in its attachment: `publish()` sends to the
 * object's sockets whose topics include it. Topics known at the upgrade are
 * also the socket's tags (`ctx.getWebSockets(topic)`), but tags are fixed at
 * accept, so later subscriptions are in the attachment only. Topics do not
 * cross objects: one object is one room. Workers report no `bufferedAmount`,
 * so there is no slow-consumer policy here, and `canPing` is `false`.
 *
 * With the `resume` option, routes with `resume` answer clients of
 * `edgesocket.resume.v1` with resumable sessions on hibernatable sockets:
 * each socket's protocol state is in its attachment, each session's record
 * in the object's SQLite storage, and publications on resumable topics are
 * numbered in its history. A dropped session waits `retention` ms in
 * storage with no timer (which would keep the object awake): its `onClose`
 * runs when the object next handles a hello or a drop, in whichever
 * instance, since the record says it expired. Presence counts a resumable
 * session as one member from its join to its end, through its drops and
 * resumes: a waiting session is still listed, and leaves when its `onClose`
 * runs (or unsubscribes, or `presence.leave()`).
 *
 * The object forwards its `webSocketMessage`, `webSocketClose` and
 * `webSocketError` methods here.
 *
 * @example A room
 * ```ts ignore
 * import { DurableObject } from "cloudflare:workers";
 * import { Hono } from "hono";
 * import { DurableObjectWebSockets } from "@edgesocket/edgesocket/cloudflare";
 *
 * export class Room extends DurableObject {
 *   sockets = new DurableObjectWebSockets<{ user: string }>(this.ctx, {
 *     onOpen: (_e, ws) => ws.publish("room", `${ws.data.user} joined`),
 *     onMessage: (e, ws) => ws.publish("room", `${ws.data.user}: ${e.data}`),
 *   }, { autoResponse: { request: "ping", response: "pong" } });
 *   app = new Hono().get("/room/:name", this.sockets.upgradeWebSocket({
 *     data: (c) => ({ user: c.req.query("user") ?? "anonymous" }),
 *     topics: () => ["room"],
 *   }));
 *   fetch(request: Request) {
 *     return this.app.fetch(request, this.env);
 *   }
 *   webSocketMessage(ws: WebSocket, message: string | ArrayBuffer) {
 *     return this.sockets.webSocketMessage(ws, message);
 *   }
 *   webSocketClose(ws: WebSocket, code: number, reason: string, wasClean: boolean) {
 *     return this.sockets.webSocketClose(ws, code, reason, wasClean);
 *   }
 *   webSocketError(ws: WebSocket, error: unknown) {
 *     return this.sockets.webSocketError(ws, error);
 *   }
 * }
 * ```
 */
export class DurableObjectWebSockets<D = unknown> {
  readonly #state: DurableObjectWebSocketState;
  readonly #events: WebSocketEvents<D, WebSocket>;
  // This instance's contexts; after hibernation rebuilt from attachments.
  readonly #contexts = new WeakMap<WebSocket, HibernatableContext<D> | ResumableObjectContext<D>>();
  readonly #presence: ObjectPresence<PresenceContext>;
  readonly #resume: ObjectResume<D> | undefined;

  /**
   * Creates the instance: call it in the object's constructor, which runs
   * again on every wake-up.
   *
   * @param state The object's `ctx`.
   * @param events The handlers, for every socket of this object.
   * @param options The auto-response, presence's bound, resume's stores.
   * @throws {TypeError} For both `resume` and `autoResponse`.
   */
  constructor(
    state: DurableObjectWebSocketState,
    events: WebSocketEvents<D, WebSocket>,
    options: DurableObjectWebSocketsOptions = {},
  ) {
    this.#state = state;
    this.#events = events;
    this.#presence = new ObjectPresence<PresenceContext>({
      contexts: (topic) => this.getContexts(topic) as PresenceContext[],
      waiting: (topic) => this.#resume?.waitingMembers(topic) ?? [],
      isOurs: (ws): ws is PresenceContext =>
        (ws instanceof HibernatableContext || ws instanceof ResumableObjectContext) &&
        this.#contexts.get(ws.raw as WebSocket) === ws,
      maxMetaBytes: options.maxPresenceMetaBytes ?? 1024,
    });
    let auto = options.autoResponse;
    if (options.resume) {
      if (auto) throw new TypeError("resume takes the object's auto-response: drop autoResponse");
      // The resume client's heartbeat, answered without waking the object.
      auto = { request: '{"t":"ping"}', response: '{"t":"pong"}' };
      this.#resume = new ObjectResume<D>({
        events,
        acceptWebSocket: (socket) => state.acceptWebSocket(socket),
        getWebSockets: () => state.getWebSockets(),
        contextOf: (socket) => this.#contextOf(socket),
        register: (socket, ws) => void this.#contexts.set(socket, ws),
        publish: (topic, data, options) =>
          this.publish(topic, data, options as { except?: WebSocketContext<D, WebSocket> }),
        leftTopic: (ws, topic) =>
          this.#presence.leave(ws as WebSocketContext<unknown, WebSocket>, topic),
        ended: (ws) => this.#presence.closed(ws as PresenceContext),
      }, options.resume);
    }
    if (auto) {
      state.setWebSocketAutoResponse(new WebSocketRequestResponsePair(auto.request, auto.response));
    }
  }

  /**
   * Who is in each topic of this object, with metadata, from the sockets'
   * attachments and the waiting resumable sessions' records; join and leave
   * events within the object.
   */
  get presence(): DurableObjectPresence {
    return this.#presence;
  }

  /**
   * Hono middleware that upgrades to a hibernatable socket of this object,
   * with the checks of `upgradeWebSocket()` (426, 403, 400).
   *
   * @param options `data` (saved in the attachment), initial `topics`,
   * subprotocols, origins, `maxMessageSize`, `resume`.
   * @returns The middleware, typed as Hono's for its RPC client.
   * @throws {TypeError} For `resume` on a route of an object without the `resume` option.
   */
  // deno-lint-ignore no-explicit-any -- Hono's default Env and path are `any`.
  upgradeWebSocket<E extends Env = any, P extends string = any, I extends Input = BlankInput>(
    options: DurableObjectUpgradeOptions<D, Context<E, P, I>> = {},
  ): MiddlewareHandler<E, P, { outputFormat: "ws" }> {
    const adapter: RuntimeAdapter = {
      name: "cloudflare",
      enforcesMessageSize: false,
      upgrade: (accepted) => this.#accept(accepted, options.topics),
    };
    const { topics: _, resume, ...rest } = options;
    // The session it builds is never opened: only its context (data,
    // protocol, URL) is read, and the object's own handlers run.
    const plain = createUpgradeMiddleware<D, Context<E, P, I>>(() => ({}), {
      ...rest,
      adapter,
    });
    if (!resume) return plain as unknown as MiddlewareHandler<E, P, { outputFormat: "ws" }>;
    const objectResume = this.#resume;
    if (!objectResume) {
      throw new TypeError("A resume route needs the resume option of DurableObjectWebSockets");
    }
    const route = { ...options, resume };
    return ((c: Context<E, P, I>, next: () => Promise<void>) =>
      offersResume(c.req.raw)
        ? objectResume.upgrade(c, route)
        : plain(c, next)) as unknown as MiddlewareHandler<E, P, { outputFormat: "ws" }>;
  }

  async #accept(
    { protocol, session, limits }: AcceptedUpgrade,
    topicsOf: ((data: D) => string[]) | undefined,
  ): Promise<Response> {
    const { data, url, binaryType } = session.context as WebSocketContext<D, unknown>;
    const topics = [...new Set(topicsOf?.(data) ?? [])];
    topics.forEach(assertTopic);
    const pair = new WebSocketPair();
    const socket = pair[1];
    const attachment: Attachment = {
      d: data,
      t: topics,
      u: url.href,
      p: protocol,
      m: limits.maxMessageSize,
    };
    if (binaryType !== "arraybuffer") attachment.b = binaryType;
    // Before accepting, so data too large for an attachment refuses the
    // upgrade instead of leaving a socket that would forget it.
    storeAttachment(socket, attachment);
    this.#state.acceptWebSocket(socket, topics.slice(0, MAX_TAGS));
    const ws = new HibernatableContext<D>(this, this.#presence, socket, attachment);
    this.#contexts.set(socket, ws);
    // The 101 waits for onOpen: the object stays awake for it, and what it
    // leaves in ws.data is saved before any message can arrive.
    await this.#run(ws, this.#events.onOpen, createEvent("open"));
    const headers = new Headers();
    if (protocol) headers.set("Sec-WebSocket-Protocol", protocol);
    return new Response(null, { status: 101, webSocket: pair[0], headers } as ResponseInit);
  }

  /**
   * Runs `onMessage`: the object's `webSocketMessage()` calls it.
   *
   * @param socket The socket the runtime passed.
   * @param message Text, or binary as an `ArrayBuffer`.
   * @returns Once the handler has settled.
   */
  async webSocketMessage(socket: WebSocket, message: string | ArrayBuffer): Promise<void> {
    const ws = this.#contextOf(socket);
    if (!(ws instanceof HibernatableContext)) return await this.#resume!.message(ws, message);
    if (ws.closed) return;
    if (ws.maxMessageSize > 0 && isOverSize(message, ws.maxMessageSize)) {
      // The runtime's own limit is higher: the same 1009 as the codec's.
      ws.closeWith(1009, "Message too big");
      return;
    }
    await this.#run(
      ws,
      this.#events.onMessage,
      createMessageEvent(convert(message, ws.binaryType)),
    );
  }

  /**
   * Runs `onClose` once: the object's `webSocketClose()` calls it.
   *
   * @param socket The socket the runtime passed.
   * @param code The close code.
   * @param reason The reason.
   * @param wasClean Whether the closing handshake completed.
   * @returns Once the handler has settled.
   */
  async webSocketClose(
    socket: WebSocket,
    code: number,
    reason: string,
    wasClean: boolean,
  ): Promise<void> {
    const ws = this.#contextOf(socket);
    // `web_socket_auto_reply_to_close` (the default from compatibility date
    // 2026-04-07) has workerd answer a peer's close on sockets accepted with
    // `accept()`, but a hibernatable socket is still CLOSING here (workerd
    // 1.20260426) and its peer gets no close frame unless this sends it.
    // Where the runtime has answered, this close does nothing.
    try {
      socket.close(code === 1005 || code === 1006 ? 1000 : code, reason);
    } catch { /* already closed */ }
    if (!(ws instanceof HibernatableContext)) {
      return await this.#resume!.closed(ws, code, reason, wasClean);
    }
    await this.#closed(ws, code, reason, wasClean);
  }

  /**
   * Runs `onError`: the object's `webSocketError()` calls it. A socket the
   * error closed gets its `onClose` (1006) too.
   *
   * @param socket The socket the runtime passed.
   * @param error What went wrong.
   * @returns Once the handlers have settled.
   */
  async webSocketError(socket: WebSocket, error: unknown): Promise<void> {
    const ws = this.#contextOf(socket);
    if (!(ws instanceof HibernatableContext)) return await this.#resume!.error(ws, error);
    if (ws.closed) return;
    // The runtime's error is the peer's or the network's: onError only.
    if (this.#events.onError) await this.#fail(ws, error);
    if (socket.readyState === 3) await this.#closed(ws, 1006, "", false);
  }

  /**
   * Sends to every open socket of this object subscribed to a topic. On a
   * resumable topic (the `resume` option) it is numbered in the history
   * first, and resume sockets get it with its position.
   *
   * @param topic The topic.
   * @param data Text or binary.
   * @param options A socket to leave out (`ws.publish()` leaves out its own).
   * @returns How many sockets it was sent to.
   * @throws {RangeError} For an empty or too long topic name, or (resumable) a
   *   publication over the history's `maxEntryBytes`.
   * @throws {TypeError} For a `Blob` on a resumable topic.
   */
  publish(
    topic: string,
    data: SendData,
    options: { except?: WebSocketContext<D, WebSocket> } = {},
  ): number {
    assertTopic(topic);
    if (this.#resume?.isResumable(topic)) {
      return this.#resume.publish(topic, data, this.getContexts(topic), options.except);
    }
    let sent = 0;
    for (const ws of this.getContexts(topic)) {
      if (ws === options.except) continue;
      ws.send(data);
      sent++;
    }
    return sent;
  }

  /**
   * The number of open sockets of this object subscribed to a topic.
   *
   * @param topic The topic.
   * @returns The count.
   */
  subscriberCount(topic: string): number {
    return this.getContexts(topic).length;
  }

  /**
   * The handlers' `ws` of every open socket of this object, or of those
   * subscribed to `topic`: to reach them from an HTTP route, an alarm or an
   * RPC method, hibernated or not.
   *
   * @param topic A topic to filter by.
   * @returns The contexts.
   */
  getContexts(topic?: string): WebSocketContext<D, WebSocket>[] {
    const found: WebSocketContext<D, WebSocket>[] = [];
    for (const socket of this.#state.getWebSockets()) {
      if (socket.readyState !== 1) continue;
      const ws = this.#contextOf(socket);
      if (!ws.closed && (topic === undefined || ws.has(topic))) found.push(ws);
    }
    return found;
  }

  #contextOf(socket: WebSocket): HibernatableContext<D> | ResumableObjectContext<D> {
    let ws = this.#contexts.get(socket);
    if (!ws) {
      // A new instance after hibernation: the attachment has what the
      // previous one knew.
      const hibernatable = socket as HibernatableWebSocket;
      const saved = hibernatable.deserializeAttachment() as { z?: unknown } | null;
      if (saved?.z && this.#resume) {
        ws = this.#resume.context(hibernatable, saved as ResumeAttachment);
        this.#contexts.set(socket, ws);
        return ws;
      }
      const attachment = (saved ?? {
        d: undefined,
        t: [],
        u: "http://invalid/",
        p: "",
        m: 0,
      }) as Attachment;
      ws = new HibernatableContext<D>(this, this.#presence, hibernatable, attachment);
      this.#contexts.set(socket, ws);
    }
    return ws;
  }

  async #closed(
    ws: HibernatableContext<D>,
    code: number,
    reason: string,
    wasClean: boolean,
  ): Promise<void> {
    if (ws.closed) return;
    ws.closed = true;
    this.#presence.closed(ws as HibernatableContext<unknown>);
    const handler = this.#events.onClose;
    if (!handler) return;
    try {
      await handler(createCloseEvent(code, reason, wasClean), ws);
    } catch (error) {
      await this.#fail(ws, error);
    }
  }

  async #run<E>(
    ws: HibernatableContext<D>,
    handler: ((event: E, ws: WebSocketContext<D, WebSocket>) => unknown) | undefined,
    event: E,
  ): Promise<void> {
    if (handler) {
      try {
        await handler(event, ws);
      } catch (error) {
        await this.#fail(ws, error);
      }
    }
    if (ws.closed || ws.readyState > 1) return;
    try {
      ws.save();
    } catch (error) {
      await this.#fail(ws, error);
    }
  }

  async #fail(ws: HibernatableContext<D>, error: unknown): Promise<void> {
    const handler = this.#events.onError;
    if (!handler) return console.error(error);
    try {
      await handler(createErrorEvent(error), ws);
    } catch (inner) {
      console.error(inner);
    }
  }
}

function convert(message: string | ArrayBuffer, type: string): MessageData {
  if (typeof message === "string" || type === "arraybuffer") return message;
  if (type === "uint8array") return new Uint8Array(message) as unknown as MessageData;
  return new Blob([message]);
}
