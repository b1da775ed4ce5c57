/**
 * The handlers behind the `/bytes` and `/views` fixture routes (a route
 * with `binaryType: "uint8array"`), and what they report: each binary
 * message is kept as it came, and "check" answers the kept views as they
 * are then, so a view whose bytes changed after delivery shows.
 * "arraybuffer" switches the socket back; an ArrayBuffer is answered with
 * its length.
 */
import type { WebSocketEvents } from "../../src/core/web_socket_session.ts";

/** FNV-1a over the bytes, as 8 hex digits. */
export function hashBytes(bytes: Uint8Array): string {
  let h = 0x811c9dc5;
  for (const byte of bytes) h = Math.imul(h ^ byte, 0x01000193);
  return (h >>> 0).toString(16).padStart(8, "0");
}

/** What "check" answers (parsed), for these messages under this binaryType. */
export function viewReport(messages: Uint8Array[], binaryType = "uint8array") {
  return {
    binaryType,
    kept: messages.map((bytes) => ({ length: bytes.length, hash: hashBytes(bytes) })),
  };
}

/** Handlers that keep every binary message and report them on "check". */
export function keepViews(): WebSocketEvents {
  const kept: Uint8Array[] = [];
  return {
    onMessage(e, ws) {
      const data: unknown = e.data;
      if (data instanceof Uint8Array) kept.push(data);
      else if (data instanceof ArrayBuffer) ws.send(`arraybuffer ${data.byteLength}`);
      else if (data === "arraybuffer") ws.binaryType = "arraybuffer";
      else if (data === "check") ws.send(JSON.stringify(viewReport(kept, ws.binaryType)));
    },
  };
}
