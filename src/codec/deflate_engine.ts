/**
 * A raw DEFLATE stream (RFC 1951, no zlib header) that works synchronously:
 * each `write()` consumes all its input and ends with a sync flush, so the
 * output of a compressing stream ends with `00 00 ff ff` (RFC 7692 §7.2.1).
 */
export interface DeflateStream {
  /**
   * Compresses or inflates `input`, then sync-flushes.
   *
   * @param input The bytes.
   * @param maxOutput Stop once the output would pass this many bytes
   * (inflation's bomb guard); the stream must be reset or closed after.
   * Inflating, the input past the end of a DEFLATE stream (a block with
   * BFINAL set, RFC 7692 §7.2.3.4) is dropped, {@linkcode DeflateStream.ended} says so,
   * and the next write starts a fresh stream.
   *
   * @returns All the output, or `null` when it passed `maxOutput`.
   * @throws {Error} When inflating bytes that are not valid DEFLATE data.
   */
  write(input: Uint8Array, maxOutput?: number): Uint8Array | null;
  /**
   * Whether the last `write()` reached the end of a DEFLATE stream (a
   * block with BFINAL set) and dropped what followed it: the next write
   * starts a fresh stream. An engine without it is taken never to end one.
   */
  readonly ended?: boolean;
  /** Forgets the sliding window: the next write starts a fresh context. */
  reset(): void;
  /** Releases the stream's memory now; it is not used again. */
  close(): void;
}

/** How to compress, for {@linkcode DeflateEngine.createDeflate}. */
export interface DeflateStreamOptions {
  /** LZ77 window: 2^windowBits bytes, 9 to 15. */
  windowBits: number;
  /** zlib level, 0 (none) to 9 (best); -1, the default, is zlib's 6. */
  level?: number;
  /** zlib memLevel, 1 to 9 (default 8): memory per stream against ratio. */
  memLevel?: number;
}

/**
 * Where the codec gets DEFLATE from. The codec imports no runtime: an
 * adapter supplies this (on Node and Deno's `node:http`, over `node:zlib`),
 * and permessage-deflate is negotiated only where one is given.
 *
 * @example A pass-through engine shape (a real one wraps zlib)
 * ```ts
 * import type { DeflateEngine, DeflateStream } from "@edgesocket/edgesocket/codec";
 * const stream: DeflateStream = { write: (input) => input, reset() {}, close() {} };
 * const engine: DeflateEngine = {
 *   createDeflate: () => stream,
 *   createInflate: () => stream,
 * };
 * console.log(typeof engine.createDeflate); // "function"
 * ```
 */
export interface DeflateEngine {
  /**
   * Creates a compressing stream.
   *
   * @param options Window, level and memory.
   * @returns The stream.
   */
  createDeflate(options: DeflateStreamOptions): DeflateStream;
  /**
   * Creates an inflating stream.
   *
   * @param options The window (2^windowBits bytes, 8 to 15).
   * @returns The stream.
   */
  createInflate(options: { windowBits: number }): DeflateStream;
}
