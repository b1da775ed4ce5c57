/**
 * An upgrade request the server refuses. Carries the HTTP status and the
 * headers to answer with (400; 426 with `Sec-WebSocket-Version: 13`; 403 …).
 *
 * @example
 * ```ts
 * import { HandshakeError } from "@edgesocket/edgesocket/codec";
 * const error = new HandshakeError(400, "Missing Sec-WebSocket-Key header");
 * console.log(error.status, error.message); // 400 Missing Sec-WebSocket-Key header
 * ```
 */
export class HandshakeError extends Error {
  /** The HTTP status to answer with. */
  readonly status: number;
  /** Extra response headers, for example `Sec-WebSocket-Version: 13`. */
  readonly headers: Record<string, string>;

  /**
   * Creates the instance.
   *
   * @param status The HTTP status.
   * @param message A one-line reason, sent as the response body.
   * @param headers Extra response headers.
   */
  constructor(
    status: number,
    message: string,
    headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = "HandshakeError";
    this.status = status;
    this.headers = headers;
  }
}
