/** `@hono/node-server`'s serve() and upgradeWebSocket() with our WebSocketServer in the slot, in Node 20. */
import assert from "node:assert/strict";
import WebSocket from "ws";
import { startNode } from "../_util/server_process.ts";
import { rawRequest, upgradeRequest } from "../_util/tcp_client.ts";
import { WebSocketServer } from "../../src/adapters/node.ts";

Deno.test({
  name: "WebSocketServer fills @hono/node-server's websocket slot: echo, protocol, bad version",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const server = await startNode("tests/fixtures/node_slot_app.ts");
    try {
      const ws = new WebSocket(`ws://127.0.0.1:${server.port}/echo`, ["a", "b"]);
      const messages: Array<[string, boolean]> = [];
      const waiters: Array<() => void> = [];
      ws.on("message", (d: Buffer, isBinary: boolean) => {
        messages.push([isBinary ? `bin:${[...d].join(",")}` : d.toString(), isBinary]);
        waiters.shift()?.();
      });
      const next = async () => {
        if (messages.length === 0) await new Promise<void>((r) => waiters.push(r));
        return messages.shift()!;
      };
      await new Promise((resolve, reject) => {
        ws.on("open", resolve);
        ws.on("error", reject);
      });
      assert.equal(ws.protocol, "b");
      assert.deepEqual(await next(), ["open b", false]);
      ws.send("text");
      assert.deepEqual(await next(), ["text", false]);
      ws.send(new Uint8Array([4, 5]));
      assert.deepEqual(await next(), ["bin:4,5", true]);
      const closed = new Promise<number>((r) => ws.on("close", (code: number) => r(code)));
      ws.close(4000);
      assert.equal(await closed, 4000);
      const bad = await rawRequest(
        server.port,
        upgradeRequest("/echo", { "Sec-WebSocket-Version": "7" }),
      );
      bad.conn.close();
      assert.equal(bad.status, 426);
      assert.equal(bad.headers.get("sec-websocket-version"), "13");
    } finally {
      await server.stop();
    }
  },
});

Deno.test({
  name:
    "WebSocketServer in @hono/node-server's slot: middleware headers on the 101 and on a refusal, a route that does not upgrade",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const server = await startNode("tests/fixtures/node_slot_app.ts");
    try {
      const ws = new WebSocket(`ws://127.0.0.1:${server.port}/echo`, {
        headers: { authorization: "Bearer token" },
      });
      // ws emits `open` right after `upgrade`, in the same turn.
      const opened = new Promise((resolve) => ws.once("open", resolve));
      const upgradeHeaders = await new Promise<Record<string, unknown>>((resolve, reject) => {
        ws.once(
          "upgrade",
          (response: { headers: Record<string, unknown> }) => resolve(response.headers),
        );
        ws.once("error", reject);
      });
      assert.equal(upgradeHeaders["x-auth-result"], "authorized");
      await opened;
      const closed = new Promise((r) => ws.once("close", r));
      ws.close();
      await closed;

      const refused = await rawRequest(server.port, upgradeRequest("/refused"));
      refused.conn.close();
      assert.equal(refused.status, 401);
      assert.equal(refused.headers.get("x-refused"), "yes");

      const plain = await rawRequest(server.port, upgradeRequest("/plain"));
      plain.conn.close();
      assert.equal(plain.status, 200);
      assert.equal(plain.headers.get("x-auth-result"), "missing");
    } finally {
      await server.stop();
    }
  },
});

Deno.test("WebSocketServer takes ws's noServer: true, and refuses to be a server of its own", () => {
  assert.deepEqual(new WebSocketServer({ noServer: true }).options, { noServer: true });
  assert.throws(
    () => new WebSocketServer({ noServer: false }),
    /noServer must be true/,
  );
});

Deno.test({
  name:
    "WebSocketServer in @hono/node-server's slot: ws's perMessageDeflate compresses with ws's client, off by default",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    for (const deflate of [true, false]) {
      const server = await startNode("tests/fixtures/node_slot_app.ts", {
        SLOT_DEFLATE: deflate ? "1" : "0",
      });
      try {
        // ws's client offers permessage-deflate by default.
        const ws = new WebSocket(`ws://127.0.0.1:${server.port}/echo`);
        const messages: string[] = [];
        let wake = () => {};
        ws.on("message", (d: Buffer) => {
          messages.push(d.toString());
          wake();
        });
        const next = async () => {
          while (messages.length === 0) await new Promise<void>((r) => (wake = r));
          return messages.shift()!;
        };
        await new Promise((resolve, reject) => {
          ws.once("open", resolve);
          ws.once("error", reject);
        });
        assert.equal(ws.extensions.startsWith("permessage-deflate"), deflate);
        assert.equal(await next(), "open "); // no subprotocol offered
        const socket = (ws as unknown as { _socket: { bytesRead: number } })._socket;
        const before = socket.bytesRead;
        const text = "edgesocket ".repeat(6000); // 66,000 bytes, very compressible
        ws.send(text);
        assert.equal(await next(), text);
        const read = socket.bytesRead - before;
        if (deflate) assert.ok(read < 2000, `compressed echo read ${read} bytes`);
        else assert.ok(read > text.length, `uncompressed echo read ${read} bytes`);
        const closed = new Promise((r) => ws.once("close", r));
        ws.close();
        await closed;
      } finally {
        await server.stop();
      }
    }
  },
});

Deno.test({
  name:
    "WebSocketServer in @hono/node-server's slot: without protocols the first offer, as ws; ws's handleProtocols",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const cases: Array<[string, string[], string]> = [
      ["first", ["x", "y"], "x"],
      ["handle", ["a", "c"], "c"],
      ["handle", ["a", "b"], ""],
    ];
    for (const [mode, offers, expected] of cases) {
      const server = await startNode("tests/fixtures/node_slot_app.ts", { SLOT_PROTOCOLS: mode });
      try {
        const ws = new WebSocket(`ws://127.0.0.1:${server.port}/echo`, offers);
        const first = new Promise<string>((resolve) =>
          ws.once("message", (d: Buffer) => resolve(d.toString()))
        );
        const outcome = await new Promise<string>((resolve) => {
          ws.once("open", () => resolve(`open ${ws.protocol}`));
          // ws's client fails a 101 without a subprotocol when it offered some.
          ws.once("error", (error: Error) => resolve(`error ${error.message}`));
        });
        if (expected) {
          assert.equal(outcome, `open ${expected}`);
          assert.equal(await first, `open ${expected}`);
          const closed = new Promise((r) => ws.once("close", r));
          ws.close();
          await closed;
        } else {
          assert.match(outcome, /^error Server sent no subprotocol/);
        }
      } finally {
        await server.stop();
      }
    }
  },
});
