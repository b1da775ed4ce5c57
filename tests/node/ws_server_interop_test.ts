/** Our codec client against a `ws` server running in the real Node 20. */
import assert from "node:assert/strict";
import { BIN, ROOT, startProcess } from "../_util/server_process.ts";
import { openTcpClient } from "../_util/tcp_client.ts";

Deno.test({
  name: "codec client: talks to a ws server (text, binary across lengths, protocol, close)",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const server = await startProcess(BIN.node, [`${ROOT}tests/fixtures/ws_echo_server.cjs`], {
      ready: /listening (\d+)/,
      env: { NODE_PATH: `${ROOT}node_modules` },
    });
    try {
      const ws = await openTcpClient(server.port, "/", { protocols: ["a", "b"] });
      assert.equal(ws.protocol, "b");
      ws.send("héllo ws");
      assert.equal(await ws.nextMessage(), "héllo ws");
      for (const n of [0, 125, 126, 65535, 65536, 1 << 20]) {
        const bytes = new Uint8Array(n).map((_, i) => i * 31);
        ws.send(bytes);
        assert.deepEqual(await ws.nextMessage(), bytes, `length ${n}`);
      }
      ws.close(4321, "done");
      const closed = await ws.closed;
      assert.equal(closed.code, 4321);
      assert.equal(closed.wasClean, true);
    } finally {
      await server.stop();
    }
  },
});
