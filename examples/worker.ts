/**
 * The demo app as a Cloudflare Worker: `deno task serve:workers` (wrangler dev with the top-level wrangler.toml).
 *
 * A Worker may not touch a WebSocket from another request's handler ("Cannot
 * perform I/O on behalf of a different request"), so a chat that relays
 * between sockets cannot live in the stateless Worker. Every request goes to
 * one Durable Object, `ChatServer`, which runs the same Hono app: inside it,
 * sockets are shared across requests, and the in-memory rooms are that
 * object's. The cookie secret is the `SECRET` binding (`wrangler secret put
 * SECRET`, or `.dev.vars` locally).
 */
import type { Hono } from "hono";
import { type ChatEnv, createApp } from "./app.ts";

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

/** The Durable Object that serves the app, with its rooms in memory. */
export class ChatServer {
  readonly #app: Hono<ChatEnv>;
  readonly #env: WorkerEnv;

  /**
   * Called by the runtime.
   *
   * @param _state The object's state (unused: nothing is stored).
   * @param env The bindings, `SECRET` among them.
   */
  constructor(_state: unknown, env: WorkerEnv) {
    this.#app = createApp();
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
