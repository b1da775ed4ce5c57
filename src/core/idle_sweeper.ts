/** What the sweeper needs of a connection. */
export interface IdleWatched {
  /**
   * Called on every sweep, every half timeout: the connection counts the
   * sweeps since its peer last sent anything, pings at the second and
   * drops at the third.
   */
  onIdleSweep(): void;
}

// One timer per distinct timeout, not one per connection: 10,000 idle
// sockets cost 10,000 set entries, not 10,000 timers.
const sweeps = new Map<
  number,
  { members: Set<IdleWatched>; timer: ReturnType<typeof setInterval> }
>();

/**
 * Watches a connection: every half `timeout` it is told of a sweep, and so
 * pings a peer silent for half the timeout (at most the whole) and drops
 * one silent for the whole timeout (at most one and a half).
 *
 * @param connection The connection.
 * @param timeout The idle timeout in ms (> 0).
 */
export function watchIdle(connection: IdleWatched, timeout: number): void {
  let sweep = sweeps.get(timeout);
  if (!sweep) {
    const members = new Set<IdleWatched>();
    const timer = setInterval(() => sweepOnce(timeout), Math.max(1, timeout / 2));
    sweeps.set(timeout, sweep = { members, timer });
  } else if (sweep.members.size === 0) setTimerRef(sweep.timer, true);
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
  // Emptied, the timer stays for the next connection, unref'd so that it
  // holds no process open; the sweep that still finds no one clears it. A
  // timer made and cleared whenever a server's last connection closes cost
  // a handshake under churn a tenth of its JavaScript.
  if (sweep.members.size === 0) setTimerRef(sweep.timer, false);
}

function sweepOnce(timeout: number): void {
  const sweep = sweeps.get(timeout);
  if (!sweep) return;
  const members = sweep.members;
  if (members.size === 0) {
    clearInterval(sweep.timer);
    sweeps.delete(timeout);
    return;
  }
  // A copy: a dropped connection leaves the set while it is walked.
  for (const connection of [...members]) connection.onIdleSweep();
}

// Node's and Bun's timers are objects with ref() and unref(); Deno's are
// numbers, for Deno.refTimer() and Deno.unrefTimer(). Elsewhere (Workers)
// nothing outlives its request anyway.
function setTimerRef(timer: ReturnType<typeof setInterval>, ref: boolean): void {
  if (typeof timer === "object" && timer !== null) {
    const t = timer as { ref?: () => void; unref?: () => void };
    if (ref) t.ref?.();
    else t.unref?.();
    return;
  }
  const deno = (globalThis as {
    Deno?: { refTimer?: (id: number) => void; unrefTimer?: (id: number) => void };
  }).Deno;
  if (ref) deno?.refTimer?.(timer as number);
  else deno?.unrefTimer?.(timer as number);
}
