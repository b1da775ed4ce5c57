/**
 * The demo app as a Cloudflare Worker: `deno task serve:workers` (wrangler dev with the top-level wrangler.toml).
 *
 * A Worker may not touch a WebSocket from another request's handler ("Cannot
 * perform I/O on behalf of a different request"), so a chat that relays
 * between sockets cannot live in the stateless Worker. Every request goes to
 * one Durable Object, `ChatServer`, which runs the same Hono app: inside it,
 * sockets are shared across requests.
 *
 * The chat's sockets use the WebSocket Hibernation API: the object may leave
 * memory while they stay connected, so no room lives in its memory. Each
 * room is a topic of the sockets, who is online comes from their
 * attachments, and the history is in the object's storage
 * (examples/chat/hibernating_chat.ts). The echo routes keep ordinary
 * sockets, which keep the object awake while they are open. The cookie
 * secret is the `SECRET` binding (`wrangler secret put SECRET`, or
 * `.dev.vars` locally); without it each wake-up would sign with a new random
 * secret, and logins would end.
 */
import type { Hono } from "hono";
import { type ChatEnv, createApp, MAX_FRAME } from "./app.ts";
import { type ChatObjectState, HibernatingChat } from "./chat/hibernating_chat.ts";
import { ConnectionRegistry } from "./chat/connections.ts";

/**
 * The echo routes' sockets, as the app tracks them, plus the chat's: those
 * are counted from the object's sockets, since a wake-up forgets the rest.
 */
class ObjectConnections extends ConnectionRegistry {
  readonly #chat: () => number;

  constructor(chat: () => number) {
    super();
    this.#chat = chat;
  }

  /** The sockets tracked here: the echo routes'. */
  get ownSize(): number {
    return super.size;
  }

  override get size(): number {
    return super.size + this.#chat();
  }
}

/** The part of a Durable Object namespace binding the Worker uses. */
interface DurableObjectNamespace {
  idFromName(name: string): unknown;
  get(id: unknown): { fetch(request: Request): Promise<Response> };
}

/** The Worker's bindings (the top-level wrangler.toml). */
export interface WorkerEnv {
  /** Signs the session cookie. */
  SECRET?: string;
  /** The Durable Object that holds the rooms. */
  CHAT: DurableObjectNamespace;
}

/** The Durable Object that serves the app; its chat sockets hibernate. */
export class ChatServer {
  readonly #app: Hono<ChatEnv>;
  readonly #env: WorkerEnv;
  readonly #chat: HibernatingChat;

  /**
   * Called by the runtime, again after every hibernation.
   *
   * @param state The object's state: its sockets and storage.
   * @param env The bindings, `SECRET` among them.
   */
  constructor(state: ChatObjectState, env: WorkerEnv) {
    const connections = new ObjectConnections(() => this.#chat.size);
    this.#chat = new HibernatingChat(state, {
      maxMessageSize: MAX_FRAME,
      otherConnections: () => connections.ownSize,
    });
    this.#app = createApp({ connections, chatSocket: this.#chat.upgrade() });
    this.#env = env;
  }

  /**
   * Serves a request forwarded by the Worker.
   *
   * @param request The request.
   * @returns The app's answer.
   */
  fetch(request: Request): Response | Promise<Response> {
    return this.#app.fetch(request, this.#env);
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

export default {
  /**
   * Forwards every request to the one `ChatServer`.
   *
   * @param request The request.
   * @param env The bindings.
   * @returns The object's answer (a 101 with the socket for `/chat/:room`).
   */
  fetch(request: Request, env: WorkerEnv): Promise<Response> {
    return env.CHAT.get(env.CHAT.idFromName("chat")).fetch(request);
  },
};
