/**
 * The codec micro-benchmarks, run under the real Node 20 (bundled by
 * `deno bundle`): one case, one side, one process.
 *
 *     node micro.mjs <case> <side> <seconds> <root>
 *
 * `case` is `unmask`, `decode`, `decode-frames`, `encode-32` or `encode-1m`;
 * `side` is `ours` (the edgesocket codec) or `ws` (the `ws` package from
 * `<root>/node_modules`, with bufferutil unless `WS_NO_BUFFER_UTIL=1`).
 * Prints one JSON line: `{ case, side, units, seconds, rate, cpuSeconds }`.
 * Both sides share this file's timing loop, so only the code under test differs.
 */
import { Buffer } from "node:buffer";
import { createRequire } from "node:module";
import process from "node:process";
import {
  applyMask,
  encodeFrame,
  FrameDecoder,
  Opcode,
  WebSocketProtocol,
} from "../src/codec/mod.ts";

/** One batch of work; returns how many units (bytes or frames) it did. */
type Batch = () => number;

interface Measured {
  units: number;
  seconds: number;
}

// Runs batches for a warm-up, then for `seconds`, and counts the units.
function measure(batch: Batch, seconds: number): Measured {
  const warmEnd = performance.now() + Math.min(500, seconds * 500);
  while (performance.now() < warmEnd) batch();
  let units = 0;
  const start = performance.now();
  const end = start + seconds * 1000;
  let now = start;
  while (now < end) {
    units += batch();
    now = performance.now();
  }
  return { units, seconds: (now - start) / 1000 };
}

const [caseName, side, secondsText, rootArg] = process.argv.slice(2);
const seconds = Number(secondsText ?? 1);
const root = (rootArg ?? process.cwd()).replace(/\/$/, "");
const requireWs = createRequire(`${root}/package.json`);
const pureJs = process.env.WS_NO_BUFFER_UTIL === "1";

interface WsBufferUtil {
  unmask(buffer: Buffer, mask: Buffer): void;
}
interface WsReceiver {
  on(event: string, listener: (...args: unknown[]) => void): void;
  write(chunk: Buffer): boolean;
}
interface WsSender {
  frame(data: Buffer, options: Record<string, unknown>): Buffer[];
}

// Loads ws's masking helper and proves which path it took.
function loadWsBufferUtil(): WsBufferUtil {
  // Not in ws's package exports: required by path.
  const util = requireWs(`${root}/node_modules/ws/lib/buffer-util.js`) as WsBufferUtil;
  const native = util.unmask.toString().includes("bufferUtil.unmask");
  if (native === pureJs) {
    throw new Error(
      `ws unmask path mismatch: wanted ${pureJs ? "pure JS" : "bufferutil"}`,
    );
  }
  if (native) {
    const bufferutil = requireWs("bufferutil") as { unmask: () => void };
    if (!bufferutil.unmask.toString().includes("[native code]")) {
      throw new Error("bufferutil fell back to JS: no native prebuild loaded");
    }
  }
  return util;
}

function randomBytes(length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i += 65536) {
    crypto.getRandomValues(out.subarray(i, Math.min(length, i + 65536)));
  }
  return out;
}

// 65,536 masked binary frames of 32 bytes (38 bytes each), cut into 64 KiB
// chunks as a socket would deliver them: frames straddle chunk boundaries.
const FRAME_PAYLOAD = 32;
const FRAMES = 65536;
const CHUNK = 65536;
function createStream(): Uint8Array[] {
  const frameSize = 2 + 4 + FRAME_PAYLOAD;
  const stream = randomBytes(FRAMES * frameSize);
  for (let f = 0; f < FRAMES; f++) {
    stream[f * frameSize] = 0x82;
    stream[f * frameSize + 1] = 0x80 | FRAME_PAYLOAD;
  }
  const chunks: Uint8Array[] = [];
  for (let at = 0; at < stream.length; at += CHUNK) {
    chunks.push(stream.subarray(at, Math.min(stream.length, at + CHUNK)));
  }
  return chunks;
}

function toBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

// The payloads are unmasked in place, on both sides: a second pass re-masks
// them, which costs the same, and binary frames carry no UTF-8 to break.
function createDecodeBatch(kind: "protocol" | "frames"): Batch {
  const chunks = createStream();
  let frames = 0;
  let bytes = 0;
  if (side === "ours") {
    let push: (chunk: Uint8Array) => void;
    if (kind === "frames") {
      const decoder = new FrameDecoder({
        onData(payload) {
          frames++;
          bytes += payload.length;
        },
        onControl() {},
      }, { role: "server" });
      push = (chunk) => decoder.push(chunk);
    } else {
      const protocol = new WebSocketProtocol({
        write() {},
        onText() {},
        onBinary(data) {
          frames++;
          bytes += data.length;
        },
        onClose(code, reason) {
          throw new Error(`decode failed: ${code} ${reason}`);
        },
      });
      push = (chunk) => protocol.receive(chunk);
    }
    return () => {
      const before = frames;
      for (const chunk of chunks) push(chunk);
      if (bytes !== frames * FRAME_PAYLOAD) throw new Error("decode lost bytes");
      return frames - before;
    };
  }
  loadWsBufferUtil();
  const { Receiver } = requireWs("ws") as {
    Receiver: new (options: Record<string, unknown>) => WsReceiver;
  };
  const receiver = new Receiver({ isServer: true, binaryType: "nodebuffer" });
  receiver.on("message", (data) => {
    frames++;
    bytes += (data as Buffer).length;
  });
  receiver.on("error", (error) => {
    throw error;
  });
  const buffers = chunks.map(toBuffer);
  return () => {
    const before = frames;
    for (const chunk of buffers) receiver.write(chunk);
    if (bytes !== frames * FRAME_PAYLOAD) throw new Error("decode lost bytes");
    return frames - before;
  };
}

// Checks a mask function against the byte-at-a-time definition, on every
// alignment and length that takes a different path.
function checkMask(mask: (data: Uint8Array, key: Uint8Array, offset?: number) => void): void {
  const key = new Uint8Array([0x37, 0xfa, 0x21, 0x3d]);
  const source = randomBytes(1100);
  for (const length of [0, 1, 31, 32, 33, 255, 256, 257, 1000]) {
    for (let at = 0; at < 9; at++) {
      for (let offset = 0; offset < 4; offset++) {
        const data = source.slice(0, at + length).subarray(at);
        mask(data, key, offset);
        for (let i = 0; i < length; i++) {
          if (data[i] !== (source[at + i] ^ key[(i + offset) & 3])) {
            throw new Error(`mask is wrong at length ${length}, byteOffset ${at}`);
          }
        }
      }
    }
  }
}

function createUnmaskBatch(): Batch {
  const size = 64 * 1024;
  const turns = 64;
  const key = new Uint8Array([0x37, 0xfa, 0x21, 0x3d]);
  if (side === "ours") {
    checkMask(applyMask);
    const data = randomBytes(size);
    return () => {
      for (let i = 0; i < turns; i++) applyMask(data, key);
      return size * turns;
    };
  }
  const { unmask } = loadWsBufferUtil();
  const data = toBuffer(randomBytes(size));
  const mask = toBuffer(key);
  return () => {
    for (let i = 0; i < turns; i++) unmask(data, mask);
    return size * turns;
  };
}

let sink = 0;
function createEncodeBatch(size: number): Batch {
  const turns = size > 65536 ? 64 : 4096;
  const payload = randomBytes(size);
  if (side === "ours") {
    return () => {
      for (let i = 0; i < turns; i++) {
        const chunks = encodeFrame(Opcode.Binary, payload);
        sink += chunks.length + chunks[0][1];
      }
      return turns;
    };
  }
  loadWsBufferUtil();
  const { Sender } = requireWs("ws") as { Sender: WsSender };
  const data = toBuffer(payload);
  // What ws's Sender#sendFrame passes for a server's binary frame.
  const options = {
    fin: true,
    mask: false,
    opcode: 2,
    readOnly: false,
    rsv1: false,
  };
  return () => {
    for (let i = 0; i < turns; i++) {
      const chunks = Sender.frame(data, options);
      sink += chunks.length + chunks[0][1];
    }
    return turns;
  };
}

function createBatch(): Batch {
  switch (caseName) {
    case "unmask":
      return createUnmaskBatch();
    case "decode":
      return createDecodeBatch("protocol");
    case "decode-frames":
      return createDecodeBatch("frames");
    case "encode-32":
      return createEncodeBatch(32);
    case "encode-1m":
      return createEncodeBatch(1024 * 1024);
  }
  throw new TypeError(`Unknown case: ${caseName}`);
}

if (side !== "ours" && side !== "ws") throw new TypeError(`Unknown side: ${side}`);
const { units, seconds: elapsed } = measure(createBatch(), seconds);
const cpu = process.cpuUsage();
console.log(JSON.stringify({
  case: caseName,
  side,
  pureJs,
  units,
  seconds: elapsed,
  rate: units / elapsed,
  cpuSeconds: (cpu.user + cpu.system) / 1e6,
  sink: sink % 2,
}));
