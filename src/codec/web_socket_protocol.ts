import { MessageBuffer } from "./_message_buffer.ts";
import { CloseCode, isValidWireCloseCode } from "./close_code.ts";
import { encodeClosePayload, encodeFrame } from "./frame_encoder.ts";
import { FrameDecoder, type FrameDecoderOptions } from "./frame_decoder.ts";
import { Opcode } from "./opcode.ts";
import type { PerMessageDeflate } from "./per_message_deflate.ts";
import { ProtocolError } from "./protocol_error.ts";
import { Utf8State, validateUtf8 } from "./validate_utf8.ts";

/** What {@linkcode WebSocketProtocol} reports, and where its bytes go. */
export interface ProtocolHandler {
  /** Bytes to send, in order (a frame may be a header and a payload). */
  write(chunks: Uint8Array[]): void;
  /** A complete text message. */
  onText(text: string): void;
  /** A complete binary message: a view, valid until the next `receive()`. */
  onBinary(data: Uint8Array): void;
  /** A ping arrived (already answered when `autoPong` is on). */
  onPing?(payload: Uint8Array): void;
  /** A pong arrived. */
  onPong?(payload: Uint8Array): void;
  /**
   * The closing handshake completed (`wasClean`), or the connection failed
   * (`wasClean` false, with the code sent). The transport should end now.
   */
  onClose(code: number, reason: string, wasClean: boolean): void;
}

/** Options for {@linkcode WebSocketProtocol}. */
export interface WebSocketProtocolOptions extends Omit<FrameDecoderOptions, "role"> {
  /** `"server"` (default) or `"client"`, which masks what it sends. */
  role?: "server" | "client";
  /** Answer pings with pongs (default `true`). */
  autoPong?: boolean;
  /**
   * The negotiated permessage-deflate (RFC 7692), if any: RSV1 is then
   * allowed, compressed messages are inflated, and messages at or above its
   * threshold are sent compressed.
   */
  perMessageDeflate?: PerMessageDeflate;
  /**
   * Where outgoing frames' bytes come from (default `new Uint8Array`): a
   * pool, such as Node's `Buffer.allocUnsafe`, saves a fresh buffer per
   * frame. Every byte it hands out is written.
   */
  allocate?: (size: number) => Uint8Array;
}

/**
 * The protocol's state, as WHATWG `readyState` counts it.
 *
 * @example
 * ```ts
 * import { ProtocolState } from "@edgesocket/edgesocket/codec";
 * console.log(ProtocolState.Open); // 1
 * ```
 */
export const ProtocolState = {
  /** Open: messages flow both ways. */
  Open: 1,
  /** A close frame was sent; waiting for the peer's. */
  Closing: 2,
  /** Closed or failed: input is ignored. */
  Closed: 3,
} as const;

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const encoder = new TextEncoder();

type EncodeOptions = { readonly mask: boolean; readonly allocate?: (size: number) => Uint8Array };
const MASKED: EncodeOptions = { mask: true };
const UNMASKED: EncodeOptions = { mask: false };
// One options object per allocator and role, shared by every connection
// that uses them: a per-connection object would cost its bytes on each.
const byAllocator = new WeakMap<(size: number) => Uint8Array, [EncodeOptions, EncodeOptions]>();

function encodeOptionsOf(
  mask: boolean,
  allocate: ((size: number) => Uint8Array) | undefined,
): EncodeOptions {
  if (allocate === undefined) return mask ? MASKED : UNMASKED;
  let pair = byAllocator.get(allocate);
  if (!pair) {
    pair = [{ mask: false, allocate }, { mask: true, allocate }];
    byAllocator.set(allocate, pair);
  }
  return pair[mask ? 1 : 0];
}

/**
 * A sans-I/O RFC 6455 endpoint: bytes in through `receive()`, messages and
 * outgoing bytes out through a {@linkcode ProtocolHandler}. It reassembles
 * fragments at a cost bounded by the message's size (nothing kept per
 * fragment), checks a text message's UTF-8 as its bytes arrive (1007 at the
 * first bad byte, even mid-frame; a compressed one's as it is inflated),
 * answers pings and runs the closing handshake; it has no sockets and no
 * timers (the caller times the wait for the peer's close).
 *
 * @example An echo endpoint over any byte stream
 * ```ts
 * import { WebSocketProtocol } from "@edgesocket/edgesocket/codec";
 * const sent: Uint8Array[] = [];
 * const ws: WebSocketProtocol = new WebSocketProtocol({
 *   write: (chunks) => sent.push(...chunks),
 *   onText: (text) => ws.sendText(text),
 *   onBinary: (data) => ws.sendBinary(data),
 *   onClose: () => {},
 * });
 * ws.receive(new Uint8Array([0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58]));
 * console.log(sent[0]); // Uint8Array(7) [ 129, 5, 72, 101, 108, 108, 111 ]
 * ```
 */
export class WebSocketProtocol {
  #handler: ProtocolHandler;
  #decoder: FrameDecoder;
  // Masking (client role) and the allocator, in one shared object.
  #encodeOptions: EncodeOptions;
  #autoPong: boolean;
  #state: number = ProtocolState.Open;
  // The fragmented message under way: made on its first fragment, dropped
  // when it ends.
  #message: MessageBuffer | null = null;
  // The text message under way: its UTF-8 state, and how much of the
  // frame under way onDataPart() has checked.
  #utf8: number = Utf8State.Complete;
  #checked = 0;
  #deflate: PerMessageDeflate | null;

  /**
   * Creates the instance.
   *
   * @param handler Receives messages and the bytes to send.
   * @param options Role, limits and ping handling.
   */
  constructor(
    handler: ProtocolHandler,
    options: WebSocketProtocolOptions = {},
  ) {
    this.#handler = handler;
    const role = options.role ?? "server";
    this.#encodeOptions = encodeOptionsOf(role === "client", options.allocate);
    this.#autoPong = options.autoPong ?? true;
    this.#deflate = options.perMessageDeflate ?? null;
    // The decoder's four options by name: a spread of all of them cost
    // each upgrade a copy of every field.
    this.#decoder = new FrameDecoder(this, {
      role,
      maxMessageSize: options.maxMessageSize,
      maxFragments: options.maxFragments,
      allowRsv1: options.allowRsv1 ?? this.#deflate !== null,
    });
  }

  /** `1` open, `2` closing, `3` closed. */
  get state(): number {
    return this.#state;
  }

  /**
   * Feeds bytes from the transport. A protocol violation fails the
   * connection with its close code; input after that is ignored.
   *
   * @param chunk The bytes; the protocol takes ownership of them.
   */
  receive(chunk: Uint8Array): void {
    if (this.#state === ProtocolState.Closed) return;
    try {
      this.#decoder.push(chunk);
    } catch (error) {
      if (!(error instanceof ProtocolError)) throw error;
      this.fail(error.closeCode, error.message);
    }
  }

  /** Whether a frame or a fragmented message is part-way through. */
  get isMidMessage(): boolean {
    return this.#decoder.isMidMessage;
  }

  /**
   * Sends a text message.
   *
   * @param text The message.
   * @param compress `false` sends it uncompressed; otherwise it is compressed
   * when permessage-deflate was agreed and it reaches the threshold (as `ws`).
   */
  sendText(text: string, compress?: boolean): void {
    if (this.#state !== ProtocolState.Open) return;
    const bytes = encoder.encode(text);
    if (this.#deflate !== null && compress !== false && bytes.length >= this.#deflate.threshold) {
      this.sendCompressed(Opcode.Text, bytes, this.#deflate);
      return;
    }
    this.#handler.write(encodeFrame(Opcode.Text, bytes, this.#encodeOptions));
  }

  /**
   * Sends a binary message: exactly the view's bytes.
   *
   * @param data The message.
   * @param compress `false` sends it uncompressed (see {@linkcode sendText}).
   */
  sendBinary(data: Uint8Array, compress?: boolean): void {
    if (this.#state !== ProtocolState.Open) return;
    if (this.#deflate !== null && compress !== false && data.length >= this.#deflate.threshold) {
      this.sendCompressed(Opcode.Binary, data, this.#deflate);
      return;
    }
    this.#handler.write(encodeFrame(Opcode.Binary, data, this.#encodeOptions));
  }

  // RFC 7692 §6.1: one frame, RSV1 set, the payload without its tail.
  // Its helpers are TypeScript-private, not #private: an instance's #method
  // costs every instance a brand slot (8 bytes each on Node).
  /** Sends a message through permessage-deflate. */
  private sendCompressed(
    opcode: number,
    data: Uint8Array,
    deflate: PerMessageDeflate,
  ): void {
    this.#handler.write(
      encodeFrame(opcode, deflate.compress(data), { ...this.#encodeOptions, rsv1: true }),
    );
  }

  /**
   * Sends one frame, for callers that encode their own payloads (a
   * compressed message, a fragment).
   *
   * @param opcode The opcode.
   * @param payload The payload.
   * @param options FIN and RSV1.
   */
  sendFrame(
    opcode: number,
    payload: Uint8Array,
    options: { fin?: boolean; rsv1?: boolean } = {},
  ): void {
    if (this.#state !== ProtocolState.Open) return;
    this.#handler.write(
      encodeFrame(opcode, payload, { ...options, ...this.#encodeOptions }),
    );
  }

  /**
   * Sends a ping.
   *
   * @param payload At most 125 bytes.
   * @throws {RangeError} When the payload is over 125 bytes.
   */
  ping(payload: Uint8Array = new Uint8Array(0)): void {
    if (payload.length > 125) {
      throw new RangeError("Ping payload must be at most 125 bytes");
    }
    this.sendFrame(Opcode.Ping, payload);
  }

  /**
   * Starts the closing handshake: sends a close frame and waits for the
   * peer's (the caller times the wait).
   *
   * @param code The close code, or none.
   * @param reason At most 123 UTF-8 bytes.
   * @throws {RangeError} When the reason is over 123 UTF-8 bytes.
   */
  close(code?: number, reason = ""): void {
    const payload = encodeClosePayload(code, reason);
    if (this.#state !== ProtocolState.Open) return;
    this.#handler.write(
      encodeFrame(Opcode.Close, payload, this.#encodeOptions),
    );
    this.#state = ProtocolState.Closing;
  }

  /**
   * Fails the connection (RFC 6455 §7.1.7): sends a close frame with the code
   * if none was sent yet, ignores further input, and reports `onClose` with
   * `wasClean` false.
   *
   * @param code The close code to send.
   * @param reason Why, for the peer and the log.
   */
  fail(code: number, reason: string): void {
    if (this.#state === ProtocolState.Closed) return;
    if (this.#state === ProtocolState.Open) {
      const text = encoder.encode(reason).length <= 123 ? reason : "";
      this.#handler.write(
        encodeFrame(Opcode.Close, encodeClosePayload(code, text), this.#encodeOptions),
      );
    }
    this.#state = ProtocolState.Closed;
    this.#message = null;
    this.#deflate?.close();
    this.#handler.onClose(code, reason, false);
  }

  /**
   * The transport ended, or the wait for the peer's close ran out: reports
   * 1006 (closed abnormally) unless already closed.
   */
  abort(): void {
    if (this.#state === ProtocolState.Closed) return;
    this.#state = ProtocolState.Closed;
    this.#message = null;
    this.#deflate?.close();
    this.#handler.onClose(CloseCode.Abnormal, "", false);
  }

  /** @internal FrameHandler: the part of a text frame that has arrived. */
  onDataPart(part: Uint8Array, opcode: number, rsv1: boolean): void {
    // Compressed bytes say nothing about UTF-8 until inflated.
    if (opcode !== Opcode.Text || rsv1 || this.#state === ProtocolState.Closed) return;
    this.#utf8 = checkUtf8(part, this.#utf8);
    this.#checked += part.length;
  }

  /** @internal FrameHandler: one data frame. */
  onData(
    payload: Uint8Array,
    opcode: number,
    first: boolean,
    fin: boolean,
    rsv1: boolean,
  ): void {
    if (this.#state === ProtocolState.Closed) return;
    let bytes = payload;
    // What onDataPart() checked of this frame, if it was not inflated.
    let checked = this.#checked;
    this.#checked = 0;
    if (rsv1) {
      // Only set when negotiated: the decoder refuses RSV1 otherwise.
      bytes = this.#deflate!.inflateFrame(payload, fin);
      checked = 0;
    }
    if (first && fin) {
      // One native pass decodes and checks a whole message at once.
      this.#utf8 = Utf8State.Complete;
      if (opcode === Opcode.Text) this.#handler.onText(decodeText(bytes));
      else this.#handler.onBinary(bytes);
      return;
    }
    if (opcode === Opcode.Text) {
      // Each fragment as it comes, a code point split across fragments
      // carried over: a bad sequence fails at once.
      const state = checkUtf8(checked > 0 ? bytes.subarray(checked) : bytes, this.#utf8);
      if (fin && state !== Utf8State.Complete) {
        throw new ProtocolError(CloseCode.InvalidPayload, "Invalid UTF-8 in text: truncated");
      }
      this.#utf8 = state;
    }
    const message = this.#message ??= new MessageBuffer(this.#decoder.maxMessageSize);
    message.append(bytes);
    if (!fin) return;
    this.#message = null;
    const data = message.take();
    if (opcode === Opcode.Text) this.#handler.onText(decodeText(data));
    else this.#handler.onBinary(data);
  }

  /** @internal FrameHandler: one control frame. */
  onControl(opcode: number, payload: Uint8Array): void {
    if (this.#state === ProtocolState.Closed) return;
    if (opcode === Opcode.Ping) {
      if (this.#autoPong && this.#state === ProtocolState.Open) {
        this.sendFrame(Opcode.Pong, payload);
      }
      this.#handler.onPing?.(payload);
    } else if (opcode === Opcode.Pong) {
      this.#handler.onPong?.(payload);
    } else {
      this.receiveClose(payload);
    }
  }

  /** Handles the peer's close frame: validates it and answers it. */
  private receiveClose(payload: Uint8Array): void {
    let code: number = CloseCode.NoStatus;
    let reason = "";
    if (payload.length === 1) {
      throw new ProtocolError(
        CloseCode.ProtocolError,
        "Close payload of 1 byte",
      );
    }
    if (payload.length >= 2) {
      code = (payload[0] << 8) | payload[1];
      if (!isValidWireCloseCode(code)) {
        throw new ProtocolError(
          CloseCode.ProtocolError,
          `Invalid close code ${code}`,
        );
      }
      reason = decodeText(payload.subarray(2));
    }
    if (this.#state === ProtocolState.Open) {
      // RFC 6455 §5.5.1: answer with a close echoing the code (and, as
      // browsers, Deno and Bun do, the reason).
      this.#handler.write(
        encodeFrame(
          Opcode.Close,
          encodeClosePayload(code === CloseCode.NoStatus ? undefined : code, reason),
          this.#encodeOptions,
        ),
      );
    }
    this.#state = ProtocolState.Closed;
    this.#message = null;
    this.#deflate?.close();
    this.#handler.onClose(code, reason, true);
  }
}

function decodeText(bytes: Uint8Array): string {
  try {
    return utf8.decode(bytes);
  } catch {
    throw new ProtocolError(CloseCode.InvalidPayload, "Invalid UTF-8 in text");
  }
}

function checkUtf8(bytes: Uint8Array, state: number): number {
  const next = validateUtf8(bytes, state);
  if (next === Utf8State.Invalid) {
    throw new ProtocolError(CloseCode.InvalidPayload, "Invalid UTF-8 in text");
  }
  return next;
}
