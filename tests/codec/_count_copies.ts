/**
 * Counts the bytes the code under test copies with `Uint8Array#set()`, the
 * one way the codec copies payloads (`subarray()` copies nothing).
 */

/** What {@linkcode countCopies} saw. */
export interface Copies {
  /** Calls of `set()`. */
  calls: number;
  /** Bytes they copied. */
  bytes: number;
}

/**
 * Runs `work` with `Uint8Array.prototype.set` counted, then restores it.
 *
 * @param work The code to measure.
 * @returns The calls and bytes copied.
 */
export function countCopies(work: () => void): Copies {
  const copies: Copies = { calls: 0, bytes: 0 };
  const original = Uint8Array.prototype.set;
  Uint8Array.prototype.set = function (
    this: Uint8Array,
    source: ArrayLike<number>,
    offset?: number,
  ) {
    copies.calls++;
    copies.bytes += source.length;
    return original.call(this, source, offset);
  };
  try {
    work();
  } finally {
    Uint8Array.prototype.set = original;
  }
  return copies;
}
