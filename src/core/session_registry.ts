import { CloseCode } from "../codec/mod.ts";

/**
 * What the registry needs of an open session. The open sessions are a list
 * through these links, not a Set: a Set's table, and the tables it outgrows
 * on the way to 10,000 entries, cost each idle connection some 100 bytes
 * on Node against the links' 16.
 */
export interface TrackedSession {
  /** Closes with a library code (1001 going away). */
  closeWith(code: number, reason: string): void;
  /** Drops the socket without a handshake, where the runtime can. */
  terminate(): void;
  /** The registry's link to the session opened after it; `null` when none. */
  registryPrev: TrackedSession | null;
  /** The registry's link to the session opened before it; `null` when none. */
  registryNext: TrackedSession | null;
}

let first: TrackedSession | null = null;
let count = 0;
const waiters = new Set<() => void>();

function isTracked(session: TrackedSession): boolean {
  return session.registryPrev !== null || first === session;
}

/**
 * Notes an open session (the session does it on open).
 *
 * @param session The session.
 */
export function trackSession(session: TrackedSession): void {
  if (isTracked(session)) return;
  session.registryNext = first;
  if (first) first.registryPrev = session;
  first = session;
  count++;
}

/**
 * Forgets a closed session (the session does it on close).
 *
 * @param session The session.
 */
export function untrackSession(session: TrackedSession): void {
  if (!isTracked(session)) return;
  const { registryPrev: prev, registryNext: next } = session;
  if (prev) prev.registryNext = next;
  else first = next;
  if (next) next.registryPrev = prev;
  session.registryPrev = session.registryNext = null;
  if (--count === 0) {
    for (const wake of waiters) wake();
  }
}

/**
 * The number of open WebSocket connections in this process (or isolate).
 *
 * @returns The count.
 *
 * @example
 * ```ts
 * import { openConnectionCount } from "@edgesocket/edgesocket";
 * console.log(openConnectionCount()); // 0
 * ```
 */
export function openConnectionCount(): number {
  return count;
}

/** Options for {@linkcode closeAllConnections}. */
export interface CloseAllOptions {
  /** Wait this long for the peers' close frames, in ms (default 5,000). */
  timeout?: number;
  /** The close code (default 1001, Going Away). */
  code?: number;
  /** The close reason (default "Server shutting down"). */
  reason?: string;
}

/**
 * Graceful shutdown of every socket: sends 1001 (Going Away) to every open
 * connection, waits for their close frames up to the timeout, then drops
 * the rest. Stop accepting new connections first (close the server).
 *
 * @param options Timeout, code and reason.
 * @returns How many closed cleanly and how many were dropped.
 *
 * @example
 * ```ts
 * import { closeAllConnections } from "@edgesocket/edgesocket";
 * const { closed, dropped } = await closeAllConnections({ timeout: 1000 });
 * console.log(closed, dropped); // 0 0
 * ```
 */
export async function closeAllConnections(
  options: CloseAllOptions = {},
): Promise<{ closed: number; dropped: number }> {
  const sessions: TrackedSession[] = [];
  for (let session = first; session; session = session.registryNext) sessions.push(session);
  for (const session of sessions) {
    session.closeWith(
      options.code ?? CloseCode.GoingAway,
      options.reason ?? "Server shutting down",
    );
  }
  if (count > 0) {
    let wake: () => void = () => {};
    const done = new Promise<void>((resolve) => (wake = resolve));
    waiters.add(wake);
    const timer = setTimeout(wake, options.timeout ?? 5000);
    await done;
    clearTimeout(timer);
    waiters.delete(wake);
  }
  const left = sessions.filter(isTracked);
  for (const session of left) {
    session.terminate();
    untrackSession(session);
  }
  return { closed: sessions.length - left.length, dropped: left.length };
}
