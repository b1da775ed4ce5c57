/** What `binaryType` asks binary messages to arrive as. */
export type BinaryType = "arraybuffer" | "blob" | "uint8array";

/** The data of a received message. */
export type MessageData = string | ArrayBuffer | Blob | Uint8Array;

/** A message event, shaped like the DOM `MessageEvent` handlers read. */
export interface WebSocketMessageEvent<T = MessageData> {
  /** Always `"message"`. */
  readonly type: "message";
  /** The message: a string, or binary data as `binaryType` asks. */
  readonly data: T;
}

/** A close event, shaped like the DOM `CloseEvent`. */
export interface WebSocketCloseEvent {
  /** Always `"close"`. */
  readonly type: "close";
  /** The close code (1005 when the peer sent none, 1006 when TCP died). */
  readonly code: number;
  /** The close reason. */
  readonly reason: string;
  /** Whether the closing handshake completed. */
  readonly wasClean: boolean;
}

/** An error event. */
export interface WebSocketErrorEvent {
  /** Always `"error"`. */
  readonly type: "error";
  /** What went wrong. */
  readonly error: unknown;
  /** A one-line description. */
  readonly message: string;
}

/** The open event. */
export interface WebSocketOpenEvent {
  /** Always `"open"`. */
  readonly type: "open";
}

/** The drain event: a send queue that had backed up has emptied. */
export interface WebSocketDrainEvent {
  /** Always `"drain"`. */
  readonly type: "drain";
}

/**
 * Creates a message event.
 *
 * @param data The message data.
 * @returns The event.
 *
 * @example
 * ```ts
 * import { createMessageEvent } from "@edgesocket/edgesocket";
 * console.log(createMessageEvent("hi").data); // "hi"
 * ```
 */
export function createMessageEvent<T>(data: T): WebSocketMessageEvent<T> {
  return { type: "message", data };
}

/**
 * Creates a close event.
 *
 * @param code The close code.
 * @param reason The reason.
 * @param wasClean Whether the closing handshake completed.
 * @returns The event.
 *
 * @example
 * ```ts
 * import { createCloseEvent } from "@edgesocket/edgesocket";
 * console.log(createCloseEvent(1000, "", true).code); // 1000
 * ```
 */
export function createCloseEvent(
  code: number,
  reason: string,
  wasClean: boolean,
): WebSocketCloseEvent {
  return { type: "close", code, reason, wasClean };
}

/**
 * Creates an error event.
 *
 * @param error What went wrong.
 * @returns The event.
 *
 * @example
 * ```ts
 * import { createErrorEvent } from "@edgesocket/edgesocket";
 * console.log(createErrorEvent(new Error("boom")).message); // "boom"
 * ```
 */
export function createErrorEvent(error: unknown): WebSocketErrorEvent {
  const message = error instanceof Error ? error.message : String(error);
  return { type: "error", error, message };
}
