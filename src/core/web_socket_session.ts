import { CloseCode } from "../codec/mod.ts";
import { isOverSize } from "./is_over_size.ts";
import { defaultPubSub } from "./pub_sub.ts";
import type { Subscriber } from "./subscriber.ts";
import type { RuntimeTopics } from "./runtime_topics.ts";
import type { SendData } from "./send_data.ts";
import { trackSession, untrackSession } from "./session_registry.ts";
import type { SocketDriver } from "./socket_driver.ts";
import type { WebSocketContext } from "./web_socket_context.ts";
import {
  createCloseEvent,
  createErrorEvent,
  createEvent,
  createMessageEvent,
  type MessageData,
  type RawMessageData,
  type WebSocketCloseEvent,
  type WebSocketDrainEvent,
  type WebSocketErrorEvent,
  type WebSocketMessageEvent,
  type WebSocketOpenEvent,
} from "./web_socket_events.ts";

/**
 * The handlers of one WebSocket route, in Hono's shape and with Hono's types:
 * a `WSEvents` from `hono/ws` is one. The events are DOM events
 * (`MessageEvent`, `CloseEvent`, an error `Event`) on every runtime.
 *
 * @example
 * ```ts
 * import type { WebSocketEvents } from "@edgesocket/edgesocket";
 * const events: WebSocketEvents<{ user: string }> = {
 *   onMessage: (event, ws) => ws.send(`${ws.data.user}: ${event.data}`),
 *   onClose: (event) => console.log(event.code, event.reason, event.wasClean),
 * };
 * ```
 */
export interface WebSocketEvents<D = unknown, R = unknown> {
  /** The socket is open; fires before any message, on every runtime. */
  onOpen?: (event: WebSocketOpenEvent, ws: WebSocketContext<D, R>) => unknown;
  /** A message arrived: `event.data` is a string, or binary as `ws.binaryType` asks. */
  onMessage?: (event: WebSocketMessageEvent, ws: WebSocketContext<D, R>) => unknown;
  /** The socket closed; fires exactly once, after `onError` if the connection failed. */
  onClose?: (event: WebSocketCloseEvent, ws: WebSocketContext<D, R>) => unknown;
  /**
   * The socket's send queue, which had backed up (past 16 KiB on Node and
   * Deno, past Bun's backpressure), has emptied: it is writable again.
   * Workers report no queue and never fire it.
   */
  onDrain?: (event: WebSocketDrainEvent, ws: WebSocketContext<D, R>) => unknown;
  /**
   * The peer broke the protocol (the error is a `ProtocolError` with its
   * close code), the transport failed, or a handler threw. A failed
   * connection's `onClose` follows.
   */
  onError?: (event: WebSocketErrorEvent, ws: WebSocketContext<D, R>) => unknown;
}

/**
 * Runs a route's handlers for one socket with the same guarantees on every
 * runtime: open before any message (messages that arrive first are held),
 * close exactly once, binary data as `binaryType` asks, and the message size
 * limit enforced where the runtime has no knob of its own.
 *
 * @example What an adapter does with it
 * ```ts ignore
 * const session = new WebSocketSession(events, ctx, { maxMessageSize });
 * socket.onopen = () => session.open(driver);
 * socket.onmessage = (e) => session.message(e.data);
 * socket.onclose = (e) => session.close(e.code, e.reason, e.wasClean);
 * ```
 */
export class WebSocketSession<D = unknown, R = unknown> implements Subscriber {
  #topics: Set<string> | undefined;

  /** The topics this socket is subscribed to (made on first use). */
  get topics(): Set<string> {
    return this.#topics ??= new Set();
  }
  readonly #events: WebSocketEvents<D, R>;
  readonly #ctx: WebSocketContext<D, R>;
  // 0 once open where the runtime's own limit covers the route's.
  #maxMessageSize: number;
  #held: RawMessageData[] | null = null;
  // undefined before open, null once closed: the socket's state without a
  // field of its own (each field costs every idle connection 8 bytes, and
  // JSC rounds an object up to 16).
  #driver: SocketDriver | undefined | null = undefined;
  /** @internal The open sessions' list, through the sessions themselves. */
  registryPrev: WebSocketSession<unknown, unknown> | null = null;
  /** @internal The open sessions' list, through the sessions themselves. */
  registryNext: WebSocketSession<unknown, unknown> | null = null;

  /**
   * Creates the instance.
   *
   * @param events The route's handlers.
   * @param ctx The context handed to them.
   * @param options `maxMessageSize` to enforce here (0: the runtime does it).
   */
  constructor(
    events: WebSocketEvents<D, R>,
    ctx: WebSocketContext<D, R>,
    options: { maxMessageSize?: number } = {},
  ) {
    this.#events = events;
    this.#ctx = ctx;
    this.#maxMessageSize = options.maxMessageSize ?? 0;
  }

  /**
   * The largest message the session lets through, in bytes (0: no check
   * here, the runtime enforces the route's limit). An adapter reads it to
   * compare with a limit of its runtime's own.
   *
   * @example
   * ```ts ignore
   * if (session.maxMessageSize > maxPayloadLength) console.warn("Bun's limit is smaller");
   * ```
   */
  get maxMessageSize(): number {
    return this.#maxMessageSize;
  }

  /** The context the handlers see. */
  get context(): WebSocketContext<D, R> {
    return this.#ctx;
  }

  /**
   * The socket is open: attach it, fire `onOpen`, then deliver anything held.
   *
   * @param driver The runtime's closures for this socket.
   * @param runtimeMaxMessageSize The size above which the runtime itself
   * closes with 1009, where it has a limit of its own that the adapter
   * cannot set per route (Bun's server-wide `maxPayloadLength`). Where the
   * route allows at least that much, the runtime's check is the only one
   * that can fire and the session skips its own per message.
   *
   * @example Bun's server-wide limit covers the route's
   * ```ts ignore
   * // in Bun's `websocket.open(ws)`, with the `maxPayloadLength` given to Bun.serve
   * session.open(driver, maxPayloadLength);
   * ```
   */
  open(driver: SocketDriver, runtimeMaxMessageSize?: number): void {
    if (this.#driver !== undefined) return;
    if (runtimeMaxMessageSize !== undefined && runtimeMaxMessageSize <= this.#maxMessageSize) {
      this.#maxMessageSize = 0;
    }
    this.#ctx.attach(driver, this);
    this.#driver = driver;
    trackSession(this);
    const onOpen = this.#events.onOpen;
    if (onOpen) this.runHandler(onOpen, createEvent("open"));
    const held = this.#held;
    this.#held = null;
    if (held) { for (const data of held) this.message(data); }
  }

  /**
   * A message arrived from the runtime.
   *
   * @param data Text, or binary in any of the runtimes' forms.
   */
  message(data: RawMessageData): void {
    const driver = this.#driver;
    if (!driver) {
      if (driver === undefined) (this.#held ??= []).push(data);
      return;
    }
    if (this.#maxMessageSize > 0 && isOverSize(data, this.#maxMessageSize)) {
      // The runtime's limit is larger, or it has none: the same 1009 as the codec's.
      driver.closeWith(CloseCode.MessageTooBig, "Message too big");
      return;
    }
    const handler = this.#events.onMessage;
    if (handler) this.runHandler(handler, createMessageEvent(this.convert(data)));
  }

  /**
   * The socket closed. Fires `onClose` once; later calls do nothing.
   *
   * @param code The close code.
   * @param reason The reason.
   * @param wasClean Whether the closing handshake completed.
   */
  close(code: number, reason: string, wasClean: boolean): void {
    if (this.#driver === null) return;
    this.#held = null;
    untrackSession(this);
    // Before the driver goes: native topics need the runtime's socket.
    if (this.#topics?.size) defaultPubSub.unsubscribeAll(this);
    this.#driver = null;
    const onClose = this.#events.onClose;
    if (onClose) this.runHandler(onClose, createCloseEvent(code, reason, wasClean));
  }

  /**
   * Whether the handlers listen for `onError`: an adapter may skip the
   * runtime's error events without one (each listener costs an idle socket
   * memory on some runtimes), as {@linkcode error} does nothing then.
   */
  get wantsError(): boolean {
    return this.#events.onError !== undefined;
  }

  /** Whether the handlers listen for `onDrain`: adapters watch the queue only then. */
  get wantsDrain(): boolean {
    return this.#events.onDrain !== undefined;
  }

  /** The runtime's send queue, which had backed up, has emptied. */
  drain(): void {
    const onDrain = this.#events.onDrain;
    if (this.#driver && onDrain) this.runHandler(onDrain, createEvent("drain"));
  }

  /**
   * The runtime reported an error: the peer broke the protocol, or the
   * transport failed. It goes to `onError` only: without one it is not
   * logged, as Hono's helpers, `ws` and the runtimes' own servers log
   * nothing for what a peer does (a handler's own error is logged).
   *
   * @param error What went wrong.
   */
  error(error: unknown): void {
    if (this.#driver === null) return;
    const handler = this.#events.onError;
    if (handler) this.runErrorHandler(handler, createErrorEvent(error));
  }

  /**
   * Closes with any code the server may send (1001, 1008, 1009, 1011, 1013 …),
   * which the WHATWG rules of `ws.close()` do not allow applications.
   *
   * @param code The close code.
   * @param reason At most 123 UTF-8 bytes.
   */
  closeWith(code: number, reason: string): void {
    this.#driver?.closeWith(code, reason);
  }

  /**
   * Sends through the runtime (for topics).
   *
   * @param data Text or binary.
   */
  send(data: SendData): void {
    this.#ctx.send(data);
  }

  /** Whether {@linkcode sendEncoded} works: the codec frames this socket's bytes. */
  get canSendEncoded(): boolean {
    return this.#driver?.sendEncoded !== undefined;
  }

  /**
   * Writes a frame encoded once for many subscribers, where
   * {@linkcode canSendEncoded} says the codec frames the bytes.
   *
   * @param chunks The frame.
   */
  sendEncoded(chunks: Uint8Array[]): void {
    this.#driver?.sendEncoded?.(chunks);
  }

  /** The runtime's own topics (Bun's), for {@linkcode PubSub}. */
  get runtimeTopics(): RuntimeTopics | undefined {
    return this.#driver?.topics;
  }

  /** The runtime's socket, for {@linkcode runtimeTopics}. */
  get socket(): unknown {
    return this.#driver?.raw;
  }

  /** Bytes queued and not yet sent. */
  get bufferedAmount(): number {
    return this.#driver?.bufferedAmount ?? 0;
  }

  /** Drops the socket without a closing handshake, where the runtime can. */
  terminate(): void {
    const driver = this.#driver;
    if (driver?.terminate) driver.terminate();
    else driver?.closeWith(CloseCode.GoingAway, "");
  }

  // Its helpers are TypeScript-private, not #private: an instance's #method
  // costs every instance a brand slot (8 bytes each on Node).
  /** The message as the handler's `binaryType` asks. */
  private convert(data: RawMessageData): MessageData {
    if (typeof data === "string") return data;
    const type: string = this.#ctx.binaryType;
    // The runtime's own ArrayBuffer as it is (Deno, Bun, Workers): a view
    // over it would cost an allocation per message only to find it again.
    if (type === "arraybuffer" && data instanceof ArrayBuffer) return data;
    if (data instanceof Blob) return data;
    const bytes = data instanceof Uint8Array ? data : new Uint8Array(data as ArrayBuffer);
    // A route's "uint8array": the bytes as read (the codec's view, Bun's
    // own Uint8Array), or a view over the runtime's ArrayBuffer.
    if (type === "uint8array") return bytes as unknown as MessageData;
    const buffer = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength
      ? bytes.buffer as ArrayBuffer
      : Uint8Array.prototype.slice.call(bytes).buffer;
    return type === "blob" ? new Blob([buffer]) : buffer;
  }

  /** Runs a handler; what it throws or rejects with goes to `onError`. */
  private runHandler<E>(
    handler: (event: E, ws: WebSocketContext<D, R>) => unknown,
    event: E,
  ): void {
    try {
      const result = handler(event, this.#ctx);
      if (result instanceof Promise) result.catch((e) => this.handlerFailed(e));
    } catch (error) {
      this.handlerFailed(error);
    }
  }

  /**
   * A handler threw: the app's bug, not the peer's. `onError` hears it while
   * the socket is open; without one, or from `onClose` (no event follows a
   * close), it is logged.
   */
  private handlerFailed(error: unknown): void {
    const handler = this.#events.onError;
    if (handler && this.#driver !== null) this.runErrorHandler(handler, createErrorEvent(error));
    else this.report(error);
  }

  /**
   * Where a handler's error goes when no `onError` hears it: the log, or
   * the route's `onError` option (see {@linkcode ReportingWebSocketSession}).
   *
   * @param error What the handler threw.
   */
  protected report(error: unknown): void {
    console.error(error);
  }

  /** Runs `onError`; what it throws or rejects with is logged. */
  private runErrorHandler(
    handler: (
      event: WebSocketErrorEvent,
      ws: WebSocketContext<D, R>,
    ) => unknown,
    event: WebSocketErrorEvent,
  ): void {
    try {
      const result = handler(event, this.#ctx);
      if (result instanceof Promise) result.catch((e) => this.report(e));
    } catch (error) {
      this.report(error);
    }
  }
}

/**
 * A {@linkcode WebSocketSession} of a route with an `onError` option
 * (`@hono/node-ws`'s): the handlers' errors that no `onError` handler hears
 * go to it instead of the log. A subclass, so that other routes' sessions
 * carry no field for it.
 *
 * @example
 * ```ts ignore
 * const session = new ReportingWebSocketSession(events, ctx, { maxMessageSize }, (e) => log(e));
 * ```
 */
export class ReportingWebSocketSession<D = unknown, R = unknown> extends WebSocketSession<D, R> {
  readonly #report: (error: unknown) => void;

  /**
   * Creates the instance.
   *
   * @param events The route's handlers.
   * @param ctx The context handed to them.
   * @param options `maxMessageSize` to enforce here (0: the runtime does it).
   * @param report Where the handlers' unheard errors go; it must not throw.
   */
  constructor(
    events: WebSocketEvents<D, R>,
    ctx: WebSocketContext<D, R>,
    options: { maxMessageSize?: number },
    report: (error: unknown) => void,
  ) {
    super(events, ctx, options);
    this.#report = report;
  }

  protected override report(error: unknown): void {
    this.#report(error);
  }
}
