import { applyMask } from "./mask.ts";
import { Opcode } from "./opcode.ts";

/** Options for {@linkcode encodeFrame}. */
export interface EncodeFrameOptions {
  /** Set FIN (default `true`). */
  fin?: boolean;
  /** Set RSV1, for a compressed message (RFC 7692). */
  rsv1?: boolean;
  /** Mask the frame, as a client must (RFC 6455 §5.3). */
  mask?: boolean;
  /**
   * Where the frame's bytes come from (default `new Uint8Array(size)`). It
   * may hand out uninitialized memory from a pool, as Node's
   * `Buffer.allocUnsafe` does: every byte of it is written.
   */
  allocate?: (size: number) => Uint8Array;
}

function allocateZeroed(size: number): Uint8Array {
  return new Uint8Array(size);
}

// Payloads up to this size are copied next to their header: one write beats two.
const MERGE_LIMIT = 1024;
const encoder = new TextEncoder();

function headerLength(length: number, masked: boolean): number {
  const base = length < 126 ? 2 : length < 65536 ? 4 : 10;
  return masked ? base + 4 : base;
}

function writeHeader(
  target: Uint8Array,
  opcode: number,
  length: number,
  fin: boolean,
  rsv1: boolean,
  masked: boolean,
): number {
  target[0] = (fin ? 0x80 : 0) | (rsv1 ? 0x40 : 0) | opcode;
  const maskBit = masked ? 0x80 : 0;
  if (length < 126) {
    target[1] = maskBit | length;
    return 2;
  }
  if (length < 65536) {
    // RFC 6455 §5.2: the minimal number of bytes must be used.
    target[1] = maskBit | 126;
    target[2] = length >>> 8;
    target[3] = length & 0xff;
    return 4;
  }
  target[1] = maskBit | 127;
  const high = Math.floor(length / 0x100000000);
  target[2] = 0;
  target[3] = 0;
  target[4] = (high >>> 8) & 0xff;
  target[5] = high & 0xff;
  target[6] = length >>> 24;
  target[7] = (length >>> 16) & 0xff;
  target[8] = (length >>> 8) & 0xff;
  target[9] = length & 0xff;
  return 10;
}

/**
 * Encodes one frame. A server frame (unmasked) whose payload is over 1 KiB
 * comes back as `[header, payload]` with the payload untouched, so a large
 * payload is never copied to be framed; smaller ones, and masked client frames
 * (which must be copied to be masked), come back as one buffer.
 *
 * @param opcode The frame's opcode.
 * @param payload The payload bytes.
 * @param options FIN, RSV1 and masking.
 * @returns The bytes to write, in order.
 *
 * @example
 * ```ts
 * import { encodeFrame, Opcode } from "@edgesocket/edgesocket/codec";
 * const [frame] = encodeFrame(Opcode.Text, new TextEncoder().encode("Hello"));
 * console.log(frame); // Uint8Array(7) [ 129, 5, 72, 101, 108, 108, 111 ]
 * ```
 */
export function encodeFrame(
  opcode: number,
  payload: Uint8Array,
  options: EncodeFrameOptions = {},
): Uint8Array[] {
  const fin = options.fin ?? true;
  const rsv1 = options.rsv1 ?? false;
  const allocate = options.allocate ?? allocateZeroed;
  const length = payload.length;
  if (options.mask) {
    const out = allocate(headerLength(length, true) + length);
    const at = writeHeader(out, opcode, length, fin, rsv1, true);
    const key = out.subarray(at, at + 4);
    crypto.getRandomValues(key as Uint8Array<ArrayBuffer>);
    const body = out.subarray(at + 4);
    body.set(payload);
    applyMask(body, key);
    return [out];
  }
  if (length > MERGE_LIMIT) {
    const header = allocate(headerLength(length, false));
    writeHeader(header, opcode, length, fin, rsv1, false);
    return [header, payload];
  }
  const out = allocate(headerLength(length, false) + length);
  out.set(payload, writeHeader(out, opcode, length, fin, rsv1, false));
  return [out];
}

/**
 * Encodes a close frame's payload: a 2-byte code, then a UTF-8 reason.
 *
 * @param code The close code, or `undefined` for an empty payload.
 * @param reason The reason, at most 123 UTF-8 bytes.
 * @returns The payload.
 * @throws {RangeError} When the reason is over 123 UTF-8 bytes.
 *
 * @example
 * ```ts
 * import { encodeClosePayload } from "@edgesocket/edgesocket/codec";
 * console.log(encodeClosePayload(1000, "bye")); // Uint8Array(5) [ 3, 232, 98, 121, 101 ]
 * ```
 */
export function encodeClosePayload(code?: number, reason = ""): Uint8Array {
  if (code === undefined) return new Uint8Array(0);
  const text = encoder.encode(reason);
  if (text.length > 123) {
    throw new RangeError("Close reason must be at most 123 UTF-8 bytes");
  }
  const out = new Uint8Array(2 + text.length);
  out[0] = code >>> 8;
  out[1] = code & 0xff;
  out.set(text, 2);
  return out;
}

/**
 * Encodes a complete close frame.
 *
 * @param code The close code, or `undefined` for none.
 * @param options The reason and whether to mask (client role).
 * @returns The frame bytes.
 * @throws {RangeError} When the reason is over 123 UTF-8 bytes.
 *
 * @example
 * ```ts
 * import { encodeCloseFrame } from "@edgesocket/edgesocket/codec";
 * console.log(encodeCloseFrame(1000).length); // 4
 * ```
 */
export function encodeCloseFrame(
  code?: number,
  options: { reason?: string; mask?: boolean } = {},
): Uint8Array {
  const [frame] = encodeFrame(
    Opcode.Close,
    encodeClosePayload(code, options.reason),
    { mask: options.mask },
  );
  return frame;
}
