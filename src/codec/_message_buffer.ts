/**
 * Where a fragmented message is put together. Its cost is bounded by the
 * message's size, whatever the number of fragments: nothing is kept per
 * fragment, and nothing is copied twice while the message grows.
 *
 * The bytes go into blocks, each at least as large as all the blocks before
 * it together (and at least {@linkcode MIN_BLOCK}): a message of `n` bytes
 * holds at most `max(2n, n + MIN_BLOCK)` bytes of blocks, in at most
 * `2 + log2(n / MIN_BLOCK)` of them. Each byte is copied once into a block,
 * and once more into the message at the end when there are several blocks;
 * a message that fills its one block exactly is handed on as it is. No block
 * reaches past the size limit.
 *
 * @module
 */

/** The smallest block: small messages fit in one. */
export const MIN_BLOCK = 1024;

const EMPTY = new Uint8Array(0);

/** Puts a message together from its fragments' payloads. */
export class MessageBuffer {
  #limit: number;
  // The full blocks, only once there are two or more.
  #full: Uint8Array[] | null = null;
  #block: Uint8Array = EMPTY;
  #fill = 0;
  #size = 0;
  #capacity = 0;

  /**
   * Creates the instance.
   *
   * @param limit The largest message (blocks never reach past it).
   */
  constructor(limit: number) {
    this.#limit = limit;
  }

  /** The bytes appended since the last `take()`. */
  get size(): number {
    return this.#size;
  }

  /** The bytes of blocks held: at most `max(2 × size, size + MIN_BLOCK)`. */
  get capacity(): number {
    return this.#capacity;
  }

  /**
   * Copies a fragment's payload to the end of the message.
   *
   * @param part The bytes; not kept.
   */
  append(part: Uint8Array): void {
    const length = part.length;
    for (let from = 0; from < length;) {
      let room = this.#block.length - this.#fill;
      if (room === 0) room = this.addBlock(length - from);
      const take = Math.min(room, length - from);
      this.#block.set(take === length ? part : part.subarray(from, from + take), this.#fill);
      this.#fill += take;
      this.#size += take;
      from += take;
    }
  }

  /**
   * Hands on the message and starts empty. The bytes are the caller's.
   *
   * @returns The message: one block or a view of it, else the blocks joined.
   */
  take(): Uint8Array {
    const full = this.#full;
    let message: Uint8Array;
    if (full === null) {
      message = this.#fill === this.#block.length
        ? this.#block
        : this.#block.subarray(0, this.#fill);
    } else {
      message = new Uint8Array(this.#size);
      let at = 0;
      for (const block of full) {
        message.set(block, at);
        at += block.length;
      }
      message.set(this.#block.subarray(0, this.#fill), at);
    }
    this.clear();
    return message;
  }

  /** Drops what was appended. */
  clear(): void {
    this.#full = null;
    this.#block = EMPTY;
    this.#fill = 0;
    this.#size = 0;
    this.#capacity = 0;
  }

  // The next block, once the others are full: as large as all of them
  // together (the doubling that keeps the count logarithmic), or as `need`,
  // and not past the limit.
  // Its helpers are TypeScript-private, not #private: an instance's #method
  // costs every instance a brand slot (8 bytes each on Node).
  private addBlock(need: number): number {
    if (this.#block.length > 0) (this.#full ??= []).push(this.#block);
    const held = this.#capacity;
    const length = Math.max(need, Math.min(Math.max(MIN_BLOCK, held), this.#limit - held));
    this.#block = new Uint8Array(length);
    this.#fill = 0;
    this.#capacity = held + length;
    return length;
  }
}
