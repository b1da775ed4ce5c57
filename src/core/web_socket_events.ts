/**
 * How binary messages reach a handler: WHATWG's and Hono's
 * `"arraybuffer"` (the default) or `"blob"`.
 */
export type BinaryType = "arraybuffer" | "blob";

/** The data of a received message, as Hono's `WSMessageReceive`. */
export type MessageData = string | Blob | ArrayBufferLike;

/** What a runtime hands over as a message, before `binaryType` applies. */
export type RawMessageData = string | ArrayBuffer | Blob | Uint8Array;

/** The event `onMessage` gets: a real DOM `MessageEvent`, as in Hono. */
export type WebSocketMessageEvent = MessageEvent<MessageData>;

/** The event `onClose` gets: a DOM `CloseEvent` (`code`, `reason`, `wasClean`). */
export type WebSocketCloseEvent = CloseEvent;

/** The event `onError` gets: an `Event` of type `"error"` with the error on it. */
export interface WebSocketErrorEvent extends Event {
  /** What went wrong: a `ProtocolError` (with its close code) or the runtime's error. */
  readonly error: unknown;
  /** A one-line description. */
  readonly message: string;
}

/** The event `onOpen` gets. */
export type WebSocketOpenEvent = Event;

/** The event `onDrain` gets: a send queue that had backed up has emptied. */
export type WebSocketDrainEvent = Event;

// A `MessageEvent` made for every message on the hot path. The runtimes'
// own constructor costs 70–100 ns on V8 and ~570 ns on Bun per message (the
// echo's whole budget on Bun is ~1.6 µs); this one costs what a plain object
// does. It has MessageEvent.prototype behind it, so `instanceof
// MessageEvent` holds, and it implements the whole interface itself, so no
// native accessor is ever called on it. It is not dispatchable. Its
// `timeStamp` is read from the clock when first asked for, not as the
// event is made: `performance.now()` costs ~37 ns on Bun, nearly all of
// this event's cost, and handlers seldom read it (ws's events have none).
class FastMessageEvent {
  readonly #data: MessageData;
  #timeStamp = -1;

  constructor(data: MessageData) {
    this.#data = data;
  }
  get data(): MessageData {
    return this.#data;
  }
  get type(): string {
    return "message";
  }
  get origin(): string {
    return "";
  }
  get lastEventId(): string {
    return "";
  }
  get source(): null {
    return null;
  }
  get ports(): readonly MessagePort[] {
    return [];
  }
  get timeStamp(): number {
    if (this.#timeStamp < 0) this.#timeStamp = performance.now();
    return this.#timeStamp;
  }
  get target(): null {
    return null;
  }
  get currentTarget(): null {
    return null;
  }
  get srcElement(): null {
    return null;
  }
  get eventPhase(): number {
    return 0;
  }
  get bubbles(): boolean {
    return false;
  }
  get cancelable(): boolean {
    return false;
  }
  get composed(): boolean {
    return false;
  }
  get defaultPrevented(): boolean {
    return false;
  }
  get isTrusted(): boolean {
    return false;
  }
  get returnValue(): boolean {
    return true;
  }
  get cancelBubble(): boolean {
    return false;
  }
  composedPath(): EventTarget[] {
    return [];
  }
  preventDefault(): void {}
  stopPropagation(): void {}
  stopImmediatePropagation(): void {}
  initEvent(): void {}
  initMessageEvent(): void {}
}
Object.setPrototypeOf(FastMessageEvent.prototype, globalThis.MessageEvent?.prototype ?? null);
for (const name of ["NONE", "CAPTURING_PHASE", "AT_TARGET", "BUBBLING_PHASE"] as const) {
  Object.defineProperty(FastMessageEvent.prototype, name, { value: Event[name] });
}

// Node 20 has no CloseEvent and no ErrorEvent: the same shape on Event.
class PortableCloseEvent extends Event {
  readonly code: number;
  readonly reason: string;
  readonly wasClean: boolean;
  constructor(type: string, init: CloseEventInit = {}) {
    super(type, init);
    this.code = init.code ?? 0;
    this.reason = init.reason ?? "";
    this.wasClean = init.wasClean ?? false;
  }
}

class PortableErrorEvent extends Event implements WebSocketErrorEvent {
  readonly error: unknown;
  readonly message: string;
  readonly filename = "";
  readonly lineno = 0;
  readonly colno = 0;
  constructor(type: string, init: { error?: unknown; message?: string } = {}) {
    super(type);
    this.error = init.error;
    this.message = init.message ?? "";
  }
}

const CloseEventClass: typeof CloseEvent = globalThis.CloseEvent ??
  (PortableCloseEvent as unknown as typeof CloseEvent);
const ErrorEventClass: new (
  type: string,
  init: { error?: unknown; message?: string },
) => WebSocketErrorEvent = globalThis.ErrorEvent ?? PortableErrorEvent;

/**
 * Creates the `MessageEvent` a handler gets, at the cost of a plain object.
 *
 * @param data The message data.
 * @returns The event: `instanceof MessageEvent`, `type` `"message"`.
 *
 * @example
 * ```ts
 * import { createMessageEvent } from "@edgesocket/edgesocket/adapter";
 * const event = createMessageEvent("hi");
 * console.log(event.data, event instanceof MessageEvent); // "hi" true
 * ```
 */
export function createMessageEvent(data: MessageData): WebSocketMessageEvent {
  return new FastMessageEvent(data) as unknown as WebSocketMessageEvent;
}

/**
 * Creates the `CloseEvent` a handler gets (a polyfill of the same shape on
 * runtimes without one, such as Node 20).
 *
 * @param code The close code.
 * @param reason The reason.
 * @param wasClean Whether the closing handshake completed.
 * @returns The event.
 *
 * @example
 * ```ts
 * import { createCloseEvent } from "@edgesocket/edgesocket/adapter";
 * console.log(createCloseEvent(1000, "", true).code); // 1000
 * ```
 */
export function createCloseEvent(
  code: number,
  reason: string,
  wasClean: boolean,
): WebSocketCloseEvent {
  return new CloseEventClass("close", { code, reason, wasClean });
}

/**
 * Creates the error `Event` a handler gets, with the error on it (an
 * `ErrorEvent` where the runtime has one).
 *
 * @param error What went wrong.
 * @returns The event: `type` `"error"`, `error`, `message`.
 *
 * @example
 * ```ts
 * import { createErrorEvent } from "@edgesocket/edgesocket/adapter";
 * const event = createErrorEvent(new Error("boom"));
 * console.log(event instanceof Event, event.message); // true "boom"
 * ```
 */
export function createErrorEvent(error: unknown): WebSocketErrorEvent {
  const message = error instanceof Error ? error.message : String(error);
  return new ErrorEventClass("error", { error, message });
}

/**
 * Creates a plain event of a type (`"open"`, `"drain"`).
 *
 * @param type The event type.
 * @returns The event.
 *
 * @example
 * ```ts
 * import { createEvent } from "@edgesocket/edgesocket/adapter";
 * console.log(createEvent("open").type); // "open"
 * ```
 */
export function createEvent(type: string): Event {
  return new Event(type);
}
