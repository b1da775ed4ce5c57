/**
 * A byte stream the connection writes to: a TCP socket, an in-memory pipe.
 * The adapter feeds what it reads into the connection's `receive()`.
 */
export interface ByteTransport {
  /** Writes bytes in order; a frame may come as a header and a payload. */
  write(chunks: Uint8Array[]): void;
  /** Ends the stream after what is written is flushed (TCP FIN). */
  end(): void;
  /** Drops the stream now. */
  destroy(): void;
  /** Bytes written but not yet flushed to the peer. */
  readonly bufferedAmount: number;
}
