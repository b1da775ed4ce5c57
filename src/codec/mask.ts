const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
// Below this, making a Uint32Array view costs more than it saves.
const WORD_THRESHOLD = 32;
// From here, 64-bit words repay the BigInt key and the longer aligned head.
const WIDE_THRESHOLD = 256;
// V8 (Node, Deno, workerd, Chrome) compiles `u64[i] ^= key` on a
// BigUint64Array to plain 64-bit XORs: twice the 32-bit loop's speed.
// JavaScriptCore (Bun, Safari) allocates a BigInt per XOR: 40 times slower.
// Node 20 has no `navigator`.
const userAgent = (globalThis as { navigator?: { userAgent?: string } }).navigator
  ?.userAgent;
const WIDE = userAgent === undefined ||
  /\bChrome\/|\bDeno\/|\bNode\.js\/|Cloudflare-Workers/.test(userAgent);

// Masks all but at most 7 tail bytes, 64 bits at a time; returns where it stopped.
function applyMaskWide(data: Uint8Array, mask: Uint8Array, offset: number): number {
  // Head bytes up to an 8-byte-aligned address, as BigUint64Array requires.
  const head = (8 - (data.byteOffset & 7)) & 7;
  let i = 0;
  for (; i < head; i++) data[i] ^= mask[(i + offset) & 3];
  const words = (data.length - i) >>> 3;
  const low = BigInt(maskWord(mask, i + offset) >>> 0);
  const m = (low << 32n) | low; // the 4-byte key repeats in 8 bytes
  const u64 = new BigUint64Array(data.buffer, data.byteOffset + i, words);
  let w = 0;
  const unrolled = words & ~15;
  for (; w < unrolled; w += 16) {
    u64[w] ^= m;
    u64[w + 1] ^= m;
    u64[w + 2] ^= m;
    u64[w + 3] ^= m;
    u64[w + 4] ^= m;
    u64[w + 5] ^= m;
    u64[w + 6] ^= m;
    u64[w + 7] ^= m;
    u64[w + 8] ^= m;
    u64[w + 9] ^= m;
    u64[w + 10] ^= m;
    u64[w + 11] ^= m;
    u64[w + 12] ^= m;
    u64[w + 13] ^= m;
    u64[w + 14] ^= m;
    u64[w + 15] ^= m;
  }
  for (; w < words; w++) u64[w] ^= m;
  return i + (words << 3);
}

function maskWord(mask: Uint8Array, at: number): number {
  const b0 = mask[at & 3], b1 = mask[(at + 1) & 3];
  const b2 = mask[(at + 2) & 3], b3 = mask[(at + 3) & 3];
  return LITTLE_ENDIAN
    ? (b0 | (b1 << 8) | (b2 << 16) | (b3 << 24))
    : ((b0 << 24) | (b1 << 16) | (b2 << 8) | b3);
}

/**
 * XORs a buffer with a 4-byte masking key in place (RFC 6455 §5.3), a 32-bit
 * word at a time, eight words per loop turn.
 *
 * @param data The bytes to (un)mask; changed in place.
 * @param mask The 4-byte masking key.
 * @param offset Position of `data[0]` in the frame's payload, for a payload
 * unmasked in pieces.
 *
 * @example
 * ```ts
 * import { applyMask } from "@edgesocket/edgesocket/codec";
 * const data = new Uint8Array([1, 2, 3]);
 * applyMask(data, new Uint8Array([1, 2, 3, 4]));
 * console.log(data); // Uint8Array(3) [ 0, 0, 0 ]
 * ```
 */
export function applyMask(
  data: Uint8Array,
  mask: Uint8Array,
  offset = 0,
): void {
  const length = data.length;
  let i = 0;
  // A function of its own: inlined here it would stop applyMask from being
  // inlined into the decoder, which costs small frames 5%.
  if (WIDE && length >= WIDE_THRESHOLD) i = applyMaskWide(data, mask, offset);
  else if (length >= WORD_THRESHOLD) {
    // Head bytes up to a 4-byte-aligned address, as Uint32Array requires.
    const head = (4 - (data.byteOffset & 3)) & 3;
    for (; i < head; i++) data[i] ^= mask[(i + offset) & 3];
    const words = (length - i) >>> 2;
    const m = maskWord(mask, i + offset);
    const u32 = new Uint32Array(data.buffer, data.byteOffset + i, words);
    let w = 0;
    const unrolled = words & ~7;
    for (; w < unrolled; w += 8) {
      u32[w] ^= m;
      u32[w + 1] ^= m;
      u32[w + 2] ^= m;
      u32[w + 3] ^= m;
      u32[w + 4] ^= m;
      u32[w + 5] ^= m;
      u32[w + 6] ^= m;
      u32[w + 7] ^= m;
    }
    for (; w < words; w++) u32[w] ^= m;
    i += words << 2;
  }
  for (; i < length; i++) data[i] ^= mask[(i + offset) & 3];
}
