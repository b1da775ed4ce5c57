/** Our own client (the codec in the client role) over a real TCP socket. */
import { createClientHandshake, validateServerHandshake } from "../../src/codec/mod.ts";
import { WebSocketConnection } from "../../src/core/web_socket_connection.ts";
import { WebSocketTestClient } from "../../src/testing/mod.ts";
import { concat } from "./chunking.ts";

/** An HTTP response read off a raw socket. */
export interface RawResponse {
  status: number;
  headers: Headers;
  body: string;
  rest: Uint8Array;
  conn: Deno.Conn;
}

const decoder = new TextDecoder();

/** Writes `request` on a fresh TCP connection and reads the response head (and body). */
export async function rawRequest(port: number, request: string | Uint8Array): Promise<RawResponse> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  await conn.write(typeof request === "string" ? new TextEncoder().encode(request) : request);
  return await readResponse(conn);
}

/** Reads an HTTP response head, and its body when it has a Content-Length. */
export async function readResponse(conn: Deno.Conn): Promise<RawResponse> {
  let buffer: Uint8Array = new Uint8Array(0);
  const buf = new Uint8Array(65536);
  let headEnd = -1;
  while (headEnd === -1) {
    const n = await conn.read(buf);
    if (n === null) throw new Error(`connection closed after: ${decoder.decode(buffer)}`);
    buffer = concatBytes(buffer, buf.subarray(0, n));
    headEnd = indexOfCrlf2(buffer);
  }
  const head = decoder.decode(buffer.subarray(0, headEnd));
  const [statusLine, ...lines] = head.split("\r\n");
  const headers = new Headers();
  for (const line of lines) {
    const at = line.indexOf(":");
    headers.append(line.slice(0, at).trim(), line.slice(at + 1).trim());
  }
  let rest: Uint8Array = buffer.subarray(headEnd + 4);
  const length = Number(headers.get("content-length") ?? 0);
  while (rest.length < length) {
    const n = await conn.read(buf);
    if (n === null) break;
    rest = concatBytes(rest, buf.subarray(0, n));
  }
  return {
    status: Number(statusLine.split(" ")[1]),
    headers,
    body: decoder.decode(rest.subarray(0, length)),
    rest: rest.subarray(length),
    conn,
  };
}

/** A valid upgrade request's text, with overrides. */
export function upgradeRequest(path: string, headers: Record<string, string | null> = {}): string {
  const all: Record<string, string | null> = {
    Host: "127.0.0.1",
    Upgrade: "websocket",
    Connection: "Upgrade",
    "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
    "Sec-WebSocket-Version": "13",
    ...headers,
  };
  const lines = Object.entries(all).filter(([, v]) => v !== null).map(([k, v]) => `${k}: ${v}`);
  return `GET ${path} HTTP/1.1\r\n${lines.join("\r\n")}\r\n\r\n`;
}

/** Opens our client over TCP. */
export async function openTcpClient(
  port: number,
  path: string,
  options: { protocols?: string[]; headers?: Record<string, string> } = {},
): Promise<WebSocketTestClient> {
  const handshake = createClientHandshake({ protocols: options.protocols });
  const response = await rawRequest(
    port,
    upgradeRequest(path, { ...handshake.headers, ...options.headers }),
  );
  const { protocol } = validateServerHandshake(response.status, response.headers, {
    key: handshake.key,
    protocols: options.protocols,
  });
  const conn = response.conn;
  let closed = false;
  const writes: Uint8Array[] = [];
  let writing = false;
  const flush = async () => {
    if (writing) return;
    writing = true;
    try {
      while (writes.length > 0) {
        const chunk = writes.shift()!;
        let at = 0;
        while (at < chunk.length) at += await conn.write(chunk.subarray(at));
      }
    } catch { /* the peer is gone: the read loop reports it */ }
    writing = false;
  };
  const connection = new WebSocketConnection({
    write(chunks) {
      for (const c of chunks) writes.push(c.slice());
      flush();
    },
    end() {
      if (!closed) conn.closeWrite().catch(() => {});
    },
    destroy() {
      if (!closed) {
        closed = true;
        conn.close();
      }
    },
    get bufferedAmount() {
      return writes.reduce((n, c) => n + c.length, 0);
    },
  }, { role: "client", protocol });
  const client = new WebSocketTestClient(connection, protocol);
  connection.open();
  if (response.rest.length > 0) connection.receive(response.rest.slice());
  (async () => {
    const buf = new Uint8Array(65536);
    try {
      while (true) {
        const n = await conn.read(buf);
        if (n === null) break;
        connection.receive(buf.slice(0, n));
      }
    } catch { /* reset */ }
    connection.receiveEnd();
    if (!closed) {
      closed = true;
      try {
        conn.close();
      } catch { /* closed */ }
    }
  })();
  return client;
}

function indexOfCrlf2(b: Uint8Array): number {
  for (let i = 0; i + 3 < b.length; i++) {
    if (b[i] === 13 && b[i + 1] === 10 && b[i + 2] === 13 && b[i + 3] === 10) return i;
  }
  return -1;
}

/** Concatenates two byte arrays. */
export function concatBytes(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/**
 * Reads a raw socket until the server ends it (or `limit` ms pass), then
 * closes it; returns `first` and everything read after it.
 */
export async function readToEnd(
  conn: Deno.Conn,
  first: Uint8Array = new Uint8Array(0),
  limit = 10_000,
): Promise<Uint8Array> {
  const parts = [first];
  const buf = new Uint8Array(65536);
  const deadline = setTimeout(() => conn.close(), limit);
  try {
    for (let n = await conn.read(buf); n !== null; n = await conn.read(buf)) {
      parts.push(buf.slice(0, n));
    }
  } catch { /* reset, or closed by the deadline */ }
  clearTimeout(deadline);
  try {
    conn.close();
  } catch { /* closed */ }
  return concat(parts);
}
