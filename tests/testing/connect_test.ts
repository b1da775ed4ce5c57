import assert from "node:assert/strict";
import { HandshakeError } from "../../src/codec/mod.ts";
import { Hono } from "hono";
import { upgradeWebSocket } from "../../mod.ts";
import { connect } from "../../src/testing/mod.ts";
import { createTestApp } from "../fixtures/app.ts";

const app = createTestApp();

Deno.test("connect() echoes text as text and binary as binary", async () => {
  const ws = await connect(app, "/echo");
  ws.send("héllo");
  assert.equal(await ws.nextMessage(), "héllo");
  ws.send(new Uint8Array([1, 2, 3]));
  assert.deepEqual(await ws.nextMessage(), new Uint8Array([1, 2, 3]));
  ws.close(1000, "done");
  assert.deepEqual(await ws.closed, { code: 1000, reason: "done", wasClean: true });
});

Deno.test("connect() sees the protocol picked from the server's list, data and order", async () => {
  const ws = await connect(app, "/info?user=ada", { protocols: ["v1", "v2"] });
  assert.equal(ws.protocol, "v2");
  assert.deepEqual(JSON.parse(await ws.nextMessage() as string), {
    protocol: "v2",
    path: "/info",
    user: { user: "ada" },
  });
  ws.send(new Uint8Array(5));
  assert.equal(await ws.nextMessage(), "arraybuffer 5");
  ws.send("binaryType:blob");
  ws.send(new Uint8Array(7));
  assert.equal(await ws.nextMessage(), "blob 7");
  ws.send("view");
  assert.deepEqual(await ws.nextMessage(), new Uint8Array([5, 5, 5]));
  ws.close(4000);
  await ws.closed;
  const seen = await (await app.request("/seen")).json();
  assert.equal(seen.at(-1).order, "open,message,message,message,message,close");
});

Deno.test("connect() gets no protocol when none offered matches", async () => {
  const ws = await connect(app, "/info", { protocols: ["v9"] });
  assert.equal(ws.protocol, "");
  ws.close();
  assert.equal((await ws.closed).code, 1005);
});

Deno.test("connect() is refused with the route's status", async () => {
  const status = async (path: string, headers?: Record<string, string>) => {
    try {
      (await connect(app, path, { headers })).close();
    } catch (error) {
      assert.ok(error instanceof HandshakeError);
      return error.status;
    }
    return 101;
  };
  assert.equal(await status("/private"), 401);
  assert.equal(await status("/private", { cookie: "user=ada" }), 101);
  assert.equal(await status("/origin", { origin: "http://evil.example" }), 403);
  assert.equal(await status("/origin"), 403);
  assert.equal(await status("/origin", { origin: "http://good.example" }), 101);
  assert.equal(await status("/echo", { "sec-websocket-version": "12" }), 426);
  // Not an upgrade: the middleware goes on to Hono's 404, the direct form answers 426.
  assert.equal((await app.request("/echo")).status, 404);
  assert.equal((await app.request("/direct/1")).status, 426);
});

Deno.test("connect() sees 1009 for a message over the route's limit", async () => {
  const ws = await connect(app, "/small");
  ws.send("x".repeat(1024));
  assert.equal(await ws.nextMessage(), "x".repeat(1024));
  ws.send("x".repeat(1025));
  assert.equal((await ws.closed).code, 1009);
});

Deno.test("connect() sees the server's close code and reason", async () => {
  const ws = await connect(app, "/close?code=4001&reason=bye");
  assert.deepEqual(await ws.closed, {
    code: 4001,
    reason: "bye",
    wasClean: true,
  });
});

Deno.test("discardUnread() drops what nobody waits for; nextMessage() still gets what comes after", async () => {
  const ws = await connect(app, "/echo");
  let seen = 0;
  ws.connection.addEventListener("message", () => seen++);
  ws.send("kept");
  ws.send("dropped");
  while (seen < 2) await new Promise((r) => setTimeout(r, 5));
  ws.discardUnread();
  ws.send("unread");
  while (seen < 3) await new Promise((r) => setTimeout(r, 5));
  const next = ws.nextMessage();
  ws.send("awaited");
  assert.equal(await next, "awaited");
  ws.close(1000);
  await ws.closed;
});

Deno.test("a route's `protocol` (Deno's and hono/deno's option) answers that one when offered, and none otherwise", async () => {
  const route = new Hono().get(
    "/graphql",
    upgradeWebSocket(() => ({ onOpen: (_e, ws) => ws.send(ws.protocol) }), {
      protocol: "graphql-ws",
    }),
  );
  // Not the first offer: the one the route names.
  const chosen = await connect(route, "/graphql", {
    protocols: ["graphql-transport-ws", "graphql-ws"],
  });
  assert.equal(chosen.protocol, "graphql-ws");
  assert.equal(await chosen.nextMessage(), "graphql-ws");
  chosen.close(1000);
  await chosen.closed;
  // Never one the client did not offer.
  const other = await connect(route, "/graphql", { protocols: ["graphql-transport-ws"] });
  assert.equal(other.protocol, "");
  other.close(1000);
  await other.closed;
});

Deno.test("a binaryType other than arraybuffer, blob or uint8array is refused when the route is made", () => {
  assert.throws(
    () => upgradeWebSocket(() => ({}), { binaryType: "nodebuffer" as never }),
    (error: unknown) =>
      error instanceof TypeError && /binaryType must be .*: nodebuffer/.test(error.message),
  );
  // The three it takes make routes.
  for (const binaryType of ["arraybuffer", "blob", "uint8array"] as const) {
    assert.equal(typeof upgradeWebSocket(() => ({}), { binaryType }), "function");
  }
});

Deno.test('connect() to a binaryType "uint8array" route: views in, and the same bytes back', async () => {
  const views = new Hono().get(
    "/",
    upgradeWebSocket(() => ({
      onMessage(e, ws) {
        const data: unknown = e.data;
        ws.send(data instanceof Uint8Array ? `view ${data.length} ${ws.binaryType}` : "not a view");
        if (data instanceof Uint8Array) ws.send(data);
      },
    }), { binaryType: "uint8array" }),
  );
  const ws = await connect(views, "/");
  ws.send(new Uint8Array([7, 8, 9]));
  assert.equal(await ws.nextMessage(), "view 3 uint8array");
  assert.deepEqual(await ws.nextMessage(), new Uint8Array([7, 8, 9]));
  ws.close();
  await ws.closed;
});
