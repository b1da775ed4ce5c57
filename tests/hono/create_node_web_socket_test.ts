/** `createNodeWebSocket({ app })`, `@hono/node-ws`'s shape, on real Node 20 with the `ws` client. */
import assert from "node:assert/strict";
import { startNode } from "../_util/server_process.ts";
import { rawRequest, upgradeRequest } from "../_util/tcp_client.ts";
import { openWs } from "../parity/_ws_client.ts";

interface State {
  clients: number;
  connections: string[];
  reported: string[];
}

async function state(port: number): Promise<State> {
  return await (await fetch(`http://127.0.0.1:${port}/state`)).json();
}

Deno.test("createNodeWebSocket() upgrades through @hono/node-server's serve() on Node 20", async () => {
  const server = await startNode("tests/fixtures/node_ws_helper_app.ts");
  try {
    const c = await openWs(server.port, "/ws/lin");
    assert.equal((await c.next()).data, "hello lin");
    c.ws.send("echo");
    assert.equal((await c.next()).data, "echo");
    c.ws.close(1000);
    assert.equal((await c.closed).code, 1000);
    // The same server still answers plain HTTP through Hono.
    const page = await fetch(`http://127.0.0.1:${server.port}/`);
    assert.equal(await page.text(), "page");
    // Handlers made asynchronously: the socket opens once they are there.
    const slow = await openWs(server.port, "/slow");
    assert.equal((await slow.next()).data, "slow open");
    slow.ws.send("x");
    assert.equal((await slow.next()).data, "slow x");
    slow.ws.close(1000);
    await slow.closed;
    // Middleware headers reach the 101 under @hono/node-server's own
    // Response: cors copies the answer into a new one, secure-headers sets
    // its headers after next().
    const guarded = await rawRequest(
      server.port,
      upgradeRequest("/guarded", { Origin: "http://good.example" }),
    );
    guarded.conn.close();
    assert.equal(guarded.status, 101);
    assert.equal(guarded.headers.get("access-control-allow-origin"), "http://good.example");
    assert.equal(guarded.headers.get("x-content-type-options"), "nosniff");
    // A route without upgradeWebSocket, and no route: the handshake fails
    // with the app's answer.
    for (const [path, status] of [["/plain", 200], ["/nowhere", 404]] as const) {
      const refused = await rawRequest(server.port, upgradeRequest(path));
      refused.conn.close();
      assert.equal(refused.status, status, path);
    }
  } finally {
    await server.stop();
  }
});

Deno.test("createNodeWebSocket(): wss.clients, wss.on('connection'), baseUrl and the onError option, as @hono/node-ws has them", async () => {
  const server = await startNode("tests/fixtures/node_ws_helper_app.ts");
  try {
    const { port } = server;
    // In onOpen the new socket is already one of wss.clients, as with ws.
    const a = await openWs(port, "/chat");
    assert.equal((await a.next()).data, "clients 1 self true");
    const b = await openWs(port, "/chat");
    assert.equal((await b.next()).data, "clients 2 self true");
    // The broadcast loop over wss.clients reaches both.
    a.ws.send("to all");
    assert.equal((await a.next()).data, "to all");
    assert.equal((await b.next()).data, "to all");
    // ws's `{ binary }` option: the same text as a binary frame.
    a.ws.send("as binary");
    const framed = await a.next();
    assert.equal(framed.isBinary, true);
    assert.equal(new TextDecoder().decode(framed.data as Uint8Array), "as binary");
    assert.equal((await b.next()).isBinary, true);
    // A closed socket leaves the set.
    a.ws.close(1000);
    await a.closed;
    b.ws.send("after");
    assert.equal((await b.next()).data, "after");
    assert.equal((await state(port)).clients, 1);
    // `connection` fired for each, with Node's IncomingMessage.
    assert.deepEqual((await state(port)).connections, ["/chat", "/chat"]);
    // A `connection` listener that throws is logged; the socket opens.
    const odd = await openWs(port, "/chat?bad-listener");
    assert.equal((await odd.next()).data, "clients 2 self true");
    // The log comes through the server's stderr pipe, which can lag the
    // socket's first message: read it until it is there (bounded).
    for (let i = 0; i < 200 && !/listener bug/.test(server.output()); i++) {
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    assert.match(server.output(), /listener bug/);
    odd.ws.close(1000);
    await odd.closed;

    // baseUrl: the request's URL is resolved against it, not the Host header.
    const u = await openWs(port, "/url");
    assert.equal((await u.next()).data, "http://example.test/url");
    u.ws.close(1000);
    await u.closed;

    // A handler's error goes to the route's onError option, not the log;
    // the socket goes on.
    const t = await openWs(port, "/throws");
    t.ws.send("throw");
    t.ws.send("still open");
    assert.equal((await t.next()).data, "still open");
    assert.deepEqual((await state(port)).reported, ["Error: boom"]);
    assert.doesNotMatch(server.output(), /boom/);
    t.ws.close(1000);
    await t.closed;

    // wss.close(): new upgrades get 503, the open socket stays, and `close`
    // comes once the last one has closed.
    const closing = fetch(`http://127.0.0.1:${port}/close`).then((r) => r.text());
    await new Promise((resolve) => setTimeout(resolve, 100));
    const refused = await rawRequest(port, upgradeRequest("/chat"));
    refused.conn.close();
    assert.equal(refused.status, 503);
    b.ws.send("still here");
    assert.equal((await b.next()).data, "still here");
    b.ws.close(1000);
    await b.closed;
    assert.equal(await closing, "closed");
    // Closing again reports that it is not running, as ws does.
    assert.equal(
      await (await fetch(`http://127.0.0.1:${port}/close`)).text(),
      "The server is not running",
    );
  } finally {
    await server.stop();
  }
});
