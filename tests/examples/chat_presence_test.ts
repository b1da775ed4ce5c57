/**
 * The demo chat's online list across processes: a Deno and a Node server
 * with REDIS_URL on one real redis-server. A user joining through either
 * sees everyone; when one process is SIGKILLed, its users leave the other's
 * lists, and a "leave" frame reaches the survivor's clients, within the
 * presence TTL and a third (`PRESENCE_TTL`, 2 s here; set it in this test's
 * environment to measure another).
 */
import assert from "node:assert/strict";
import type { ServerEvent } from "../../examples/chat/protocol.ts";
import { startRedis } from "../_util/redis.ts";
import {
  BIN,
  freePort,
  type ServerProcess,
  startNode,
  startProcess,
} from "../_util/server_process.ts";
import { type Client, closeAll, join } from "./_chat_client.ts";
import { TEST_SECRET } from "./_chat_server.ts";

const TTL = Number(Deno.env.get("PRESENCE_TTL") || 2000);

function startDeno(env: Record<string, string>): Promise<ServerProcess> {
  const port = freePort();
  return startProcess(BIN.deno, ["run", "-A", "examples/serve_deno.ts"], {
    ready: /listening (\d+)/,
    env: { ...env, PORT: `${port}` },
  });
}

/** The next frame, which must be of `type`. */
async function expect(client: Client, type: string, timeout?: number): Promise<ServerEvent> {
  const event = await client.next(timeout);
  assert.equal(event.type, type, JSON.stringify(event));
  return event;
}

Deno.test({
  name: "demo chat with REDIS_URL: the online list spans a Deno and a Node server; " +
    "a SIGKILLed server's users leave the other's list within the presence TTL",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const redis = await startRedis();
    const env = {
      HOST: "127.0.0.1",
      SECRET: TEST_SECRET,
      REDIS_URL: `redis://127.0.0.1:${redis.port}`,
      PRESENCE_TTL: `${TTL}`,
    };
    const [deno, node] = await Promise.all([
      startDeno(env),
      startNode("examples/serve_node.ts", {
        ...env,
        PORT: "0",
      }),
    ]);
    let nodeAlive = true;
    const clients: Client[] = [];
    try {
      const room = `r${crypto.randomUUID().slice(0, 8)}`;
      const ada = await join(deno.port, "ada", room);
      clients.push(ada);
      assert.deepEqual(ada.welcome.online, ["ada"]);
      // Through Node: Deno's user is listed.
      const lin = await join(node.port, "lin", room);
      clients.push(lin);
      assert.deepEqual(lin.welcome.online, ["ada", "lin"]);
      assert.deepEqual(await expect(ada, "join"), {
        type: "join",
        name: "lin",
        online: ["ada", "lin"],
      });
      // Through Deno: Node's user is listed.
      const bo = await join(deno.port, "bo", room);
      clients.push(bo);
      assert.deepEqual(bo.welcome.online, ["ada", "lin", "bo"]);
      for (const c of [ada, lin]) {
        assert.deepEqual(await expect(c, "join"), {
          type: "join",
          name: "bo",
          online: ["ada", "lin", "bo"],
        });
      }
      const kai = await join(node.port, "kai", room);
      clients.push(kai);
      assert.deepEqual(kai.welcome.online, ["ada", "lin", "bo", "kai"]);
      for (const c of [ada, lin, bo]) {
        assert.equal((await expect(c, "join") as { name: string }).name, "kai");
      }
      // A second tab of ada's, on Node: ada is online already, nobody is told.
      const adaTab = await join(node.port, "ada", room);
      clients.push(adaTab);
      assert.deepEqual(adaTab.welcome.online, ["ada", "lin", "bo", "kai"]);
      bo.say("after the tab");
      for (const c of [ada, bo]) {
        assert.equal((await expect(c, "message") as { text: string }).text, "after the tab");
      }

      // Node dies without a goodbye: lin and kai leave, ada stays (her Deno tab).
      const killed = Date.now();
      node.process.kill("SIGKILL");
      await node.stop();
      nodeAlive = false;
      const bound = TTL + TTL / 3;
      const leaves: Array<{ name: string; online: string[] }> = [];
      for (let i = 0; i < 2; i++) {
        leaves.push(await expect(ada, "leave", bound + 5000) as { name: string; online: string[] });
      }
      const after = Date.now() - killed;
      console.log(`PRESENCE_TTL ${TTL} ms: both leave frames ${after} ms after the SIGKILL`);
      assert.deepEqual(leaves.map((l) => l.name).sort(), ["kai", "lin"]);
      assert.deepEqual(leaves[1].online, ["ada", "bo"]);
      for (let i = 0; i < 2; i++) await expect(bo, "leave");
      await assert.rejects(ada.next(300), /No message/, "no leave for ada, nothing twice");
      // The survivor's welcome lists only the living.
      const cy = await join(deno.port, "cy", room);
      clients.push(cy);
      assert.deepEqual(cy.welcome.online, ["ada", "bo", "cy"]);
      await closeAll(ada, bo, cy);
    } finally {
      for (const c of clients) c.ws.terminate();
      await Promise.all([deno.stop(), nodeAlive ? node.stop() : Promise.resolve()]);
      await redis.stop();
    }
  },
});
