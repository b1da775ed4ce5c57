/**
 * REDIS_URL puts the demo chat's rooms on Redis: a Deno server and a Node 20
 * server on two ports share a room through a real redis-server.
 */
import assert from "node:assert/strict";
import type { ChatMessage } from "../../examples/chat/protocol.ts";
import { startRedis } from "../_util/redis.ts";
import { closeAll, join } from "./_chat_client.ts";
import { startChatDeno, startChatNode } from "./_chat_server.ts";

Deno.test({
  name: "demo chat with REDIS_URL: clients on a Deno and a Node server share a room",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const redis = await startRedis();
    const redisUrl = `redis://127.0.0.1:${redis.port}`;
    const [deno, node] = await Promise.all([
      startChatDeno({ redisUrl }),
      startChatNode({ redisUrl }),
    ]);
    try {
      const room = `r${crypto.randomUUID().slice(0, 8)}`;
      const ada = await join(deno.port, "ada", room);
      const lin = await join(node.port, "lin", room);
      // ada's process heard lin arrive through Redis.
      const arrived = await ada.next();
      assert.deepEqual({ type: arrived.type, name: (arrived as { name: string }).name }, {
        type: "join",
        name: "lin",
      });
      // Each side's numbered messages arrive on the other, once, in order.
      for (let i = 0; i < 20; i++) ada.say(`ada ${i}`);
      for (let i = 0; i < 20; i++) lin.say(`lin ${i}`);
      const heard = async (client: typeof ada, from: string) => {
        const texts: string[] = [];
        while (texts.length < 40) {
          const event = await client.next() as ChatMessage;
          assert.equal(event.type, "message");
          texts.push(`${event.from}:${event.text}`);
        }
        return texts.filter((t) => t.startsWith(`${from}:`));
      };
      const expected = (from: string) => [...Array(20).keys()].map((i) => `${from}:${from} ${i}`);
      const [adaHeard, linHeard] = await Promise.all([heard(ada, "lin"), heard(lin, "ada")]);
      assert.deepEqual(adaHeard, expected("lin"));
      assert.deepEqual(linHeard, expected("ada"));
      // Nothing more: no message came twice.
      await assert.rejects(ada.next(300), /No message/);
      await assert.rejects(lin.next(300), /No message/);
      // lin leaves; ada hears it.
      lin.ws.close(1000);
      await lin.closed;
      const left = await ada.next();
      assert.equal(left.type, "leave");
      await closeAll(ada);
    } finally {
      await Promise.all([deno.stop(), node.stop()]);
      await redis.stop();
    }
  },
});
