/**
 * What resume needs of a Durable Object, given to `DurableObjectWebSockets`
 * (its history and session stores, which topics are resumable, how long a
 * dropped session waits), and what each of its routes adds (who the upgrade
 * was authenticated as).
 *
 * @module
 */
import type { DurableObjectHistoryStore } from "./durable_object_history_store.ts";
import type { DurableObjectSessionStore } from "./durable_object_session_store.ts";

/**
 * The `resume` option of `DurableObjectWebSockets`: where the object keeps what resume needs.
 *
 * @example
 * ```ts ignore
 * const resume: DurableObjectResumeOptions = {
 *   history: new DurableObjectHistoryStore(ctx.storage),
 *   sessions: new DurableObjectSessionStore(ctx.storage),
 *   topics: (topic) => topic.startsWith("room:"),
 * };
 * const sockets = new DurableObjectWebSockets(ctx, events, { resume });
 * ```
 */
export interface DurableObjectResumeOptions {
  /** The object's history (`new DurableObjectHistoryStore(ctx.storage)`). */
  history: DurableObjectHistoryStore;
  /** The object's sessions (`new DurableObjectSessionStore(ctx.storage)`). */
  sessions: DurableObjectSessionStore;
  /** Which topics are resumable (default: all of them). */
  topics?: (topic: string) => boolean;
  /** How long a dropped session waits for its client, in ms (default 120,000). */
  retention?: number;
  /** A socket that sends no `hello` within this many ms is closed 1008 (default 10,000). */
  helloTimeout?: number;
}

/**
 * The resume side of a route of `DurableObjectWebSockets.upgradeWebSocket()`.
 *
 * @example
 * ```ts ignore
 * const resume: DurableObjectRouteResume<Context> = { identify: (c) => c.get("user") };
 * app.get("/ws", sockets.upgradeWebSocket({ resume }));
 * ```
 */
export interface DurableObjectRouteResume<C> {
  /**
   * What the upgrade was authenticated as, from the route's context after
   * its middleware ran: a token resumes only a session made for the same
   * value (default: `""`, the token alone resumes).
   */
  identify?: (c: C) => string | Promise<string>;
}
