import assert from "node:assert/strict";
import { WebSocketConnection } from "../../src/entries/adapter.ts";
import { frame } from "../_util/chunking.ts";

function fakeTransport() {
  const written: Uint8Array[] = [];
  const state = { destroyed: false, ended: false };
  return {
    written,
    state,
    transport: {
      write: (chunks: Uint8Array[]) => written.push(...chunks.map((c) => c.slice())),
      end: () => (state.ended = true),
      destroy: () => (state.destroyed = true),
      bufferedAmount: 0,
    },
  };
}

Deno.test("WebSocketConnection: idleTimeout pings at half and drops a silent peer with 1006", async () => {
  const { written, state, transport } = fakeTransport();
  const ws = new WebSocketConnection(transport, { idleTimeout: 200 });
  const closed = new Promise<{ code: number; wasClean: boolean }>((resolve) =>
    ws.addEventListener("close", (e) => resolve({ code: e.code, wasClean: e.wasClean }))
  );
  ws.open();
  const started = Date.now();
  assert.deepEqual(await closed, { code: 1006, wasClean: false });
  const elapsed = Date.now() - started;
  assert.ok(elapsed >= 190 && elapsed < 1000, `closed after ${elapsed} ms`);
  assert.ok(written.some((b) => b[0] === 0x89), "a ping was sent");
  assert.equal(state.destroyed, true);
});

Deno.test("WebSocketConnection: a peer that answers keeps the connection open", async () => {
  const { transport } = fakeTransport();
  const ws = new WebSocketConnection(transport, { idleTimeout: 200 });
  let closed = false;
  ws.addEventListener("close", () => (closed = true));
  ws.open();
  for (let i = 0; i < 8; i++) {
    await new Promise((r) => setTimeout(r, 60));
    ws.receive(frame(0xa, new Uint8Array(0))); // a pong
  }
  assert.equal(closed, false);
  ws.terminate();
  assert.equal(closed, true);
});

Deno.test("WebSocketConnection.close() follows the WHATWG rules", () => {
  const { transport } = fakeTransport();
  const ws = new WebSocketConnection(transport);
  assert.throws(
    () => ws.send("x"),
    (e: unknown) => (e as DOMException).name === "InvalidStateError",
  );
  ws.open();
  assert.throws(
    () => ws.close(1001),
    (e: unknown) => (e as DOMException).name === "InvalidAccessError",
  );
  assert.throws(
    () => ws.close(5000),
    (e: unknown) => (e as DOMException).name === "InvalidAccessError",
  );
  assert.throws(
    () => ws.close(1000, "x".repeat(124)),
    (e: unknown) => (e as DOMException).name === "SyntaxError",
  );
  ws.close(4000, "ok");
  assert.equal(ws.readyState, 2);
  ws.terminate();
  assert.equal(ws.readyState, 3);
});

Deno.test("WebSocketConnection.send() sends exactly a view's bytes", () => {
  const { written, transport } = fakeTransport();
  const ws = new WebSocketConnection(transport);
  ws.open();
  const pool = new Uint8Array(8192).fill(1);
  ws.send(pool.subarray(100, 103).fill(7));
  ws.send(new DataView(pool.buffer, 200, 2));
  assert.deepEqual(written[0], new Uint8Array([0x82, 3, 7, 7, 7]));
  assert.deepEqual(written[1], new Uint8Array([0x82, 2, 1, 1]));
  ws.terminate();
});

Deno.test("WebSocketConnection: pings past a 16 KiB backlog go unanswered; 1,025 in a row get 1008", () => {
  const { written, state, transport } = fakeTransport();
  const codes: number[] = [];
  const ws = new WebSocketConnection(transport);
  ws.addEventListener("close", (e) => codes.push(e.code));
  ws.open();
  const ping = frame(0x9, new Uint8Array([1, 2, 3]));
  ws.receive(ping.slice());
  assert.deepEqual([...written[0]], [0x8a, 3, 1, 2, 3], "answered below the backlog");
  transport.bufferedAmount = 16 * 1024;
  for (let i = 0; i < 1024; i++) ws.receive(ping.slice());
  assert.equal(written.length, 1, "no pong past the backlog");
  assert.deepEqual(codes, []);
  // Answering again resets the count.
  transport.bufferedAmount = 0;
  ws.receive(ping.slice());
  assert.equal(written.length, 2);
  transport.bufferedAmount = 16 * 1024;
  for (let i = 0; i < 1024; i++) ws.receive(ping.slice());
  assert.deepEqual(codes, []);
  ws.receive(ping.slice());
  assert.deepEqual(codes, [1008]);
  const close = written.at(-1) as Uint8Array;
  assert.equal(close[0], 0x88);
  assert.equal((close[2] << 8) | close[3], 1008);
  assert.equal(state.destroyed, false);
});
