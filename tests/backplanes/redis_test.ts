import assert from "node:assert/strict";
import { PubSub, type Subscriber } from "../../mod.ts";
import { createRedisBackplane } from "../../src/backplanes/redis.ts";
import { startRedis } from "../_util/redis.ts";

function subscriber(): Subscriber & { got: Array<string | Uint8Array> } {
  const got: Array<string | Uint8Array> = [];
  return {
    got,
    topics: new Set(),
    bufferedAmount: 0,
    send: (data) => got.push(typeof data === "string" ? data : new Uint8Array(data as ArrayBuffer)),
    closeWith: () => {},
  };
}

async function until(check: () => boolean, what: string, ms = 5000) {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

Deno.test({
  name:
    "Redis backplane: two processes' topics meet, once each, in order, and survive a Redis restart",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    let redis = await startRedis();
    const logs: string[] = [];
    const url = `redis://127.0.0.1:${redis.port}`;
    const planeA = createRedisBackplane({ url, log: (l) => logs.push(l), maxRetryDelay: 200 });
    const planeB = createRedisBackplane({ url, log: (l) => logs.push(l), maxRetryDelay: 200 });
    const a = new PubSub({ backplane: planeA });
    const b = new PubSub({ backplane: planeB });
    try {
      const onA = subscriber(), onB = subscriber(), otherTopic = subscriber();
      a.subscribe(onA, "room");
      b.subscribe(onB, "room");
      b.subscribe(otherTopic, "elsewhere");
      await until(() => planeA.connected && planeB.connected, "connections");
      await new Promise((r) => setTimeout(r, 100)); // SUBSCRIBE acknowledged
      for (let i = 0; i < 100; i++) a.publish("room", `m${i}`);
      b.publish("room", new Uint8Array([1, 2, 3]));
      await until(() => onB.got.length === 101 && onA.got.length === 101, "delivery");
      await new Promise((r) => setTimeout(r, 100)); // nothing more arrives
      // b's own publish is delivered locally at once; a's arrive through Redis.
      assert.deepEqual(onB.got[0], new Uint8Array([1, 2, 3]));
      const fromA = onB.got.slice(1);
      assert.deepEqual(
        fromA,
        Array.from({ length: 100 }, (_, i) => `m${i}`),
        "once each, in order",
      );
      assert.equal(onA.got.length, 101, "never twice");
      assert.deepEqual(onA.got[100], new Uint8Array([1, 2, 3]));
      assert.deepEqual(otherTopic.got, []);

      // Redis goes away: local delivery goes on, the loss is counted and logged.
      await redis.stop();
      await until(() => !planeA.connected, "the outage to be seen");
      a.publish("room", "during outage");
      assert.equal(onA.got.at(-1), "during outage");
      assert.equal(planeA.unrelayed, 1);
      redis = await startRedis(redis.port);
      await until(() => planeA.connected && planeB.connected, "reconnection", 10_000);
      await new Promise((r) => setTimeout(r, 200));
      a.publish("room", "after restart");
      await until(() => onB.got.at(-1) === "after restart", "delivery after the restart");
      assert.ok(logs.some((l) => l.includes("serving local clients only")), logs.join("\n"));
      assert.ok(logs.some((l) => l.includes("1 message(s) could not be relayed")), logs.join("\n"));
    } finally {
      planeA.close();
      planeB.close();
      await redis.stop();
    }
  },
});

Deno.test({
  name: "Redis backplane: Redis down at start-up gives one clear line and local delivery",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const logs: string[] = [];
    const plane = createRedisBackplane({
      url: "redis://127.0.0.1:1",
      log: (l) => logs.push(l),
      maxRetryDelay: 100,
    });
    const pubsub = new PubSub({ backplane: plane });
    const s = subscriber();
    pubsub.subscribe(s, "t");
    pubsub.publish("t", "local");
    assert.deepEqual(s.got, ["local"]);
    await new Promise((r) => setTimeout(r, 500));
    plane.close();
    assert.equal(logs.length, 1, logs.join("\n"));
    assert.match(
      logs[0],
      /cannot reach 127\.0\.0\.1:1 \(.*ECONNREFUSED.*\); serving local clients only, retrying/,
    );
  },
});
