import { MessageBuffer } from "./_message_buffer.ts";
import { CloseCode } from "./close_code.ts";
import type { DeflateEngine, DeflateStream } from "./deflate_engine.ts";
import { DEFAULT_MAX_MESSAGE_SIZE } from "./frame_decoder.ts";
import type {
  PerMessageDeflateAgreement,
  PerMessageDeflateNegotiation,
} from "./negotiate_per_message_deflate.ts";
import { ProtocolError } from "./protocol_error.ts";

/** permessage-deflate settings: what to negotiate, and how to compress. */
export interface PerMessageDeflateOptions extends PerMessageDeflateNegotiation {
  /** Messages smaller than this many bytes go uncompressed (default 1,024). */
  threshold?: number;
  /** zlib level, 0 to 9 (default -1: zlib's 6). */
  level?: number;
  /** zlib memLevel, 1 to 9 (default 8). */
  memLevel?: number;
}

/** Options for {@linkcode PerMessageDeflate}. */
export interface PerMessageDeflateInit {
  /** Where DEFLATE comes from. */
  engine: DeflateEngine;
  /** `"server"` (default) or `"client"`: which side's parameters are ours. */
  role?: "server" | "client";
  /** Messages smaller than this many bytes go uncompressed (default 1,024). */
  threshold?: number;
  /** zlib level (default -1: zlib's 6). */
  level?: number;
  /** zlib memLevel (default 8). */
  memLevel?: number;
  /** Largest message once inflated (default 64 MiB); over it: 1009. */
  maxMessageSize?: number;
}

/**
 * The threshold below which a message is sent uncompressed, by default.
 *
 * @example
 * ```ts
 * import { DEFAULT_COMPRESSION_THRESHOLD } from "@edgesocket/edgesocket/codec";
 * console.log(DEFAULT_COMPRESSION_THRESHOLD); // 1024
 * ```
 */
export const DEFAULT_COMPRESSION_THRESHOLD = 1024;

// RFC 7692 §7.2.2: the sync flush's empty stored block, removed by the sender.
const TAIL = new Uint8Array([0x00, 0x00, 0xff, 0xff]);
const EMPTY = new Uint8Array(0);

// Streams without context takeover are reset after every message, and the
// codec is synchronous: one stream per setting serves every connection, so
// those connections hold no zlib memory of their own.
const shared = new WeakMap<DeflateEngine, Map<string, DeflateStream>>();

function sharedStream(
  engine: DeflateEngine,
  key: string,
  create: () => DeflateStream,
): DeflateStream {
  let streams = shared.get(engine);
  if (!streams) shared.set(engine, streams = new Map());
  let stream = streams.get(key);
  if (!stream) streams.set(key, stream = create());
  return stream;
}

/**
 * One connection's permessage-deflate (RFC 7692): compresses outgoing
 * messages and inflates incoming ones, keeping or resetting each side's
 * context as agreed. Its zlib streams are made on first use, so a
 * connection that never sends a large message holds no compressor.
 * Inflation stops as soon as the output passes `maxMessageSize` (1009): a
 * bomb is never inflated past the limit.
 *
 * @example The RFC 7692 §7.2.3.2 messages that share a context, inflated
 * ```ts
 * import { PerMessageDeflate } from "@edgesocket/edgesocket/codec";
 * import { nodeDeflateEngine } from "@edgesocket/edgesocket/node";
 * const pmd = new PerMessageDeflate({
 *   serverNoContextTakeover: false,
 *   clientNoContextTakeover: false,
 *   serverMaxWindowBits: 15,
 *   clientMaxWindowBits: 15,
 * }, { engine: nodeDeflateEngine });
 * const text = new TextDecoder();
 * const first = pmd.decompress(new Uint8Array([0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]), true);
 * const second = pmd.decompress(new Uint8Array([0xf2, 0x00, 0x11, 0x00, 0x00]), true);
 * console.log(text.decode(first!), text.decode(second!)); // "Hello Hello"
 * pmd.close();
 * ```
 */
export class PerMessageDeflate {
  /** Messages smaller than this many bytes are sent uncompressed. */
  readonly threshold: number;
  #engine: DeflateEngine;
  #deflateBits: number;
  #deflateNoContext: boolean;
  #inflateBits: number;
  #inflateNoContext: boolean;
  #level: number;
  #memLevel: number;
  #maxMessageSize: number;
  #deflater: DeflateStream | null = null;
  #inflater: DeflateStream | null = null;
  // For decompress(): the message under way, inflated so far.
  #message: MessageBuffer | null = null;
  // The inflated bytes of the message under way, against maxMessageSize.
  #size = 0;
  #inMessage = false;

  /**
   * Creates the instance.
   *
   * @param agreement The negotiated parameters.
   * @param init The engine, role, threshold and limits.
   */
  constructor(
    agreement: Omit<PerMessageDeflateAgreement, "response">,
    init: PerMessageDeflateInit,
  ) {
    const server = (init.role ?? "server") === "server";
    this.#engine = init.engine;
    this.threshold = init.threshold ?? DEFAULT_COMPRESSION_THRESHOLD;
    this.#level = init.level ?? -1;
    this.#memLevel = init.memLevel ?? 8;
    this.#maxMessageSize = init.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE;
    // zlib has no 256-byte deflate window: 8 means 9 (RFC 7692 §7.1.2.2
    // lets a sender use less than agreed, never more; 9 stays within 15).
    this.#deflateBits = Math.max(
      9,
      server ? agreement.serverMaxWindowBits : agreement.clientMaxWindowBits,
    );
    this.#deflateNoContext = server
      ? agreement.serverNoContextTakeover
      : agreement.clientNoContextTakeover;
    // A peer on zlib told 8 compresses with 9: inflate with at least that.
    this.#inflateBits = Math.max(
      9,
      server ? agreement.clientMaxWindowBits : agreement.serverMaxWindowBits,
    );
    this.#inflateNoContext = server
      ? agreement.clientNoContextTakeover
      : agreement.serverNoContextTakeover;
  }

  /**
   * Compresses one whole message, without the final `00 00 ff ff`
   * (RFC 7692 §7.2.1). Send it with RSV1 set on its first frame.
   *
   * @param data The message's bytes.
   * @returns The compressed payload.
   */
  compress(data: Uint8Array): Uint8Array {
    // RFC 7692 §7.2.3.6: an empty message is the one octet 0x00. zlib
    // would give nothing at all after a flush (it skips a second flush in
    // a row), and an empty payload inflates, with the tail appended, to a
    // broken block that fails the peer's next message.
    if (data.length === 0) return new Uint8Array(1);
    let stream: DeflateStream;
    if (this.#deflateNoContext) {
      const bits = this.#deflateBits, level = this.#level, memLevel = this.#memLevel;
      stream = sharedStream(
        this.#engine,
        `deflate ${bits} ${level} ${memLevel}`,
        () => this.#engine.createDeflate({ windowBits: bits, level, memLevel }),
      );
    } else {
      stream = this.#deflater ??= this.#engine.createDeflate({
        windowBits: this.#deflateBits,
        level: this.#level,
        memLevel: this.#memLevel,
      });
    }
    const out = stream.write(data) as Uint8Array;
    if (this.#deflateNoContext) stream.reset();
    return out.subarray(0, out.length - 4);
  }

  /**
   * Inflates one frame of a compressed message; fragments may come one at
   * a time, each inflated as it arrives.
   *
   * @param payload The frame's payload.
   * @param fin Whether it is the message's last frame.
   * @returns The whole inflated message on its last frame, `null` before.
   * @throws {ProtocolError} 1009 once the inflated message passes the
   * limit; 1007 for data that does not inflate.
   */
  decompress(payload: Uint8Array, fin: boolean): Uint8Array | null {
    const single = fin && !this.#inMessage;
    const out = this.inflateFrame(payload, fin);
    if (single) return out;
    const message = this.#message ??= new MessageBuffer(this.#maxMessageSize);
    message.append(out);
    if (!fin) return null;
    this.#message = null;
    return message.take();
  }

  /**
   * Inflates one frame of a compressed message and returns that frame's
   * output alone, for a caller that puts the message together itself (and
   * checks a text message's UTF-8 as it is inflated). The budget of
   * `maxMessageSize` runs across the message's frames.
   *
   * @param payload The frame's payload.
   * @param fin Whether it is the message's last frame.
   * @returns What this frame inflates to (on the first frame of one, the
   * whole message); the bytes are the caller's.
   * @throws {ProtocolError} 1009 once the inflated message passes the
   * limit; 1007 for data that does not inflate.
   *
   * @example A message in two fragments, inflated frame by frame
   * ```ts
   * import { PerMessageDeflate } from "@edgesocket/edgesocket/codec";
   * import { nodeDeflateEngine } from "@edgesocket/edgesocket/node";
   * const pmd = new PerMessageDeflate({
   *   serverNoContextTakeover: false,
   *   clientNoContextTakeover: false,
   *   serverMaxWindowBits: 15,
   *   clientMaxWindowBits: 15,
   * }, { engine: nodeDeflateEngine });
   * const head = pmd.inflateFrame(new Uint8Array([0xf2, 0x48, 0xcd]), false);
   * const tail = pmd.inflateFrame(new Uint8Array([0xc9, 0xc9, 0x07, 0x00]), true);
   * console.log(head.length + tail.length); // 5 ("Hello")
   * pmd.close();
   * ```
   */
  inflateFrame(payload: Uint8Array, fin: boolean): Uint8Array {
    const single = fin && !this.#inMessage;
    const isShared = single && this.#inflateNoContext;
    const stream = isShared
      ? sharedStream(
        this.#engine,
        `inflate ${this.#inflateBits}`,
        () => this.#engine.createInflate({ windowBits: this.#inflateBits }),
      )
      : this.#inflater ??= this.#engine.createInflate({ windowBits: this.#inflateBits });
    this.#inMessage = !fin;
    let out: Uint8Array;
    try {
      out = payload.length > 0 ? this.#inflate(stream, payload) : EMPTY;
      // RFC 7692 §7.2.2: append the tail the sender removed, unless the
      // payload ended the DEFLATE stream (BFINAL, §7.2.3.4): the tail would
      // begin the next message's fresh stream with a broken block.
      if (fin && !(payload.length > 0 && stream.ended)) {
        const last = this.#inflate(stream, TAIL);
        if (last.length > 0) out = out.length > 0 ? join(out, last) : last;
      }
    } catch (error) {
      this.#message = null;
      this.#size = 0;
      this.#inMessage = false;
      if (isShared) stream.reset();
      else {
        stream.close();
        this.#inflater = null;
      }
      throw error;
    }
    if (fin) {
      this.#size = 0;
      if (isShared || this.#inflateNoContext) stream.reset();
    }
    return out;
  }

  /** Releases this connection's zlib streams; call when it closes. */
  close(): void {
    this.#deflater?.close();
    this.#inflater?.close();
    this.#deflater = null;
    this.#inflater = null;
    this.#message = null;
  }

  // Inflates with what is left of the message's budget: the count is kept
  // while inflating, so a bomb stops at the limit, not after.
  #inflate(stream: DeflateStream, input: Uint8Array): Uint8Array {
    let out: Uint8Array | null;
    try {
      out = stream.write(input, this.#maxMessageSize - this.#size);
    } catch {
      throw new ProtocolError(CloseCode.InvalidPayload, "Invalid compressed data");
    }
    if (out === null) {
      throw new ProtocolError(
        CloseCode.MessageTooBig,
        `Message over the ${this.#maxMessageSize}-byte limit once inflated`,
      );
    }
    this.#size += out.length;
    return out;
  }
}

function join(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
