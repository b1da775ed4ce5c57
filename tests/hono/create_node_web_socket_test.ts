/** `createNodeWebSocket({ app })`, `@hono/node-ws`'s shape, on real Node 20 with the `ws` client. */
import assert from "node:assert/strict";
import { startNode } from "../_util/server_process.ts";
import { openWs } from "../parity/_ws_client.ts";

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
  } finally {
    await server.stop();
  }
});
