/**
 * Write batching across sockets. While one read is handled (a WebSocket
 * frame, a Redis message) it may write to many sockets: a topic's
 * fan-out. Transports that can hold writes (Node's `cork()`) hold them
 * until the batch ends, so all that one read causes leaves in one `writev`
 * per socket instead of one write syscall per frame.
 *
 * @example What a reader does
 * ```ts ignore
 * socket.on("data", (chunk) => {
 *   beginWriteBatch();
 *   try {
 *     handle(chunk);
 *   } finally {
 *     endWriteBatch();
 *   }
 * });
 * ```
 *
 * @module
 */

let depth = 0;
const flushes = new Set<() => void>();

/** Starts a batch; batches nest, and the outermost one flushes. */
export function beginWriteBatch(): void {
  depth++;
}

/** Ends a batch: at the outermost, runs every flush registered in it. */
export function endWriteBatch(): void {
  if (--depth > 0 || flushes.size === 0) return;
  const pending = [...flushes];
  flushes.clear();
  for (const flush of pending) flush();
}

/**
 * Whether a batch is running: writes may be held until it ends.
 *
 * @returns `true` inside a batch.
 */
export function isWriteBatch(): boolean {
  return depth > 0;
}

/**
 * Registers a function to run when the current batch ends (once, however
 * often it is registered).
 *
 * @param flush Releases what was held.
 */
export function onWriteBatchEnd(flush: () => void): void {
  flushes.add(flush);
}
