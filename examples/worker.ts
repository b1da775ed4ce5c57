/**
 * The demo app as a Cloudflare Worker: `deno task serve:workers` (wrangler dev with the top-level wrangler.toml).
 *
 * The stateless Worker serves the app itself — the pages, `POST /login` and
 * its signed cookie, `/healthz`, the echo routes — and sends only a room's
 * sockets on, each room to its own Durable Object, `ChatRoom`
 * (examples/chat/chat_room.ts says why one per room). A Worker may not touch
 * a WebSocket from another request's handler ("Cannot perform I/O on behalf
 * of a different request"), so a chat that relays between sockets cannot live
 * in the Worker; an echo, which answers its own socket, can.
 *
 * The session is checked here, before anything reaches an object: a bad
 * cookie, a foreign origin or a bad room name never costs an object a request
 * (Cloudflare bills both). The cookie secret is the `SECRET` binding
 * (`wrangler secret put SECRET`, or `.dev.vars` locally); without it each
 * isolate would sign with a random secret of its own, and logins would end.
 */
import { Hono, type MiddlewareHandler } from "hono";
import { isUpgradeRequest } from "../src/codec/mod.ts";
import { type ChatEnv, createApp } from "./app.ts";
import { USER_HEADER } from "./chat/chat_room.ts";
import { ConnectionRegistry } from "./chat/connections.ts";

export { ChatRoom } from "./chat/chat_room.ts";

/** The part of a Durable Object namespace binding the Worker uses. */
export interface DurableObjectNamespace {
  /** The id of the object with this name: the same name, the same object. */
  idFromName(name: string): unknown;
  /** A stub that sends requests to the object. */
  get(id: unknown): { fetch(request: Request): Promise<Response> };
}

/** The Worker's bindings (the top-level wrangler.toml). */
export interface WorkerEnv {
  /** Signs the session cookie. */
  SECRET?: string;
  /** The rooms: one `ChatRoom` object per room name. */
  CHAT: DurableObjectNamespace;
}

/**
 * Sends a room's upgrade to the room's object, as the user the session
 * check found. The request is the client's with its cookie and any
 * `X-Chat-User` it sent removed, then the Worker's own `X-Chat-User` set:
 * the object believes that header because only this Worker can reach it.
 */
const forwardToRoom: MiddlewareHandler<ChatEnv> = async (c, next) => {
  // A plain GET goes on, as the other runtimes' upgrade middleware sends it
  // (Hono's 404), and never costs the object a request.
  if (!isUpgradeRequest(c.req.raw.headers)) return await next();
  const { CHAT } = c.env as unknown as WorkerEnv;
  const headers = new Headers(c.req.raw.headers);
  headers.delete(USER_HEADER);
  headers.delete("cookie");
  headers.set(USER_HEADER, encodeURIComponent(c.get("user")));
  const room = CHAT.get(CHAT.idFromName(c.req.param("room")!));
  return await room.fetch(new Request(c.req.url, { method: "GET", headers }));
};

// Per isolate: the echo routes' sockets this isolate holds. A room's chat
// sockets are in the room's object, not here.
const connections = new ConnectionRegistry();

/**
 * The Worker's app: the demo app with its chat forwarded, and its own
 * `/healthz`.
 *
 * `/healthz` answers from the Worker alone: `{ ok, connections, scope:
 * "isolate" }`, where `connections` counts the echo sockets of the isolate
 * that answered (one of many in production). It cannot count the chat's
 * sockets: those are in the rooms' objects, which a Worker cannot list, and
 * asking each would wake every room for a probe. What it can know is that
 * the Worker runs and has its `CHAT` binding: without it, 503.
 */
const worker: Hono<ChatEnv> = new Hono<ChatEnv>()
  .get("/healthz", (c) => {
    const env = c.env as unknown as Partial<WorkerEnv> | undefined;
    if (typeof env?.CHAT?.idFromName !== "function") {
      return c.json({ ok: false, error: "The CHAT Durable Object binding is missing" }, 503);
    }
    return c.json({ ok: true, connections: connections.size, scope: "isolate" });
  })
  .route("/", createApp({ connections, chatSocket: forwardToRoom }));

/** The Worker's entry: what wrangler.toml's `main` serves. */
export default {
  /**
   * Serves a request: the Worker's own, or a room's upgrade, forwarded.
   *
   * @param request The request.
   * @param env The bindings.
   * @returns The answer (a 101 with the socket for `/chat/:room`).
   */
  fetch(request: Request, env: WorkerEnv): Response | Promise<Response> {
    return worker.fetch(request, env);
  },
};
