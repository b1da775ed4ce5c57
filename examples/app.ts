/**
 * The demo app: a chat with rooms, plus the echo routes, in one Hono app that
 * runs unchanged on Deno, Node, Bun and Workers.
 *
 * - `GET /` the chat page (or the login form), `POST /login`, `POST /logout`;
 *   `/chat.js`, `/chat.css` and `/client.js` (the resumable client) for it
 * - `GET /chat/:room` the chat's WebSocket; a signed cookie is required. A
 *   client of `edgesocket.resume.v1` (the page's) resumes its session after
 *   a drop and misses nothing of its room; a plain client gets the plain
 *   frames
 * - `GET /echo`, `/foo`, `/bar` the echo app's WebSockets
 * - `GET /healthz` `{ ok: true, connections }`
 *
 * Run it with `deno task serve` (see examples/serve_deno.ts for the signals).
 */
import { type Context, Hono, type MiddlewareHandler } from "hono";
import { deleteCookie, getSignedCookie, setSignedCookie } from "hono/cookie";
import {
  type MemoryHistoryStoreOptions,
  RESUME_PROTOCOL,
  type SessionStore,
  upgradeWebSocket,
  type WebSocketContext,
  type WebSocketEvents,
} from "../mod.ts";
import { CLIENT_BUNDLE } from "./chat/client_bundle.ts";
import { CHAT_SCRIPT } from "./chat/client_script.ts";
import { ConnectionRegistry } from "./chat/connections.ts";
import { CHAT_PAGE, renderLoginPage } from "./chat/page.ts";
import { createChatMessage, parseClientFrame } from "./chat/protocol.ts";
import { RateLimiter, type RateLimiterOptions } from "./chat/rate_limiter.ts";
import type { RoomMember, Rooms, RoomSocket } from "./chat/rooms.ts";
import { TopicRooms } from "./chat/topic_rooms.ts";
import { CHAT_CSS } from "./chat/style.ts";
import { MAX_MESSAGE_SIZE } from "./echo.ts";

/** Options for {@linkcode createApp}. */
export interface ChatAppOptions {
  /**
   * Signs the session cookie. Default: the `SECRET` binding on Workers
   * (`c.env.SECRET`), else a random one made at first use, with a warning.
   */
  secret?: string;
  /** The room registry (default: on the process's topics and presence, which Redis may span). */
  rooms?: Rooms;
  /**
   * Bounds of the rooms' history in memory, what a resuming client is
   * replayed from, where the topics have no history yet (the default
   * registry's; default 1,000 events and 2 minutes per room).
   */
  replay?: MemoryHistoryStoreOptions;
  /** The open sockets, for `/healthz` and shutdown (default: a new one). */
  connections?: ConnectionRegistry;
  /** Messages one user may send (default 20 in 10 s). */
  rateLimit?: RateLimiterOptions;
  /** Where the connection log goes (default `console.log`). */
  log?: (line: string) => void;
  /**
   * The `/chat/:room` upgrade, after the session and room checks (default:
   * `upgradeWebSocket` over `rooms`). A Durable Object that hibernates
   * brings its own: examples/chat/hibernating_chat.ts.
   */
  chatSocket?: MiddlewareHandler<ChatEnv>;
  /**
   * The chat route's resumable sessions, for clients that speak
   * `edgesocket.resume.v1` (default: on, sessions in this process's memory,
   * kept 2 minutes after a drop); `false` for a plain route. Which topics
   * replay is the rooms' topics' history (see examples/chat/topic_rooms.ts).
   */
  resume?: { sessions?: SessionStore; retention?: number } | false;
}

/** The app's Hono environment. */
export interface ChatEnv {
  /** Workers bindings. */
  Bindings: { SECRET?: string };
  /** Set by the session middleware. */
  Variables: { user: string };
}

/** Per-connection data of a chat socket. */
export interface ChatConnection {
  /** The signed-in name. */
  user: string;
  /** The room joined. */
  room: string;
}

const COOKIE = "chat_user";
const DEFAULT_ROOM = "lobby";
// Room names: letters and digits of any script, "_" and "-".
const ROOM_PATTERN = /^[\p{L}\p{N}_-]{1,32}$/u;
// Names: 1 to 32 characters, no control characters (they would break logs).
const CONTROL = /\p{Cc}/u;
/** Room for 2,000 characters even as JSON escapes; past it a chat socket closes 1009. */
export const MAX_FRAME = 64 * 1024;

/**
 * Makes a random cookie secret and warns that sessions will not survive a
 * restart.
 *
 * @returns 32 random bytes as hex.
 */
export function createRandomSecret(): string {
  console.warn(
    "chat: SECRET is not set; signing cookies with a random secret, so logins end when the server restarts",
  );
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * Reads a variable from the process environment on Deno, Node and Bun;
 * `undefined` on Workers or without permission.
 *
 * @param name The variable.
 * @returns Its value, if set.
 */
export function readEnv(name: string): string | undefined {
  const g = globalThis as {
    Deno?: { env: { get(name: string): string | undefined } };
    process?: { env?: Record<string, string | undefined> };
  };
  try {
    if (g.Deno) return g.Deno.env.get(name);
    return g.process?.env?.[name];
  } catch {
    return undefined;
  }
}

/**
 * Whether a name is acceptable: 1 to 32 characters, no control characters.
 *
 * @param name The name, trimmed.
 * @returns `true` if it may be used.
 */
export function isValidName(name: string): boolean {
  const length = [...name].length;
  return length >= 1 && length <= 32 && !CONTROL.test(name);
}

/**
 * Whether a room name is acceptable.
 *
 * @param room The room's name.
 * @returns `true` for 1 to 32 letters, digits, `_` or `-`.
 */
export function isValidRoom(room: string): boolean {
  return ROOM_PATTERN.test(room);
}

function isSameHost(origin: string, host: string): boolean {
  try {
    return new URL(origin).host === host;
  } catch {
    return false; // "null" from a sandboxed frame, or garbage
  }
}

/**
 * A chat socket as the room registry sees it. Frames broadcast before the
 * welcome went out wait, so the welcome is always the first thing a socket
 * gets, whatever the registry's timing.
 */
class ChatMember implements RoomMember {
  readonly name: string;
  readonly socket: RoomSocket | undefined;
  readonly #send: (frame: string) => void;
  #waiting: string[] | null = [];

  constructor(ws: WebSocketContext<ChatConnection>) {
    this.name = ws.data.user;
    this.#send = (frame) => ws.send(frame);
    // A resumable session subscribes itself: the room replays to it.
    this.socket = ws.protocol === RESUME_PROTOCOL ? ws : undefined;
  }

  deliver(frame: string): void {
    if (this.#waiting) this.#waiting.push(frame);
    else this.#send(frame);
  }

  start(welcome: string): void {
    this.#send(welcome);
    const waiting = this.#waiting ?? [];
    this.#waiting = null;
    for (const frame of waiting) this.#send(frame);
  }
}

/**
 * Builds the demo app.
 *
 * @param options Secret, registries, rate limit, log.
 * @returns The Hono app.
 *
 * @example
 * ```ts ignore
 * const connections = new ConnectionRegistry();
 * const app = createApp({ secret: "s3cret", connections });
 * Deno.serve(app.fetch);
 * ```
 */
export function createApp(options: ChatAppOptions = {}): Hono<ChatEnv> {
  const rooms = options.rooms ?? new TopicRooms({ replay: options.replay });
  const connections = options.connections ?? new ConnectionRegistry();
  const { limit = 20, window = 10_000 } = options.rateLimit ?? {};
  const limiter = new RateLimiter({ ...options.rateLimit, limit, window });
  const log = options.log ?? ((line: string) => console.log(line));
  let fallbackSecret: string | undefined;

  // Workers have no environment until a request brings its bindings, and
  // no randomness at load: hence per request, made once.
  const secretFor = (c: Context<ChatEnv>): string => {
    if (options.secret) return options.secret;
    const bound = (c.env as ChatEnv["Bindings"] | undefined)?.SECRET;
    if (typeof bound === "string" && bound !== "") return bound;
    return fallbackSecret ??= createRandomSecret();
  };

  const readUser = async (c: Context<ChatEnv>): Promise<string | undefined> => {
    const name = await getSignedCookie(c, secretFor(c), COOKIE);
    return typeof name === "string" && isValidName(name) ? name : undefined;
  };

  const requireUser: MiddlewareHandler<ChatEnv> = async (c, next) => {
    const user = await readUser(c);
    if (!user) return c.text("Unauthorized: log in at /\n", 401);
    // Cross-site WebSocket hijacking: a page elsewhere must not ride the cookie.
    const origin = c.req.header("origin");
    if (origin !== undefined && !isSameHost(origin, new URL(c.req.url).host)) {
      return c.text(`Forbidden: origin ${origin}\n`, 403);
    }
    c.set("user", user);
    await next();
  };

  /** Counts and logs a socket around the route's own handlers. */
  const track = <D>(
    route: string,
    user: string,
    events: WebSocketEvents<D>,
  ): WebSocketEvents<D> => {
    let openedAt = 0;
    return {
      ...events,
      onOpen(event, ws) {
        openedAt = Date.now();
        connections.add(ws);
        log(`ws open ${route} user=${JSON.stringify(user)} connections=${connections.size}`);
        return events.onOpen?.(event, ws);
      },
      onClose(event, ws) {
        connections.delete(ws);
        log(
          `ws close ${route} user=${JSON.stringify(user)} code=${event.code} duration=${
            Date.now() - openedAt
          }ms`,
        );
        return events.onClose?.(event, ws);
      },
    };
  };

  const app = new Hono<ChatEnv>();

  app.use("*", async (c, next) => {
    await next();
    if (c.res.status === 101) return;
    c.header("X-Content-Type-Options", "nosniff");
    if (c.res.headers.get("content-type")?.startsWith("text/html")) {
      c.header(
        "Content-Security-Policy",
        "default-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
      );
    }
  });

  app.get("/", async (c) => {
    const room = c.req.query("room") ?? DEFAULT_ROOM;
    if (!isValidRoom(room)) {
      return c.html(
        renderLoginPage({ error: "Room names are 1 to 32 letters, digits, _ or -." }),
        400,
      );
    }
    if (!await readUser(c)) {
      return c.html(renderLoginPage({ room: room === DEFAULT_ROOM ? undefined : room }));
    }
    return c.html(CHAT_PAGE);
  });

  app.get("/chat.js", (c) => {
    c.header("Content-Type", "text/javascript; charset=utf-8");
    return c.body(CHAT_SCRIPT);
  });
  app.get("/client.js", (c) => {
    c.header("Content-Type", "text/javascript; charset=utf-8");
    return c.body(CLIENT_BUNDLE);
  });
  app.get("/chat.css", (c) => {
    c.header("Content-Type", "text/css; charset=utf-8");
    return c.body(CHAT_CSS);
  });

  app.post("/login", async (c) => {
    const form = await c.req.parseBody();
    const name = typeof form.name === "string" ? form.name.trim() : "";
    const room = typeof form.room === "string" && isValidRoom(form.room) ? form.room : undefined;
    if (!isValidName(name)) {
      return c.html(
        renderLoginPage({
          room,
          error: "A name is 1 to 32 characters, without control characters.",
        }),
        400,
      );
    }
    await setSignedCookie(c, COOKIE, name, secretFor(c), {
      path: "/",
      httpOnly: true,
      sameSite: "Lax",
      secure: new URL(c.req.url).protocol === "https:",
      maxAge: 30 * 24 * 60 * 60,
    });
    return c.redirect(room ? `/?room=${encodeURIComponent(room)}` : "/", 303);
  });

  app.post("/logout", (c) => {
    deleteCookie(c, COOKIE, { path: "/" });
    return c.redirect("/", 303);
  });

  app.get("/me", async (c) => {
    const user = await readUser(c);
    return user ? c.json({ name: user }) : c.json({ error: "Not logged in" }, 401);
  });

  app.get("/healthz", (c) => c.json({ ok: true, connections: connections.size }));

  app.get(
    "/chat/:room",
    requireUser,
    async (c, next) => {
      if (!isValidRoom(c.req.param("room"))) {
        return c.text("Bad room name: 1 to 32 letters, digits, _ or -\n", 400);
      }
      await next();
    },
    options.chatSocket ?? upgradeWebSocket<ChatConnection, ChatEnv>((c) => {
      // This socket's (or resumable session's) place in its room, once joined.
      let member: ChatMember | undefined;
      let joined: Promise<void> = Promise.resolve();
      const enter = (ws: WebSocketContext<ChatConnection>) => {
        const { user, room } = ws.data;
        const self = member = new ChatMember(ws);
        joined = (async () => {
          const { online, history, arrived } = await rooms.join(room, self);
          self.start(JSON.stringify({ type: "welcome", room, you: user, online, history }));
          if (arrived) {
            await rooms.broadcast(room, { type: "join", name: user, online }, { except: self });
          }
        })();
        return joined;
      };
      return track(c.req.path, c.get("user"), {
        onOpen: (_event, ws) => enter(ws),
        async onMessage(event, ws) {
          // A session resumed here from another process: onOpen ran there.
          const entered = !member;
          if (entered) enter(ws);
          await joined;
          const { user, room } = ws.data;
          const refuse = (error: string) => ws.send(JSON.stringify({ type: "error", error }));
          const parsed = parseClientFrame(event.data);
          if ("error" in parsed) return refuse(parsed.error);
          if (parsed.type === "sync") {
            // What history could not replay: the room's state again.
            if (entered) return; // the welcome just went out
            if (!limiter.take(`\0sync ${user}`)) {
              return refuse(`Too many sync requests: at most ${limit} in ${window / 1000} seconds`);
            }
            const { online, history } = await rooms.join(room, member!);
            return ws.send(JSON.stringify({ type: "welcome", room, you: user, online, history }));
          }
          if (!limiter.take(user)) {
            return refuse(`Too many messages: at most ${limit} in ${window / 1000} seconds`);
          }
          const message = createChatMessage(user, parsed.text);
          await rooms.broadcast(room, message);
        },
        async onClose(_event, ws) {
          if (!member) return;
          await joined.catch(() => {});
          const { user, room } = ws.data;
          const { online, departed } = await rooms.leave(room, member);
          if (departed) await rooms.broadcast(room, { type: "leave", name: user, online });
        },
      });
    }, {
      data: (c) => ({ user: c.get("user"), room: c.req.param("room")! }),
      maxMessageSize: MAX_FRAME,
      resume: options.resume === false ? undefined : {
        // The logged-in user: a token never resumes another user's session.
        identify: (c) => c.get("user"),
        sessions: options.resume?.sessions,
        retention: options.resume?.retention,
        pubsub: rooms instanceof TopicRooms ? rooms.pubsub : undefined,
      },
    }),
  );

  // The echo app's routes, tracked like the chat's.
  const echo = upgradeWebSocket(
    async (c: Context<ChatEnv>) =>
      track("/echo", await readUser(c) ?? "-", {
        onMessage(event, ws) {
          ws.send(event.data as string | ArrayBuffer);
        },
      }),
    { protocols: ["echo", "chat"], maxMessageSize: MAX_MESSAGE_SIZE },
  );
  app.get("/echo", echo);
  for (const path of ["/foo", "/bar"]) {
    const greeting = path.slice(1);
    app.get(
      path,
      upgradeWebSocket(async (c: Context<ChatEnv>) =>
        track(path, await readUser(c) ?? "-", { onOpen: (_e, ws) => ws.send(greeting) })
      ),
    );
  }

  return app;
}

/** The app with its defaults: `deno serve examples/app.ts`, or a Worker. */
const app: Hono<ChatEnv> = createApp({ secret: readEnv("SECRET") });
export default app;
