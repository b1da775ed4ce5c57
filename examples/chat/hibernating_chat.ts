/**
 * The chat's sockets in a Durable Object that may hibernate (examples/worker.ts):
 * the same wire protocol as the app's in-memory rooms, but nothing a socket
 * needs lives in the object's memory. Who is online comes from the sockets'
 * attachments (`ws.data`), each room is a topic, and the history is in the
 * object's storage, so a wake-up finds the rooms as they were.
 */
import type { MiddlewareHandler } from "hono";
import {
  DurableObjectWebSockets,
  type DurableObjectWebSocketState,
  type WebSocketContext,
} from "../../src/entries/cloudflare.ts";
import type { ChatEnv } from "../app.ts";
import {
  type ChatMessage,
  createChatMessage,
  parseClientMessage,
  type ServerEvent,
} from "./protocol.ts";
import { RateLimiter, type RateLimiterOptions } from "./rate_limiter.ts";

/** What each chat socket keeps in its attachment. */
export interface HibernatingChatConnection {
  /** The signed-in name. */
  user: string;
  /** The room joined. */
  room: string;
  /** When it opened, in ms: the online list's order and the logged duration. */
  since: number;
}

/** The part of a Durable Object's `ctx` the chat uses. */
export interface ChatObjectState extends DurableObjectWebSocketState {
  /** The object's key-value storage. */
  storage: {
    get<T>(key: string): Promise<T | undefined>;
    put<T>(key: string, value: T): Promise<void>;
  };
}

/** Options for {@linkcode HibernatingChat}. */
export interface HibernatingChatOptions {
  /** Messages kept per room (default 50). */
  historySize?: number;
  /** Messages one user may send (default 20 in 10 s). */
  rateLimit?: RateLimiterOptions;
  /** Largest frame in bytes; above it the socket closes 1009. */
  maxMessageSize?: number;
  /** Where the connection log goes (default `console.log`). */
  log?: (line: string) => void;
  /** How many other sockets are open, for the log line (the echo routes'). */
  otherConnections?: () => number;
}

type Ws = WebSocketContext<HibernatingChatConnection, WebSocket>;

const topicOf = (room: string) => `room:${room}`;

/**
 * The chat's rooms over hibernatable sockets: make one in the object's
 * constructor (it runs again on every wake-up) and mount `upgrade()` on
 * `/chat/:room` after the session check.
 *
 * @example
 * ```ts ignore
 * const chat = new HibernatingChat(ctx);
 * app.get("/chat/:room", requireUser, chat.upgrade());
 * // webSocketMessage(ws, m) { return chat.sockets.webSocketMessage(ws, m); } …
 * ```
 */
export class HibernatingChat {
  /** The object's chat sockets: forward the `webSocket*` methods to them. */
  readonly sockets: DurableObjectWebSockets<HibernatingChatConnection>;
  readonly #state: ChatObjectState;
  readonly #historySize: number;
  readonly #maxMessageSize: number | undefined;
  // In memory only: a wake-up forgets it, and with it at most one window.
  readonly #limiter: RateLimiter;
  readonly #limit: string;
  readonly #log: (line: string) => void;
  readonly #others: () => number;

  /**
   * Creates the instance.
   *
   * @param state The object's `ctx`.
   * @param options History size, rate limit, frame limit, log.
   */
  constructor(state: ChatObjectState, options: HibernatingChatOptions = {}) {
    this.#state = state;
    this.#historySize = options.historySize ?? 50;
    this.#maxMessageSize = options.maxMessageSize;
    const { limit = 20, window = 10_000 } = options.rateLimit ?? {};
    this.#limiter = new RateLimiter({ ...options.rateLimit, limit, window });
    this.#limit = `Too many messages: at most ${limit} in ${window / 1000} seconds`;
    this.#log = options.log ?? ((line) => console.log(line));
    this.#others = options.otherConnections ?? (() => 0);
    this.sockets = new DurableObjectWebSockets<HibernatingChatConnection>(state, {
      onOpen: (_event, ws) => this.#join(ws),
      onMessage: (event, ws) => this.#say(ws, event.data),
      onClose: (event, ws) => this.#leave(ws, event.code),
    }, {
      // A client keep-alive ("ping"), answered while the object sleeps.
      autoResponse: { request: "ping", response: "pong" },
    });
  }

  /** Open chat sockets, every room's. */
  get size(): number {
    return this.sockets.getContexts().length;
  }

  /**
   * The `/chat/:room` upgrade; the user must already be set on the context.
   *
   * @returns The middleware.
   */
  upgrade(): MiddlewareHandler<ChatEnv> {
    return this.sockets.upgradeWebSocket<ChatEnv>({
      data: (c) => ({ user: c.get("user"), room: c.req.param("room")!, since: Date.now() }),
      topics: (data) => [topicOf(data.room)],
      maxMessageSize: this.#maxMessageSize,
    }) as MiddlewareHandler<ChatEnv>;
  }

  /** Names in a room in order of arrival, each once. */
  #online(room: string): string[] {
    const members = this.sockets.getContexts(topicOf(room)).map((ws) => ws.data);
    members.sort((a, b) => a.since - b.since);
    return [...new Set(members.map((m) => m.user))];
  }

  #publish(room: string, event: ServerEvent, except?: Ws): void {
    this.sockets.publish(topicOf(room), JSON.stringify(event), { except });
  }

  async #join(ws: Ws): Promise<void> {
    const { user, room } = ws.data;
    const history = await this.#state.storage.get<ChatMessage[]>(`history:${room}`) ?? [];
    const online = this.#online(room);
    ws.send(JSON.stringify({ type: "welcome", room, you: user, online, history }));
    const others = this.sockets.getContexts(topicOf(room)).filter((o) => o.data.user === user);
    if (others.length === 1) this.#publish(room, { type: "join", name: user, online }, ws);
    this.#log(
      `ws open /chat/${room} user=${JSON.stringify(user)} connections=${
        this.size + this.#others()
      }`,
    );
  }

  async #say(ws: Ws, data: unknown): Promise<void> {
    const { user, room } = ws.data;
    const refuse = (error: string) => ws.send(JSON.stringify({ type: "error", error }));
    const parsed = parseClientMessage(data);
    if ("error" in parsed) return refuse(parsed.error);
    if (!this.#limiter.take(user)) return refuse(this.#limit);
    const message = createChatMessage(user, parsed.text);
    const key = `history:${room}`;
    const history = await this.#state.storage.get<ChatMessage[]>(key) ?? [];
    history.push(message);
    await this.#state.storage.put(key, history.slice(-this.#historySize));
    this.#publish(room, message);
  }

  #leave(ws: Ws, code: number): void {
    const { user, room, since } = ws.data;
    const online = this.#online(room);
    if (!online.includes(user)) this.#publish(room, { type: "leave", name: user, online });
    this.#log(
      `ws close /chat/${room} user=${JSON.stringify(user)} code=${code} duration=${
        Date.now() - since
      }ms`,
    );
  }
}
