/** What the sweeper needs of a connection. */
export interface IdleWatched {
  /** When the peer last sent anything, from `Date.now()`. */
  readonly lastReceived: number;
  /** Sends a ping. */
  ping(): void;
  /** Drops the connection (1006). */
  terminate(): void;
}

// One timer per distinct timeout, not one per connection: 10,000 idle
// sockets cost 10,000 set entries, not 10,000 timers.
const sweeps = new Map<
  number,
  { members: Set<IdleWatched>; timer: ReturnType<typeof setInterval> }
>();

/**
 * Watches a connection: every half `timeout` a peer silent that long is
 * pinged, and one silent for the whole `timeout` is dropped.
 *
 * @param connection The connection.
 * @param timeout The idle timeout in ms (> 0).
 */
export function watchIdle(connection: IdleWatched, timeout: number): void {
  let sweep = sweeps.get(timeout);
  if (!sweep) {
    const members = new Set<IdleWatched>();
    const timer = setInterval(() => sweepOnce(members, timeout), Math.max(1, timeout / 2));
    sweeps.set(timeout, sweep = { members, timer });
  }
  sweep.members.add(connection);
}

/**
 * Stops watching a connection (on close).
 *
 * @param connection The connection.
 * @param timeout The timeout it was watched with.
 */
export function unwatchIdle(connection: IdleWatched, timeout: number): void {
  const sweep = sweeps.get(timeout);
  if (!sweep) return;
  sweep.members.delete(connection);
  if (sweep.members.size === 0) {
    clearInterval(sweep.timer);
    sweeps.delete(timeout);
  }
}

function sweepOnce(members: Set<IdleWatched>, timeout: number): void {
  const now = Date.now();
  const half = timeout / 2;
  for (const connection of [...members]) {
    const silent = now - connection.lastReceived;
    if (silent >= timeout) connection.terminate();
    else if (silent >= half - 1) connection.ping();
  }
}
