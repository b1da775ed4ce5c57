import { encodeBase64 } from "./base64.ts";
import { sha1 } from "./sha1.ts";

const GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
const encoder = new TextEncoder();

/**
 * Computes `Sec-WebSocket-Accept` from `Sec-WebSocket-Key` (RFC 6455 §4.2.2):
 * base64(SHA-1(key + GUID)).
 *
 * @param key The client's `Sec-WebSocket-Key`.
 * @returns The accept value for the 101 response.
 *
 * @example The RFC's own example
 * ```ts
 * import { computeAcceptKey } from "@edgesocket/edgesocket/codec";
 * console.log(computeAcceptKey("dGhlIHNhbXBsZSBub25jZQ==")); // "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
 * ```
 */
export function computeAcceptKey(key: string): string {
  return encodeBase64(sha1(encoder.encode(key + GUID)));
}
