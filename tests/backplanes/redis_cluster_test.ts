import assert from "node:assert/strict";
import { createCluster } from "@redis/client";
import { PubSub } from "../../mod.ts";
import {
  createRedisBackplane,
  type RedisBackplane,
  RedisSessionStore,
} from "../../src/backplanes/redis.ts";
import { freePort } from "../_util/server_process.ts";
import { redisCli, startCluster, type TestCluster } from "./_redis_servers.ts";
import { recordingSubscriber as subscriber, settle, until } from "./_topic_helpers.ts";

Deno.test({
  name: "Redis backplane on a three-master Cluster: sharded topics over every master, " +
    "once each, in order, through a master's restart",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const cluster = await startCluster();
    const logs: string[] = [];
    const log = (line: string) => logs.push(line);
    // One seed node (the others are discovered), and every node as a list.
    const planeA = createRedisBackplane({ url: cluster.urls[0], cluster: true, log });
    const planeB = createRedisBackplane({ url: cluster.urls, log, maxRetryDelay: 200 });
    // A cluster client the app made, not connected yet.
    const own = createCluster({ rootNodes: [{ url: cluster.urls[1] }] });
    own.on("error", () => {});
    const planeC = createRedisBackplane({ client: own, log: () => {} });
    try {
      const a = new PubSub({ backplane: planeA });
      const b = new PubSub({ backplane: planeB });
      const c = new PubSub({ backplane: planeC });
      const topics = Array.from({ length: 12 }, (_, i) => `room-${i}`);
      const owners = new Map<string, number>();
      for (const topic of topics) owners.set(topic, await cluster.ownerOf(`edgesocket:${topic}`));
      assert.equal(new Set(owners.values()).size, 3, "the topics hash to all three masters");

      const onA = new Map(topics.map((t) => [t, subscriber()]));
      const onB = new Map(topics.map((t) => [t, subscriber()]));
      const onC = new Map(topics.map((t) => [t, subscriber()]));
      for (const topic of topics) {
        a.subscribe(onA.get(topic)!, topic);
        b.subscribe(onB.get(topic)!, topic);
        c.subscribe(onC.get(topic)!, topic);
      }
      const all = [planeA, planeB, planeC];
      await until(() => all.every((p) => p.connected), "the cluster connections", 10_000);
      // Each topic is a sharded channel on its own master, with both processes on it.
      for (const topic of topics) {
        const port = owners.get(topic)!;
        const channel = `edgesocket:${topic}`;
        const deadline = Date.now() + 5000;
        let count = "";
        while (Date.now() < deadline) {
          count = await redisCli(port, "pubsub", "shardnumsub", channel);
          if (count.endsWith("\n3")) break;
          await settle(20);
        }
        assert.equal(count, `${channel}\n3`, `SSUBSCRIBE on the master of ${topic}`);
        assert.equal(await redisCli(port, "pubsub", "numsub", channel), `${channel}\n0`);
      }

      const N = 100;
      for (let i = 0; i < N; i++) {
        for (const topic of topics) a.publish(topic, `${topic} ${i}`);
      }
      for (const topic of topics) b.publish(topic, `${topic} from b`);
      const expected = (topic: string) => Array.from({ length: N }, (_, i) => `${topic} ${i}`);
      await until(
        () => topics.every((t) => onB.get(t)!.got.length === N + 1),
        "every topic's messages",
        10_000,
      );
      await settle();
      for (const topic of topics) {
        // b's own is local, at once; a's come through the topic's master.
        assert.deepEqual(onB.get(topic)!.got, [`${topic} from b`, ...expected(topic)]);
        assert.deepEqual(onA.get(topic)!.got, [...expected(topic), `${topic} from b`]);
        // Order holds per publisher; a's and b's may interleave.
        const gotC = onC.get(topic)!.got;
        assert.equal(gotC.length, N + 1);
        assert.deepEqual(gotC.filter((m) => m !== `${topic} from b`), expected(topic));
      }
      await planeC.close();
      assert.ok(own.isOpen, "the app's cluster client is left open");

      // The master of room-0 dies: its topics are served locally only, the
      // other masters' topics go on.
      const victim = owners.get(topics[0])!;
      const onVictim = topics.filter((t) => owners.get(t) === victim);
      const elsewhere = topics.filter((t) => owners.get(t) !== victim);
      await cluster.kill(victim);
      await until(() => !planeA.connected, "the lost master to be seen");
      for (const topic of topics) a.publish(topic, `${topic} during`);
      for (const topic of topics) assert.equal(onA.get(topic)!.got.at(-1), `${topic} during`);
      await until(
        () => elsewhere.every((t) => onB.get(t)!.got.at(-1) === `${t} during`),
        "the other masters' topics during the outage",
      );
      await until(() => planeA.unrelayed === onVictim.length, "the lost ones to be counted");

      await cluster.restart(victim);
      await until(() => planeA.connected && planeB.connected, "reconnection", 20_000);
      for (const topic of topics) a.publish(topic, `${topic} after`);
      await until(
        () => topics.every((t) => onB.get(t)!.got.at(-1) === `${t} after`),
        "every topic after the restart",
        10_000,
      );
      await settle();
      for (const topic of topics) {
        const during = owners.get(topic) === victim ? [] : [`${topic} during`];
        assert.deepEqual(onB.get(topic)!.got, [
          `${topic} from b`,
          ...expected(topic),
          ...during,
          `${topic} after`,
        ], `${topic}: once each, in order`);
      }
      assert.equal(planeA.unrelayed, onVictim.length);
      assert.ok(
        logs.some((l) => l.includes(`lost 127.0.0.1:${victim}`)),
        logs.join("\n"),
      );
      assert.ok(
        logs.some((l) =>
          l.includes(`reconnected to 127.0.0.1:${victim}; ${onVictim.length} message(s)`)
        ),
        logs.join("\n"),
      );
    } finally {
      await Promise.all([planeA.close(), planeB.close(), planeC.close()]);
      if (own.isOpen) own.destroy();
      await cluster.stop();
    }
  },
});

Deno.test({
  name: "Redis backplane: a Cluster down at start-up gives one line and local delivery, " +
    "then connects when it is up",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const ports = [freePort(), freePort(), freePort()];
    const logs: string[] = [];
    const plane = createRedisBackplane({
      url: `redis://127.0.0.1:${ports[0]}`,
      cluster: true,
      log: (l) => logs.push(l),
      maxRetryDelay: 200,
    });
    let cluster: TestCluster | undefined;
    let other: RedisBackplane | undefined;
    try {
      const pubsub = new PubSub({ backplane: plane });
      const s = subscriber();
      pubsub.subscribe(s, "t");
      pubsub.publish("t", "local");
      assert.deepEqual(s.got, ["local"]);
      await settle(500);
      assert.equal(plane.connected, false);
      assert.equal(plane.unrelayed, 1);
      assert.equal(logs.length, 1, logs.join("\n"));
      assert.match(
        logs[0],
        /cannot reach 127\.0\.0\.1:\d+ \(.+\); serving local clients only, retrying/,
      );

      cluster = await startCluster(ports);
      await until(() => plane.connected, "the retried connection", 20_000);
      other = createRedisBackplane({ url: cluster.urls[2], cluster: true, log: () => {} });
      await until(() => other!.connected, "the second connection", 10_000);
      const others = new PubSub({ backplane: other });
      await settle(100); // the retried SSUBSCRIBE
      others.publish("t", "through the cluster");
      await until(() => s.got.length === 2, "delivery once connected");
      assert.deepEqual(s.got, ["local", "through the cluster"]);
      assert.match(logs.at(-1)!, /reconnected to 127\.0\.0\.1:\d+; 1 message\(s\) could not/);
    } finally {
      await Promise.all([plane.close(), other?.close()]);
      await cluster?.stop();
    }
  },
});

Deno.test({
  name:
    "RedisSessionStore on a Cluster: conditional writes and deletes reach each key's own master",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const cluster = await startCluster();
    const client = createCluster({ rootNodes: [{ url: cluster.urls[0] }] });
    client.on("error", () => {});
    await client.connect();
    const store = new RedisSessionStore({ client });
    try {
      const keys = Array.from({ length: 12 }, (_, i) => `${i}`.padStart(64, "0"));
      const owners = new Set(
        await Promise.all(keys.map((key) => cluster.ownerOf(`edgesocket:session:${key}`))),
      );
      assert.equal(owners.size, 3, "the keys hash to all three masters");
      const record = (holder: string, lastClientId: number) => ({
        id: "id",
        owner: "o",
        path: "/ws",
        data: null,
        lastClientId,
        topics: {},
        plainTopics: [],
        holder,
      });
      for (const key of keys) {
        assert.equal(await store.setIfHolder(key, record("A", 1), undefined), true);
        assert.equal(await store.setIfHolder(key, record("B", 2), "A"), true);
        assert.equal(await store.setIfHolder(key, record("A", 1), "A"), false, "A's stale write");
        await store.deleteIfHolder(key, "A", undefined);
        assert.equal((await store.get(key))?.lastClientId, 2);
        await store.deleteIfHolder(key, "B", "A");
        assert.equal(await store.get(key), undefined);
      }
    } finally {
      await store.close();
      await client.close();
      await cluster.stop();
    }
  },
});
