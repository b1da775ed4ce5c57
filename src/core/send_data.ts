/** What `send()` takes, as the WHATWG WebSocket does. */
export type SendData = string | ArrayBuffer | ArrayBufferView | Blob;

/**
 * Turns binary `send()` input into exactly its bytes: a view keeps its
 * `byteOffset` and `byteLength`, never its whole (pooled) buffer.
 *
 * @param data An `ArrayBuffer` or any `ArrayBufferView`.
 * @returns A `Uint8Array` over the same memory.
 * @throws {TypeError} For anything that is not binary data.
 *
 * @example
 * ```ts
 * import { toBytes } from "@edgesocket/edgesocket/adapter";
 * const pool = new Uint8Array(8192);
 * console.log(toBytes(pool.subarray(10, 13)).length); // 3
 * ```
 */
export function toBytes(data: ArrayBuffer | ArrayBufferView): Uint8Array {
  if (data instanceof Uint8Array) return data;
  if (ArrayBuffer.isView(data)) {
    return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  }
  // Another realm's ArrayBuffer fails instanceof; its tag does not lie.
  if (data instanceof ArrayBuffer || isBufferTag(data)) return new Uint8Array(data);
  // `new Uint8Array({})` would be an empty message, sent without a word.
  throw new TypeError(
    `Cannot send ${describe(data)}: send() takes a string, ArrayBuffer, view or Blob`,
  );
}

function isBufferTag(data: unknown): boolean {
  const tag = Object.prototype.toString.call(data);
  return tag === "[object ArrayBuffer]" || tag === "[object SharedArrayBuffer]";
}

function describe(data: unknown): string {
  if (data === null) return "null";
  if (typeof data !== "object") return `a ${typeof data}`;
  return `an object (${Object.prototype.toString.call(data).slice(8, -1)})`;
}
