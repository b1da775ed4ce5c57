/**
 * What the sweeper needs of a connection. The watched connections of one
 * timeout are a list through these links, not a Set: a Set's table, and
 * the tables it outgrows on the way to 10,000 entries, cost each idle
 * connection some 100 bytes on Node against the links' 16.
 */
export interface IdleWatched {
  /**
   * Called on every sweep, every half timeout: the connection counts the
   * sweeps since its peer last sent anything, pings at the second and
   * drops at the third.
   */
  onIdleSweep(): void;
  /** The sweeper's link to the connection watched after it; `null` when none. */
  idlePrev: IdleWatched | null;
  /** The sweeper's link to the connection watched before it; `null` when none. */
  idleNext: IdleWatched | null;
}

interface Sweep {
  first: IdleWatched | null;
  size: number;
  timer: ReturnType<typeof setInterval>;
}

// One timer per distinct timeout, not one per connection: 10,000 idle
// sockets cost 10,000 pairs of links, not 10,000 timers.
const sweeps = new Map<number, Sweep>();

/**
 * Watches a connection: every half `timeout` it is told of a sweep, and so
 * pings a peer silent for half the timeout (at most the whole) and drops
 * one silent for the whole timeout (at most one and a half).
 *
 * @param connection The connection, not watched yet.
 * @param timeout The idle timeout in ms (> 0).
 */
export function watchIdle(connection: IdleWatched, timeout: number): void {
  let sweep = sweeps.get(timeout);
  if (!sweep) {
    const timer = setInterval(() => sweepOnce(timeout), Math.max(1, timeout / 2));
    sweeps.set(timeout, sweep = { first: null, size: 0, timer });
  } else if (sweep.size === 0) setTimerRef(sweep.timer, true);
  if (connection.idlePrev !== null || sweep.first === connection) return;
  connection.idleNext = sweep.first;
  if (sweep.first) sweep.first.idlePrev = connection;
  sweep.first = connection;
  sweep.size++;
}

/**
 * Stops watching a connection (on close).
 *
 * @param connection The connection.
 * @param timeout The timeout it was watched with.
 */
export function unwatchIdle(connection: IdleWatched, timeout: number): void {
  const sweep = sweeps.get(timeout);
  if (!sweep || (connection.idlePrev === null && sweep.first !== connection)) return;
  const { idlePrev: prev, idleNext: next } = connection;
  if (prev) prev.idleNext = next;
  else sweep.first = next;
  if (next) next.idlePrev = prev;
  connection.idlePrev = connection.idleNext = null;
  // Emptied, the timer stays for the next connection, unref'd so that it
  // holds no process open; the sweep that still finds no one clears it. A
  // timer made and cleared whenever a server's last connection closes cost
  // a handshake under churn a tenth of its JavaScript.
  if (--sweep.size === 0) setTimerRef(sweep.timer, false);
}

function sweepOnce(timeout: number): void {
  const sweep = sweeps.get(timeout);
  if (!sweep) return;
  if (sweep.size === 0) {
    clearInterval(sweep.timer);
    sweeps.delete(timeout);
    return;
  }
  // The next link is read first: a connection the sweep drops leaves the
  // list as it is walked. One whose handler closes another ends this
  // sweep early; the next sweep sees the rest.
  for (let connection = sweep.first; connection;) {
    const next = connection.idleNext;
    connection.onIdleSweep();
    connection = next;
  }
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
