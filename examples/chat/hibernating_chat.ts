/**
 * One chat room's sockets in a Durable Object that may hibernate
 * (examples/chat/chat_room.ts): the same wire protocol as the app's in-memory
 * rooms, but nothing a socket needs lives in the object's memory. Who is
 * online is the object's presence, kept in the sockets' attachments
 * (examples/chat/socket_presence.ts),
 * and the history is in the object's SQLite storage
 * (examples/chat/room_history.ts), so a wake-up finds the room as it was.
 *
 * The page's client (`ResumableWebSocket`) gets a resumable session, as on
 * the other runtimes: after a drop it comes back to the same session, gets
 * the room's messages it missed once and in order (the room's topic has a
 * history in the object's storage), and what it sent meanwhile reaches the
 * room once; a session is one member of the room through its drops. A
 * plain client gets a plain socket.
 */
import type { MiddlewareHandler } from "hono";
import {
  DurableObjectHistoryStore,
  DurableObjectSessionStore,
  type DurableObjectSqlStorage,
  DurableObjectWebSockets,
  type DurableObjectWebSocketState,
  type WebSocketContext,
} from "../../src/entries/cloudflare.ts";
import type { ChatEnv } from "../app.ts";
import { createChatMessage, parseClientFrame, type ServerEvent } from "./protocol.ts";
import { RateLimiter, type RateLimiterOptions } from "./rate_limiter.ts";
import { RoomHistory, type SqlStorage } from "./room_history.ts";
import { SocketPresence } from "./socket_presence.ts";

/** What each chat socket keeps in its attachment. */
export interface HibernatingChatConnection {
  /** The signed-in name. */
  user: string;
  /** The room joined: the object's own. */
  room: string;
  /** When it opened, in ms: the logged duration. */
  since: number;
}

/** The part of a Durable Object's `ctx` the chat uses. */
export interface ChatObjectState extends DurableObjectWebSocketState {
  /** The object's storage; a room's object is SQLite-backed (`new_sqlite_classes`). */
  storage: DurableObjectSqlStorage & { sql: SqlStorage };
}

/** Options for {@linkcode HibernatingChat}. */
export interface HibernatingChatOptions {
  /** Messages kept (default 50). */
  historySize?: number;
  /** Messages one user may send (default 20 in 10 s). */
  rateLimit?: RateLimiterOptions;
  /** Largest frame in bytes; above it the socket closes 1009. */
  maxMessageSize?: number;
  /** Where the connection log goes (default `console.log`). */
  log?: (line: string) => void;
}

type Ws = WebSocketContext<HibernatingChatConnection, WebSocket>;

// One object is one room: every socket is in this topic.
const TOPIC = "room";

/**
 * A chat room over hibernatable sockets: make one in the room's object
 * constructor (it runs again on every wake-up) and mount `upgrade()` on
 * `/chat/:room` once the user is known.
 *
 * @example
 * ```ts ignore
 * const chat = new HibernatingChat(ctx);
 * app.get("/chat/:room", setUser, chat.upgrade());
 * // webSocketMessage(ws, m) { return chat.sockets.webSocketMessage(ws, m); } …
 * ```
 */
export class HibernatingChat {
  /** The object's chat sockets: forward the `webSocket*` methods to them. */
  readonly sockets: DurableObjectWebSockets<HibernatingChatConnection>;
  readonly #history: RoomHistory;
  readonly #presence: SocketPresence<HibernatingChatConnection>;
  readonly #maxMessageSize: number | undefined;
  // In memory only: a wake-up forgets it, and with it at most one window.
  // Per room now that a room is an object: a user may send the limit in each.
  readonly #limiter: RateLimiter;
  readonly #limit: string;
  readonly #log: (line: string) => void;

  /**
   * Creates the instance.
   *
   * @param state The object's `ctx`.
   * @param options History size, rate limit, frame limit, log.
   */
  constructor(state: ChatObjectState, options: HibernatingChatOptions = {}) {
    this.#history = new RoomHistory(state.storage.sql, options.historySize ?? 50);
    this.#maxMessageSize = options.maxMessageSize;
    const { limit = 20, window = 10_000 } = options.rateLimit ?? {};
    this.#limiter = new RateLimiter({ ...options.rateLimit, limit, window });
    this.#limit = `Too many messages: at most ${limit} in ${window / 1000} seconds`;
    this.#log = options.log ?? ((line) => console.log(line));
    this.sockets = new DurableObjectWebSockets<HibernatingChatConnection>(state, {
      onOpen: (_event, ws) => this.#join(ws),
      onMessage: (event, ws) => this.#say(ws, event.data),
      onClose: (event, ws) => this.#leave(ws, event.code),
    }, {
      // Resumable sessions for the page, in the object's storage: the room's
      // topic numbered in a history, the sessions' records. The resume
      // client's heartbeat is answered while the object sleeps.
      resume: {
        history: new DurableObjectHistoryStore(state.storage),
        sessions: new DurableObjectSessionStore(state.storage),
        topics: (topic) => topic === TOPIC,
      },
    });
    this.#presence = new SocketPresence(this.sockets, TOPIC);
  }

  /** Open chat sockets. */
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
      topics: () => [TOPIC],
      maxMessageSize: this.#maxMessageSize,
      // The signed-in user: a token never resumes another user's session.
      resume: { identify: (c) => c.get("user") },
    }) as MiddlewareHandler<ChatEnv>;
  }

  #publish(event: ServerEvent, except?: Ws): void {
    this.sockets.publish(TOPIC, JSON.stringify(event), { except });
  }

  #join(ws: Ws): void {
    const { user, room } = ws.data;
    this.#presence.join(ws);
    const { online, count } = this.#presence.onlineWith(user);
    this.#welcome(ws, online);
    if (count === 1) {
      this.#publish({ type: "join", name: user, online }, ws);
    }
    this.#log(`ws open /chat/${room} user=${JSON.stringify(user)} connections=${this.size}`);
  }

  #welcome(ws: Ws, online: string[]): void {
    const { user, room } = ws.data;
    const history = this.#history.read();
    ws.send(JSON.stringify({ type: "welcome", room, you: user, online, history }));
  }

  #say(ws: Ws, data: unknown): void {
    const { user } = ws.data;
    const refuse = (error: string) => ws.send(JSON.stringify({ type: "error", error }));
    const parsed = parseClientFrame(data);
    if ("error" in parsed) return refuse(parsed.error);
    if (!this.#limiter.take(parsed.type === "sync" ? `\0sync ${user}` : user)) {
      return refuse(this.#limit);
    }
    // What the history could not replay to a resumed session: the room again.
    if (parsed.type === "sync") return this.#welcome(ws, this.#presence.online());
    const message = createChatMessage(user, parsed.text);
    this.#history.append(message);
    this.#publish(message);
  }

  #leave(ws: Ws, code: number): void {
    const { user, room, since } = ws.data;
    const online = this.#presence.online();
    if (!online.includes(user)) this.#publish({ type: "leave", name: user, online });
    this.#log(
      `ws close /chat/${room} user=${JSON.stringify(user)} code=${code} duration=${
        Date.now() - since
      }ms`,
    );
  }
}
