import { CloseCode } from "./close_code.ts";
import { applyMask } from "./mask.ts";
import { Opcode } from "./opcode.ts";
import { ProtocolError } from "./protocol_error.ts";

/** Where {@linkcode FrameDecoder} delivers what it reads. */
export interface FrameHandler {
  /**
   * A data frame. `opcode` is the message's (text or binary) for every
   * fragment; `first` and `fin` tell where in the message it stands; `rsv1`
   * is the message's RSV1 (compressed, RFC 7692).
   */
  onData(
    payload: Uint8Array,
    opcode: number,
    first: boolean,
    fin: boolean,
    rsv1: boolean,
  ): void;
  /** A close, ping or pong frame; may arrive between fragments. */
  onControl(opcode: number, payload: Uint8Array): void;
  /**
   * Optional: the payload bytes of a text frame still arriving, unmasked, as
   * each chunk brings them (a frame whole in one chunk has none). They are a
   * prefix of the payload `onData` gets when the frame completes. The
   * message's UTF-8 can be checked here, to fail as soon as a bad byte
   * arrives (RFC 6455 §8.1); a throw fails the decoder like its own errors.
   * `opcode` is always text (`0x1`), for continuations too.
   */
  onDataPart?(part: Uint8Array, opcode: number, rsv1: boolean): void;
}

/** Options for {@linkcode FrameDecoder}. */
export interface FrameDecoderOptions {
  /** `"server"` expects masked frames, `"client"` unmasked ones. */
  role: "server" | "client";
  /** Largest message, across all its fragments (default 64 MiB). */
  maxMessageSize?: number;
  /**
   * Most fragments in one message; `0`, the default, sets no limit. A
   * message costs its size and a constant whatever its fragment count, so
   * `maxMessageSize` is what bounds memory; this stays for peers that want a
   * count too.
   */
  maxFragments?: number;
  /** Whether RSV1 was negotiated (permessage-deflate). */
  allowRsv1?: boolean;
}

/**
 * The default largest message: 64 MiB.
 *
 * @example
 * ```ts
 * import { DEFAULT_MAX_MESSAGE_SIZE } from "@edgesocket/edgesocket/codec";
 * console.log(DEFAULT_MAX_MESSAGE_SIZE / 1024 / 1024); // 64
 * ```
 */
export const DEFAULT_MAX_MESSAGE_SIZE = 64 * 1024 * 1024;
/**
 * The default most fragments in one message: `0`, no limit. A fragment
 * costs a frame header on the wire and constant work, and nothing is kept
 * per fragment, so the count needs no cap of its own (Autobahn 9.3.1 sends
 * 4 MiB in 65,536 fragments).
 *
 * @example
 * ```ts
 * import { DEFAULT_MAX_FRAGMENTS } from "@edgesocket/edgesocket/codec";
 * console.log(DEFAULT_MAX_FRAGMENTS); // 0
 * ```
 */
export const DEFAULT_MAX_FRAGMENTS = 0;

const HEADER = 0;
const PAYLOAD = 1;
const FAILED = 2;
const EMPTY = new Uint8Array(0);
const MAX_SAFE_HIGH = 0x1fffff; // high 32 bits of Number.MAX_SAFE_INTEGER
// The frame's flags: FIN where the first header byte has it, MASK where the
// second has it (shifted up a byte), and whether it starts its message.
const FIN = 0x80;
const MASKED = 0x8000;
const FIRST = 0x10000;
// RSV1 where the first header byte has it.
const RSV1_BIT = 0x40;

// A decoder's role and limits.
interface DecoderSettings {
  readonly expectMask: boolean;
  readonly allowRsv1: boolean;
  readonly maxMessageSize: number;
  readonly maxFragments: number;
}

// The settings objects made so far, by their values: a server has a few
// distinct limits (its routes'), so this stays small; past SETTINGS_LIMIT
// distinct ones a decoder gets its own.
const settingsMade = new Map<string, DecoderSettings>();
const SETTINGS_LIMIT = 256;
let lastSettings: DecoderSettings = {
  expectMask: true,
  allowRsv1: false,
  maxMessageSize: DEFAULT_MAX_MESSAGE_SIZE,
  maxFragments: Infinity,
};

function decoderSettings(options: FrameDecoderOptions): DecoderSettings {
  const expectMask = options.role === "server";
  const allowRsv1 = options.allowRsv1 ?? false;
  const maxMessageSize = options.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE;
  const fragments = options.maxFragments ?? DEFAULT_MAX_FRAGMENTS;
  const maxFragments = fragments > 0 ? fragments : Infinity;
  // Most upgrades are alike: the last settings, before any key is built.
  const last = lastSettings;
  if (
    last.expectMask === expectMask && last.allowRsv1 === allowRsv1 &&
    last.maxMessageSize === maxMessageSize && last.maxFragments === maxFragments
  ) return last;
  const key = `${+expectMask}${+allowRsv1} ${maxMessageSize} ${maxFragments}`;
  let settings = settingsMade.get(key);
  if (settings === undefined) {
    settings = Object.freeze({ expectMask, allowRsv1, maxMessageSize, maxFragments });
    if (settingsMade.size < SETTINGS_LIMIT) settingsMade.set(key, settings);
  }
  return lastSettings = settings;
}

/**
 * An incremental RFC 6455 frame decoder. Fed any chunking, from one byte at a
 * time to megabytes, it resumes mid-header and mid-payload. Payloads that lie
 * inside one chunk are delivered as views of it, unmasked in place: `push()`
 * takes ownership of the chunks it is given. Every limit is checked on the
 * header, before anything is allocated.
 *
 * @example Decoding the RFC 6455 §5.7 masked "Hello"
 * ```ts
 * import { FrameDecoder } from "@edgesocket/edgesocket/codec";
 * const decoder = new FrameDecoder({
 *   onData: (payload) => console.log(new TextDecoder().decode(payload)), // "Hello"
 *   onControl: () => {},
 * }, { role: "server" });
 * decoder.push(new Uint8Array([0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58]));
 * ```
 */
export class FrameDecoder {
  #handler: FrameHandler;
  // Role and limits, one object shared by every decoder made alike: each
  // field costs an idle connection 8 bytes on Node.
  #settings: DecoderSettings;

  #state = HEADER;
  // Only for a header split across chunks; most connections never need it.
  #header: Uint8Array | null = null;
  #headerFill = 0;

  // The frame under way: its FIN, MASK and "first of its message" bits.
  #flags = 0;
  #opcode = 0;
  // The key as a number: a 4-byte typed array costs ~200 bytes a decoder.
  #maskKey = 0;
  #length = 0;
  #payload: Uint8Array = EMPTY;
  #payloadFill = 0;

  // The message under way: its opcode, with RSV1_BIT when it is compressed.
  #message = 0;
  #messageSize = 0;
  #fragments = 0;

  /**
   * Creates the instance.
   *
   * @param handler Receives frames as they complete.
   * @param options Role and limits.
   */
  constructor(handler: FrameHandler, options: FrameDecoderOptions) {
    this.#handler = handler;
    this.#settings = decoderSettings(options);
  }

  /** The largest message it accepts, in bytes, across all its fragments. */
  get maxMessageSize(): number {
    return this.#settings.maxMessageSize;
  }

  /** Whether a frame or a fragmented message is part-way through. */
  get isMidMessage(): boolean {
    return this.#state !== HEADER || this.#headerFill > 0 || this.#message !== 0;
  }

  /**
   * Feeds bytes. Complete frames go to the handler before it returns.
   *
   * @param chunk The bytes; the decoder may unmask them in place and keep views.
   * @throws {ProtocolError} On the first violation; later input is ignored.
   */
  push(chunk: Uint8Array): void {
    if (this.#state === FAILED) return;
    try {
      this.decode(chunk);
    } catch (error) {
      this.#state = FAILED;
      throw error;
    }
  }

  // Its helpers are TypeScript-private, not #private: an instance's #method
  // costs every instance a brand slot (8 bytes each on Node).
  /** Decodes a chunk; push() marks the decoder failed when this throws. */
  private decode(chunk: Uint8Array): void {
    const end = chunk.length;
    let pos = 0;
    while (pos < end) {
      if (this.#state === HEADER) {
        if (this.#headerFill === 0 && end - pos >= 2) {
          const need = this.headerSize(chunk[pos], chunk[pos + 1]);
          if (end - pos >= need) {
            this.readHeader(chunk, pos);
            pos += need;
            pos = this.startPayload(chunk, pos);
            continue;
          }
        }
        pos = this.fillHeader(chunk, pos);
        continue;
      }
      // PAYLOAD, across chunk boundaries: copy into the owned buffer. A
      // text frame is unmasked piece by piece, for onDataPart(); the others
      // at once at the end, which is cheaper for many small pieces.
      const at = this.#payloadFill;
      const take = Math.min(end - pos, this.#length - at);
      this.#payload.set(chunk.subarray(pos, pos + take), at);
      const inPieces = this.#opcode === Opcode.Text && this.#handler.onDataPart !== undefined;
      const masked = (this.#flags & MASKED) !== 0;
      const part = inPieces ? this.#payload.subarray(at, at + take) : EMPTY;
      if (inPieces && masked) applyMask(part, keyBytes(this.#maskKey), at);
      this.#payloadFill = at + take;
      pos += take;
      if (this.#payloadFill === this.#length) {
        const payload = this.#payload;
        this.#payload = EMPTY;
        this.#state = HEADER;
        if (!inPieces && masked) applyMask(payload, keyBytes(this.#maskKey));
        this.deliverUnmasked(payload);
      } else if (inPieces) {
        this.#handler.onDataPart!(part, Opcode.Text, (this.#message & RSV1_BIT) !== 0);
      }
    }
  }

  /** Gathers a header split across chunks; returns where it stopped. */
  private fillHeader(chunk: Uint8Array, pos: number): number {
    const header = this.#header ??= new Uint8Array(14);
    if (this.#headerFill < 2) {
      header[this.#headerFill++] = chunk[pos++];
      if (this.#headerFill < 2) return pos;
    }
    // Even at the chunk's end: the two bytes may be the whole header (an
    // empty unmasked frame, a server's `81 00` or `88 00`), which must not
    // wait for the next chunk, and they are checked now, not later.
    const need = this.headerSize(header[0], header[1]);
    const take = Math.min(need - this.#headerFill, chunk.length - pos);
    header.set(chunk.subarray(pos, pos + take), this.#headerFill);
    this.#headerFill += take;
    pos += take;
    if (this.#headerFill === need) {
      this.#headerFill = 0;
      this.readHeader(header, 0);
      pos = this.startPayload(chunk, pos);
    }
    return pos;
  }

  /** Validates the first two bytes and returns the whole header's size. */
  private headerSize(b0: number, b1: number): number {
    const opcode = b0 & 0x0f;
    const fin = (b0 & 0x80) !== 0;
    if (b0 & 0x30) fail(CloseCode.ProtocolError, "Reserved bits RSV2/RSV3 set");
    if (b0 & 0x40) {
      if (!this.#settings.allowRsv1) {
        fail(CloseCode.ProtocolError, "RSV1 set without an extension");
      }
      if (opcode !== Opcode.Text && opcode !== Opcode.Binary) {
        fail(
          CloseCode.ProtocolError,
          "RSV1 set on a frame that does not start a message",
        );
      }
    }
    const len7 = b1 & 0x7f;
    switch (opcode) {
      case Opcode.Continuation:
        if (this.#message === 0) {
          fail(
            CloseCode.ProtocolError,
            "Continuation frame without a message to continue",
          );
        }
        break;
      case Opcode.Text:
      case Opcode.Binary:
        if (this.#message !== 0) {
          fail(
            CloseCode.ProtocolError,
            "New data frame inside a fragmented message",
          );
        }
        break;
      case Opcode.Close:
      case Opcode.Ping:
      case Opcode.Pong:
        if (!fin) fail(CloseCode.ProtocolError, "Fragmented control frame");
        if (len7 > 125) {
          fail(CloseCode.ProtocolError, "Control frame payload over 125 bytes");
        }
        // §5.5.1: a close body is empty or starts with a 2-byte code. Failed
        // at the header, as ws does, not after waiting for the one byte.
        if (opcode === Opcode.Close && len7 === 1) {
          fail(CloseCode.ProtocolError, "Close payload of 1 byte");
        }
        break;
      default:
        fail(
          CloseCode.ProtocolError,
          `Reserved opcode 0x${opcode.toString(16)}`,
        );
    }
    const masked = (b1 & 0x80) !== 0;
    if (masked !== this.#settings.expectMask) {
      fail(
        CloseCode.ProtocolError,
        masked ? "Masked frame from the server" : "Unmasked frame from the client",
      );
    }
    return (len7 < 126 ? 2 : len7 === 126 ? 4 : 10) + (masked ? 4 : 0);
  }

  /** Reads a whole header and checks the message's limits. */
  private readHeader(buf: Uint8Array, at: number): void {
    const b0 = buf[at];
    const b1 = buf[at + 1];
    const opcode = b0 & 0x0f;
    // FIN as b0 has it, MASK as b1 has it; FIRST is added below.
    let flags = (b0 & FIN) | ((b1 << 8) & MASKED);
    let length = b1 & 0x7f;
    let p = at + 2;
    if (length === 126) {
      length = (buf[p] << 8) | buf[p + 1];
      p += 2;
    } else if (length === 127) {
      const high = ((buf[p] << 24) | (buf[p + 1] << 16) | (buf[p + 2] << 8) |
        buf[p + 3]) >>> 0;
      const low = ((buf[p + 4] << 24) | (buf[p + 5] << 16) |
        (buf[p + 6] << 8) | buf[p + 7]) >>> 0;
      if (high > MAX_SAFE_HIGH) {
        fail(CloseCode.MessageTooBig, "Frame length above 2^53-1");
      }
      length = high * 0x100000000 + low;
      p += 8;
    }
    if (flags & MASKED) {
      this.#maskKey = (buf[p] << 24) | (buf[p + 1] << 16) | (buf[p + 2] << 8) | buf[p + 3];
    }
    this.#length = length;
    if (opcode >= Opcode.Close) {
      this.#flags = flags;
      this.#opcode = opcode;
      return;
    }
    if (opcode === Opcode.Continuation) {
      this.#messageSize += length;
      this.#fragments++;
    } else {
      flags |= FIRST;
      this.#message = opcode | (b0 & RSV1_BIT);
      this.#messageSize = length;
      this.#fragments = 1;
    }
    this.#flags = flags;
    this.#opcode = this.#message & 0x0f;
    const settings = this.#settings;
    if (this.#messageSize > settings.maxMessageSize) {
      fail(
        CloseCode.MessageTooBig,
        `Message over the ${settings.maxMessageSize}-byte limit`,
      );
    }
    if (this.#fragments > settings.maxFragments) {
      fail(
        CloseCode.MessageTooBig,
        `Message over the ${settings.maxFragments}-fragment limit`,
      );
    }
  }

  /** Delivers a payload whole in the chunk, or starts gathering it. */
  private startPayload(chunk: Uint8Array, pos: number): number {
    const length = this.#length;
    if (length === 0) {
      this.deliverUnmasked(EMPTY);
      return pos;
    }
    if (chunk.length - pos >= length) {
      const payload = chunk.subarray(pos, pos + length);
      if (this.#flags & MASKED) applyMask(payload, keyBytes(this.#maskKey));
      this.deliverUnmasked(payload);
      return pos + length;
    }
    this.#payload = new Uint8Array(length);
    this.#payloadFill = 0;
    this.#state = PAYLOAD;
    return pos;
  }

  /** Hands a frame's unmasked payload to the handler. */
  private deliverUnmasked(payload: Uint8Array): void {
    const opcode = this.#opcode;
    if (opcode >= Opcode.Close) {
      this.#handler.onControl(opcode, payload);
      return;
    }
    const flags = this.#flags;
    const fin = (flags & FIN) !== 0;
    const rsv1 = (this.#message & RSV1_BIT) !== 0;
    if (fin) {
      this.#message = 0;
      this.#messageSize = 0;
      this.#fragments = 0;
    }
    this.#handler.onData(payload, opcode, (flags & FIRST) !== 0, fin, rsv1);
  }
}

// One key buffer for all decoders: applyMask is synchronous.
const KEY = new Uint8Array(4);
function keyBytes(key: number): Uint8Array {
  KEY[0] = key >>> 24;
  KEY[1] = (key >>> 16) & 0xff;
  KEY[2] = (key >>> 8) & 0xff;
  KEY[3] = key & 0xff;
  return KEY;
}

function fail(code: number, message: string): never {
  throw new ProtocolError(code, message);
}
