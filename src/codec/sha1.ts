import { compressBlock, expandSchedule, SHA1_INITIAL } from "./_sha1_block.ts";

/**
 * Synchronous SHA-1 (FIPS 180-4) in plain TypeScript. The handshake needs it
 * synchronously on every runtime, and WebCrypto's digest is async.
 *
 * @param data The bytes to hash.
 * @returns The 20-byte digest.
 *
 * @example
 * ```ts
 * import { sha1 } from "@edgesocket/edgesocket/codec";
 * const digest = sha1(new TextEncoder().encode("abc"));
 * console.log(digest.length); // 20
 * ```
 */
export function sha1(data: Uint8Array): Uint8Array {
  const bitLength = data.length * 8;
  // Message + 0x80 + zero padding + 64-bit length, to a multiple of 64 bytes.
  const blocks = ((data.length + 8) >>> 6) + 1;
  const padded = new Uint8Array(blocks * 64);
  padded.set(data);
  padded[data.length] = 0x80;
  const view = new DataView(padded.buffer);
  view.setUint32(padded.length - 8, Math.floor(bitLength / 0x100000000));
  view.setUint32(padded.length - 4, bitLength >>> 0);

  const h = Int32Array.from(SHA1_INITIAL);
  const w = new Int32Array(80);
  for (let block = 0; block < padded.length; block += 64) {
    for (let t = 0; t < 16; t++) w[t] = view.getInt32(block + t * 4);
    expandSchedule(w);
    compressBlock(h, w);
  }

  const out = new Uint8Array(20);
  const outView = new DataView(out.buffer);
  for (let i = 0; i < 5; i++) outView.setInt32(i * 4, h[i]);
  return out;
}
