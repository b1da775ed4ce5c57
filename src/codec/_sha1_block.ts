/**
 * SHA-1's block step (FIPS 180-4 §6.1.2), shared by `sha1()` and the
 * accept key's fixed-size path, which hashes its two blocks in place.
 */

/** The initial hash value, h0 … h4. */
export const SHA1_INITIAL: readonly number[] = [
  0x67452301,
  0xefcdab89 | 0,
  0x98badcfe | 0,
  0x10325476,
  0xc3d2e1f0 | 0,
];

/**
 * Expands a block's 16 words (`w[0]` … `w[15]`, big-endian) into the
 * 80-word message schedule, in place.
 *
 * @param w The schedule: 80 words, the first 16 set.
 */
export function expandSchedule(w: Int32Array): void {
  for (let t = 16; t < 80; t++) {
    const x = w[t - 3] ^ w[t - 8] ^ w[t - 14] ^ w[t - 16];
    w[t] = (x << 1) | (x >>> 31);
  }
}

/**
 * Runs the 80 rounds over one block's schedule and adds the result into
 * the hash state.
 *
 * @param h The state, h0 … h4; updated.
 * @param w The block's expanded schedule.
 */
export function compressBlock(h: Int32Array, w: Int32Array): void {
  let a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];
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
  h[0] = (h[0] + a) | 0;
  h[1] = (h[1] + b) | 0;
  h[2] = (h[2] + c) | 0;
  h[3] = (h[3] + d) | 0;
  h[4] = (h[4] + e) | 0;
}
