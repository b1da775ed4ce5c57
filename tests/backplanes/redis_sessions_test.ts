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

Deno.test({
  name:
    "RedisSessionStore.setIfHolder() writes only over its own copy's record or the one it took over; deleteIfHolder() the same; a holder inside ws.data fools neither",
  ...options,
  fn: () =>
    withRedis(async (url, port) => {
      const a = new RedisSessionStore({ url });
      const b = new RedisSessionStore({ url });
      try {
        // A new session: no record, nothing taken over.
        assert.equal(await a.setIfHolder(KEY, record({ holder: "A" }), undefined), true);
        assert.equal(
          await a.setIfHolder(KEY, record({ holder: "A", lastClientId: 8 }), undefined),
          true,
        );
        // The stored JSON starts with the holder, and reads back as the record.
        const stored = await redisCli(port, "get", `edgesocket:session:${KEY}`);
        assert.ok(stored.startsWith('{"holder":"A",'), stored);
        assert.deepEqual(await b.get(KEY), record({ holder: "A", lastClientId: 8 }));
        // A second new session under the same key is refused (it is A's).
        assert.equal(await b.setIfHolder(KEY, record({ holder: "X" }), undefined), false);
        // B takes the session over from A, then writes on as its holder.
        assert.equal(await b.setIfHolder(KEY, record({ holder: "B", lastClientId: 9 }), "A"), true);
        assert.equal(
          await b.setIfHolder(KEY, record({ holder: "B", lastClientId: 10 }), "B"),
          true,
        );
        // A's copy, whose socket was half-open, writes its stale state: refused.
        const stale = record({ holder: "A", lastClientId: 8, expires: Date.now() + 60_000 });
        assert.equal(await a.setIfHolder(KEY, stale, "A"), false);
        assert.equal(await a.setIfHolder(KEY, stale, undefined), false);
        await a.deleteIfHolder(KEY, "A", undefined);
        assert.deepEqual(await a.get(KEY), record({ holder: "B", lastClientId: 10 }));
        // ws.data naming A as a holder (any JSON the app keeps) changes nothing.
        const sly = record({ holder: "B", lastClientId: 11, data: { holder: "A" } });
        assert.equal(await b.setIfHolder(KEY, sly, "B"), true);
        assert.equal(await a.setIfHolder(KEY, stale, "A"), false);
        await a.deleteIfHolder(KEY, "A", "A");
        assert.equal((await a.get(KEY))?.lastClientId, 11);
        // B ends it; then nobody's write brings it back but a new session's.
        await b.deleteIfHolder(KEY, "B", "A");
        assert.equal(await a.get(KEY), undefined);
        assert.equal(await b.setIfHolder(KEY, record({ holder: "B" }), "B"), false);
        assert.equal(await a.setIfHolder(KEY, stale, "A"), false);
        assert.equal(await a.get(KEY), undefined);
        // The expiry is set as set()'s is.
        assert.equal(
          await a.setIfHolder(KEY, record({ holder: "C", expires: Date.now() + 200 }), undefined),
          true,
        );
        const ttl = Number(await redisCli(port, "pttl", `edgesocket:session:${KEY}`));
        assert.ok(ttl > 60_000 && ttl <= 60_200, `${ttl}`);
        await assert.rejects(
          () => a.setIfHolder(KEY, record({ holder: "C", data: 1n }), "C"),
          RangeError,
        );
      } finally {
        await Promise.all([a.close(), b.close()]);
      }
    }),
});
