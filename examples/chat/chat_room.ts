/**
 * One chat room as a Durable Object, `ChatRoom`: the demo Worker
 * (examples/worker.ts) sends each room's sockets to the object named after
 * the room (`idFromName(room)`), and answers everything else itself.
 *
 * One object per room, not one for the app: an object is one thread in one
 * place, so a single object would carry every room's messages, every page
 * and every login in series — the bottleneck Cloudflare's docs warn about
 * (a soft limit of about 1,000 requests a second per object). A room's
 * object carries that room only, and rooms spread over objects and machines.
 */
import { type Context, Hono, type MiddlewareHandler } from "hono";
import { type ChatEnv, isValidName, MAX_FRAME } from "../app.ts";
import { type ChatObjectState, HibernatingChat } from "./hibernating_chat.ts";

/**
 * The header in which the Worker names the user it verified. The object
 * trusts it because nothing but the Worker can reach the object: a Durable
 * Object has no address of its own, only the `CHAT` binding, and the Worker
 * drops any copy a client sent before it sets its own (examples/worker.ts).
 * A header rather than an RPC method: the upgrade and its 101 travel as an
 * HTTP request through `stub.fetch()` anyway, and RPC would need the
 * `DurableObject` base class from `cloudflare:workers`, which the demo's
 * `deno check` cannot resolve.
 */
export const USER_HEADER = "X-Chat-User";

/** The room's `ctx`: its sockets and its SQLite storage. */
export interface ChatRoomState extends ChatObjectState {
  /** The object's id (`idFromName(room)`). */
  id: { toString(): string };
}

/**
 * Reads the user the Worker verified; without one the request did not come
 * through the Worker's session check, and gets no socket.
 */
const forwardedUser: MiddlewareHandler<ChatEnv> = async (c: Context<ChatEnv>, next) => {
  const header = c.req.header(USER_HEADER);
  let user: string | undefined;
  try {
    user = header === undefined ? undefined : decodeURIComponent(header);
  } catch { /* malformed: no user */ }
  if (user === undefined || !isValidName(user)) {
    return c.text("Forbidden: no user verified by the Worker\n", 403);
  }
  c.set("user", user);
  await next();
};

/**
 * A chat room's Durable Object: its chat sockets hibernate, its history is
 * in its SQLite storage, its online list is in the sockets' attachments.
 *
 * @example
 * ```ts ignore
 * // examples/worker.ts
 * export { ChatRoom } from "./chat/chat_room.ts";
 * // a room's upgrade, once the cookie is checked:
 * env.CHAT.get(env.CHAT.idFromName(room)).fetch(request);
 * ```
 */
export class ChatRoom {
  readonly #chat: HibernatingChat;
  readonly #app: Hono<ChatEnv>;

  /**
   * Called by the runtime, again after every hibernation.
   *
   * @param state The object's state: its sockets and storage.
   * @param _env The bindings (the room needs none).
   */
  constructor(state: ChatRoomState, _env: unknown) {
    this.#chat = new HibernatingChat(state, { maxMessageSize: MAX_FRAME });
    this.#app = new Hono<ChatEnv>()
      .get("/chat/:room", forwardedUser, this.#chat.upgrade())
      .all("*", (c) => c.text("Not found\n", 404));
  }

  /**
   * Serves a room's upgrade, forwarded by the Worker.
   *
   * @param request The request, with {@linkcode USER_HEADER}.
   * @returns A 101 with the socket, or why not.
   */
  fetch(request: Request): Response | Promise<Response> {
    return this.#app.fetch(request);
  }

  /**
   * A chat socket's message, delivered by the runtime (waking the object).
   *
   * @param ws The socket.
   * @param message Text, or binary as an `ArrayBuffer`.
   * @returns Once handled.
   */
  webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    return this.#chat.sockets.webSocketMessage(ws, message);
  }

  /**
   * A chat socket closed.
   *
   * @param ws The socket.
   * @param code The close code.
   * @param reason The reason.
   * @param wasClean Whether the closing handshake completed.
   * @returns Once handled.
   */
  webSocketClose(ws: WebSocket, code: number, reason: string, wasClean: boolean): Promise<void> {
    return this.#chat.sockets.webSocketClose(ws, code, reason, wasClean);
  }

  /**
   * A chat socket failed.
   *
   * @param ws The socket.
   * @param error What went wrong.
   * @returns Once handled.
   */
  webSocketError(ws: WebSocket, error: unknown): Promise<void> {
    return this.#chat.sockets.webSocketError(ws, error);
  }
}
