// Base64 (RFC 4648 §4, padded) of the resume protocol's `b` field. Its own,
// small: the client imports nothing else, and `atob`/`btoa` work on
// "binary strings" that cost a copy each way.
const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const LOOKUP = new Uint8Array(128).fill(255);
for (let i = 0; i < 64; i++) LOOKUP[ALPHABET.charCodeAt(i)] = i;

/**
 * Encodes bytes as padded base64.
 *
 * @param bytes The bytes.
 * @returns The text.
 *
 * @example
 * ```ts ignore
 * encodeBase64(new Uint8Array([1, 2, 3])); // "AQID"
 * ```
 */
export function encodeBase64(bytes: Uint8Array): string {
  let out = "";
  const n = bytes.length;
  for (let i = 0; i < n; i += 3) {
    const v = (bytes[i] << 16) | ((bytes[i + 1] ?? 0) << 8) | (bytes[i + 2] ?? 0);
    out += ALPHABET[v >>> 18] + ALPHABET[(v >>> 12) & 63] +
      (i + 1 < n ? ALPHABET[(v >>> 6) & 63] : "=") + (i + 2 < n ? ALPHABET[v & 63] : "=");
  }
  return out;
}

/**
 * Decodes padded base64; `undefined` for anything else (a wrong length, a
 * character outside the alphabet, padding in the middle, stray bits).
 *
 * @param text The text.
 * @returns The bytes, or `undefined` when the text is not canonical base64.
 *
 * @example
 * ```ts ignore
 * decodeBase64("AQID"); // Uint8Array [1, 2, 3]
 * ```
 */
export function decodeBase64(text: string): Uint8Array | undefined {
  const length = text.length;
  if (length % 4) return undefined;
  const pad = text.endsWith("==") ? 2 : text.endsWith("=") ? 1 : 0;
  const out = new Uint8Array((length / 4) * 3 - pad);
  let at = 0;
  for (let i = 0; i < length; i += 4) {
    let v = 0;
    for (let j = 0; j < 4; j++) {
      const code = text.charCodeAt(i + j);
      // Padding only in the last group's last one or two places.
      const digit = code === 61 && i + 4 === length && j >= 4 - pad ? 0 : LOOKUP[code] ?? 255;
      if (digit === 255) return undefined;
      v = (v << 6) | digit;
    }
    out[at++] = v >>> 16;
    if (at < out.length) out[at++] = (v >>> 8) & 255;
    if (at < out.length) out[at++] = v & 255;
    // Canonical only: the bits a padded group leaves unused are zero.
    if (i + 4 === length && pad && (v & (pad === 2 ? 0xffff : 0xff))) return undefined;
  }
  return out;
}
