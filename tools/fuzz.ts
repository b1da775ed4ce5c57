/**
 * Fuzzes the handshake parser and the frame decoder with random and mutated
 * inputs: flipped bits, truncations, huge lengths, bad opcodes, random split
 * points. A crash is any exception other than the one each API documents
 * (`HandshakeError`, `SyntaxError`; the protocol turns `ProtocolError` into a
 * close). `deno task fuzz` runs a million inputs; the tests run a fixed seed.
 */
import {
  encodeFrame,
  HandshakeError,
  Opcode,
  parseExtensionOffers,
  validateUpgradeRequest,
  WebSocketProtocol,
} from "../src/codec/mod.ts";

/** A seeded PRNG (mulberry32). */
export function createRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** What a fuzz run found. */
export interface FuzzReport {
  inputs: number;
  crashes: Array<{ input: string; error: string }>;
  closes: Record<string, number>;
  maxHeapUsed: number;
}

const MAX_MESSAGE = 1024 * 1024;
const LENGTHS = [0, 1, 2, 125, 126, 127, 1000, 65535, 65536, 70000];
const OPCODES = [0, 1, 2, 3, 7, 8, 9, 10, 11, 15];

function pick<T>(random: () => number, list: readonly T[]): T {
  return list[Math.floor(random() * list.length)];
}

function validFrames(random: () => number): Uint8Array[] {
  const frames: Uint8Array[] = [];
  const count = 1 + Math.floor(random() * 4);
  for (let i = 0; i < count; i++) {
    const r = random();
    if (r < 0.2) {
      frames.push(
        ...encodeFrame(Opcode.Ping, new Uint8Array(Math.floor(random() * 126)), { mask: true }),
      );
    } else if (r < 0.4) {
      // A fragmented message with a control frame in the middle.
      const opcode = random() < 0.5 ? Opcode.Text : Opcode.Binary;
      frames.push(
        ...encodeFrame(opcode, new TextEncoder().encode("héllo"), { fin: false, mask: true }),
      );
      frames.push(...encodeFrame(Opcode.Pong, new Uint8Array(3), { mask: true }));
      frames.push(
        ...encodeFrame(Opcode.Continuation, new TextEncoder().encode("wörld"), { mask: true }),
      );
    } else if (r < 0.5) {
      frames.push(...tinyFragments(random));
    } else {
      const length = pick(random, LENGTHS);
      const payload = new Uint8Array(length).fill(0x61);
      frames.push(
        ...encodeFrame(random() < 0.5 ? Opcode.Text : Opcode.Binary, payload, { mask: true }),
      );
    }
  }
  if (random() < 0.1) {
    frames.push(...encodeFrame(Opcode.Close, new Uint8Array([3, 232]), { mask: true }));
  }
  return frames;
}

const TEXT = new TextEncoder().encode("a é € 𝄞 κόσμε ");
// Edges of the UTF-8 ranges: overlong, surrogate and past-U+10FFFF leads.
const UTF8_EDGES = [0x80, 0xbf, 0xc0, 0xc1, 0xe0, 0xed, 0xf0, 0xf4, 0xf5, 0xff];

// A message in up to 500 fragments of 0 to 3 bytes: code points split
// across fragments (and, by the random reads, across chunks), sometimes one
// byte changed to an invalid one.
function tinyFragments(random: () => number): Uint8Array[] {
  const opcode = random() < 0.7 ? Opcode.Text : Opcode.Binary;
  const payload = new Uint8Array(Math.floor(random() * 600));
  for (let i = 0; i < payload.length; i++) payload[i] = TEXT[i % TEXT.length];
  if (payload.length > 0 && random() < 0.5) {
    payload[Math.floor(random() * payload.length)] = pick(random, UTF8_EDGES);
  }
  const frames: Uint8Array[] = [];
  let at = 0;
  do {
    const n = Math.min(payload.length - at, Math.floor(random() * 4));
    const fin = at + n === payload.length && (n > 0 || random() < 0.5);
    frames.push(
      ...encodeFrame(
        at === 0 && frames.length === 0 ? opcode : Opcode.Continuation,
        payload.subarray(at, at + n),
        {
          fin,
          mask: true,
        },
      ),
    );
    at += n;
    if (fin) break;
  } while (frames.length < 1000);
  return frames;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function mutate(random: () => number, bytes: Uint8Array): Uint8Array {
  const out = bytes.slice();
  const kind = Math.floor(random() * 6);
  if (out.length === 0) return crypto.getRandomValues(new Uint8Array(16));
  switch (kind) {
    case 0: // flipped bits
      for (let i = 0, n = 1 + Math.floor(random() * 4); i < n; i++) {
        out[Math.floor(random() * out.length)] ^= 1 << Math.floor(random() * 8);
      }
      return out;
    case 1: // truncation
      return out.subarray(0, Math.floor(random() * out.length));
    case 2: // a huge 64-bit length in the first header
      return concat([
        new Uint8Array([
          0x82,
          0xff,
          ...Array.from({ length: 8 }, () => Math.floor(random() * 256)),
          1,
          2,
          3,
          4,
        ]),
        out,
      ]);
    case 3: // a bad opcode
      out[0] = (out[0] & 0xf0) | pick(random, OPCODES);
      return out;
    case 4: // random bytes
      return crypto.getRandomValues(new Uint8Array(1 + Math.floor(random() * 64)));
    default:
      return out;
  }
}

/**
 * Feeds `count` mutated frame streams into a server-role protocol.
 *
 * @param seed The PRNG seed.
 * @param count How many inputs.
 * @param onProgress Called every 10,000 inputs.
 * @returns The report.
 */
export function fuzzDecoder(
  seed: number,
  count: number,
  onProgress?: (done: number) => void,
): FuzzReport {
  const random = createRandom(seed);
  const report: FuzzReport = { inputs: 0, crashes: [], closes: {}, maxHeapUsed: 0 };
  for (let i = 0; i < count; i++) {
    const input = mutate(random, concat(validFrames(random)));
    let closed = "open";
    const protocol = new WebSocketProtocol({
      write: () => {},
      onText: () => {},
      onBinary: () => {},
      onClose: (code) => (closed = String(code)),
    }, { maxMessageSize: MAX_MESSAGE });
    try {
      // Random split points.
      for (let at = 0; at < input.length;) {
        const n = 1 + Math.floor(random() * Math.min(input.length - at, 4096));
        protocol.receive(input.slice(at, at + n));
        at += n;
      }
      protocol.abort();
    } catch (error) {
      report.crashes.push({ input: toHex(input.subarray(0, 64)), error: String(error) });
    }
    report.closes[closed] = (report.closes[closed] ?? 0) + 1;
    report.inputs++;
    if ((i + 1) % 10_000 === 0) {
      report.maxHeapUsed = Math.max(report.maxHeapUsed, Deno.memoryUsage().heapUsed);
      onProgress?.(i + 1);
    }
  }
  return report;
}

const HEADER_NAMES = [
  "upgrade",
  "connection",
  "sec-websocket-key",
  "sec-websocket-version",
  "sec-websocket-protocol",
  "sec-websocket-extensions",
  "origin",
];
const GOOD: Record<string, string> = {
  upgrade: "websocket",
  connection: "keep-alive, Upgrade",
  "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
  "sec-websocket-version": "13",
  "sec-websocket-protocol": "chat, v2",
  "sec-websocket-extensions": "permessage-deflate; client_max_window_bits",
};

function mutateText(random: () => number, text: string): string {
  const chars = [...text];
  switch (Math.floor(random() * 5)) {
    case 0:
      return chars.filter(() => random() > 0.1).join("");
    case 1:
      return text + ',;="'.repeat(Math.floor(random() * 2000));
    case 2:
      return String.fromCharCode(
        ...Array.from({ length: Math.floor(random() * 40) }, () => Math.floor(random() * 0x300)),
      );
    case 3:
      return text.toUpperCase();
    default:
      return text.slice(0, Math.floor(random() * text.length));
  }
}

/**
 * Feeds `count` mutated upgrade requests to the handshake validator.
 *
 * @param seed The PRNG seed.
 * @param count How many inputs.
 * @returns The report (closes counts statuses).
 */
export function fuzzHandshake(seed: number, count: number): FuzzReport {
  const random = createRandom(seed);
  const report: FuzzReport = { inputs: 0, crashes: [], closes: {}, maxHeapUsed: 0 };
  for (let i = 0; i < count; i++) {
    const headers: Record<string, string> = { ...GOOD };
    for (const name of HEADER_NAMES) {
      if (random() < 0.3) headers[name] = mutateText(random, headers[name] ?? "");
      if (random() < 0.05) delete headers[name];
    }
    const method = random() < 0.95 ? "GET" : "POST";
    let outcome = "101";
    try {
      validateUpgradeRequest({ method, headers });
    } catch (error) {
      if (error instanceof HandshakeError) outcome = String(error.status);
      else {report.crashes.push({
          input: JSON.stringify(headers).slice(0, 200),
          error: String(error),
        });}
    }
    try {
      parseExtensionOffers(headers["sec-websocket-extensions"]);
    } catch (error) {
      if (!(error instanceof SyntaxError)) {
        report.crashes.push({ input: headers["sec-websocket-extensions"], error: String(error) });
      }
    }
    report.closes[outcome] = (report.closes[outcome] ?? 0) + 1;
    report.inputs++;
  }
  return report;
}

function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join(" ");
}

if (import.meta.main) {
  const count = Number(Deno.args[0] ?? 1_000_000);
  const seed = Number(Deno.args[1] ?? Date.now() % 100000);
  const started = performance.now();
  const tty = Deno.stderr.isTerminal();
  const decoder = fuzzDecoder(seed, count, (done) => {
    const line = `decoder: ${done}/${count} inputs, ${
      ((performance.now() - started) / 1000).toFixed(0)
    } s`;
    if (tty) Deno.stderr.writeSync(new TextEncoder().encode(`\r${line}`));
    else if (done % 100_000 === 0) console.error(line);
  });
  if (tty) console.error();
  const handshake = fuzzHandshake(seed, Math.ceil(count / 4));
  const seconds = (performance.now() - started) / 1000;
  console.log(
    `seed ${seed}: ${decoder.inputs} frame streams, ${handshake.inputs} handshakes in ${
      seconds.toFixed(1)
    } s`,
  );
  console.log(`decoder outcomes (close code → inputs): ${JSON.stringify(decoder.closes)}`);
  console.log(`handshake outcomes (status → inputs): ${JSON.stringify(handshake.closes)}`);
  console.log(`peak heap: ${(decoder.maxHeapUsed / 1048576).toFixed(1)} MiB (message limit 1 MiB)`);
  const crashes = [...decoder.crashes, ...handshake.crashes];
  console.log(`crashes: ${crashes.length}`);
  for (const crash of crashes.slice(0, 20)) console.log(crash);
  if (crashes.length > 0) Deno.exit(1);
}
