/**
 * WebSocket frame opcodes (RFC 6455 §5.2).
 *
 * @example Telling a control frame from a data frame
 * ```ts
 * import { isControlOpcode, Opcode } from "@edgesocket/edgesocket/codec";
 * console.log(isControlOpcode(Opcode.Ping)); // true
 * ```
 */
export const Opcode = {
  /** A continuation of a fragmented message. */
  Continuation: 0x0,
  /** A text frame: UTF-8 payload. */
  Text: 0x1,
  /** A binary frame. */
  Binary: 0x2,
  /** A close frame: optional code and reason. */
  Close: 0x8,
  /** A ping frame. */
  Ping: 0x9,
  /** A pong frame. */
  Pong: 0xa,
} as const;

/** One of the opcode values of {@linkcode Opcode}. */
export type Opcode = typeof Opcode[keyof typeof Opcode];

/**
 * Whether an opcode is a control opcode (close, ping, pong, or a reserved
 * 0xB–0xF).
 *
 * @param opcode The four-bit opcode.
 * @returns `true` for opcodes 0x8 and above.
 *
 * @example
 * ```ts
 * import { isControlOpcode } from "@edgesocket/edgesocket/codec";
 * console.log(isControlOpcode(0x1)); // false
 * ```
 */
export function isControlOpcode(opcode: number): boolean {
  return (opcode & 0x8) !== 0;
}
