import type { RuntimeTopics } from "./runtime_topics.ts";

/**
 * The closures a runtime adapter gives for one open socket: the only part
 * of a connection that differs between Deno, Workers, Bun and the codec.
 */
export interface SocketDriver {
  /**
   * Sends a text or binary message (exactly the view's bytes, or the whole
   * buffer); `compress` is a per-message wish the runtime may ignore.
   */
  send(data: string | Uint8Array | ArrayBuffer, compress?: boolean): void;
  /**
   * Starts the closing handshake with any code the server may send (1001,
   * 1008, 1009, 1011, 1013 …): named as `WebSocketConnection.closeWith()`,
   * so that a codec connection is its own driver.
   */
  closeWith(code?: number, reason?: string): void;
  /** Writes an already encoded frame (a topic's, encoded once), where the codec frames bytes. */
  sendEncoded?(chunks: Uint8Array[]): void;
  /** Sends a ping, where the runtime can. */
  ping?(data: Uint8Array): void;
  /** The runtime's own topics, where it has them (Bun): publishes go through them. */
  readonly topics?: RuntimeTopics;
  /** Drops the socket without a closing handshake, where the runtime can. */
  terminate?(): void;
  /** The runtime's `readyState`. */
  readonly readyState: number;
  /** Bytes queued and not yet sent, where the runtime reports it. */
  readonly bufferedAmount: number;
  /** The agreed extensions. */
  readonly extensions: string;
  /** The runtime's own socket object. */
  readonly raw: unknown;
}
