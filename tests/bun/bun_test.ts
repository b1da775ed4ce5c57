/**
 * The Bun adapter's message size checks, on Bun itself: the session checks
 * a route whose limit is below the server's `maxPayloadLength` and leaves
 * the rest to Bun, whose 1009 carries a reason of its own.
 */
import assert from "node:assert/strict";
import { startBun } from "../_util/server_process.ts";
import { openWs } from "../parity/_ws_client.ts";

const SESSION_REASON = "Message too big";

Deno.test("bunAdapter: the session closes with 1009 above a route limit smaller than Bun's", async () => {
  const server = await startBun("tests/bun/_size_limits_app.ts");
  try {
    const c = await openWs(server.port, "/smaller");
    c.ws.send("a".repeat(1024));
    assert.equal(String((await c.next()).data), "a".repeat(1024));
    c.ws.send("a".repeat(1025));
    assert.deepEqual(await c.closed, { code: 1009, reason: SESSION_REASON });
  } finally {
    await server.stop();
  }
});

Deno.test("bunAdapter: Bun's own 1009 closes a route whose limit equals or exceeds Bun's", async () => {
  const server = await startBun("tests/bun/_size_limits_app.ts");
  try {
    for (const path of ["/equal", "/larger"]) {
      const c = await openWs(server.port, path);
      c.ws.send("a".repeat(4096));
      assert.equal(String((await c.next()).data), "a".repeat(4096), path);
      c.ws.send("a".repeat(4097));
      const closed = await c.closed;
      assert.equal(closed.code, 1009, path);
      assert.notEqual(closed.reason, SESSION_REASON, `${path}: Bun closed it, not the session`);
    }
  } finally {
    await server.stop();
  }
});
