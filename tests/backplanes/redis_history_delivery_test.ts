/**
 * Two processes' topics on one shared history: PubSubs with their own Redis
 * backplane and RedisHistoryStore each, on a real redis-server. Every
 * publication is numbered once and reaches each process's subscribers with
 * its position, in offset order, even when both publish at once and when
 * the backplane loses some of them (read back from the stream).
 */
import assert from "node:assert/strict";
import { PubSub, type Subscriber } from "../../mod.ts";
import type { Backplane } from "../../src/core/backplane.ts";
import { createRedisBackplane, RedisHistoryStore } from "../../src/backplanes/redis.ts";
import { startRedis } from "../_util/redis.ts";
import { settle, until } from "./_topic_helpers.ts";

const options = { sanitizeOps: false, sanitizeResources: false };

/** A subscriber that records each publication's offset with its payload. */
function numberedSubscriber(pubsub: PubSub): Subscriber & { got: Array<[number, string]> } {
  const got: Array<[number, string]> = [];
  return {
    got,
    topics: new Set(),
    bufferedAmount: 0,
    send: (data) => void got.push([pubsub.history?.current?.offset ?? -1, data as string]),
    closeWith: () => {},
  };
}

// A backplane that loses some of what it receives: what a process would see
// if Redis pub/sub dropped messages (pub/sub is at most once).
function lossy(backplane: Backplane, drop: (n: number) => boolean): Backplane {
  let n = 0;
  return {
    publish: (topic, data) => backplane.publish(topic, data),
    subscribe: (topic) => backplane.subscribe(topic),
    unsubscribe: (topic) => backplane.unsubscribe(topic),
    onMessage: (deliver) =>
      backplane.onMessage((topic, data) => {
        if (!drop(++n)) deliver(topic, data);
      }),
    close: () => backplane.close(),
  };
}

// Publishes from `a` until every subscriber got one: the backplane's
// SUBSCRIBEs are in and each process's delivery of the topic has begun.
// Returns where the stream stands then; the subscribers start empty.
async function warmUp(
  a: PubSub,
  store: RedisHistoryStore,
  topic: string,
  subscribers: Array<{ got: unknown[] }>,
) {
  for (let i = 0; !subscribers.every((s) => s.got.length > 0); i++) {
    if (i % 10 === 0) a.publish(topic, "warm-up");
    await settle(10);
    if (i > 1000) throw new Error("warm-up never arrived");
  }
  await settle(50);
  for (const s of subscribers) s.got.length = 0;
  return await store.position(topic);
}

async function twoProcesses(
  fn: (a: PubSub, b: PubSub, store: RedisHistoryStore) => Promise<void>,
  wrapB: (backplane: Backplane) => Backplane = (b) => b,
): Promise<void> {
  const redis = await startRedis();
  const url = `redis://127.0.0.1:${redis.port}`;
  const planeA = createRedisBackplane({ url, log: () => {} });
  const planeB = createRedisBackplane({ url, log: () => {} });
  const a = new PubSub({ backplane: planeA });
  const b = new PubSub({ backplane: wrapB(planeB) });
  const storeA = new RedisHistoryStore({ client: planeA.client });
  a.useHistory(storeA, { topics: (t) => t.startsWith("room:") });
  b.useHistory(new RedisHistoryStore({ client: planeB.client }), {
    topics: (t) => t.startsWith("room:"),
  });
  try {
    await until(() => planeA.connected && planeB.connected, "connections");
    await fn(a, b, storeA);
  } finally {
    await Promise.all([planeA.close(), planeB.close()]);
    await redis.stop();
  }
}

Deno.test({
  name:
    "PubSub with RedisHistoryStore: two processes publishing at once deliver every publication once, numbered, in offset order, on both",
  ...options,
  fn: () =>
    twoProcesses(async (a, b, store) => {
      const onA = numberedSubscriber(a), onB = numberedSubscriber(b);
      a.subscribe(onA, "room:1");
      b.subscribe(onB, "room:1");
      const start = await warmUp(a, store, "room:1", [onA, onB]);
      const N = 300;
      for (let i = 0; i < N; i++) {
        a.publish("room:1", `a${i}`);
        b.publish("room:1", `b${i}`);
        if (i % 50 === 0) await settle(1);
      }
      await until(() => onA.got.length >= 2 * N && onB.got.length >= 2 * N, "delivery", 10_000);
      await settle(100); // nothing more arrives
      const stream = await store.read("room:1", start, 10_000);
      assert.notEqual(stream, "gone");
      const expected = (stream as Exclude<typeof stream, "gone">).entries.map(
        (e) => [e.offset, e.data] as [number, string],
      );
      assert.equal(expected.length, 2 * N);
      assert.deepEqual(
        expected.map(([o]) => o),
        Array.from({ length: 2 * N }, (_, i) => start.offset + i + 1),
      );
      assert.deepEqual(onA.got, expected, "process A: the stream, once, in order");
      assert.deepEqual(onB.got, expected, "process B: the stream, once, in order");
    }),
});

let lose = false;

Deno.test({
  name:
    "PubSub with RedisHistoryStore: publications the backplane lost reach the other process from the stream, in order",
  ...options,
  fn: () =>
    twoProcesses(async (a, b, store) => {
      const onB = numberedSubscriber(b);
      b.subscribe(onB, "room:1");
      const { offset } = await warmUp(a, store, "room:1", [onB]);
      lose = true;
      for (let i = 0; i < 200; i++) a.publish("room:1", `m${i}`);
      await until(() => onB.got.length >= 200, "delivery", 10_000);
      await settle(100);
      assert.deepEqual(onB.got, Array.from({ length: 200 }, (_, i) => [offset + i + 1, `m${i}`]));
    }, (plane) => {
      // Of the 200, every third and a run of 20 are lost; never the last
      // ones, which nothing after them would reveal as missing.
      let k = 0;
      return lossy(plane, () => lose && ++k < 190 && (k % 3 === 0 || (k > 150 && k < 170)));
    }),
});

Deno.test({
  name:
    "PubSub with RedisHistoryStore: a publication is appended once across processes, and a plain topic still relays bare",
  ...options,
  fn: () =>
    twoProcesses(async (a, b, store) => {
      const onB = numberedSubscriber(b);
      b.subscribe(onB, "room:1");
      b.subscribe(onB, "plain");
      await warmUp(a, store, "plain", [onB]);
      a.publish("room:1", "one");
      a.publish("plain", "bare");
      await until(() => onB.got.length === 2, "delivery");
      await settle(100);
      assert.equal((await store.position("room:1")).offset, 1, "numbered once, not again in B");
      assert.deepEqual(onB.got.find(([, d]) => d === "bare"), [-1, "bare"]);
      assert.equal((await store.position("plain")).offset, 0, "a plain topic is not numbered");
    }),
});
