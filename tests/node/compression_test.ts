/**
 * permessage-deflate through the Node adapter's `serve()`, on the real Node
 * 20 and on Deno (its `node:http` and `node:zlib`): every offer the `ws`
 * client can make, the RFC 7692 vectors on the wire, and bombs refused with
 * 1009 while the server's memory stays flat.
 */
import assert from "node:assert/strict";
import WebSocket from "ws";
import { nodeDeflateEngine } from "../../src/adapters/node_deflate_engine.ts";
import {
  BIN,
  bundleForNode,
  ROOT,
  type ServerProcess,
  startProcess,
} from "../_util/server_process.ts";
import { concat, frame, hex } from "../_util/chunking.ts";
import { viewReport } from "../_util/kept_views.ts";
import { rawRequest, type RawResponse, readToEnd, upgradeRequest } from "../_util/tcp_client.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };
const FIXTURE = "tests/fixtures/compression_app.ts";
const READY = /listening (\d+)/;

const RUNTIMES: Array<[string, () => Promise<ServerProcess>]> = [
  [
    "Node 20",
    async () =>
      startProcess(BIN.node, ["--expose-gc", await bundleForNode(FIXTURE)], { ready: READY }),
  ],
  [
    "Deno node:http",
    () =>
      startProcess(BIN.deno, ["run", "-A", "--v8-flags=--expose-gc", `${ROOT}${FIXTURE}`], {
        ready: READY,
      }),
  ],
];

type PerMessageDeflate = {
  serverNoContextTakeover?: boolean;
  clientNoContextTakeover?: boolean;
  serverMaxWindowBits?: boolean | number;
  clientMaxWindowBits?: boolean | number;
  threshold?: number;
};

/** A `ws` client that records its 101's extensions header and every message. */
async function openWs(port: number, path: string, deflate: PerMessageDeflate | false) {
  const ws = new WebSocket(`ws://127.0.0.1:${port}${path}`, { perMessageDeflate: deflate });
  let header = "";
  ws.on(
    "upgrade",
    (res: { headers: Record<string, unknown> }) =>
      header = String(res.headers["sec-websocket-extensions"] ?? ""),
  );
  const queue: Array<string | Uint8Array> = [];
  const waiters: Array<(m: string | Uint8Array) => void> = [];
  ws.on("message", (data: Uint8Array, isBinary: boolean) => {
    const message = isBinary ? new Uint8Array(data) : new TextDecoder().decode(data);
    const waiter = waiters.shift();
    if (waiter) waiter(message);
    else queue.push(message);
  });
  const closed = new Promise<number>((resolve) => ws.on("close", (code: number) => resolve(code)));
  await new Promise((resolve, reject) => {
    ws.on("open", resolve);
    ws.on("error", reject);
  });
  const next = () =>
    queue.length > 0 ? Promise.resolve(queue.shift()!) : new Promise<string | Uint8Array>(
      (resolve, reject) => {
        const timer = setTimeout(() => reject(new Error("no message in 10 s")), 10_000);
        waiters.push((m) => {
          clearTimeout(timer);
          resolve(m);
        });
      },
    );
  return { ws, header: () => header, next, closed };
}

/** What the server should answer to a `ws` offer, by RFC 7692 and our defaults. */
function expectedHeader(d: PerMessageDeflate): string {
  // A server_max_window_bits without a value is malformed; 8 is beyond zlib.
  if (d.serverMaxWindowBits === true || d.serverMaxWindowBits === 8) return "";
  const params = ["permessage-deflate"];
  if (d.serverNoContextTakeover) params.push("server_no_context_takeover");
  if (d.clientNoContextTakeover) params.push("client_no_context_takeover");
  if (typeof d.serverMaxWindowBits === "number") {
    params.push(`server_max_window_bits=${d.serverMaxWindowBits}`);
  }
  return params.join("; ");
}

// Compressible and not: a chat-like JSON text, text with every code point
// class, and bytes.
const JSON_TEXT = JSON.stringify(
  Array.from({ length: 40 }, (_, i) => ({ from: `user${i % 7}`, text: `message ${i} ✓ 🎉` })),
);
const BINARY = new Uint8Array(70_000).map((_, i) => (i * i) >> 5);

for (const [runtime, start] of RUNTIMES) {
  Deno.test({
    name:
      `serve() on ${runtime} with compression: the ws client's every offer is answered per RFC 7692 and messages round-trip`,
    ...opts,
    async fn() {
      const server = await start();
      try {
        let combos = 0;
        for (const serverNoContextTakeover of [false, true]) {
          for (const clientNoContextTakeover of [false, true]) {
            for (const serverMaxWindowBits of [undefined, true, 8, 10, 15]) {
              for (const clientMaxWindowBits of [true, false, 8, 11]) {
                const deflate = {
                  serverNoContextTakeover,
                  clientNoContextTakeover,
                  serverMaxWindowBits,
                  clientMaxWindowBits,
                  threshold: 0,
                };
                const label = JSON.stringify(deflate);
                const client = await openWs(server.port, "/echo", deflate);
                assert.equal(client.header(), expectedHeader(deflate), label);
                client.ws.send("?extensions");
                assert.equal(await client.next(), client.header(), `server side: ${label}`);
                // Twice each: the second leans on the kept context, if any.
                for (let round = 0; round < 2; round++) {
                  for (const message of ["Hello", "", JSON_TEXT, JSON_TEXT.repeat(50)]) {
                    client.ws.send(message);
                    assert.equal(await client.next(), message, label);
                  }
                  client.ws.send(BINARY);
                  assert.deepEqual(await client.next(), BINARY, label);
                  // A compressed message in three fragments.
                  client.ws.send("frag-", { fin: false });
                  client.ws.send(JSON_TEXT, { fin: false });
                  client.ws.send("-end", { fin: true });
                  assert.equal(await client.next(), `frag-${JSON_TEXT}-end`, label);
                }
                client.ws.close(1000);
                assert.equal(await client.closed, 1000, label);
                combos++;
              }
            }
          }
        }
        assert.equal(combos, 80);
        // Off unless asked for, and a client that offers nothing gets nothing.
        const plain = await openWs(server.port, "/plain", { threshold: 0 });
        assert.equal(plain.header(), "");
        plain.ws.send("?extensions");
        assert.equal(await plain.next(), "");
        plain.ws.close(1000);
        await plain.closed;
        const none = await openWs(server.port, "/echo", false);
        assert.equal(none.header(), "");
        none.ws.send(JSON_TEXT);
        assert.equal(await none.next(), JSON_TEXT);
        none.ws.close(1000);
        await none.closed;
      } finally {
        await server.stop();
      }
    },
  });

  Deno.test({
    name:
      `serve() on ${runtime} with compression: the RFC 7692 §7.2.3 "Hello" frames on the wire, control frames uncompressed`,
    ...opts,
    async fn() {
      const server = await start();
      try {
        const { conn, rest, headers } = await upgrade(server.port, "/echo0");
        assert.equal(headers.get("sec-websocket-extensions"), "permessage-deflate");
        // RSV1 = 4 << 4: a compressed "Hello", then the shared-context one.
        await conn.write(frame(0x1, hex("f2 48 cd c9 c9 07 00"), { rsv: 4 }));
        await conn.write(frame(0x1, hex("f2 00 11 00 00"), { rsv: 4 }));
        // Uncompressed data is still allowed, and a ping stays a ping.
        await conn.write(frame(0x1, new TextEncoder().encode("Hello")));
        await conn.write(frame(0x9, new TextEncoder().encode("ping")));
        await conn.write(frame(0x8, hex("03 e8")));
        const frames = parseFrames(await readToEnd(conn, rest));
        const seen = frames.map(([b0, payload]) => [b0, toHex(payload)]);
        // Compressed with the context kept: the third "Hello" is a
        // back-reference too, in whichever of zlib's ways.
        assert.equal(seen[2][0], 0xc1);
        assert.ok(frames[2][1].length < 7, `${seen[2][1]}`);
        seen.splice(2, 1);
        assert.deepEqual(seen, [
          [0xc1, "f248cdc9c90700"],
          [0xc1, "f200110000"],
          [0x8a, toHex(new TextEncoder().encode("ping"))],
          [0x88, "03e8"],
        ]);
      } finally {
        await server.stop();
      }
    },
  });

  Deno.test({
    name:
      `serve() on ${runtime} with compression: a binaryType "uint8array" route's views of inflated messages stay intact`,
    ...opts,
    async fn() {
      const server = await start();
      try {
        const c = await openWs(server.port, "/views", { threshold: 0 });
        assert.equal(c.header(), "permessage-deflate");
        // Compressed, with the context kept between them, and one large
        // enough to inflate through several of zlib's output chunks.
        const sent = [BINARY, new Uint8Array([1, 2, 3]), BINARY.subarray(5, 200_000), BINARY];
        for (const bytes of sent) c.ws.send(bytes);
        c.ws.send("check");
        assert.deepEqual(JSON.parse(await c.next() as string), viewReport(sent));
        c.ws.close(1000);
        await c.closed;
      } finally {
        await server.stop();
      }
    },
  });

  Deno.test({
    name:
      `serve() on ${runtime} with compression: ws.send(data, { compress: false }) leaves RSV1 clear`,
    ...opts,
    async fn() {
      const server = await start();
      try {
        const { conn, rest } = await upgrade(server.port, "/echo0");
        await conn.write(frame(0x1, new TextEncoder().encode("?uncompressed")));
        await conn.write(frame(0x1, new TextEncoder().encode("Hello")));
        await conn.write(frame(0x8, hex("03 e8")));
        const frames = parseFrames(await readToEnd(conn, rest));
        // Asked not to: plain "Hello"; the echo of "Hello" at threshold 0: compressed.
        assert.deepEqual([frames[0][0], toHex(frames[0][1])], [0x81, "48656c6c6f"]);
        assert.equal(frames[1][0], 0xc1);
      } finally {
        await server.stop();
      }
    },
  });

  Deno.test({
    name:
      `serve() on ${runtime} with compression: a 1:1000 bomb and a many-fragment bomb close 1009, memory flat`,
    ...opts,
    async fn() {
      const server = await start();
      try {
        const before = await readRss(server.port);
        // 128 MiB of zeros in ~128 KiB: inflated, it would show in the RSS.
        const bomb = createBomb(128);
        assert.ok(bomb.length < 256 * 1024, `${bomb.length} bytes`);
        assert.deepEqual(await sendAndReadClose(server.port, [frame(0x2, bomb, { rsv: 4 })]), 1009);
        // One compressed message in 40 fragments (under maxFragments 64),
        // each 0.5 MiB once inflated: the limit is passed across fragments.
        const parts = Array.from(
          { length: 40 },
          (_, i) =>
            frame(i === 0 ? 0x2 : 0x0, createBomb(0.5, false), {
              rsv: i === 0 ? 4 : 0,
              fin: i === 39,
            }),
        );
        assert.deepEqual(await sendAndReadClose(server.port, parts), 1009);
        // And 100 fragments, each small: the fragment limit.
        const many = Array.from(
          { length: 100 },
          (_, i) =>
            frame(i === 0 ? 0x1 : 0x0, i === 0 ? hex("f2 48 cd c9 c9 07 00") : new Uint8Array(0), {
              rsv: i === 0 ? 4 : 0,
              fin: i === 99,
            }),
        );
        assert.deepEqual(await sendAndReadClose(server.port, many), 1009);
        // Corrupt DEFLATE data: 1007.
        assert.deepEqual(
          await sendAndReadClose(server.port, [frame(0x1, hex("ff ff ff ff"), { rsv: 4 })]),
          1007,
        );
        const after = await readRss(server.port);
        const grown = (after - before) / (1 << 20);
        assert.ok(grown < 48, `RSS grew by ${grown.toFixed(1)} MiB`);
        // The server still serves, compressed.
        const client = await openWs(server.port, "/limited", {});
        client.ws.send(JSON_TEXT);
        assert.equal(await client.next(), JSON_TEXT);
        client.ws.close(1000);
        await client.closed;
      } finally {
        await server.stop();
      }
    },
  });
}

/**
 * Raw DEFLATE for `mebibytes` MiB of zeros, sync-flushed. A whole message
 * drops the flush's `00 00 ff ff` tail (RFC 7692 §7.2.1); a fragment keeps
 * it, so that fragments join into one valid stream.
 */
function createBomb(mebibytes: number, whole = true): Uint8Array {
  const deflate = nodeDeflateEngine.createDeflate({ windowBits: 15 });
  const zeros = new Uint8Array(Math.min(1 << 20, mebibytes * (1 << 20)));
  const parts: Uint8Array[] = [];
  for (let left = mebibytes * (1 << 20); left > 0; left -= zeros.length) {
    parts.push(deflate.write(zeros)!);
  }
  deflate.close();
  const out = concat(parts);
  return whole ? out.subarray(0, out.length - 4) : out;
}

async function upgrade(port: number, path: string): Promise<RawResponse> {
  const response = await rawRequest(
    port,
    upgradeRequest(path, { "Sec-WebSocket-Extensions": "permessage-deflate" }),
  );
  assert.equal(response.status, 101);
  return response;
}

/** Sends frames on a /limited connection and returns the close code the server sent. */
async function sendAndReadClose(port: number, frames: Uint8Array[]): Promise<number> {
  const { conn, rest } = await upgrade(port, "/limited");
  try {
    for (const f of frames) await conn.write(f);
  } catch { /* the server may close before all is written */ }
  const received = parseFrames(await readToEnd(conn, rest));
  const close = received.find(([b0]) => (b0 & 0x0f) === 0x8);
  assert.ok(close, "no close frame");
  return (close[1][0] << 8) | close[1][1];
}

/** The server's RSS, from a fresh /plain connection (after a GC where it can). */
async function readRss(port: number): Promise<number> {
  const client = await openWs(port, "/plain", false);
  client.ws.send("?memory");
  const rss = Number(await client.next());
  client.ws.close(1000);
  await client.closed;
  return rss;
}

/** Splits unmasked server frames: [first byte, payload]. */
function parseFrames(bytes: Uint8Array): Array<[number, Uint8Array]> {
  const frames: Array<[number, Uint8Array]> = [];
  let at = 0;
  while (at + 2 <= bytes.length) {
    let length = bytes[at + 1] & 0x7f;
    let head = 2;
    if (length === 126) {
      length = (bytes[at + 2] << 8) | bytes[at + 3];
      head = 4;
    } else if (length === 127) {
      length = Number(new DataView(bytes.buffer, bytes.byteOffset + at + 2, 8).getBigUint64(0));
      head = 10;
    }
    frames.push([bytes[at], bytes.subarray(at + head, at + head + length)]);
    at += head + length;
  }
  return frames;
}

function toHex(bytes: Uint8Array): string {
  return [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
}
