import { encodeBase64 } from "./base64.ts";
import { compressBlock, expandSchedule, SHA1_INITIAL } from "./_sha1_block.ts";
import { sha1 } from "./sha1.ts";

const GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
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
  return key.length === 24 && isAscii(key)
    ? computeKeyAccept(key)
    : encodeBase64(sha1(encoder.encode(key + GUID)));
}

function isAscii(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) > 0x7f) return false;
  return true;
}

// Every valid key is 24 ASCII characters, so key + GUID is 60 bytes: two
// SHA-1 blocks, of which only the first six words of the first come from
// the key; the rest of that block and the whole second (padding and the
// length, 480 bits) never change. Hashed here in place, with no buffer, no
// DataView and no encoder per handshake (they were most of an upgrade's
// codec allocation).
const FIRST = new Int32Array(80);
const SECOND = new Int32Array(80);
const CODES: number[] = new Array(28).fill(0);

(function prepare() {
  const tail = encoder.encode(GUID); // bytes 24 to 59 of the message
  for (let t = 6; t < 15; t++) {
    const at = (t - 6) * 4;
    FIRST[t] = (tail[at] << 24) | (tail[at + 1] << 16) | (tail[at + 2] << 8) | tail[at + 3];
  }
  FIRST[15] = 0x80000000 | 0; // byte 60 is the padding's 0x80
  SECOND[15] = 60 * 8;
  expandSchedule(SECOND);
})();

// The state after each block: h0 … h4.
const H = new Int32Array(5);

function computeKeyAccept(key: string): string {
  for (let t = 0; t < 6; t++) {
    const at = t * 4;
    FIRST[t] = (key.charCodeAt(at) << 24) | (key.charCodeAt(at + 1) << 16) |
      (key.charCodeAt(at + 2) << 8) | key.charCodeAt(at + 3);
  }
  expandSchedule(FIRST);
  H.set(SHA1_INITIAL);
  compressBlock(H, FIRST);
  compressBlock(H, SECOND);
  // base64 of the 20 digest bytes: six 3-byte groups, then two bytes and "=".
  let out = 0;
  let carry = 0;
  let bits = 0;
  for (let i = 0; i < 20; i++) {
    carry = (carry << 8) | ((H[i >> 2] >>> (24 - (i & 3) * 8)) & 0xff);
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      CODES[out++] = ALPHABET.charCodeAt((carry >>> bits) & 63);
    }
    carry &= (1 << bits) - 1;
  }
  CODES[out++] = ALPHABET.charCodeAt((carry << (6 - bits)) & 63);
  CODES[out] = 0x3d; // "="
  return String.fromCharCode.apply(null, CODES);
}
