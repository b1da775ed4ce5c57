/**
 * What Deno's native server (`Deno.serve` + `Deno.upgradeWebSocket`) does
 * with a client that breaks RFC 6455, against the same app under
 * serveWithCodec(): raw frames over real loopback sockets, both servers in
 * this process. The native side asserts Deno 2.9's actual behaviour, so a
 * Deno that changes it fails here until README's "Deno: native or codec"
 * is updated.
 */
import assert from "node:assert/strict";
import { Hono } from "hono";
import { serveWithCodec, upgradeWebSocket } from "../../src/entries/deno.ts";
import { frame } from "../_util/chunking.ts";
import { rawRequest, upgradeRequest } from "../_util/tcp_client.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };
const text = (s: string) => new TextEncoder().encode(s);

const app = new Hono();
app.get(
  "/echo",
  upgradeWebSocket(() => ({
    onMessage: (e, ws) => ws.send(e.data as string),
    // Expected here: not logged.
    onError() {},
  })),
);
app.get("/deflate", upgradeWebSocket(() => ({}), { compression: true }));
app.get("/small", upgradeWebSocket(() => ({ onError() {} }), { maxMessageSize: 1024 }));

/** What the server did after the frame: its frames (as "text …" / "close N"), then EOF or not. */
interface Outcome {
  frames: string[];
  ended: boolean;
}

/** Reads the server's frames until EOF or `ms` of silence. */
async function readOutcome(conn: Deno.Conn, first: Uint8Array, ms = 1000): Promise<Outcome> {
  let bytes = first;
  let ended = false;
  const buf = new Uint8Array(4096);
  for (;;) {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const silent = new Promise<"silent">((r) => (timer = setTimeout(() => r("silent"), ms)));
    const n = await Promise.race([conn.read(buf).catch(() => null), silent]);
    clearTimeout(timer);
    if (n === "silent") break;
    if (n === null) {
      ended = true;
      break;
    }
    bytes = new Uint8Array([...bytes, ...buf.subarray(0, n)]);
  }
  const frames: string[] = [];
  for (let at = 0; at + 2 <= bytes.length;) {
    const opcode = bytes[at] & 0x0f;
    let length = bytes[at + 1] & 0x7f;
    let start = at + 2;
    if (length === 126) {
      length = (bytes[start] << 8) | bytes[start + 1];
      start += 2;
    }
    const payload = bytes.subarray(start, start + length);
    frames.push(
      opcode === 0x8
        ? `close ${payload.length >= 2 ? (payload[0] << 8) | payload[1] : "none"}`
        : opcode === 0x1
        ? `text ${new TextDecoder().decode(payload)}`
        : `opcode ${opcode}`,
    );
    at = start + length;
  }
  return { frames, ended };
}

/** Sends `bytes` after the upgrade and reports what the server did. */
async function probe(port: number, bytes: Uint8Array, path = "/echo"): Promise<Outcome> {
  const upgraded = await rawRequest(port, upgradeRequest(path));
  assert.equal(upgraded.status, 101);
  try {
    await upgraded.conn.write(bytes);
    return await readOutcome(upgraded.conn, upgraded.rest);
  } finally {
    try {
      upgraded.conn.close();
    } catch { /* closed */ }
  }
}

const DROPPED: Outcome = { frames: [], ended: true };
const closedWith = (code: number): Outcome => ({ frames: [`close ${code}`], ended: true });

/**
 * Each violation, the RFC 6455 rule it breaks, and what each server does:
 * the codec closes with the code the RFC names (§7.4.1) and a close frame
 * (§7.1.7 SHOULD); Deno drops the TCP connection silently (the client sees
 * 1006), except for close codes, which it answers with 1002.
 */
const CASES: Array<{ what: string; bytes: Uint8Array; codec: Outcome; native: Outcome }> = [
  {
    what: "invalid UTF-8 in a text frame (§8.1: 1007)",
    bytes: frame(0x1, new Uint8Array([0xc3, 0x28])),
    codec: closedWith(1007),
    native: DROPPED,
  },
  {
    what: "a 126-byte ping (§5.5: control payloads ≤ 125)",
    bytes: frame(0x9, new Uint8Array(126)),
    codec: closedWith(1002),
    native: DROPPED,
  },
  {
    what: "a fragmented ping (§5.5: control frames are not fragmented)",
    bytes: frame(0x9, text("p"), { fin: false }),
    codec: closedWith(1002),
    native: DROPPED,
  },
  {
    what: "RSV1 with no extension agreed (§5.2)",
    bytes: frame(0x1, text("hi"), { rsv: 4 }),
    codec: closedWith(1002),
    native: DROPPED,
  },
  {
    what: "reserved opcode 0x3 (§5.2)",
    bytes: frame(0x3, text("hi")),
    codec: closedWith(1002),
    native: DROPPED,
  },
  {
    what: "a continuation with no message to continue (§5.4)",
    bytes: frame(0x0, text("hi")),
    codec: closedWith(1002),
    native: DROPPED,
  },
  {
    what: "a new text frame inside a fragmented message (§5.4)",
    bytes: new Uint8Array([...frame(0x1, text("a"), { fin: false }), ...frame(0x1, text("b"))]),
    codec: closedWith(1002),
    native: DROPPED,
  },
  {
    what: "a 1-byte close payload (§5.5.1)",
    bytes: frame(0x8, new Uint8Array([0x03])),
    codec: closedWith(1002),
    native: DROPPED,
  },
  {
    what: "a close reason that is not UTF-8 (§5.5.1: 1007)",
    bytes: frame(0x8, new Uint8Array([0x03, 0xe8, 0xc3, 0x28])),
    codec: closedWith(1007),
    native: DROPPED,
  },
  {
    what: "close code 1005, which is never sent (§7.4.1)",
    bytes: frame(0x8, new Uint8Array([0x03, 0xed])),
    codec: closedWith(1002),
    native: closedWith(1002),
  },
];

async function startBoth(): Promise<{ native: number; codec: number; stop(): Promise<void> }> {
  let nativeListening: (port: number) => void = () => {};
  const nativeReady = new Promise<number>((resolve) => (nativeListening = resolve));
  const native = Deno.serve({
    port: 0,
    hostname: "127.0.0.1",
    onListen: ({ port }) => nativeListening(port),
  }, app.fetch);
  let codecListening: (port: number) => void = () => {};
  const codecReady = new Promise<number>((resolve) => (codecListening = resolve));
  const codec = serveWithCodec({
    port: 0,
    hostname: "127.0.0.1",
    onListen: ({ port }) => codecListening(port),
  }, app.fetch);
  return {
    native: await nativeReady,
    codec: await codecReady,
    stop: async () => void await Promise.all([native.shutdown(), codec.shutdown()]),
  };
}

const servers = await startBoth();

Deno.test({
  name:
    "An unmasked client frame: serveWithCodec() closes with 1002; Deno's native server echoes it",
  ...opts,
  async fn() {
    // §5.1: "The server MUST close the connection upon receiving a frame
    // that is not masked."
    const unmasked = frame(0x1, text("bare"), { mask: null });
    assert.deepEqual(await probe(servers.codec, unmasked), closedWith(1002));
    // Deno takes it as a message, and goes on: the next frame is echoed too.
    const native = await probe(
      servers.native,
      new Uint8Array([...unmasked, ...frame(0x1, text("next"))]),
    );
    assert.deepEqual(native, { frames: ["text bare", "text next"], ended: false });
  },
});

for (const { what, bytes, codec, native } of CASES) {
  Deno.test({
    name: `A protocol error, ${what}: serveWithCodec() ${codec.frames[0]}; native ${
      native.frames[0] ?? "drops the connection"
    }`,
    ...opts,
    async fn() {
      assert.deepEqual(await probe(servers.codec, bytes), codec, "serveWithCodec()");
      assert.deepEqual(await probe(servers.native, bytes), native, "Deno.serve()");
    },
  });
}

Deno.test({
  name:
    "A frame over maxMessageSize: serveWithCodec() closes with 1009 on its header; native waits",
  ...opts,
  async fn() {
    // The header of a 1 MiB binary frame, and none of its payload.
    const header = new Uint8Array([0x82, 0xff, 0, 0, 0, 0, 0, 0x10, 0, 0, 1, 2, 3, 4]);
    assert.deepEqual(await probe(servers.codec, header, "/small"), closedWith(1009));
    // Deno reads the whole message before the session can count it.
    assert.deepEqual(await probe(servers.native, header, "/small"), { frames: [], ended: false });
  },
});

Deno.test({
  name: "permessage-deflate: serveWithCodec() agrees to it; Deno's native server never does",
  ...opts,
  async fn() {
    const offer = { "Sec-WebSocket-Extensions": "permessage-deflate; client_max_window_bits" };
    const [codec, native] = await Promise.all([
      rawRequest(servers.codec, upgradeRequest("/deflate", offer)),
      rawRequest(servers.native, upgradeRequest("/deflate", offer)),
    ]);
    codec.conn.close();
    native.conn.close();
    assert.equal(codec.status, 101);
    assert.equal(native.status, 101);
    assert.equal(
      codec.headers.get("sec-websocket-extensions"),
      "permessage-deflate",
    );
    assert.equal(native.headers.get("sec-websocket-extensions"), null);
  },
});

Deno.test({
  name: "strictness: the servers stop",
  ...opts,
  fn: () => servers.stop(),
});
