/**
 * The C load generator (bench/loadgen/loadgen.c) against real peers: it
 * refuses a 101 whose Sec-WebSocket-Accept is wrong, and its echo and
 * handshake modes count round trips and upgrades against the soak's Node
 * server. Correctness only: no rate is asserted.
 */
import assert from "node:assert/strict";
import { bundleForNode, ROOT } from "../_util/server_process.ts";
import { spawn } from "../../bench/_process.ts";
import { nextLine, runLoadgen, startLoadgen } from "../../bench/loadgen/loadgen.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

Deno.test({
  name: "loadgen connect: a 101 with a wrong Sec-WebSocket-Accept fails the handshake",
  ...opts,
  async fn() {
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (listener.addr as Deno.NetAddr).port;
    const answer = new TextEncoder().encode(
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
        "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n",
    );
    const serving = (async () => {
      const conn = await listener.accept();
      await conn.read(new Uint8Array(4096));
      await conn.write(answer);
      await new Promise((resolve) => setTimeout(resolve, 500));
      conn.close();
    })();
    const client = await startLoadgen("connect", { port, count: 1 }, { stdin: true });
    try {
      await client.waitFor(/^ready /);
      const opened = nextLine<{ opened: number; failed: number; errorKinds: string[] }>(
        client,
        "opened",
      );
      await client.send("open");
      const result = await opened;
      assert.equal(result.opened, 0);
      assert.equal(result.failed, 1);
      assert.match(result.errorKinds.join(), /bad Sec-WebSocket-Accept/);
    } finally {
      await client.stop();
      await serving;
      listener.close();
    }
  },
});

Deno.test({
  name: "loadgen echo and handshake: round trips and upgrades against the soak's Node server",
  ...opts,
  async fn() {
    const server = await spawn("node", [await bundleForNode("tools/soak_node_server.ts")], {
      cwd: ROOT,
    });
    try {
      const port = Number((await server.waitFor(/^listening (\d+)/))[1]);
      const common = { port, "server-pid": server.pid, warmup: 0.2, duration: 0.5 };
      const echo = await runLoadgen("echo", { ...common, clients: 4, inflight: 4, size: 200 });
      assert.ok(echo.count > 0, JSON.stringify(echo));
      assert.equal(echo.wrong, 0);
      assert.equal(echo.errors, 0);
      assert.ok(echo.clientCpu >= 0 && echo.serverCpu > 0, JSON.stringify(echo));
      const handshake = await runLoadgen("handshake", { ...common, concurrency: 4 });
      assert.ok(handshake.count > 0, JSON.stringify(handshake));
      assert.equal(handshake.failed, 0);
    } finally {
      await server.stop();
    }
  },
});
