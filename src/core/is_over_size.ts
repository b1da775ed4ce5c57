import type { RawMessageData } from "./web_socket_events.ts";

const encoder = new TextEncoder();

/**
 * Whether a message is over a size limit in bytes, for the runtimes that
 * deliver messages without a limit of their own (Bun past its server-wide
 * one, a Durable Object's hibernatable sockets).
 *
 * @param data The message, in any of the runtimes' forms.
 * @param max The limit in bytes.
 * @returns `true` when the message is larger.
 */
export function isOverSize(data: RawMessageData, max: number): boolean {
  // Binary first: the common case on Bun's hot path, and a Blob's
  // instanceof is the costlier test.
  if (data instanceof ArrayBuffer || data instanceof Uint8Array) return data.byteLength > max;
  if (typeof data === "string") {
    // UTF-8 takes 1 to 3 bytes per UTF-16 unit: encode only when in doubt.
    return data.length > max || (data.length * 3 > max && encoder.encode(data).length > max);
  }
  if (data instanceof Blob) return data.size > max;
  return (data as ArrayBuffer).byteLength > max;
}
