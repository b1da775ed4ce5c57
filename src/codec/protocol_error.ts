/**
 * The peer broke RFC 6455. Carries the close code the connection answers with;
 * one place (the protocol) turns it into a close frame.
 *
 * @example
 * ```ts
 * import { ProtocolError } from "@edgesocket/edgesocket/codec";
 * const error = new ProtocolError(1002, "Unmasked client frame");
 * console.log(error.closeCode); // 1002
 * ```
 */
export class ProtocolError extends Error {
  /** The close code this violation maps to (1002, 1007, 1009 …). */
  readonly closeCode: number;

  /**
   * Creates the instance.
   *
   * @param closeCode The close code to answer with.
   * @param message A sentence-case description of the violation.
   */
  constructor(closeCode: number, message: string) {
    super(message);
    this.name = "ProtocolError";
    this.closeCode = closeCode;
  }
}
