/**
 * A peer broke the resume protocol (`edgesocket.resume.v1`): the one error
 * class of it, carrying the close code the socket is closed with.
 *
 * @example
 * ```ts ignore
 * try {
 *   decodeClientFrame("{nope");
 * } catch (error) {
 *   if (error instanceof ResumeProtocolError) socket.close(error.code, error.message);
 * }
 * ```
 */
export class ResumeProtocolError extends Error {
  /** The close code: 1002 for a malformed frame, 1008 for a limit, 1003 for a binary frame. */
  readonly code: number;

  /**
   * Creates the error.
   *
   * @param code The close code.
   * @param message A sentence-case reason, at most 123 bytes (it becomes the close reason).
   */
  constructor(code: number, message: string) {
    super(message);
    this.name = "ResumeProtocolError";
    this.code = code;
  }
}
