/** What `send()` takes, as the WHATWG WebSocket does. */
export type SendData = string | ArrayBuffer | ArrayBufferView | Blob;

/**
 * Turns binary `send()` input into exactly its bytes: a view keeps its
 * `byteOffset` and `byteLength`, never its whole (pooled) buffer.
 *
 * @param data An `ArrayBuffer` or any `ArrayBufferView`.
 * @returns A `Uint8Array` over the same memory.
 *
 * @example
 * ```ts
 * import { toBytes } from "@edgesocket/edgesocket";
 * const pool = new Uint8Array(8192);
 * console.log(toBytes(pool.subarray(10, 13)).length); // 3
 * ```
 */
export function toBytes(data: ArrayBuffer | ArrayBufferView): Uint8Array {
  if (data instanceof Uint8Array) return data;
  if (ArrayBuffer.isView(data)) {
    return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  }
  return new Uint8Array(data);
}
