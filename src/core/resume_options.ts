import type { PubSub } from "./pub_sub.ts";
import type { SessionStore } from "./session_store.ts";

/**
 * The `resume` option of a route: it answers clients that offer
 * `edgesocket.resume.v1` with resumable sessions, and everyone else as a
 * plain route. Which topics replay is `pubsub.useHistory()`'s choice, not
 * the route's: a publication is numbered wherever it is published from.
 *
 * @example
 * ```ts ignore
 * app.get("/chat", auth, upgradeWebSocket(() => events, {
 *   resume: { identify: (c) => c.get("user").id, retention: 60_000 },
 * }));
 * ```
 */
export interface ResumeOptions<C = unknown> {
  /**
   * What the upgrade was authenticated as (a user id), from the route's
   * context after its middleware ran: a token resumes only a session made
   * for the same value. Without it every upgrade is the same "" and the
   * token alone resumes.
   */
  identify?: (c: C) => string | Promise<string>;
  /** Where sessions are kept between connections (default: this process's memory). */
  sessions?: SessionStore;
  /**
   * The topics the route's sessions subscribe and publish on, with their
   * history (default `defaultPubSub`). A Durable Object gives its own: the
   * isolate it runs in may hold other objects, whose sockets it must not
   * touch, and its history lives in its own storage.
   */
  pubsub?: PubSub;
  /** How long a disconnected session waits for its client, in ms (default 120,000). */
  retention?: number;
  /**
   * Whether a disconnected session waits on a timer (default `true`), so
   * that `onClose` runs when `retention` passes. `false` sets none, for a
   * Durable Object, where a pending timer keeps the object in memory and
   * its storage keeps the session anyway: the record's `expires` ends the
   * session (a later hello gets a fresh one), and `onClose` runs for it when
   * the route next sees it expired (at a hello, or when another session
   * drops), or never if the object was evicted first.
   */
  expiryTimer?: boolean;
  /**
   * Most disconnected sessions waiting in this process (default 10,000):
   * past it the one waiting longest ends (`onClose`, 1006).
   */
  maxWaitingSessions?: number;
  /** A socket that sends no `hello` within this many ms is closed 1008 (default 10,000). */
  helloTimeout?: number;
  /**
   * Bytes queued on a socket past which a live publication closes it 1013
   * instead of queueing more (default 1 MiB); the client resumes and
   * catches up from history, so nothing is skipped.
   */
  highWaterMark?: number;
}
