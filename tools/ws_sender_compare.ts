/**
 * Compressed messages both ways between edgesocket's codec and `ws`'s own
 * `Sender` and `Receiver`, sans-I/O, across the permessage-deflate
 * settings a peer may agree to (window bits 9 to 15, context takeover on or
 * off, zlib levels, thresholds): what `ws`'s client sends, fragmented and
 * compressed fragment by fragment, the server must read as sent; what the
 * server sends, `ws`'s client must read as sent. Run with
 * tools/ws_differential_run.ts, under Node 20.
 */
import { Buffer } from "node:buffer";
import { createRequire } from "node:module";
import process from "node:process";
import { PassThrough } from "node:stream";
import { nodeDeflateEngine } from "../src/adapters/node_deflate_engine.ts";
import { PerMessageDeflate, WebSocketProtocol } from "../src/codec/mod.ts";
import { createRandom } from "./fuzz.ts";

/** A connection on which what was read is not what was sent. */
export interface Mismatch {
  /** The connection's index in the run. */
  index: number;
  /** Its settings. */
  settings: string;
  /** The first message read otherwise than sent (or missing), shortened. */
  first: string;
}

interface WsSender {
  send(
    data: Buffer,
    options: { binary: boolean; compress: boolean; fin: boolean; mask: boolean },
    callback: () => void,
  ): void;
}
interface WsReceiver {
  on(event: string, listener: (...args: never[]) => void): void;
  write(chunk: Buffer, callback: () => void): void;
}
interface WsPerMessageDeflate {
  accept(params: Array<Record<string, unknown[]>>): void;
  cleanup(): void;
}
// ws's CommonJS entry, from the repository's node_modules (see
// tools/ws_differential.ts).
const ws = createRequire(`${process.cwd()}/package.json`)("ws") as {
  Sender: new (socket: PassThrough, extensions: object) => WsSender;
  Receiver: new (options: object) => WsReceiver;
  PerMessageDeflate: new (
    options: object,
    isServer: boolean,
    maxPayload: number,
  ) => WsPerMessageDeflate;
};

const encoder = new TextEncoder();
const SIZES = [0, 1, 20, 300, 3000, 70_000];

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("hex");
}

// Compressible text most of the time (ASCII, so a text message is valid
// UTF-8 in any split), else random 7-bit bytes.
function payload(random: () => number): Uint8Array {
  const size = SIZES[Math.floor(random() * SIZES.length)];
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i++) {
    bytes[i] = random() < 0.7 ? 97 + (i % 5) : Math.floor(random() * 128);
  }
  return bytes;
}

function firstMismatch(sent: string[], read: string[]): string | undefined {
  const at = sent.findIndex((entry, i) => entry !== read[i]);
  if (at === -1 && read.length === sent.length) return undefined;
  const i = at === -1 ? sent.length : at;
  return `#${i}: sent ${sent[i]?.slice(0, 60) ?? "nothing"}, read ${
    read[i]?.slice(0, 60) ?? "nothing"
  }`;
}

// ws's client sends: each message in up to three fragments, each fragment
// compressed (or not) as ws does, read back by the server's codec.
async function wsToOurs(random: () => number): Promise<[string, string | undefined]> {
  const noContext = random() < 0.5;
  const bits = 9 + Math.floor(random() * 7);
  const deflate = new ws.PerMessageDeflate({ threshold: Math.floor(random() * 100) }, false, 0);
  const params: Record<string, unknown[]> = { client_max_window_bits: [String(bits)] };
  if (noContext) params.client_no_context_takeover = [true];
  deflate.accept([params]);
  const socket = new PassThrough();
  const wire: Buffer[] = [];
  socket.on("data", (chunk: Buffer) => wire.push(chunk));
  const sender = new ws.Sender(socket, { "permessage-deflate": deflate });
  const sent: string[] = [];
  for (let n = 1 + Math.floor(random() * 12); n > 0; n--) {
    const binary = random() < 0.5;
    const compress = random() < 0.8;
    const parts: Uint8Array[] = [];
    for (let k = 1 + Math.floor(random() * 3); k > 0; k--) {
      const part = payload(random);
      parts.push(part);
      await new Promise<void>((resolve) =>
        sender.send(Buffer.from(part), { binary, compress, fin: k === 1, mask: true }, resolve)
      );
    }
    sent.push(`${binary ? "binary" : "text"} ${hex(Buffer.concat(parts))}`);
  }
  deflate.cleanup();
  const inflate = new PerMessageDeflate({
    serverNoContextTakeover: false,
    clientNoContextTakeover: noContext,
    serverMaxWindowBits: 15,
    clientMaxWindowBits: bits,
  }, { engine: nodeDeflateEngine, role: "server" });
  const read: string[] = [];
  const protocol = new WebSocketProtocol({
    write() {},
    onText: (text) => read.push(`text ${hex(encoder.encode(text))}`),
    onBinary: (data) => read.push(`binary ${hex(data)}`),
    onClose: (code, reason) => read.push(`close ${code} ${reason}`),
  }, { perMessageDeflate: inflate });
  const bytes = Buffer.concat(wire);
  for (let at = 0; at < bytes.length;) {
    const size = 1 + Math.floor(random() * 5000);
    protocol.receive(new Uint8Array(bytes.subarray(at, at + size)));
    at += size;
  }
  inflate.close();
  const settings = `ws to ours, client_max_window_bits=${bits}${
    noContext ? ", no context takeover" : ""
  }`;
  return [settings, firstMismatch(sent, read)];
}

// The server's codec sends, compressed at a random level and threshold,
// read back by ws's client.
async function oursToWs(random: () => number): Promise<[string, string | undefined]> {
  const noContext = random() < 0.5;
  const bits = 9 + Math.floor(random() * 7);
  const level = Math.floor(random() * 10) - 1;
  const deflate = new PerMessageDeflate({
    serverNoContextTakeover: noContext,
    clientNoContextTakeover: false,
    serverMaxWindowBits: bits,
    clientMaxWindowBits: 15,
  }, { engine: nodeDeflateEngine, role: "server", threshold: Math.floor(random() * 200), level });
  const wire: Uint8Array[] = [];
  const protocol = new WebSocketProtocol({
    write: (chunks) => wire.push(...chunks.map((chunk) => chunk.slice())),
    onText() {},
    onBinary() {},
    onClose() {},
  }, { perMessageDeflate: deflate });
  const sent: string[] = [];
  for (let n = 1 + Math.floor(random() * 20); n > 0; n--) {
    const bytes = payload(random);
    const compress = random() < 0.9;
    if (random() < 0.5) {
      protocol.sendText(new TextDecoder().decode(bytes), compress);
      sent.push(`text ${hex(bytes)}`);
    } else {
      protocol.sendBinary(bytes, compress);
      sent.push(`binary ${hex(bytes)}`);
    }
  }
  deflate.close();
  const inflate = new ws.PerMessageDeflate({}, false, 0);
  const params: Record<string, unknown[]> = { server_max_window_bits: [String(bits)] };
  if (noContext) params.server_no_context_takeover = [true];
  inflate.accept([params]);
  const receiver = new ws.Receiver({
    isServer: false,
    maxPayload: 0,
    allowSynchronousEvents: true,
    extensions: { "permessage-deflate": inflate },
  });
  const read: string[] = [];
  receiver.on(
    "message",
    (data: Buffer, isBinary: boolean) => read.push(`${isBinary ? "binary" : "text"} ${hex(data)}`),
  );
  receiver.on("error", (error: Error) => read.push(`error ${error.message}`));
  for (const chunk of wire) {
    await new Promise<void>((resolve) => receiver.write(Buffer.from(chunk), resolve));
  }
  await new Promise((resolve) => setTimeout(resolve, 0));
  inflate.cleanup();
  const settings = `ours to ws, server_max_window_bits=${bits}, level ${level}${
    noContext ? ", no context takeover" : ""
  }`;
  return [settings, firstMismatch(sent, read)];
}

/**
 * Runs `count` connections each way from `seed`.
 *
 * @param seed The PRNG seed.
 * @param count How many connections each way.
 * @returns The connections whose messages were not read as sent.
 *
 * @example
 * ```ts ignore
 * const mismatches = await compareCompressedWithWs(1, 300);
 * ```
 */
export async function compareCompressedWithWs(seed: number, count: number): Promise<Mismatch[]> {
  const mismatches: Mismatch[] = [];
  for (let index = 0; index < count; index++) {
    const random = createRandom(seed * 1_000_003 + index);
    for (const direction of [wsToOurs, oursToWs]) {
      const [settings, first] = await direction(random);
      if (first !== undefined) mismatches.push({ index, settings, first });
    }
  }
  return mismatches;
}
