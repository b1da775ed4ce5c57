import type { StreamPosition } from "./history_store.ts";

/** A publication on a shared history's topic, as the backplane carries it between processes. */
export interface RelayedPublication {
  /** The position it got where it was published; `undefined` when the store could not number it. */
  position: StreamPosition | undefined;
  /** The publishing session's id. */
  origin: string | undefined;
  /** The payload. */
  data: string | Uint8Array;
}

// Layout: MARK, flags (1 binary, 2 numbered), the epoch's length and bytes,
// the offset as a float64, the origin's length and bytes, the payload.
const MARK = 0xe5;
const BINARY = 1;
const NUMBERED = 2;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * Encodes a publication for the backplane: the other processes deliver it
 * with the position it got here (a shared store numbered it once, for all
 * of them).
 *
 * @param publication Its position, origin and payload.
 * @returns The message's bytes.
 * @throws {RangeError} For an epoch or origin over 255 bytes.
 */
export function encodeRelayedPublication(publication: RelayedPublication): Uint8Array {
  const { position, origin, data } = publication;
  const epoch = encoder.encode(position?.epoch ?? "");
  const from = encoder.encode(origin ?? "");
  if (epoch.length > 255 || from.length > 255) {
    throw new RangeError("Relayed publication's epoch and origin must be at most 255 bytes");
  }
  const body = typeof data === "string" ? encoder.encode(data) : data;
  const out = new Uint8Array(12 + epoch.length + from.length + body.length);
  const view = new DataView(out.buffer);
  out[0] = MARK;
  out[1] = (typeof data === "string" ? 0 : BINARY) | (position ? NUMBERED : 0);
  out[2] = epoch.length;
  out.set(epoch, 3);
  let at = 3 + epoch.length;
  view.setFloat64(at, position?.offset ?? 0);
  at += 8;
  out[at++] = from.length;
  out.set(from, at);
  out.set(body, at + from.length);
  return out;
}

/**
 * Decodes what {@linkcode encodeRelayedPublication} made.
 *
 * @param bytes The backplane's message.
 * @returns The publication, or `undefined` for a message that is not one
 *   (a process that does not share the history relayed it bare).
 */
export function decodeRelayedPublication(
  bytes: string | Uint8Array,
): RelayedPublication | undefined {
  if (typeof bytes === "string" || bytes.length < 12 || bytes[0] !== MARK) return undefined;
  const flags = bytes[1];
  const epochEnd = 3 + bytes[2];
  if (epochEnd + 9 > bytes.length) return undefined;
  const offset = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    .getFloat64(epochEnd);
  const fromEnd = epochEnd + 9 + bytes[epochEnd + 8];
  if (fromEnd > bytes.length) return undefined;
  const body = bytes.subarray(fromEnd);
  const origin = fromEnd > epochEnd + 9
    ? decoder.decode(bytes.subarray(epochEnd + 9, fromEnd))
    : undefined;
  return {
    position: flags & NUMBERED
      ? { epoch: decoder.decode(bytes.subarray(3, epochEnd)), offset }
      : undefined,
    origin,
    data: flags & BINARY ? body.slice() : decoder.decode(body),
  };
}
