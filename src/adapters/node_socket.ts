/** The Node socket plumbing the Node adapters share: a transport, the read pipe, raw answers. */
import { Buffer } from "node:buffer";
import { STATUS_CODES } from "node:http";
import { clearInterval, setInterval } from "node:timers";
import type { Socket } from "node:net";
import type { Duplex } from "node:stream";
import type { ByteTransport } from "../core/byte_transport.ts";
import type { WebSocketConnection } from "../core/web_socket_connection.ts";
import {
  beginWriteBatch,
  endWriteBatch,
  isWriteBatch,
  onWriteBatchEnd,
} from "../core/write_batch.ts";

/**
 * A {@linkcode ByteTransport} over a Node socket, after the 101: no delay,
 * no idle timeout (the connection runs its own heartbeat).
 *
 * @param socket The upgraded socket.
 * @returns The transport.
 */
export function openSocketTransport(socket: Socket): ByteTransport {
  socket.setNoDelay(true);
  socket.setTimeout(0);
  // http.Server accepts half-open sockets; a WebSocket peer that sends FIN
  // without a close frame is gone (1006), so Node ends our side too and
  // 'close' follows.
  socket.allowHalfOpen = false;
  return new SocketTransport(socket);
}

// A class, not an object literal: V8 makes a literal with a getter a
// dictionary-mode object (~460 bytes), plus a closure per method.
class SocketTransport implements ByteTransport {
  #socket: Socket;

  constructor(socket: Socket) {
    this.#socket = socket;
  }

  write(chunks: Uint8Array[]): void {
    const socket = this.#socket;
    // While a read is handled, every socket it writes to (the reader's
    // own, a topic's subscribers) is corked: all that one read causes leaves
    // in one writev per socket, not one write syscall per frame and publish.
    if (isWriteBatch() && !corked.has(socket)) {
      socket.cork();
      corked.add(socket);
      onWriteBatchEnd(uncorkAll);
    }
    if (chunks.length === 1) {
      socket.write(chunks[0]);
      return;
    }
    socket.cork();
    for (const chunk of chunks) socket.write(chunk);
    socket.uncork();
  }

  end(): void {
    const socket = this.#socket;
    socket.end();
    // A peer that never reads, or never sends its FIN, would hold the
    // socket for ever: it gets END_TIMEOUT to finish, then is destroyed.
    // (Node's socket.setTimeout() waits twice as long while a write is stuck.)
    watchEnding(socket);
  }

  destroy(): void {
    this.#socket.destroy();
  }

  get bufferedAmount(): number {
    return this.#socket.writableLength;
  }
}

// How long an ended socket may take to close before it is destroyed.
const END_TIMEOUT = 5_000;
// How often the ended sockets are looked at: one is destroyed between
// END_TIMEOUT and END_TIMEOUT + END_SWEEP after its end.
const END_SWEEP = 500;

// Ended sockets and when each is due. One timer for all of them, not a
// timer and a 'close' listener per socket: those were a tenth of the
// JavaScript of a connection's close.
const ending = new Map<Socket, number>();
let endSweep: ReturnType<typeof setInterval> | undefined;

function watchEnding(socket: Socket): void {
  if (socket.destroyed) return;
  ending.set(socket, Date.now() + END_TIMEOUT);
  if (endSweep === undefined) {
    endSweep = setInterval(sweepEnding, END_SWEEP);
    endSweep.unref();
  }
}

function sweepEnding(): void {
  const now = Date.now();
  for (const [socket, due] of ending) {
    if (socket.destroyed) ending.delete(socket);
    else if (due <= now) {
      ending.delete(socket);
      socket.destroy();
    }
  }
  if (ending.size === 0) {
    clearInterval(endSweep);
    endSweep = undefined;
  }
}

/**
 * Where the codec's outgoing frames come from on Node: Node's shared pool
 * (`Buffer.allocUnsafe`, as `ws` frames), not a fresh `ArrayBuffer` per
 * frame, whose backing store costs more than the copy into it; and a
 * Buffer is written as it is, where a plain Uint8Array is wrapped first.
 * The codec writes every byte it is handed.
 *
 * @param size The frame's size.
 * @returns Uninitialized bytes.
 */
export function allocateFrame(size: number): Uint8Array {
  return Buffer.allocUnsafe(size);
}

/**
 * Feeds what the socket reads into the connection, and its end or error.
 *
 * @param socket The upgraded socket.
 * @param connection The open connection.
 * @param head Bytes read past the request head.
 */
export function pipeSocket(socket: Socket, connection: WebSocketConnection, head: Buffer): void {
  // Shared listeners that find the connection on the socket: three closures
  // and their context per idle connection would cost more than the field.
  (socket as PipedSocket)[CONNECTION] = connection;
  socket.on("error", onSocketError);
  socket.on("close", onSocketClose);
  socket.on("drain", onSocketDrain);
  // Plain Uint8Array views: a Buffer's slice() would not copy.
  if (head.length > 0) connection.receive(toUint8Array(head));
  socket.on("data", onSocketData);
}

const CONNECTION = Symbol("edgesocket.connection");

interface PipedSocket extends Socket {
  [CONNECTION]: WebSocketConnection;
}

// The sockets written to in the current batch.
const corked = new Set<Socket>();

function uncorkAll(): void {
  for (const socket of corked) socket.uncork();
  corked.clear();
}

function onSocketData(this: PipedSocket, chunk: Buffer): void {
  beginWriteBatch();
  try {
    this[CONNECTION].receive(toUint8Array(chunk));
  } finally {
    endWriteBatch();
  }
}

function onSocketError(this: PipedSocket, error: Error): void {
  this[CONNECTION].receiveEnd(error);
}

// Node's 'drain': a write passed the socket's 16 KiB mark and all is sent.
function onSocketDrain(this: PipedSocket): void {
  this[CONNECTION].receiveDrain();
}

function onSocketClose(this: PipedSocket): void {
  ending.delete(this);
  this[CONNECTION].receiveEnd();
}

/** What a socket looked like when the `upgrade` event reached us. */
export interface SocketMark {
  /** `bytesWritten` then: earlier keep-alive answers count in it. */
  readonly written: number;
  /** `'error'` listeners then (a TLS socket has one of its own). */
  readonly errorListeners: number;
}

/**
 * Notes a socket's state as the `upgrade` event reaches edgesocket, for
 * {@linkcode isSocketTaken}.
 *
 * @param socket The socket of the upgrade.
 * @returns The mark.
 */
export function takeSocketMark(socket: Duplex): SocketMark {
  return {
    written: (socket as Socket).bytesWritten ?? 0,
    errorListeners: countErrorListeners(socket),
  };
}

/**
 * Whether another `upgrade` listener has taken the socket since the mark:
 * it closed or ended it, wrote to it (`ws` writes its 101 or its 400 at
 * once), reads it (a `data` listener, as every WebSocket library adds), or
 * guards it with an `error` listener while it works (`ws` with an async
 * `verifyClient`). Only {@linkcode ignoreSocketError} may be edgesocket's
 * own listener on it by then.
 *
 * @param socket The socket of the upgrade.
 * @param mark Its mark from {@linkcode takeSocketMark}.
 * @returns `true` if the socket is another listener's.
 */
export function isSocketTaken(socket: Duplex, mark: SocketMark): boolean {
  return socket.destroyed || socket.writableEnded ||
    ((socket as Socket).bytesWritten ?? 0) !== mark.written ||
    socket.listenerCount("data") > 0 ||
    countErrorListeners(socket) > mark.errorListeners;
}

/**
 * The `error` listener edgesocket holds on a socket while the app routes
 * its upgrade: a reset then is nothing to report.
 */
export function ignoreSocketError(): void {}

// Counted without listeners(), which copies the list on every upgrade.
function countErrorListeners(socket: Duplex): number {
  return socket.listenerCount("error") - socket.listenerCount("error", ignoreSocketError);
}

/**
 * Answers on a raw socket with an HTTP/1.1 response and ends it.
 *
 * @param socket The socket.
 * @param status The status.
 * @param body The body.
 * @param headers Extra headers.
 */
export function writeRawResponse(
  socket: Duplex,
  status: number,
  body: Uint8Array | string,
  headers: Iterable<[string, string]> | Record<string, string> = {},
): void {
  if (socket.destroyed) return;
  const bytes = typeof body === "string" ? Buffer.from(body) : Buffer.from(body);
  const lines = [`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ""}`];
  const entries = Symbol.iterator in headers
    ? headers as Iterable<[string, string]>
    : Object.entries(headers);
  let hasType = false;
  for (const [name, value] of entries) {
    const lower = name.toLowerCase();
    if (lower === "content-length" || lower === "connection") continue;
    if (lower === "content-type") hasType = true;
    lines.push(`${name}: ${value}`);
  }
  if (!hasType && bytes.length > 0) lines.push("Content-Type: text/plain; charset=utf-8");
  lines.push(`Content-Length: ${bytes.length}`, "Connection: close");
  socket.end(Buffer.concat([Buffer.from(lines.join("\r\n") + "\r\n\r\n"), bytes]));
}

function toUint8Array(chunk: Buffer): Uint8Array {
  return new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
}
