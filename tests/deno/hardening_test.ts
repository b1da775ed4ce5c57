/** Graceful shutdown on a real Deno server (`Deno.serve` in its own process). */
import assert from "node:assert/strict";
import { BIN, startProcess } from "../_util/server_process.ts";
import { rawRequest, readToEnd, upgradeRequest } from "../_util/tcp_client.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

Deno.test({
  name: "Deno shutdown(): 1,000 open connections get 1001, silent peers are dropped, it exits",
  ...opts,
  async fn() {
    const timeout = 5000;
    const server = await startProcess(BIN.deno, ["run", "-A", "tests/fixtures/deno_app.ts"], {
      ready: /listening (\d+)/,
      env: { SHUTDOWN_TIMEOUT: `${timeout}` },
    });
    try {
      const sockets: WebSocket[] = [];
      const codes: Promise<number>[] = [];
      for (let i = 0; i < 1000; i++) {
        const ws = new WebSocket(`ws://127.0.0.1:${server.port}/echo`);
        codes.push(new Promise((resolve) => (ws.onclose = (e) => resolve(e.code))));
        sockets.push(ws);
      }
      await Promise.all(sockets.map((ws) => new Promise((r) => (ws.onopen = r))));
      // Five peers that read but never answer the close frame.
      const silent = [];
      for (let i = 0; i < 5; i++) {
        const upgrade = await rawRequest(server.port, upgradeRequest("/echo"));
        assert.equal(upgrade.status, 101);
        silent.push(upgrade);
      }
      const firstClose = Promise.race(codes);
      server.process.kill("SIGTERM");
      const silentReads = silent.map((s) => readToEnd(s.conn, s.rest, timeout + 30_000));
      assert.equal(await firstClose, 1001);
      // Draining: a new upgrade is refused while the silent peers hold it open.
      const late = await rawRequest(server.port, upgradeRequest("/echo"));
      assert.equal(late.status, 503);
      assert.equal(late.headers.get("retry-after"), "5");
      late.conn.close();
      const got = await Promise.all(codes);
      assert.equal(got.filter((c) => c === 1001).length, 1000);
      // The silent peers saw the 1001 frame, then the server dropped them.
      for (const bytes of await Promise.all(silentReads)) {
        assert.deepEqual([...bytes.subarray(0, 4)], [0x88, bytes[1], 0x03, 0xe9]);
      }
      // It exits soon after the timeout (bounded here, generously).
      let timer: ReturnType<typeof setTimeout> | undefined;
      const status = await Promise.race([
        server.process.status,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error("the server did not exit")), timeout + 30_000);
        }),
      ]);
      clearTimeout(timer);
      assert.equal(status.code, 0);
      assert.match(server.output(), /shutdown closed=1000 dropped=5/);
      // It no longer accepts.
      await assert.rejects(Deno.connect({ hostname: "127.0.0.1", port: server.port }));
    } finally {
      await server.stop();
    }
  },
});
