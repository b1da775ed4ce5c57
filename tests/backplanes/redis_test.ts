import assert from "node:assert/strict";
import { createClient, type RedisClientType } from "@redis/client";
import { PubSub } from "../../mod.ts";
import { createRedisBackplane } from "../../src/backplanes/redis.ts";
import { startRedis } from "../_util/redis.ts";
import { redisCli, startAclRedis } from "./_redis_servers.ts";
import { recordingSubscriber as subscriber, settle, until } from "./_topic_helpers.ts";

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
      await settle(100); // SUBSCRIBE acknowledged
      for (let i = 0; i < 100; i++) a.publish("room", `m${i}`);
      b.publish("room", new Uint8Array([1, 2, 3]));
      await until(() => onB.got.length === 101 && onA.got.length === 101, "delivery");
      await settle(100); // nothing more arrives
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
      a.publish("room", "after restart");
      await until(() => onB.got.at(-1) === "after restart", "delivery after the restart");
      assert.ok(!onB.got.includes("during outage"));
      assert.ok(logs.some((l) => l.includes("serving local clients only")), logs.join("\n"));
      assert.ok(logs.some((l) => l.includes("1 message(s) could not be relayed")), logs.join("\n"));
    } finally {
      await Promise.all([planeA.close(), planeB.close()]);
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
    await settle(500);
    await plane.close();
    assert.equal(plane.unrelayed, 1);
    assert.equal(logs.length, 1, logs.join("\n"));
    assert.match(
      logs[0],
      /cannot reach 127\.0\.0\.1:1 \(.*ECONNREFUSED.*\); serving local clients only, retrying/,
    );
  },
});

Deno.test({
  name: "Redis backplane: an ACL user with a password, and a database index, from the URL",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    // Managed Redis passwords carry URL delimiters: percent-encoded in the URL.
    const password = "p@ss:w/rd#1";
    const redis = await startAclRedis("chat", password);
    const url = `redis://chat:${encodeURIComponent(password)}@127.0.0.1:${redis.port}/3`;
    const planeA = createRedisBackplane({ url, log: () => {} });
    const planeB = createRedisBackplane({ url, log: () => {} });
    const logs: string[] = [];
    const wrong = createRedisBackplane({
      url: `redis://chat:wrong@127.0.0.1:${redis.port}/3`,
      log: (l) => logs.push(l),
      maxRetryDelay: 100,
    });
    try {
      const a = new PubSub({ backplane: planeA });
      const b = new PubSub({ backplane: planeB });
      const onB = subscriber();
      b.subscribe(onB, "room");
      await until(() => planeA.connected && planeB.connected, "connections");
      await settle(100);
      for (let i = 0; i < 10; i++) a.publish("room", `m${i}`);
      await until(() => onB.got.length === 10, "delivery");
      assert.deepEqual(onB.got, Array.from({ length: 10 }, (_, i) => `m${i}`));

      // The client's keys go to database 3, as the URL says.
      // At run time it is node-redis's client, with every command.
      await (planeA.client as unknown as RedisClientType).set("edgesocket:k", "in db 3");
      const cli = ["--user", "chat", "--pass", password, "--no-auth-warning"];
      assert.equal(await redisCli(redis.port, ...cli, "-n", "3", "GET", "edgesocket:k"), "in db 3");
      assert.equal(await redisCli(redis.port, ...cli, "-n", "0", "GET", "edgesocket:k"), "");

      // A wrong password: one line that says why, local delivery only.
      await until(() => logs.length > 0, "the wrong password's line");
      assert.equal(wrong.connected, false);
      assert.match(logs[0], /cannot reach 127\.0\.0\.1:\d+ \(WRONGPASS/);
    } finally {
      await Promise.all([planeA.close(), planeB.close(), wrong.close()]);
      await redis.stop();
    }
  },
});

Deno.test({
  name: "Redis backplane: on the app's own clients, left open and unsubscribed on close()",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const redis = await startRedis();
    const url = `redis://127.0.0.1:${redis.port}`;
    const client = createClient({ url });
    client.on("error", () => {});
    await client.connect();
    // Not connected yet: the backplane connects them.
    const publisher = createClient({ url });
    const listener = createClient({ url });
    const planeA = createRedisBackplane({ client });
    const planeB = createRedisBackplane({ client: publisher, subscriber: listener });
    try {
      assert.equal(planeA.client, client);
      const a = new PubSub({ backplane: planeA });
      const b = new PubSub({ backplane: planeB });
      const onA = subscriber(), onB = subscriber();
      a.subscribe(onA, "room");
      b.subscribe(onB, "room");
      await until(() => planeA.connected && planeB.connected, "connections");
      await settle(100);
      a.publish("room", "from a");
      b.publish("room", new Uint8Array([0, 255]));
      await until(() => onA.got.length === 2 && onB.got.length === 2, "delivery both ways");
      assert.deepEqual(onA.got, ["from a", new Uint8Array([0, 255])]);
      assert.deepEqual(onB.got, [new Uint8Array([0, 255]), "from a"]);

      await Promise.all([planeA.close(), planeB.close()]);
      assert.ok(client.isReady && publisher.isReady && listener.isReady, "left open");
      assert.equal(await client.ping(), "PONG");
      assert.deepEqual(await client.pubSubNumSub("edgesocket:room"), { "edgesocket:room": 0 });
    } finally {
      await Promise.all([planeA.close(), planeB.close()]);
      for (const c of [client, publisher, listener]) if (c.isOpen) c.destroy();
      await redis.stop();
    }
  },
});

Deno.test({
  name: "Redis backplane: a Redis that stops answering holds at most maxPendingBytes",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const redis = await startRedis();
    const url = `redis://127.0.0.1:${redis.port}`;
    const planeA = createRedisBackplane({ url, maxPendingBytes: 1000, log: () => {} });
    const planeB = createRedisBackplane({ url, log: () => {} });
    try {
      const a = new PubSub({ backplane: planeA });
      const b = new PubSub({ backplane: planeB });
      const onB = subscriber();
      b.subscribe(onB, "room");
      await until(() => planeA.connected && planeB.connected, "connections");
      await settle(100);
      // The connection stays open; nothing is answered.
      redis.process.kill("SIGSTOP");
      const message = (i: number) => `${i}`.padStart(100, "-");
      for (let i = 0; i < 10; i++) a.publish("room", message(i));
      await settle(200);
      for (let i = 10; i < 20; i++) a.publish("room", message(i));
      assert.equal(planeA.unrelayed, 10, "the 10 past 1,000 unanswered bytes");
      redis.process.kill("SIGCONT");
      await until(() => onB.got.length === 10, "the 10 held");
      a.publish("room", "after");
      await until(() => onB.got.length === 11, "a publish once Redis answers again");
      assert.deepEqual(onB.got, [...Array.from({ length: 10 }, (_, i) => message(i)), "after"]);
    } finally {
      redis.process.kill("SIGCONT");
      await Promise.all([planeA.close(), planeB.close()]);
      await redis.stop();
    }
  },
});

Deno.test("createRedisBackplane() wants a url or a client, and TLS only with rediss://", () => {
  assert.throws(() => createRedisBackplane({}), TypeError);
  assert.throws(
    () => createRedisBackplane({ url: "http://127.0.0.1:6379" }),
    /must start with redis:\/\/ or rediss:\/\//,
  );
  assert.throws(
    () => createRedisBackplane({ url: "redis://127.0.0.1:1", tls: { ca: "x" } }),
    /need a rediss:\/\/ URL/,
  );
  assert.throws(
    () => createRedisBackplane({ url: "redis://127.0.0.1:1/2", cluster: true }),
    /only database 0/,
  );
});
