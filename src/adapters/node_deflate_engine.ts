/**
 * permessage-deflate's DEFLATE over `node:zlib`, synchronous, with context
 * kept between messages: on Node 20+ and on Deno's `node:zlib`.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import zlib from "node:zlib";
import type { DeflateEngine, DeflateStream, DeflateStreamOptions } from "../codec/mod.ts";

// The part of a zlib stream's native handle this file drives. `node:zlib`
// has no public synchronous call that keeps the stream open: `deflateRawSync`
// starts a new context each time and `_processChunk` without a callback
// closes the stream when it returns. `handle.writeSync()` is what both use
// inside, on Node and on Deno.
interface ZlibHandle {
  writeSync(
    flush: number,
    input: Uint8Array,
    inOffset: number,
    inLength: number,
    output: Uint8Array,
    outOffset: number,
    outLength: number,
  ): void;
  reset(): void;
  onerror: (message: string, errno: number) => void;
}

interface ZlibInternals {
  _handle: ZlibHandle | null;
  // [output space left, input left] after each writeSync.
  _writeState: Uint32Array;
  close(): void;
}

const SYNC_FLUSH = zlib.constants.Z_SYNC_FLUSH;
// One output buffer for every stream: writes are synchronous. Each write's
// output is copied out of it, so it is never handed on.
const SCRATCH_SIZE = 64 * 1024;
let scratch: Buffer | undefined;
let scratchView: Uint8Array | undefined;

class NodeDeflateStream implements DeflateStream {
  #stream: ZlibInternals;
  #handle: ZlibHandle;
  #error: string | undefined;
  ended = false;

  constructor(stream: ZlibInternals) {
    this.#stream = stream;
    this.#handle = stream._handle as ZlibHandle;
    // Errors come back here synchronously, instead of destroying the stream.
    this.#handle.onerror = (message) => {
      this.#error = message;
    };
  }

  write(input: Uint8Array, maxOutput = Infinity): Uint8Array | null {
    const handle = this.#handle;
    const state = this.#stream._writeState;
    if (scratch === undefined) {
      scratch = Buffer.allocUnsafe(SCRATCH_SIZE);
      scratchView = new Uint8Array(scratch.buffer, scratch.byteOffset, SCRATCH_SIZE);
    }
    const out = scratch;
    let inOffset = 0;
    let inLength = input.length;
    let first: Uint8Array | undefined;
    let rest: Uint8Array[] | undefined;
    let total = 0;
    this.#error = undefined;
    this.ended = false;
    for (;;) {
      handle.writeSync(SYNC_FLUSH, input, inOffset, inLength, out, 0, SCRATCH_SIZE);
      if (this.#error !== undefined) throw new Error(`zlib: ${this.#error}`);
      const outLeft = state[0];
      const inLeft = state[1];
      const have = SCRATCH_SIZE - outLeft;
      if (have > 0) {
        total += have;
        // Counted as it is produced: an inflation bomb stops here.
        if (total > maxOutput) return null;
        // A plain Uint8Array, not a Buffer: what the codec hands on.
        const chunk = (scratchView as Uint8Array).slice(0, have);
        if (first === undefined) first = chunk;
        else (rest ??= []).push(chunk);
      }
      inOffset += inLength - inLeft;
      inLength = inLeft;
      // Output space left over: zlib has flushed everything.
      if (outLeft !== 0) {
        // And input left over: the DEFLATE stream ended (a block with
        // BFINAL set, RFC 7692 §7.2.3.4) and zlib takes nothing past it.
        // What follows is dropped and the next write starts a new stream,
        // as ws does: without the reset every later message would inflate
        // to nothing.
        this.ended = inLeft !== 0;
        if (this.ended) handle.reset();
        break;
      }
    }
    if (first === undefined) return new Uint8Array(0);
    if (rest === undefined) return first;
    const joined = new Uint8Array(total);
    joined.set(first);
    let at = first.length;
    for (const chunk of rest) {
      joined.set(chunk, at);
      at += chunk.length;
    }
    return joined;
  }

  reset(): void {
    this.#handle.reset();
  }

  close(): void {
    this.#stream.close();
  }
}

/**
 * The {@linkcode DeflateEngine} the Node adapter gives the codec: raw
 * DEFLATE from `node:zlib`, driven synchronously so that the codec stays
 * synchronous and each inflated byte is counted as zlib produces it.
 *
 * @example Compress "Hello" as RFC 7692 §7.2.3.1 shows it
 * ```ts
 * import { nodeDeflateEngine } from "@edgesocket/edgesocket/node";
 * const deflate = nodeDeflateEngine.createDeflate({ windowBits: 15 });
 * const out = deflate.write(new TextEncoder().encode("Hello"))!;
 * console.log(out.subarray(0, out.length - 4)); // Uint8Array(7) [ 242, 72, 205, 201, 201, 7, 0 ]
 * deflate.close();
 * ```
 */
export const nodeDeflateEngine: DeflateEngine = {
  createDeflate(options: DeflateStreamOptions): DeflateStream {
    return new NodeDeflateStream(
      zlib.createDeflateRaw({
        windowBits: options.windowBits,
        level: options.level ?? zlib.constants.Z_DEFAULT_COMPRESSION,
        memLevel: options.memLevel ?? 8,
      }) as unknown as ZlibInternals,
    );
  },
  createInflate(options: { windowBits: number }): DeflateStream {
    return new NodeDeflateStream(
      zlib.createInflateRaw({ windowBits: options.windowBits }) as unknown as ZlibInternals,
    );
  },
};
