import {
  CloseCode,
  isApplicationCloseCode,
  Opcode,
  type PerMessageDeflate,
  ProtocolError,
  type ProtocolHandler,
  WebSocketProtocol,
} from "../codec/mod.ts";
import type { ByteTransport } from "./byte_transport.ts";
import { unwatchIdle, watchIdle } from "./idle_sweeper.ts";
import { type SendData, toBytes } from "./send_data.ts";
import type { SocketDriver } from "./socket_driver.ts";
import {
  createCloseEvent,
  createErrorEvent,
  createEvent,
  createMessageEvent,
  type RawMessageData,
  type WebSocketCloseEvent,
  type WebSocketErrorEvent,
  type WebSocketMessageEvent,
  type WebSocketOpenEvent,
} from "./web_socket_events.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * How a {@linkcode WebSocketConnection} hands binary messages over: the
 * WHATWG types, or `"uint8array"` (Bun's), a view with no copy.
 */
export type ConnectionBinaryType = "arraybuffer" | "blob" | "uint8array";

/** Options for {@linkcode WebSocketConnection}. */
export interface WebSocketConnectionOptions {
  /** The agreed subprotocol (`""` for none). */
  protocol?: string;
  /** The agreed extensions header (`""` for none). */
  extensions?: string;
  /** The request URL. */
  url?: string;
  /** `"server"` (default) or `"client"`. */
  role?: "server" | "client";
  /** Largest message, across fragments (default 64 MiB). Over it: 1009. */
  maxMessageSize?: number;
  /** Most fragments in one message (default 8,192). Over it: 1009. */
  maxFragments?: number;
  /** The negotiated permessage-deflate, if any (`extensions` says so too). */
  perMessageDeflate?: PerMessageDeflate;
  /** How long to wait for the peer's close frame, in ms (default 5,000). */
  closeTimeout?: number;
  /**
   * Close a peer that sends nothing, not even a pong, for this long, in ms
   * (0, the default, turns it off). A ping goes out at half of it.
   */
  idleTimeout?: number;
  /**
   * Receives messages, the close and errors directly, before any listener:
   * the adapters' way in, with no closure or event object per message.
   */
  handler?: WebSocketConnectionHandler;
  /**
   * Where outgoing frames' bytes come from (default `new Uint8Array`): a
   * pool such as Node's `Buffer.allocUnsafe` saves a fresh buffer per frame.
   */
  allocate?: (size: number) => Uint8Array;
}

/**
 * What {@linkcode WebSocketConnectionOptions.handler} receives. It must not
 * throw: nothing catches for it.
 */
export interface WebSocketConnectionHandler {
  /** A message arrived, converted to `binaryType`. */
  message(data: RawMessageData): void;
  /** The connection closed (once). */
  close(code: number, reason: string, wasClean: boolean): void;
  /** The transport or a listener failed. */
  error(error: unknown): void;
  /** The transport's queue, which had backed up, has emptied. */
  drain?(): void;
}

/** The events of a {@linkcode WebSocketConnection}, by type. */
export interface WebSocketEventMap {
  /** The connection opened. */
  open: WebSocketOpenEvent;
  /** A message arrived. */
  message: WebSocketMessageEvent;
  /** The connection closed. */
  close: WebSocketCloseEvent;
  /** Something failed. */
  error: WebSocketErrorEvent;
}

/** A listener for one event type. */
export type WebSocketListener<K extends keyof WebSocketEventMap> = (
  event: WebSocketEventMap[K],
) => void;

// Pongs are written only while the transport holds less than this unsent:
// the pongs to a 16 KiB read of pings fit, a flood's do not.
const PONG_BACKLOG = 16 * 1024;
// Pings in a row left unanswered for the backlog before 1008.
const MAX_UNANSWERED_PINGS = 1024;
// The parts of a connection's #quiet: its silent sweeps, and one unanswered ping.
const SWEEPS = 3;
const PING = 4;

interface ConnectionTimeouts {
  readonly close: number;
  readonly idle: number;
}

// Connections of one route have the same timeouts: the last pair made is
// shared while it matches.
let lastTimeouts: ConnectionTimeouts = Object.freeze({ close: 5000, idle: 0 });

function connectionTimeouts(close: number, idle: number): ConnectionTimeouts {
  const last = lastTimeouts;
  if (last.close === close && last.idle === idle) return last;
  return lastTimeouts = Object.freeze({ close, idle });
}

/**
 * A WebSocket connection over any {@linkcode ByteTransport}, with the surface
 * of the WHATWG `WebSocket`: `readyState`, `bufferedAmount`, `protocol`,
 * `extensions`, `url`, `binaryType`, `send`, `close`, and the events `open`,
 * `message`, `error`, `close`. It adds `ping()` and answers pings itself.
 *
 * The adapter that owns the transport calls `open()` once its handlers are
 * attached, then `receive()` with every chunk read and `receiveEnd()` when
 * the stream ends.
 *
 * @example Over an in-memory transport
 * ```ts
 * import { WebSocketConnection } from "@edgesocket/edgesocket/adapter";
 * const written: Uint8Array[] = [];
 * const ws = new WebSocketConnection({
 *   write: (chunks) => written.push(...chunks),
 *   end: () => {},
 *   destroy: () => {},
 *   bufferedAmount: 0,
 * });
 * ws.addEventListener("message", (e) => ws.send(e.data as string));
 * ws.open();
 * ws.receive(new Uint8Array([0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58]));
 * console.log(written[0].length); // 7: the unmasked "Hello" echoed
 * ```
 */
export class WebSocketConnection implements ProtocolHandler, SocketDriver {
  /** `readyState` value: not open yet. */
  static readonly CONNECTING = 0;
  /** `readyState` value: open. */
  static readonly OPEN = 1;
  /** `readyState` value: closing handshake under way. */
  static readonly CLOSING = 2;
  /** `readyState` value: closed. */
  static readonly CLOSED = 3;

  /** The agreed subprotocol, or `""`. */
  readonly protocol: string;
  /** The agreed extensions, or `""`. */
  readonly extensions: string;
  /** The URL the connection was opened on. */
  readonly url: string;
  /** How binary messages arrive: `"arraybuffer"` (default), `"blob"`, `"uint8array"`. */
  binaryType: ConnectionBinaryType = "arraybuffer";

  #transport: ByteTransport;
  #protocol: WebSocketProtocol;
  #readyState = 0;
  // The on* handlers and listeners, made on first use: the adapters' own
  // connections (a `handler` each) never have any, and four handler fields
  // would cost each of them 32 bytes.
  #events: ConnectionListeners | undefined;
  #handler: WebSocketConnectionHandler | undefined;
  // Both timeouts in one object shared by connections made alike: a field
  // costs each idle connection 8 bytes on Node.
  #timeouts: ConnectionTimeouts;
  #closeTimer: ReturnType<typeof setTimeout> | undefined;
  // Idle sweeps since the peer last sent anything (the low two bits, at
  // most 3) and pings in a row left unanswered (PING each): small integers
  // in one field, not a timestamp, which V8 would box (16 bytes a
  // connection) and which cost a clock read per chunk.
  #quiet = 0;
  /** @internal The idle sweeper's list, through the connections themselves. */
  idlePrev: WebSocketConnection | null = null;
  /** @internal The idle sweeper's list, through the connections themselves. */
  idleNext: WebSocketConnection | null = null;

  /**
   * Creates the instance.
   *
   * @param transport Where frames are written.
   * @param options Agreed protocol and extensions, limits and timeouts.
   */
  constructor(
    transport: ByteTransport,
    options: WebSocketConnectionOptions = {},
  ) {
    this.#transport = transport;
    this.protocol = options.protocol ?? "";
    this.extensions = options.extensions ?? "";
    this.url = options.url ?? "";
    this.#timeouts = connectionTimeouts(options.closeTimeout ?? 5000, options.idleTimeout ?? 0);
    this.#handler = options.handler;
    this.#protocol = new WebSocketProtocol(this, {
      role: options.role ?? "server",
      // Pongs are answered here, where the transport's backlog is known.
      autoPong: false,
      maxMessageSize: options.maxMessageSize,
      maxFragments: options.maxFragments,
      perMessageDeflate: options.perMessageDeflate,
      allocate: options.allocate,
    });
  }

  /** `0` connecting, `1` open, `2` closing, `3` closed. */
  get readyState(): number {
    return this.#readyState;
  }

  /**
   * The runtime's own socket, as a {@linkcode SocketDriver} names it: a
   * codec connection is its own socket, and its own driver.
   */
  get raw(): WebSocketConnection {
    return this;
  }

  /** Called on open, like `WebSocket.onopen`. */
  get onopen(): WebSocketListener<"open"> | null {
    return this.#events?.onopen ?? null;
  }
  set onopen(listener: WebSocketListener<"open"> | null) {
    (this.#events ??= new ConnectionListeners()).onopen = listener;
  }

  /** Called on each message, like `WebSocket.onmessage`. */
  get onmessage(): WebSocketListener<"message"> | null {
    return this.#events?.onmessage ?? null;
  }
  set onmessage(listener: WebSocketListener<"message"> | null) {
    (this.#events ??= new ConnectionListeners()).onmessage = listener;
  }

  /** Called once when the connection closes, like `WebSocket.onclose`. */
  get onclose(): WebSocketListener<"close"> | null {
    return this.#events?.onclose ?? null;
  }
  set onclose(listener: WebSocketListener<"close"> | null) {
    (this.#events ??= new ConnectionListeners()).onclose = listener;
  }

  /** Called on an error, like `WebSocket.onerror`. */
  get onerror(): WebSocketListener<"error"> | null {
    return this.#events?.onerror ?? null;
  }
  set onerror(listener: WebSocketListener<"error"> | null) {
    (this.#events ??= new ConnectionListeners()).onerror = listener;
  }

  /** Bytes queued by `send()` and not yet flushed to the peer. */
  get bufferedAmount(): number {
    return this.#transport.bufferedAmount;
  }

  /**
   * Adds an event listener.
   *
   * @param type `"open"`, `"message"`, `"close"` or `"error"`.
   * @param listener Called with the event.
   */
  addEventListener<K extends keyof WebSocketEventMap>(
    type: K,
    listener: WebSocketListener<K>,
  ): void {
    const lists = (this.#events ??= new ConnectionListeners()).lists ??= {};
    ((lists[type] ??= []) as WebSocketListener<K>[]).push(listener);
  }

  /**
   * Removes an event listener.
   *
   * @param type The event type.
   * @param listener The listener added before.
   */
  removeEventListener<K extends keyof WebSocketEventMap>(
    type: K,
    listener: WebSocketListener<K>,
  ): void {
    const list = this.#events?.lists?.[type] as WebSocketListener<K>[] | undefined;
    const at = list?.indexOf(listener) ?? -1;
    if (at !== -1) list!.splice(at, 1);
  }

  /** For the adapter: the 101 is written and handlers attached. Fires `open`. */
  open(): void {
    if (this.#readyState !== 0) return;
    this.#readyState = 1;
    const idle = this.#timeouts.idle;
    if (idle > 0) watchIdle(this, idle);
    const events = this.#events;
    if (events && (events.onopen || events.lists?.open)) {
      this.emitEvent("open", createEvent("open"));
    }
  }

  /**
   * For the adapter: bytes read from the transport.
   *
   * @param chunk The bytes; the connection takes ownership of them.
   */
  receive(chunk: Uint8Array): void {
    this.#quiet &= ~SWEEPS;
    this.#protocol.receive(chunk);
  }

  /** For the adapter: the transport's queue, which had backed up, has emptied. */
  receiveDrain(): void {
    if (this.#readyState === 1) this.#handler?.drain?.();
  }

  /**
   * For the adapter: the transport ended or failed. Without a completed
   * closing handshake this is a 1006 close.
   *
   * @param error The transport's error, if any.
   */
  receiveEnd(error?: unknown): void {
    if (error !== undefined && this.#readyState < 2) {
      this.emitEvent("error", createErrorEvent(error));
    }
    this.#protocol.abort();
  }

  /**
   * Sends a message: a string as text; an `ArrayBuffer` or view as binary,
   * exactly its bytes; a `Blob` as binary once read.
   *
   * @param data The message.
   * @param compress `false` leaves it uncompressed where permessage-deflate
   * was agreed. `ws`'s options object is taken too, for loops written for
   * `ws` (a server's `clients`): `{ compress, binary }`, where `binary`
   * sends a string as binary or bytes as text.
   * @throws {DOMException} `InvalidStateError` before the connection opens.
   */
  send(data: SendData, compress?: boolean | { compress?: boolean; binary?: boolean }): void {
    if (this.#readyState === 0) {
      throw new DOMException("WebSocket is not open yet", "InvalidStateError");
    }
    if (this.#readyState !== 1) return;
    if (typeof compress === "object" && compress !== null) {
      // Only `binary` changes the frame's type; `compress` alone goes the usual way.
      if (compress.binary !== undefined && !(data instanceof Blob)) {
        return this.sendAs(data, compress.binary, compress.compress);
      }
      compress = compress.compress;
    }
    if (typeof data === "string") this.#protocol.sendText(data, compress);
    else if (data instanceof Blob) {
      data.arrayBuffer().then((b) => this.#protocol.sendBinary(new Uint8Array(b), compress));
    } else this.#protocol.sendBinary(toBytes(data), compress);
  }

  /**
   * Writes a frame that was encoded once for many connections (a topic's).
   *
   * @param chunks The frame's bytes, unmasked (server role).
   */
  sendEncoded(chunks: Uint8Array[]): void {
    if (this.#readyState === 1) this.#transport.write(chunks);
  }

  /**
   * Sends a ping.
   *
   * @param data Up to 125 bytes of payload.
   * @throws {RangeError} When the payload is over 125 bytes.
   */
  ping(data: string | ArrayBuffer | ArrayBufferView = new Uint8Array(0)): void {
    if (this.#readyState !== 1) return;
    this.#protocol.ping(
      typeof data === "string" ? encoder.encode(data) : toBytes(data),
    );
  }

  /**
   * Starts the closing handshake, with the WHATWG rules.
   *
   * @param code 1000 or 3000–4999.
   * @param reason At most 123 UTF-8 bytes.
   * @throws {DOMException} `InvalidAccessError` for another code, `SyntaxError`
   * for a longer reason.
   */
  close(code?: number, reason?: string): void {
    if (code !== undefined && !isApplicationCloseCode(code)) {
      throw new DOMException(
        `Close code must be 1000 or 3000-4999, got ${code}`,
        "InvalidAccessError",
      );
    }
    if (reason !== undefined && encoder.encode(reason).length > 123) {
      throw new DOMException(
        "Close reason must be at most 123 UTF-8 bytes",
        "SyntaxError",
      );
    }
    this.closeWith(
      code ?? (reason ? CloseCode.Normal : undefined),
      reason ?? "",
    );
  }

  /**
   * Starts the closing handshake with any code the server may send (1001
   * going away, 1008, 1009, 1011, 1013 …), for the library's own use.
   *
   * @param code The close code, or none.
   * @param reason At most 123 UTF-8 bytes.
   */
  closeWith(code: number | undefined, reason = ""): void {
    if (this.#readyState >= 2) return;
    this.#readyState = 2;
    this.#protocol.close(code, reason);
    this.#closeTimer = setTimeout(() => {
      // RFC 6455 §7.1.1: the peer never answered; end TCP ourselves.
      this.#transport.destroy();
      this.#protocol.abort();
    }, this.#timeouts.close);
  }

  /** Drops the connection now, without a closing handshake (1006). */
  terminate(): void {
    this.#transport.destroy();
    this.#protocol.abort();
  }

  /** @internal ProtocolHandler. */
  write(chunks: Uint8Array[]): void {
    this.#transport.write(chunks);
  }

  /**
   * @internal ProtocolHandler: answers a ping while less than 16 KiB wait
   * unsent. RFC 6455 §5.5.3 lets an endpoint leave earlier pings unanswered,
   * so a peer that floods pings and never reads costs a bounded backlog; at
   * 1,025 unanswered in a row the connection fails with 1008.
   */
  onPing(payload: Uint8Array): void {
    if (this.#transport.bufferedAmount < PONG_BACKLOG) {
      this.#quiet &= SWEEPS;
      this.#protocol.sendFrame(Opcode.Pong, payload);
    } else if ((this.#quiet += PING) >>> 2 > MAX_UNANSWERED_PINGS) {
      this.#protocol.fail(CloseCode.PolicyViolation, "Too many pings left unanswered");
    }
  }

  /** @internal ProtocolHandler. */
  onText(text: string): void {
    this.emitMessage(text);
  }

  /** @internal ProtocolHandler. */
  onBinary(data: Uint8Array): void {
    this.emitMessage(toBinaryType(data, this.binaryType));
  }

  // Its helpers are TypeScript-private, not #private: an instance's #method
  // costs every instance a brand slot (8 bytes each on Node).
  /** The hot path: no lookup by event name, no event object for the handler. */
  private emitMessage(data: RawMessageData): void {
    this.#handler?.message(data);
    const events = this.#events;
    if (events === undefined) return;
    const list = events.lists?.message;
    const onmessage = events.onmessage;
    if (!onmessage && !list) return;
    // A "uint8array" view is handed over as it is, as Bun does.
    const event = createMessageEvent(data as ArrayBuffer);
    if (onmessage) this.callListener(onmessage, event);
    if (list) { for (const listener of list) this.callListener(listener, event); }
  }

  /** `ws`'s `binary` send option: the frame's type as it says, whatever the data's. */
  private sendAs(
    data: Exclude<SendData, Blob>,
    binary: boolean,
    compress: boolean | undefined,
  ): void {
    if (binary) {
      const bytes = typeof data === "string" ? encoder.encode(data) : toBytes(data);
      return this.#protocol.sendBinary(bytes, compress);
    }
    this.#protocol.sendText(
      typeof data === "string" ? data : decoder.decode(toBytes(data)),
      compress,
    );
  }

  /** @internal ProtocolHandler. */
  onClose(code: number, reason: string, wasClean: boolean): void {
    clearTimeout(this.#closeTimer);
    const idle = this.#timeouts.idle;
    if (idle > 0) unwatchIdle(this, idle);
    const failed = !wasClean && code !== CloseCode.Abnormal && this.#readyState < 3;
    this.#readyState = 3;
    if (wasClean || code !== CloseCode.Abnormal) this.#transport.end();
    // WHATWG "fail the WebSocket connection": error, then close. The
    // protocol sent `code` because of what the peer did.
    if (failed) {
      this.emitEvent("error", createErrorEvent(new ProtocolError(code, reason)));
    }
    this.#handler?.close(code, reason, wasClean);
    const events = this.#events;
    if (events && (events.onclose || events.lists?.close)) {
      this.emitEvent("close", createCloseEvent(code, reason, wasClean));
    }
    if (events) events.lists = undefined;
  }

  /**
   * @internal The idle sweep, every half `idleTimeout`. The first sweep
   * after the peer's last bytes may come at once, so a ping goes out at the
   * second silent one (silent for at least half the timeout), and the
   * third (silent for at least the whole timeout) drops the connection.
   */
  onIdleSweep(): void {
    if (this.#readyState === 3) return;
    const silent = Math.min((this.#quiet & SWEEPS) + 1, 3);
    this.#quiet = (this.#quiet & ~SWEEPS) | silent;
    if (silent === 3) this.terminate();
    else if (silent === 2) this.ping();
  }

  /** Fires an event at the handler, the on* handler and the listeners. */
  private emitEvent<K extends keyof WebSocketEventMap>(
    type: K,
    event: WebSocketEventMap[K],
  ): void {
    if (type === "error") this.#handler?.error((event as WebSocketErrorEvent).error);
    const events = this.#events;
    if (events === undefined) return;
    const handler = events[`on${type}`] as WebSocketListener<K> | null;
    const list = events.lists?.[type] as WebSocketListener<K>[] | undefined;
    if (handler) this.callListener(handler, event);
    if (list) { for (const listener of list) this.callListener(listener, event); }
  }

  /** Calls one listener; what it throws is reported, never decoded. */
  private callListener<K extends keyof WebSocketEventMap>(
    listener: WebSocketListener<K>,
    event: WebSocketEventMap[K],
  ): void {
    try {
      listener(event);
    } catch (error) {
      // An application error never reaches the decoder; it is reported.
      if (event.type === "error") console.error(error);
      else this.emitEvent("error", createErrorEvent(error));
    }
  }
}

// A connection's on* handlers and listener lists.
class ConnectionListeners {
  onopen: WebSocketListener<"open"> | null = null;
  onmessage: WebSocketListener<"message"> | null = null;
  onclose: WebSocketListener<"close"> | null = null;
  onerror: WebSocketListener<"error"> | null = null;
  lists: { [K in keyof WebSocketEventMap]?: WebSocketListener<K>[] } | undefined;
}

function toBinaryType(data: Uint8Array, type: ConnectionBinaryType): RawMessageData {
  if (type === "uint8array") return data;
  const buffer = data.byteOffset === 0 && data.byteLength === data.buffer.byteLength
    ? data.buffer as ArrayBuffer
    : Uint8Array.prototype.slice.call(data).buffer;
  return type === "blob" ? new Blob([buffer]) : buffer;
}
