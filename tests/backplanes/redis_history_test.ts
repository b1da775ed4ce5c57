import assert from "node:assert/strict";
import { createClient } from "@redis/client";
import { RedisHistoryStore } from "../../src/backplanes/redis.ts";
import type { HistoryPage, StreamPosition } from "../../src/core/history_store.ts";
import { startRedis } from "../_util/redis.ts";
import { redisCli, startCluster } from "./_redis_servers.ts";

const options = { sanitizeOps: false, sanitizeResources: false };

function page(result: HistoryPage | "gone"): HistoryPage {
  assert.notEqual(result, "gone");
  return result as HistoryPage;
}

async function withRedis(
  fn: (url: string, port: number) => Promise<void>,
): Promise<void> {
  const redis = await startRedis();
  try {
    await fn(`redis://127.0.0.1:${redis.port}`, redis.port);
  } finally {
    await redis.stop();
  }
}

Deno.test({
  name:
    "RedisHistoryStore.append() numbers 1, 2, 3 … in one epoch; read() pages them with origin and bytes",
  ...options,
  fn: () =>
    withRedis(async (url) => {
      const store = new RedisHistoryStore({ url });
      try {
        const start = await store.position("room:a");
        assert.equal(start.offset, 0);
        const positions: StreamPosition[] = await Promise.all([
          store.append("room:a", "one", "session-1"),
          store.append("room:a", new Uint8Array([0, 255, 128])),
          store.append("room:a", "three ✓"),
        ]);
        assert.deepEqual(positions.map((p) => p.offset), [1, 2, 3]);
        assert.ok(positions.every((p) => p.epoch === start.epoch), "the epoch position() began");
        const all = page(await store.read("room:a", start, 10));
        assert.deepEqual(all.entries, [
          { offset: 1, data: "one", origin: "session-1" },
          { offset: 2, data: new Uint8Array([0, 255, 128]) },
          { offset: 3, data: "three ✓" },
        ]);
        assert.deepEqual(all.position, { epoch: start.epoch, offset: 3 });
        const two = page(await store.read("room:a", { epoch: start.epoch, offset: 1 }, 1));
        assert.deepEqual(two.entries.map((e) => e.offset), [2]);
        assert.equal(two.position.offset, 3, "more follow");
        assert.deepEqual(page(await store.read("room:a", positions[2], 10)).entries, []);
        // Another topic is another stream.
        assert.equal((await store.append("room:b", "x")).offset, 1);
      } finally {
        await store.close();
      }
    }),
});

Deno.test({
  name:
    "RedisHistoryStore.read() answers gone for another epoch, a position past the end, and what was trimmed",
  ...options,
  fn: () =>
    withRedis(async (url) => {
      const store = new RedisHistoryStore({ url, maxEntries: 100 });
      try {
        const { epoch } = await store.position("t");
        for (let i = 0; i < 500; i++) store.append("t", `m${i}`);
        assert.equal((await store.append("t", "last")).offset, 501);
        assert.equal(await store.read("t", { epoch: "other", offset: 0 }, 10), "gone");
        assert.equal(await store.read("t", { epoch, offset: 502 }, 10), "gone");
        assert.equal(await store.read("t", { epoch, offset: 0 }, 10), "gone", "trimmed by count");
        assert.equal(await store.read("never", { epoch, offset: 0 }, 10), "gone");
        // MAXLEN ~ keeps at least maxEntries: the last 100 still resume.
        const recent = page(await store.read("t", { epoch, offset: 400 }, 1000));
        assert.equal(recent.entries.length, 101);
        assert.equal(recent.entries[0].offset, 401);
        assert.equal(recent.entries.at(-1)?.data, "last");
      } finally {
        await store.close();
      }
    }),
});

Deno.test({
  name: "RedisHistoryStore trims by age on Redis's clock: an old position is gone, the end is not",
  ...options,
  fn: () =>
    withRedis(async (url) => {
      const store = new RedisHistoryStore({ url, maxAge: 200 });
      try {
        const start = await store.position("t");
        await store.append("t", "old 1");
        const old = await store.append("t", "old 2");
        await new Promise((resolve) => setTimeout(resolve, 400));
        assert.equal(await store.read("t", start, 10), "gone", "entries past maxAge are dropped");
        // Nothing was missed after the last offset: it still resumes.
        assert.deepEqual(page(await store.read("t", old, 10)).entries, []);
        const fresh = await store.append("t", "new");
        assert.equal(fresh.offset, 3);
        assert.equal(fresh.epoch, start.epoch, "trimming keeps the epoch");
        assert.deepEqual(page(await store.read("t", old, 10)).entries.map((e) => e.data), ["new"]);
      } finally {
        await store.close();
      }
    }),
});

Deno.test({
  name:
    "RedisHistoryStore starts a new epoch when Redis lost the stream: FLUSHALL, one key evicted, a restart without persistence",
  ...options,
  async fn() {
    let redis = await startRedis();
    const url = `redis://127.0.0.1:${redis.port}`;
    const store = new RedisHistoryStore({ url });
    try {
      await store.append("t", "a");
      const before = await store.append("t", "b");
      await redisCli(redis.port, "flushall");
      const after = await store.append("t", "c");
      assert.notEqual(after.epoch, before.epoch, "a new epoch");
      assert.equal(after.offset, 1, "offsets start again");
      assert.equal(await store.read("t", before, 10), "gone");

      // Half a stream (its epoch key evicted) is a lost stream too.
      await redisCli(redis.port, "del", "edgesocket:history:{t}:m");
      const third = await store.position("t");
      assert.ok(![before.epoch, after.epoch].includes(third.epoch));
      assert.equal(third.offset, 0);
      await redisCli(redis.port, "del", "edgesocket:history:{t}:s");
      const fourth = await store.append("t", "d");
      assert.ok(![before.epoch, after.epoch, third.epoch].includes(fourth.epoch));

      // A redis-server started again without persistence has nothing.
      await redis.stop();
      redis = await startRedis(redis.port);
      let restarted: StreamPosition | undefined;
      for (let i = 0; i < 100 && !restarted; i++) {
        restarted = await store.position("t").catch(() => undefined);
        if (!restarted) await new Promise((resolve) => setTimeout(resolve, 50));
      }
      assert.ok(restarted, "the store reconnects");
      assert.ok(![before.epoch, after.epoch, third.epoch, fourth.epoch].includes(restarted.epoch));
      assert.equal(await store.read("t", fourth, 10), "gone");
    } finally {
      await store.close();
      await redis.stop();
    }
  },
});

Deno.test({
  name:
    "RedisHistoryStore: two processes' appends to one topic get one dense run of offsets; an idle topic's keys expire",
  ...options,
  fn: () =>
    withRedis(async (url, port) => {
      const a = new RedisHistoryStore({ url, idleTtl: 300 });
      const b = new RedisHistoryStore({ url, idleTtl: 300 });
      try {
        const { epoch } = await a.position("t");
        const appends: Promise<StreamPosition>[] = [];
        for (let i = 0; i < 200; i++) {
          appends.push(a.append("t", `a${i}`), b.append("t", `b${i}`));
        }
        const offsets = (await Promise.all(appends)).map((p) => p.offset).sort((x, y) => x - y);
        assert.deepEqual(offsets, Array.from({ length: 400 }, (_, i) => i + 1));
        const all = page(await b.read("t", { epoch, offset: 0 }, 1000));
        assert.deepEqual(all.entries.map((e) => e.offset), offsets);
        // Each process's own appends keep their order in the stream.
        const fromA = all.entries.map((e) => e.data as string).filter((d) => d.startsWith("a"));
        assert.deepEqual(fromA, Array.from({ length: 200 }, (_, i) => `a${i}`));
        assert.ok(Number(await redisCli(port, "pttl", "edgesocket:history:{t}:s")) <= 300);
        await new Promise((resolve) => setTimeout(resolve, 500));
        assert.equal(await redisCli(port, "exists", "edgesocket:history:{t}:s"), "0");
        assert.notEqual((await a.position("t")).epoch, epoch, "an expired stream is a new epoch");
      } finally {
        await Promise.all([a.close(), b.close()]);
      }
    }),
});

Deno.test({
  name:
    "RedisHistoryStore refuses with RangeError: a payload over maxEntryBytes, at once; a bound that is not positive; a prefix with a brace",
  ...options,
  fn: () =>
    withRedis(async (url) => {
      const store = new RedisHistoryStore({ url, maxEntryBytes: 8 });
      try {
        assert.throws(() => store.append("t", "123456789"), RangeError);
        assert.throws(() => store.append("t", new Uint8Array(9)), RangeError);
        assert.equal((await store.append("t", "éééé")).offset, 1, "8 bytes of UTF-8");
        assert.throws(() => new RedisHistoryStore({ url, maxEntries: 0 }), RangeError);
        assert.throws(() => new RedisHistoryStore({ url, maxAge: -1 }), RangeError);
        assert.throws(() => new RedisHistoryStore({ url, prefix: "a{b}" }), TypeError);
        assert.throws(() => new RedisHistoryStore({}), TypeError);
      } finally {
        await store.close();
      }
    }),
});

Deno.test({
  name:
    "RedisHistoryStore on the app's client works on a Redis Cluster: a topic's keys share one slot, braces in its name too",
  ...options,
  async fn() {
    const cluster = await startCluster();
    const { createCluster } = await import("@redis/client");
    const client = createCluster({ rootNodes: cluster.urls.map((url) => ({ url })) });
    await client.connect();
    try {
      const store = new RedisHistoryStore({ client });
      for (const topic of ["room:1", "room:2", "a{b}c", "x}y{"]) {
        const start = await store.position(topic);
        await store.append(topic, `${topic} 1`);
        await store.append(topic, new Uint8Array([1, 2]));
        const got = page(await store.read(topic, start, 10));
        assert.deepEqual(got.entries.map((e) => e.data), [`${topic} 1`, new Uint8Array([1, 2])]);
      }
      await store.close();
      assert.ok(client.isOpen, "the app's client stays open");
    } finally {
      await client.close();
      await cluster.stop();
    }
  },
});

Deno.test({
  name: "RedisHistoryStore on a client the app made leaves it open; the URL form closes its own",
  ...options,
  fn: () =>
    withRedis(async (url) => {
      const client = createClient({ url });
      await client.connect();
      try {
        const store = new RedisHistoryStore({ client });
        assert.equal((await store.append("t", "x")).offset, 1);
        await store.close();
        assert.ok(client.isOpen);
        const own = new RedisHistoryStore({ url });
        await own.position("t");
        const ownClient = own.client;
        await own.close();
        assert.ok(!ownClient.isOpen);
      } finally {
        await client.close();
      }
    }),
});
