/**
 * Hono's RPC client against real servers: `hc<typeof app>(url)….$ws()`
 * connects to the typed routes of tests/fixtures/hc_app.ts on Deno (`deno
 * serve`) and on Node 20 (the codec), and exchanges messages.
 */
import assert from "node:assert/strict";
import { hc } from "hono/client";
import type { AppType } from "../fixtures/hc_app.ts";
import { type ServerProcess, startDeno, startNode } from "../_util/server_process.ts";

function nextMessage(ws: WebSocket): Promise<string> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("No message within 5 s")), 5000);
    ws.addEventListener("message", (e) => {
      clearTimeout(timer);
      resolve(String(e.data));
    }, { once: true });
    ws.addEventListener("error", () => reject(new Error("WebSocket error")), { once: true });
  });
}

function closed(ws: WebSocket): Promise<number> {
  return new Promise((resolve) => ws.addEventListener("close", (e) => resolve(e.code)));
}

for (
  const [runtime, start] of [
    ["Deno", () => startDeno("tests/fixtures/hc_app.ts")],
    ["Node 20", () => startNode("tests/fixtures/hc_node_app.ts")],
  ] as Array<[string, () => Promise<ServerProcess>]>
) {
  Deno.test(`hc().$ws() connects to typed routes and exchanges messages on ${runtime}`, async () => {
    const server = await start();
    try {
      const client = hc<AppType>(`http://127.0.0.1:${server.port}`);
      const room = client.room[":name"].$ws({ param: { name: "lobby" } });
      const joined = nextMessage(room);
      await new Promise((resolve) => room.addEventListener("open", resolve, { once: true }));
      assert.equal(await joined, "anonymous joined lobby as ANONYMOUS");
      const reply = nextMessage(room);
      room.send("hi");
      assert.equal(await reply, "lobby: hi");
      room.close(1000);
      assert.equal(await closed(room), 1000);

      const direct = client.direct[":id"].$ws({ param: { id: "7" } });
      await new Promise((resolve) => direct.addEventListener("open", resolve, { once: true }));
      const echoed = nextMessage(direct);
      direct.send("x");
      assert.equal(await echoed, "7 x");
      direct.close(1000);
      assert.equal(await closed(direct), 1000);
    } finally {
      await server.stop();
    }
  });
}
