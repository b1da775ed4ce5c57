/**
 * What a server prints when a route has no `onError`, on the real runtimes:
 * a peer that breaks the protocol or vanishes is the peer's doing and is
 * logged by none of them (Hono's helpers, `ws` and Deno's own server print
 * nothing either), while a handler that throws is the app's and is logged.
 */
import assert from "node:assert/strict";
import {
  BIN,
  type ServerProcess,
  startBun,
  startNode,
  startProcess,
} from "../_util/server_process.ts";
import { rawRequest, readToEnd, upgradeRequest } from "../_util/tcp_client.ts";
import { concat } from "../_util/chunking.ts";
import { encodeFrame, Opcode } from "../../src/codec/mod.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };
const encoder = new TextEncoder();

// A masked client frame, as the codec's encoder writes one for a client.
function clientFrame(opcode: number, payload: Uint8Array, masked = true): Uint8Array {
  return concat(encodeFrame(opcode, payload, { mask: masked }));
}

// The close code in the server's close frame (unmasked, short payload).
function closeCodeOf(bytes: Uint8Array): number | undefined {
  for (let i = 0; i + 3 < bytes.length; i++) {
    if (bytes[i] === 0x88 && bytes[i + 1] >= 2 && bytes[i + 1] < 126) {
      return (bytes[i + 2] << 8) | bytes[i + 3];
    }
  }
  return undefined;
}

// The server's output once it shows `mark` (at most 2 s).
async function settle(server: ServerProcess, mark: string): Promise<string> {
  for (let i = 0; i < 20; i++) {
    await new Promise((r) => setTimeout(r, 100));
    if (server.output().includes(mark)) break;
  }
  return server.output();
}

// `strict`: whether the runtime answers these violations with their RFC
// codes (Deno's native server takes an unmasked frame and drops a socket on
// bad UTF-8 without a close frame, as tests/deno/strictness_test.ts records).
async function check(start: () => Promise<ServerProcess>, strict = true): Promise<void> {
  const server = await start();
  try {
    const before = server.output().length;
    // 1. An unmasked client frame: 1002.
    const a = await rawRequest(server.port, upgradeRequest("/echo"));
    assert.equal(a.status, 101);
    await a.conn.write(clientFrame(Opcode.Text, encoder.encode("unmasked"), false));
    if (strict) assert.equal(closeCodeOf(await readToEnd(a.conn, a.rest)), 1002);
    else a.conn.close();
    // 2. Invalid UTF-8 in a text frame: 1007.
    const b = await rawRequest(server.port, upgradeRequest("/echo"));
    await b.conn.write(clientFrame(Opcode.Text, new Uint8Array([0xc3, 0x28])));
    const bClosed = closeCodeOf(await readToEnd(b.conn, b.rest));
    if (strict) assert.equal(bClosed, 1007);
    // 3. A peer that vanishes mid-frame.
    const c = await rawRequest(server.port, upgradeRequest("/echo"));
    await c.conn.write(clientFrame(Opcode.Binary, new Uint8Array(64)).subarray(0, 10));
    c.conn.close();
    // What the server logged for them has been written well within this.
    await new Promise((r) => setTimeout(r, 500));
    const logged = server.output().slice(before);
    assert.doesNotMatch(
      logged,
      /error|1002|1007|utf-?8|mask|reset/i,
      `the peer's failures are not logged:\n${logged}`,
    );
    // 4. A handler that throws.
    const d = await rawRequest(server.port, upgradeRequest("/throws"));
    await d.conn.write(clientFrame(Opcode.Text, encoder.encode("purpose")));
    const output = await settle(server, "handler failed on purpose");
    d.conn.close();
    assert.match(
      output.slice(before),
      /handler failed on purpose/,
      "the handler's error is logged",
    );
    // The server still serves.
    const e = await rawRequest(server.port, upgradeRequest("/echo"));
    assert.equal(e.status, 101);
    e.conn.close();
  } finally {
    await server.stop();
  }
}

Deno.test({
  name: "no onError: Node logs a throwing handler, not a peer's protocol error or drop",
  ...opts,
  fn: () => check(() => startNode("tests/fixtures/node_app.ts")),
});

Deno.test({
  name: "no onError: Deno logs a throwing handler, not a peer's protocol error or drop",
  ...opts,
  fn: () =>
    check(() =>
      startProcess(BIN.deno, ["run", "-A", "tests/fixtures/deno_app.ts"], {
        ready: /listening (\d+)/,
      }), false),
});

Deno.test({
  name: "no onError: Bun logs a throwing handler, not a peer's protocol error or drop",
  ...opts,
  fn: () => check(() => startBun("tests/fixtures/bun_app.ts")),
});
