const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

// Each ASCII code's value in the alphabet, 255 for none.
const BASE64_VALUE = new Uint8Array(128).fill(255);
for (let i = 0; i < ALPHABET.length; i++) BASE64_VALUE[ALPHABET.charCodeAt(i)] = i;

/**
 * Encodes bytes as standard base64 (RFC 4648 §4, with padding).
 *
 * @param bytes The bytes to encode.
 * @returns The base64 text.
 *
 * @example
 * ```ts
 * import { encodeBase64 } from "@edgesocket/edgesocket/codec";
 * console.log(encodeBase64(new Uint8Array([1, 2, 3]))); // "AQID"
 * ```
 */
export function encodeBase64(bytes: Uint8Array): string {
  let out = "";
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const n = (bytes[i] << 16) | (bytes[i + 1] << 8) | bytes[i + 2];
    out += ALPHABET[n >>> 18] + ALPHABET[(n >>> 12) & 63] +
      ALPHABET[(n >>> 6) & 63] + ALPHABET[n & 63];
  }
  const rest = bytes.length - i;
  if (rest === 1) {
    const n = bytes[i] << 16;
    out += ALPHABET[n >>> 18] + ALPHABET[(n >>> 12) & 63] + "==";
  } else if (rest === 2) {
    const n = (bytes[i] << 16) | (bytes[i + 1] << 8);
    out += ALPHABET[n >>> 18] + ALPHABET[(n >>> 12) & 63] +
      ALPHABET[(n >>> 6) & 63] + "=";
  }
  return out;
}

/**
 * Whether a `Sec-WebSocket-Key` value is the base64 of exactly 16 bytes
 * (RFC 6455 §4.1): 22 alphabet characters, then `==`.
 *
 * @param key The header value, trimmed.
 * @returns `true` for a well-formed key.
 *
 * @example
 * ```ts
 * import { isWebSocketKey } from "@edgesocket/edgesocket/codec";
 * console.log(isWebSocketKey("dGhlIHNhbXBsZSBub25jZQ==")); // true
 * ```
 */
export function isWebSocketKey(key: string): boolean {
  if (key.length !== 24 || key.charCodeAt(22) !== 0x3d || key.charCodeAt(23) !== 0x3d) {
    return false;
  }
  // Char codes against a table: indexing the string and searching the
  // alphabet made a string per character, on every upgrade.
  for (let i = 0; i < 22; i++) {
    const c = key.charCodeAt(i);
    if (c > 127 || BASE64_VALUE[c] === 255) return false;
  }
  // The last character carries 2 data bits: its low 4 bits must be zero.
  return (BASE64_VALUE[key.charCodeAt(21)] & 15) === 0;
}
