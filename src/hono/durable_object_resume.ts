/**
 * The resume protocol over a Durable Object's hibernatable sockets, for
 * `DurableObjectWebSockets`: each socket's protocol state lives in its
 * attachment, each session's record in the object's SQLite storage, and
 * every publication on a resumable topic is numbered in the object's
 * history, so the object may hibernate with its clients connected, or be
 * evicted between a client's drop and its return, and lose nothing.
 *
 * This is the protocol's state machine (the upgrade, the hello, messages
 * and acks, subscriptions, the drop and the wait); the replay of a topic's
 * history is `followResumableTopic()`, a numbered publication
 * `publishResumable()`, the options `DurableObjectResumeOptions`.
 *
 * @module
 */
import { DEFAULT_MAX_MESSAGE_SIZE, HandshakeError, validateUpgradeRequest } from "../codec/mod.ts";
import { decodeClientFrame } from "../protocol/decode_client_frame.ts";
import {
  type ClientMessageFrame,
  encodeResumeFrame,
  type HelloFrame,
  RESUME_PROTOCOL,
  ResumeCloseCode,
  type StreamPosition,
} from "../protocol/resume_protocol.ts";
import { ResumeProtocolError } from "../protocol/resume_protocol_error.ts";
import { isOverSize } from "../core/is_over_size.ts";
import { assertTopic } from "../core/pub_sub.ts";
import { createRandomId } from "../core/random_id.ts";
import { hashToken } from "../core/resume_route.ts";
import type { SendData } from "../core/send_data.ts";
import type { ResumeSessionRecord } from "../core/session_store.ts";
import type { WebSocketContext } from "../core/web_socket_context.ts";
import {
  createCloseEvent,
  createErrorEvent,
  createEvent,
  createMessageEvent,
  type MessageData,
} from "../core/web_socket_events.ts";
import type { WebSocketEvents } from "../core/web_socket_session.ts";
import type { DurableObjectHistoryStore } from "./durable_object_history_store.ts";
import type { Membership } from "./durable_object_presence.ts";
import {
  type HibernatableSocket,
  Phase,
  ResumableObjectContext,
  type ResumeAttachment,
  type ResumeRecord,
  type ResumeTopics,
} from "./durable_object_resume_context.ts";
import type {
  DurableObjectResumeOptions,
  DurableObjectRouteResume,
} from "./durable_object_resume_options.ts";
import type { DurableObjectSessionStore } from "./durable_object_session_store.ts";
import { followResumableTopic } from "./follow_resumable_topic.ts";
import { publishResumable } from "./publish_resumable.ts";

/**
 * @internal What the resume side needs of its `DurableObjectWebSockets`.
 *
 * @example
 * ```ts ignore
 * const owner: ResumeOwner<Data> = {
 *   events,
 *   acceptWebSocket: (socket) => ctx.acceptWebSocket(socket),
 *   getWebSockets: () => ctx.getWebSockets(),
 *   contextOf: (socket) => contexts.get(socket),
 *   register: (socket, ws) => void contexts.set(socket, ws),
 *   publish: (topic, data, options) => sockets.publish(topic, data, options),
 *   leftTopic: (ws, topic) => presence.leave(ws, topic),
 *   ended: (ws) => presence.closed(ws),
 * };
 * ```
 */
export interface ResumeOwner<D> {
  /** The object's handlers. */
  readonly events: WebSocketEvents<D, WebSocket>;
  /** Accepts a hibernatable socket. */
  acceptWebSocket(socket: WebSocket): void;
  /** The object's sockets. */
  getWebSockets(): WebSocket[];
  /** The context of a socket (made from its attachment if need be). */
  contextOf(socket: WebSocket): unknown;
  /** Keeps a new socket's context. */
  register(socket: WebSocket, ws: ResumableObjectContext<D>): void;
  /** The object's `publish()`. */
  publish(topic: string, data: SendData, options: { except?: unknown }): number;
  /** A session left a topic it was a presence member of (it unsubscribed). */
  leftTopic(ws: ResumableObjectContext<D>, topic: string): void;
  /** A session ended: its presence memberships end. */
  ended(ws: ResumableObjectContext<D>): void;
}

declare const WebSocketPair: {
  new (): { 0: WebSocket; 1: HibernatableSocket };
};

const PONG = encodeResumeFrame({ t: "pong" });

function refuse(status: number, reason: string, headers: Record<string, string> = {}): Response {
  return new Response(reason + "\n", {
    status,
    headers: { "Content-Type": "text/plain; charset=utf-8", ...headers },
  });
}

function positive(value: number, name: string): number {
  if (!(value > 0) || !Number.isFinite(value)) {
    throw new RangeError(`resume.${name} must be a positive number, got ${value}`);
  }
  return value;
}

/**
 * @internal The resume side of one `DurableObjectWebSockets`: its upgrades,
 * its sockets' frames, its sessions, and its resumable publications.
 *
 * @example
 * ```ts ignore
 * const resume = new ObjectResume<Data>(owner, { history, sessions });
 * // In the object's webSocketMessage():
 * const attachment = socket.deserializeAttachment() as ResumeAttachment;
 * await resume.message(resume.context(socket, attachment), message);
 * ```
 */
export class ObjectResume<D> implements ResumeTopics<D> {
  readonly owner: ResumeOwner<D>;
  readonly #history: DurableObjectHistoryStore;
  readonly #sessions: DurableObjectSessionStore;
  readonly #isResumable: (topic: string) => boolean;
  readonly #retention: number;
  readonly #helloTimeout: number;

  constructor(owner: ResumeOwner<D>, options: DurableObjectResumeOptions) {
    if (!options.history || !options.sessions) {
      throw new TypeError("resume needs a history and a sessions store");
    }
    this.owner = owner;
    this.#history = options.history;
    this.#sessions = options.sessions;
    this.#isResumable = options.topics ?? (() => true);
    this.#retention = positive(options.retention ?? 120_000, "retention");
    this.#helloTimeout = positive(options.helloTimeout ?? 10_000, "helloTimeout");
  }

  /** `ws.publish()` from a resume socket: the object's `publish()`, leaving it out. */
  publishFrom(topic: string, data: SendData, except: ResumableObjectContext<D>): number {
    return this.owner.publish(topic, data, { except });
  }

  /** Whether a topic's publications are numbered. */
  isResumable(topic: string): boolean {
    return this.#isResumable(topic);
  }

  /** Makes the context of a socket from its attachment. */
  context(socket: HibernatableSocket, attachment: ResumeAttachment): ResumableObjectContext<D> {
    return new ResumableObjectContext<D>(this, socket, attachment);
  }

  /**
   * The presence memberships in `topic` of sessions that wait for their
   * client: members until the session ends.
   *
   * @param topic The topic.
   * @returns The memberships.
   */
  waitingMembers(topic: string): Membership[] {
    const found: Membership[] = [];
    let waiting: ResumeRecord[];
    try {
      waiting = this.#sessions.waiting() as ResumeRecord[];
    } catch (error) {
      console.error("Session store failed:", error);
      return found;
    }
    for (const record of waiting) {
      const membership = record.y?.[topic];
      if (membership) found.push(membership);
    }
    return found;
  }

  // ---- the upgrade -------------------------------------------------------------

  /**
   * Upgrades a resume client to a hibernatable socket of the object.
   *
   * @param c The route's context.
   * @param options The route's options.
   * @returns The 101, or a refusal.
   */
  async upgrade<C extends { req: { raw: Request } }>(
    c: C,
    options: {
      origins?: readonly string[] | ((origin: string) => boolean);
      data?: (c: C) => D | Promise<D>;
      maxMessageSize?: number;
      binaryType?: "arraybuffer" | "blob" | "uint8array";
      topics?: (data: D) => string[];
      resume: DurableObjectRouteResume<C> | true;
    },
  ): Promise<Response> {
    const request = c.req.raw;
    const origin = request.headers.get("origin");
    const { origins } = options;
    if (
      origins &&
      (origin === null ||
        (typeof origins === "function" ? !origins(origin) : !origins.includes(origin)))
    ) {
      return refuse(403, `Origin not allowed: ${origin ?? "(none)"}`);
    }
    try {
      validateUpgradeRequest(request);
    } catch (error) {
      if (!(error instanceof HandshakeError)) throw error;
      return refuse(error.status, error.message, error.headers);
    }
    const identify = options.resume === true ? undefined : options.resume.identify;
    const owner = identify ? await identify(c) : "";
    if (typeof owner !== "string") throw new TypeError("resume.identify() must return a string");
    const data = (options.data ? await options.data(c) : undefined) as D;
    const topics = [...new Set(options.topics?.(data) ?? [])];
    topics.forEach(assertTopic);
    const pair = new WebSocketPair();
    const socket = pair[1];
    const attachment: ResumeAttachment = {
      d: data,
      t: [],
      u: request.url,
      p: RESUME_PROTOCOL,
      m: options.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE,
      z: { o: owner, h: createRandomId(9), s: Phase.Hello, n: topics },
    };
    if (options.binaryType && options.binaryType !== "arraybuffer") {
      attachment.b = options.binaryType;
    }
    const ws = this.context(socket, attachment);
    // Before accepting: data too large for an attachment refuses the upgrade.
    ws.save();
    this.owner.acceptWebSocket(socket);
    this.owner.register(socket, ws);
    // The timer keeps the object awake for at most this long.
    ws.timer = setTimeout(() => {
      if (ws.phase === Phase.Hello && !ws.closed) {
        this.#fail(ws, ResumeCloseCode.PolicyViolation, "No hello in time");
      }
    }, this.#helloTimeout);
    const headers = new Headers({ "Sec-WebSocket-Protocol": RESUME_PROTOCOL });
    return new Response(null, { status: 101, webSocket: pair[0], headers } as ResponseInit);
  }

  // ---- frames from the client ------------------------------------------------------

  /**
   * A frame from a resume socket (the object's `webSocketMessage()`).
   *
   * @param ws The socket's context.
   * @param message The frame.
   */
  async message(ws: ResumableObjectContext<D>, message: string | ArrayBuffer): Promise<void> {
    if (ws.closed || ws.phase >= Phase.Ending) return;
    if (typeof message !== "string") {
      return this.#fail(ws, ResumeCloseCode.UnsupportedData, "Binary frames are not resume frames");
    }
    if (ws.maxMessageSize > 0 && isOverSize(message, ws.maxMessageSize)) {
      // The whole frame counts, as where the route's session checks it.
      return this.#fail(ws, 1009, "Message too big");
    }
    let frame;
    try {
      frame = decodeClientFrame(message);
    } catch (error) {
      if (!(error instanceof ResumeProtocolError)) throw error;
      return this.#fail(ws, error.code, error.message);
    }
    if (frame.t === "ping") return ws.socket?.send(PONG);
    if (frame.t === "hello") {
      if (ws.phase !== Phase.Hello) return this.#fail(ws, 1002, "Hello sent twice");
      clearTimeout(ws.timer);
      ws.state.s = Phase.Welcoming;
      return await this.#hello(ws, frame);
    }
    if (ws.phase !== Phase.Live) return this.#fail(ws, 1002, "Message before welcome");
    await this.#receive(ws, frame);
  }

  async #hello(ws: ResumableObjectContext<D>, hello: HelloFrame): Promise<void> {
    this.#sweep();
    const path = ws.url.pathname;
    if (hello.s) {
      const key = await hashToken(hello.s);
      if (ws.closed) return;
      const record = this.#sessions.get(key) as ResumeRecord | undefined;
      if (
        record && record.owner === ws.state.o && record.path === path &&
        (record.expires === undefined || record.expires > Date.now())
      ) {
        return this.#restore(ws, hello, key, record);
      }
    }
    const token = createRandomId(32);
    const key = await hashToken(token);
    if (ws.closed) return;
    await this.#start(ws, hello, token, key);
  }

  // The session the token names, on this socket: its topics replay from
  // the client's positions, then the welcome and the replay go out together.
  #restore(
    ws: ResumableObjectContext<D>,
    hello: HelloFrame,
    key: string,
    record: ResumeRecord,
  ): void {
    // Another socket still holding it (a connection that died unnoticed, or
    // a client sharing the token) is closed 4000.
    for (const socket of this.owner.getWebSockets()) {
      const other = this.owner.contextOf(socket);
      if (
        other !== ws && other instanceof ResumableObjectContext && other.state.k === key &&
        !other.closed && other.socket
      ) {
        other.state.s = Phase.Replaced;
        try {
          other.save();
          other.socket.close(
            ResumeCloseCode.SessionReplaced,
            "Session resumed on another connection",
          );
        } catch { /* closed */ }
      }
    }
    const state = ws.state;
    state.k = key;
    state.i = record.id;
    state.a = record.lastClientId;
    state.f = {};
    delete state.n;
    ws.data = record.data as D;
    // Its presence goes on: still a member, no join.
    for (const [topic, membership] of Object.entries(record.y ?? {})) {
      ws.memberships.set(topic, membership);
    }
    ws.hello = { ...hello.p };
    ws.outbox = [];
    ws.welcomeTopics = {};
    for (const topic of record.plainTopics) ws.topicSet.add(topic);
    for (const [topic, from] of Object.entries(record.topics)) {
      ws.topicSet.add(topic);
      this.#follow(ws, topic, this.#takeHello(ws, topic) ?? from);
    }
    this.#welcome(ws, hello.s!, true);
  }

  // A new session: `onOpen` runs (its frames and subscriptions held behind
  // the welcome), then the welcome goes out.
  async #start(
    ws: ResumableObjectContext<D>,
    hello: HelloFrame,
    token: string,
    key: string,
  ): Promise<void> {
    const state = ws.state;
    state.k = key;
    state.i = crypto.randomUUID();
    state.a = 0;
    state.f = {};
    ws.hello = { ...hello.p };
    ws.outbox = [];
    ws.welcomeTopics = {};
    const initial = state.n ?? [];
    delete state.n;
    for (const topic of initial) this.subscribe(ws, topic);
    await this.#run(ws, this.owner.events.onOpen, createEvent("open"));
    if (ws.closed) return;
    this.#welcome(ws, token, false);
  }

  #welcome(ws: ResumableObjectContext<D>, token: string, recovered: boolean): void {
    const held = ws.outbox ?? [];
    ws.outbox = null;
    ws.state.s = Phase.Live;
    this.#persist(ws);
    const socket = ws.socket!;
    socket.send(encodeResumeFrame({
      t: "welcome",
      v: 1,
      s: token,
      recovered,
      a: ws.state.a ?? 0,
      p: ws.welcomeTopics,
    }));
    ws.welcomeTopics = {};
    for (const text of held) socket.send(text);
  }

  #takeHello(ws: ResumableObjectContext<D>, topic: string): StreamPosition | undefined {
    const position = ws.hello[topic];
    if (position) delete ws.hello[topic];
    return position;
  }

  // Where a resumable topic goes on from for this socket: a replay from
  // `from`, or the stream's position now.
  #follow(
    ws: ResumableObjectContext<D>,
    topic: string,
    from: StreamPosition | undefined,
  ): void {
    followResumableTopic(ws, topic, { history: this.#history, from });
  }

  async #receive(ws: ResumableObjectContext<D>, frame: ClientMessageFrame): Promise<void> {
    const last = ws.state.a ?? 0;
    if (frame.i > last + 1) return this.#fail(ws, 1002, "Message id out of order");
    if (frame.i === last + 1) {
      ws.state.a = frame.i;
      await this.#run(ws, this.owner.events.onMessage, createMessageEvent(convert(ws, frame.data)));
    }
    if (ws.closed || ws.phase !== Phase.Live) return;
    // The dedupe window is in storage before the ack leaves (the output
    // gate holds the ack until the write is durable).
    this.#persist(ws);
    ws.socket?.send(encodeResumeFrame({ t: "ack", a: ws.state.a ?? 0 }));
  }

  // ---- topics ---------------------------------------------------------------

  /** Subscribes a resume socket's session to a topic. */
  subscribe(ws: ResumableObjectContext<D>, topic: string): void {
    assertTopic(topic);
    if (ws.closed || ws.has(topic)) return;
    ws.topicSet.add(topic);
    if (ws.phase === Phase.Hello) return; // the route's initial topics, before the hello
    if (this.#isResumable(topic)) {
      ws.state.f ??= {};
      if (ws.outbox) {
        this.#follow(ws, topic, this.#takeHello(ws, topic));
      } else {
        // After the welcome: the sub frame, then what it replays.
        const from = this.#takeHello(ws, topic);
        const held: string[] = [];
        ws.outbox = held;
        this.#follow(ws, topic, from);
        ws.outbox = null;
        const resume = ws.welcomeTopics[topic];
        delete ws.welcomeTopics[topic];
        const frame: { t: "sub"; c: string; e: string; o: number; recovered?: boolean } = {
          t: "sub",
          c: topic,
          e: resume.epoch,
          o: resume.offset,
        };
        if (resume.recovered !== undefined) frame.recovered = resume.recovered;
        ws.write(encodeResumeFrame(frame));
        for (const text of held) ws.write(text);
      }
    }
    if (ws.phase === Phase.Live) this.#persist(ws);
  }

  /** Unsubscribes a resume socket's session from a topic. */
  unsubscribe(ws: ResumableObjectContext<D>, topic: string): void {
    if (!ws.topicSet.delete(topic)) return;
    // Unsubscribing ends a presence membership, as on plain sockets.
    if (ws.memberships.has(topic)) this.owner.leftTopic(ws, topic);
    if (ws.state.f && topic in ws.state.f) {
      delete ws.state.f[topic];
      delete ws.welcomeTopics[topic];
      ws.write(encodeResumeFrame({ t: "unsub", c: topic }));
    }
    if (ws.phase === Phase.Live) this.#persist(ws);
  }

  /**
   * Publishes on a resumable topic: numbered in the history, then sent to
   * the subscribers, resume sockets as `pub` frames (the publisher's own
   * with its position only), plain ones as the bare message.
   *
   * @param topic The topic.
   * @param data The payload.
   * @param contexts The subscribers.
   * @param except The publishing socket.
   * @returns How many subscribers it was sent to.
   */
  publish(
    topic: string,
    data: SendData,
    contexts: Array<WebSocketContext<D, WebSocket>>,
    except: unknown,
  ): number {
    return publishResumable(topic, data, { history: this.#history, contexts, except });
  }

  // ---- the socket goes --------------------------------------------------------

  /**
   * A resume socket closed (the object's `webSocketClose()`): the session
   * ends if the client or the server ended it, else waits in storage for
   * `retention`.
   *
   * @param ws The socket's context.
   * @param code The close code.
   * @param reason The reason.
   * @param wasClean Whether the closing handshake completed.
   */
  async closed(
    ws: ResumableObjectContext<D>,
    code: number,
    reason: string,
    wasClean: boolean,
  ): Promise<void> {
    if (ws.closed) return;
    ws.closed = true;
    clearTimeout(ws.timer);
    const phase = ws.phase;
    const key = ws.state.k;
    if (phase === Phase.Hello || phase === Phase.Replaced || key === undefined) return;
    // The token went out with the welcome only: before it, nothing can resume.
    if (phase === Phase.Welcoming || phase === Phase.Ending || code === 1000) {
      this.#sessions.delete(key);
      await this.#end(ws, code, reason, wasClean);
      return;
    }
    const record: ResumeRecord = ws.record();
    record.expires = Date.now() + this.#retention;
    record.c = code;
    try {
      this.#sessions.set(key, record);
    } catch (error) {
      console.error("Session store failed:", error);
    }
    this.#sweep();
  }

  /**
   * A resume socket reported an error (the object's `webSocketError()`).
   *
   * @param ws The socket's context.
   * @param error What went wrong.
   */
  async error(ws: ResumableObjectContext<D>, error: unknown): Promise<void> {
    if (ws.closed) return;
    // The runtime's error is the peer's or the network's: onError only.
    if (this.owner.events.onError) await this.#error(ws, error);
    if (ws.socket?.readyState === 3) await this.closed(ws, 1006, "", false);
  }

  // Sessions whose wait ran out while no timer could run (the object
  // hibernates, or was evicted): their onClose, once, now.
  #sweep(): void {
    let expired: ResumeSessionRecord[];
    try {
      expired = this.#sessions.takeExpired();
    } catch (error) {
      return console.error("Session store failed:", error);
    }
    for (const record of expired as ResumeRecord[]) {
      const f: Record<string, [string, number]> = {};
      for (const [topic, p] of Object.entries(record.topics)) f[topic] = [p.epoch, p.offset];
      const ws = new ResumableObjectContext<D>(this, undefined, {
        d: record.data,
        t: [...record.plainTopics, ...Object.keys(record.topics)],
        u: new URL(record.path, "http://session.invalid/").href,
        p: RESUME_PROTOCOL,
        m: 0,
        z: { o: record.owner, h: "", s: Phase.Ending, k: "", i: record.id, f, y: record.y },
      });
      ws.closed = true;
      void this.#end(ws, record.c ?? 1006, "", false);
    }
  }

  async #end(
    ws: ResumableObjectContext<D>,
    code: number,
    reason: string,
    wasClean: boolean,
  ): Promise<void> {
    // Before onClose: a session whose onClose runs is no longer a member.
    this.owner.ended(ws);
    const onClose = this.owner.events.onClose;
    if (!onClose) return;
    try {
      await onClose(createCloseEvent(code, reason, wasClean), ws);
    } catch (error) {
      await this.#error(ws, error);
    }
  }

  // ---- helpers ------------------------------------------------------------------

  #persist(ws: ResumableObjectContext<D>): void {
    const key = ws.state.k;
    if (key === undefined || ws.closed) return;
    try {
      this.#sessions.set(key, ws.record());
      ws.save();
    } catch (error) {
      // Not kept: the client would resume into a stale window.
      console.error("Session store failed:", error);
      this.#fail(ws, 1011, "Session store failed");
    }
  }

  #fail(ws: ResumableObjectContext<D>, code: number, reason: string): void {
    if (ws.closed || !ws.socket) return;
    const live = ws.phase === Phase.Live || ws.phase === Phase.Welcoming;
    if (ws.phase !== Phase.Replaced) ws.state.s = Phase.Ending;
    try {
      ws.save();
    } catch { /* closing anyway */ }
    if (live) void this.#error(ws, new ResumeProtocolError(code, reason));
    try {
      ws.socket.close(code, reason);
    } catch { /* closed */ }
  }

  async #run<E>(
    ws: ResumableObjectContext<D>,
    handler: ((event: E, ws: WebSocketContext<D, WebSocket>) => unknown) | undefined,
    event: E,
  ): Promise<void> {
    if (!handler) return;
    try {
      await handler(event, ws);
    } catch (error) {
      await this.#error(ws, error);
    }
  }

  async #error(ws: ResumableObjectContext<D>, error: unknown): Promise<void> {
    const handler = this.owner.events.onError;
    if (!handler) return console.error(error);
    try {
      await handler(createErrorEvent(error), ws);
    } catch (inner) {
      console.error(inner);
    }
  }
}

function convert<D>(ws: ResumableObjectContext<D>, data: string | Uint8Array): MessageData {
  if (typeof data === "string") return data;
  const type: string = ws.binaryType;
  if (type === "uint8array") return data as unknown as MessageData;
  return type === "blob" ? new Blob([data as Uint8Array<ArrayBuffer>]) : data.buffer as ArrayBuffer;
}
