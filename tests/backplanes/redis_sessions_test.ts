import assert from "node:assert/strict";
import { RedisSessionStore } from "../../src/backplanes/redis.ts";
import type { ResumeSessionRecord } from "../../src/core/session_store.ts";
import { startRedis } from "../_util/redis.ts";
import { redisCli } from "./_redis_servers.ts";

const options = { sanitizeOps: false, sanitizeResources: false };

function record(fields: Partial<ResumeSessionRecord> = {}): ResumeSessionRecord {
  return {
    id: "id-1",
    owner: "alice",
    path: "/ws",
    data: { room: "lobby", n: 1 },
    lastClientId: 7,
    topics: { "room:lobby": { epoch: "e1", offset: 3 } },
    plainTopics: ["news"],
    ...fields,
  };
}

async function withRedis(fn: (url: string, port: number) => Promise<void>): Promise<void> {
  const redis = await startRedis();
  try {
    await fn(`redis://127.0.0.1:${redis.port}`, redis.port);
  } finally {
    await redis.stop();
  }
}

const KEY = "a".repeat(64);

Deno.test({
  name:
    "RedisSessionStore keeps a record as JSON under its token's hash; a second store (another process) reads it; delete() forgets it",
  ...options,
  fn: () =>
    withRedis(async (url, port) => {
      const a = new RedisSessionStore({ url });
      const b = new RedisSessionStore({ url });
      try {
        assert.equal(await a.get(KEY), undefined);
        await a.set(KEY, record());
        assert.deepEqual(await b.get(KEY), record());
        assert.deepEqual(
          JSON.parse(await redisCli(port, "get", `edgesocket:session:${KEY}`)),
          record(),
        );
        const ttl = Number(await redisCli(port, "pttl", `edgesocket:session:${KEY}`));
        assert.ok(
          ttl > 86_000_000,
          `a connected session's record outlives a killed process: ${ttl}`,
        );
        await b.delete(KEY);
        assert.equal(await a.get(KEY), undefined);
        assert.ok(a.shared);
      } finally {
        await Promise.all([a.close(), b.close()]);
      }
    }),
});

Deno.test({
  name:
    "RedisSessionStore.set() of a waiting session sets PX to its expiry plus the grace; Redis drops it then",
  ...options,
  fn: () =>
    withRedis(async (url, port) => {
      const store = new RedisSessionStore({ url, expiryGrace: 100 });
      try {
        await store.set(KEY, record({ expires: Date.now() + 200 }));
        const ttl = Number(await redisCli(port, "pttl", `edgesocket:session:${KEY}`));
        assert.ok(ttl > 200 && ttl <= 300, `${ttl}`);
        assert.ok(await store.get(KEY));
        await new Promise((resolve) => setTimeout(resolve, 450));
        assert.equal(await store.get(KEY), undefined);
        // A record written back with a socket again has no short expiry.
        await store.set(KEY, record());
        assert.ok(Number(await redisCli(port, "pttl", `edgesocket:session:${KEY}`)) > 300);
      } finally {
        await store.close();
      }
    }),
});

Deno.test({
  name:
    "RedisSessionStore.set() rejects a record over maxRecordBytes and ws.data JSON cannot hold with RangeError; get() ignores what is not a record",
  ...options,
  fn: () =>
    withRedis(async (url, port) => {
      const store = new RedisSessionStore({ url, maxRecordBytes: 512 });
      try {
        await assert.rejects(() => store.set(KEY, record({ data: "x".repeat(600) })), RangeError);
        assert.equal(await store.get(KEY), undefined, "not kept");
        const cyclic: Record<string, unknown> = {};
        cyclic.self = cyclic;
        await assert.rejects(() => store.set(KEY, record({ data: cyclic })), RangeError);
        await assert.rejects(() => store.set(KEY, record({ data: 1n })), RangeError);
        await redisCli(port, "set", `edgesocket:session:${KEY}`, "not json");
        assert.equal(await store.get(KEY), undefined);
        await redisCli(port, "set", `edgesocket:session:${KEY}`, "[1,2]");
        assert.equal(await store.get(KEY), undefined);
        assert.throws(() => new RedisSessionStore({ url, maxRecordBytes: 0 }), RangeError);
        assert.throws(() => new RedisSessionStore({}), TypeError);
      } finally {
        await store.close();
      }
    }),
});
