/**
 * Close codes the codec and connection use (RFC 6455 §7.4.1, RFC 6455 §11.7).
 *
 * @example
 * ```ts
 * import { CloseCode } from "@edgesocket/edgesocket/codec";
 * console.log(CloseCode.MessageTooBig); // 1009
 * ```
 */
export const CloseCode = {
  /** The purpose of the connection is fulfilled. */
  Normal: 1000,
  /** The endpoint is going away (server shutdown, page navigation). */
  GoingAway: 1001,
  /** The peer broke the protocol. */
  ProtocolError: 1002,
  /** A data type the endpoint cannot accept. */
  UnsupportedData: 1003,
  /** Reserved: no status code was present. Never sent on the wire. */
  NoStatus: 1005,
  /** Reserved: the connection closed without a close frame. Never sent. */
  Abnormal: 1006,
  /** A text message that is not UTF-8. */
  InvalidPayload: 1007,
  /** A message that violates the endpoint's policy. */
  PolicyViolation: 1008,
  /** A message too big to process. */
  MessageTooBig: 1009,
  /** The client expected an extension the server did not agree. */
  MandatoryExtension: 1010,
  /** The server met an unexpected condition. */
  InternalError: 1011,
  /** The server is restarting. */
  ServiceRestart: 1012,
  /** The server is overloaded: try again later. */
  TryAgainLater: 1013,
} as const;

/**
 * Whether a close code may appear in a close frame on the wire
 * (RFC 6455 §7.4.1–§7.4.2): 1000–1003, 1007–1014, and 3000–4999.
 *
 * @param code The status code read from a close frame.
 * @returns `true` when the code is allowed on the wire.
 *
 * @example
 * ```ts
 * import { isValidWireCloseCode } from "@edgesocket/edgesocket/codec";
 * console.log(isValidWireCloseCode(1005)); // false
 * ```
 */
export function isValidWireCloseCode(code: number): boolean {
  if (code >= 3000 && code <= 4999) return true;
  if (code < 1000 || code > 1014) return false;
  // 1004 is reserved; 1005 and 1006 are never sent; 1015 (TLS) is outside the range.
  return code !== 1004 && code !== 1005 && code !== 1006;
}

/**
 * Whether an application may pass a close code to `close()` (WHATWG
 * WebSockets: 1000, or 3000–4999).
 *
 * @param code The code the application asked for.
 * @returns `true` when the application may send it.
 *
 * @example
 * ```ts
 * import { isApplicationCloseCode } from "@edgesocket/edgesocket/codec";
 * console.log(isApplicationCloseCode(4000)); // true
 * ```
 */
export function isApplicationCloseCode(code: number): boolean {
  return code === 1000 || (code >= 3000 && code <= 4999);
}
