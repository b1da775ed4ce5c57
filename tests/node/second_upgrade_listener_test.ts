/**
 * A second `upgrade` listener on the server `serve()` made (the `ws` package
 * in `noServer` mode, as a second WebSocket library or a dev server's hot
 * reload would be): the sockets it takes stay its own, before or after
 * edgesocket's listener, quick or after an async check, and edgesocket's
 * routes keep working beside it. On the real Node 20.
 */
import assert from "node:assert/strict";
import WebSocket from "ws";
import { startNode } from "../_util/server_process.ts";
import { rawRequest, upgradeRequest } from "../_util/tcp_client.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

/**
 * Opens a `ws` client, sends `text` and resolves with the first answer;
 * rejects if the socket fails or closes first, or after 10 s (a bound, not a
 * timing check).
 */
async function exchange(url: string, text: string, protocols?: string[]): Promise<string> {
  const ws = new WebSocket(url, protocols);
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await new Promise<string>((resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer on ${url}`)), 10_000);
      ws.on("error", reject);
      ws.on("close", (code: number) => reject(new Error(`closed ${code} on ${url}`)));
      ws.on("unexpected-response", (_req: unknown, res: { statusCode: number }) => {
        reject(new Error(`unexpected response ${res.statusCode} on ${url}`));
      });
      ws.on("open", () => ws.send(text));
      ws.once("message", (data: Buffer) => resolve(data.toString()));
    });
  } finally {
    clearTimeout(timer);
    ws.terminate();
  }
}

for (const first of [false, true]) {
  const order = first ? "registered before edgesocket's" : "registered after edgesocket's";
  Deno.test({
    name: `Node serve(): a second upgrade listener ${order} keeps the sockets it takes`,
    ...opts,
    async fn() {
      const server = await startNode("tests/node/_second_listener_server.ts", {
        OTHER_FIRST: first ? "1" : "0",
      });
      const base = `ws://127.0.0.1:${server.port}`;
      try {
        // A path the app has no route for: no 404 written into the other's socket.
        assert.equal(await exchange(`${base}/other`, "a"), "other: a");
        // A path where the app serves a page, taken by the other at once (Vite's HMR on /).
        assert.equal(await exchange(`${base}/`, "b", ["vite-hmr"]), "hmr: b");
        if (!first) {
          // Taken after an async verifyClient, on a path where the app serves a page.
          assert.equal(await exchange(`${base}/slow`, "c"), "slow: c");
        }
        // edgesocket's own routes, and its own refusals, beside it.
        assert.equal(await exchange(`${base}/echo`, "d"), "d");
        const bad = await rawRequest(
          server.port,
          upgradeRequest("/echo", { "Sec-WebSocket-Version": "7" }),
        );
        bad.conn.close();
        assert.equal(bad.status, 426);
        const page = await fetch(`http://127.0.0.1:${server.port}/slow`);
        assert.equal(page.status, 200);
        await page.body?.cancel();
        assert.doesNotMatch(server.output(), /Error|took/);
      } finally {
        await server.stop();
      }
    },
  });
}
