import { encodeBase64 } from "./base64.ts";
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

function expandSchedule(w: Int32Array): void {
  for (let t = 16; t < 80; t++) {
    const x = w[t - 3] ^ w[t - 8] ^ w[t - 14] ^ w[t - 16];
    w[t] = (x << 1) | (x >>> 31);
  }
}

// The state after each block: h0 … h4.
const H = new Int32Array(5);

function compress(w: Int32Array): void {
  let a = H[0], b = H[1], c = H[2], d = H[3], e = H[4];
  for (let t = 0; t < 80; t++) {
    let f: number, k: number;
    if (t < 20) {
      f = (b & c) | (~b & d);
      k = 0x5a827999;
    } else if (t < 40) {
      f = b ^ c ^ d;
      k = 0x6ed9eba1;
    } else if (t < 60) {
      f = (b & c) | (b & d) | (c & d);
      k = 0x8f1bbcdc;
    } else {
      f = b ^ c ^ d;
      k = 0xca62c1d6;
    }
    const temp = (((a << 5) | (a >>> 27)) + f + e + k + w[t]) | 0;
    e = d;
    d = c;
    c = (b << 30) | (b >>> 2);
    b = a;
    a = temp;
  }
  H[0] = (H[0] + a) | 0;
  H[1] = (H[1] + b) | 0;
  H[2] = (H[2] + c) | 0;
  H[3] = (H[3] + d) | 0;
  H[4] = (H[4] + e) | 0;
}

function computeKeyAccept(key: string): string {
  for (let t = 0; t < 6; t++) {
    const at = t * 4;
    FIRST[t] = (key.charCodeAt(at) << 24) | (key.charCodeAt(at + 1) << 16) |
      (key.charCodeAt(at + 2) << 8) | key.charCodeAt(at + 3);
  }
  expandSchedule(FIRST);
  H[0] = 0x67452301;
  H[1] = 0xefcdab89 | 0;
  H[2] = 0x98badcfe | 0;
  H[3] = 0x10325476;
  H[4] = 0xc3d2e1f0 | 0;
  compress(FIRST);
  compress(SECOND);
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
