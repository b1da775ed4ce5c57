/**
 * createRedisPresence() against real redis-servers: processes' members in
 * one list, events on every process, a SIGKILLed process's members swept
 * once, a Redis restart, the caps, an ACL user, and a Redis Cluster.
 */
import assert from "node:assert/strict";
import { Hono } from "hono";
import { Presence, type PresenceEvent, type PresenceList, upgradeWebSocket } from "../../mod.ts";
import {
  createRedisBackplane,
  createRedisPresence,
  type RedisPresenceStore,
} from "../../src/backplanes/redis.ts";
import { connect } from "../../src/testing/mod.ts";
import { startRedis } from "../_util/redis.ts";
import { freePort, ROOT, type ServerProcess, startProcess } from "../_util/server_process.ts";
import { redisCli, startCluster } from "./_redis_servers.ts";
import { settle, until } from "./_topic_helpers.ts";

function test(name: string, fn: () => Promise<void> | void): void {
  Deno.test({ name, sanitizeOps: false, sanitizeResources: false, fn });
}

/** Waits until an async check holds, polling every 20 ms. */
async function eventually(check: () => Promise<boolean>, what: string, ms = 5000) {
  const deadline = Date.now() + ms;
  while (!await check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function recorder(store: RedisPresenceStore, topic: string) {
  const events: PresenceEvent[] = [];
  const stop = store.watch(topic, (event) => events.push(event));
  return { events, stop };
}

const brief = (events: PresenceEvent[]) =>
  events.map((e) => `${e.type} ${e.member.id}${e.local ? " local" : ""}`);
const ids = (list: PresenceList) => list.map((m) => m.id);

/**
 * Another process (Deno) with its own store: joins `count` members to
 * `topic`, says so once Redis lists them, and waits to be killed.
 */
async function startPeer(
  url: string,
  topic: string,
  count: number,
  ttl: number,
): Promise<ServerProcess> {
  const code = `
    import { createRedisPresence } from "${ROOT}src/backplanes/redis.ts";
    const store = createRedisPresence({ url: ${JSON.stringify(url)}, ttl: ${ttl} });
    const topic = ${JSON.stringify(topic)};
    for (let i = 0; i < ${count}; i++) await store.join(topic, { id: "peer-" + i, meta: { n: i } });
    while ((await store.list(topic)).partial || (await store.list(topic)).length < ${count}) {
      await new Promise((r) => setTimeout(r, 20));
    }
    console.log("joined");
    setInterval(() => {}, 1000);
  `;
  return await startProcess(Deno.execPath(), ["eval", code], { ready: /joined/, cwd: ROOT });
}

test("createRedisPresence(): two processes' members in one list, oldest first; events on both, local on the one that caused them", async () => {
  const redis = await startRedis();
  const url = `redis://127.0.0.1:${redis.port}`;
  const a = createRedisPresence({ url, ttl: 1500 });
  const b = createRedisPresence({ url, ttl: 1500 });
  try {
    await until(() => a.connected && b.connected, "connections");
    const onA = recorder(a, "room:1"), onB = recorder(b, "room:1");
    await settle(100); // SUBSCRIBE acknowledged
    await a.join("room:1", { id: "ada", meta: { name: "Ada" } });
    await b.join("room:1", { id: "lin", meta: { name: "Lin", tabs: [1, 2] } });
    await a.join("room:1", { id: "bo", meta: "Bo" });
    await a.join("room:1", { id: "ada", meta: { name: "again" } }); // already there: nothing
    await b.join("room:2", { id: "cy", meta: null });
    const expected = [
      { id: "ada", meta: { name: "Ada" } },
      { id: "lin", meta: { name: "Lin", tabs: [1, 2] } },
      { id: "bo", meta: "Bo" },
    ];
    assert.deepEqual(await a.list("room:1"), expected);
    assert.deepEqual(await b.list("room:1"), expected);
    assert.deepEqual(await a.list("room:2"), [{ id: "cy", meta: null }]);
    await b.leave("room:1", "lin");
    await b.leave("room:1", "lin"); // twice: nothing
    await a.leave("room:1", "nobody");
    assert.deepEqual(ids(await a.list("room:1")), ["ada", "bo"]);
    await until(() => onA.events.length === 4 && onB.events.length === 4, "the events");
    await settle(100);
    assert.deepEqual(brief(onA.events), [
      "join ada local",
      "join lin",
      "join bo local",
      "leave lin",
    ]);
    assert.deepEqual(brief(onB.events), [
      "join ada",
      "join lin local",
      "join bo",
      "leave lin local",
    ]);
    assert.deepEqual(onA.events[1].member.meta, { name: "Lin", tabs: [1, 2] });
    assert.deepEqual(onA.events[3].member.meta, { name: "Lin", tabs: [1, 2] });
    // A clean close() says goodbye: a's members leave at once, announced.
    await a.close();
    await until(() => onB.events.length === 6, "a's goodbye");
    assert.deepEqual(brief(onB.events.slice(4)).sort(), ["leave ada", "leave bo"]);
    assert.deepEqual(await b.list("room:1"), []);
    onB.stop();
  } finally {
    await Promise.all([a.close(), b.close()]);
    await redis.stop();
  }
});

test("createRedisPresence(): a SIGKILLed process's members leave every list within ttl, and one survivor announces each leave with local: true", async () => {
  const redis = await startRedis();
  const url = `redis://127.0.0.1:${redis.port}`;
  const ttl = 900;
  const a = createRedisPresence({ url, ttl });
  const b = createRedisPresence({ url, ttl });
  let peer: ServerProcess | undefined;
  try {
    await until(() => a.connected && b.connected, "connections");
    const onA = recorder(a, "room"), onB = recorder(b, "room");
    await settle(100);
    await a.join("room", { id: "a-1", meta: "a" });
    peer = await startPeer(url, "room", 3, ttl);
    await until(
      () => onA.events.length === 4 && onB.events.length === 4,
      "the peer's joins",
    );
    assert.deepEqual(ids(await b.list("room")), ["a-1", "peer-0", "peer-1", "peer-2"]);
    const killed = Date.now();
    peer.process.kill("SIGKILL");
    await peer.stop();
    peer = undefined;
    // Within ttl the peer's members are out of every list …
    await eventually(async () => ids(await b.list("room")).join() === "a-1", "the list", ttl * 3);
    const listed = Date.now() - killed;
    // … and within ttl + ttl / 3 their leaves are announced (bounded waits).
    await until(
      () => onA.events.length === 7 && onB.events.length === 7,
      "the leaves",
      ttl * 3,
    );
    const announced = Date.now() - killed;
    console.log(
      `ttl ${ttl} ms: out of the list after ${listed} ms, leave announced after ${announced} ms`,
    );
    const leaves = [...onA.events.slice(4), ...onB.events.slice(4)];
    assert.ok(leaves.every((e) => e.type === "leave"));
    for (const id of ["peer-0", "peer-1", "peer-2"]) {
      const seen = leaves.filter((e) => e.member.id === id);
      assert.equal(seen.length, 2, `${id}'s leave reaches both`);
      assert.equal(seen.filter((e) => e.local).length, 1, `${id}'s leave is local on one`);
      assert.deepEqual(seen[0].member.meta, { n: Number(id.at(-1)) });
    }
    await settle(ttl);
    assert.equal(onA.events.length + onB.events.length, 14, "nothing more, a-1 stays");
    assert.deepEqual(ids(await a.list("room")), ["a-1"]);
  } finally {
    if (peer) peer.process.kill("SIGKILL");
    await Promise.all([a.close(), b.close()]);
    await redis.stop();
  }
});

test("createRedisPresence(): while Redis is down list() serves this process's members (partial), and joins and leaves are written when it is back", async () => {
  let redis = await startRedis();
  const url = `redis://127.0.0.1:${redis.port}`;
  const logs: string[] = [];
  const log = (line: string) => logs.push(line);
  const a = createRedisPresence({ url, ttl: 900, maxRetryDelay: 200, log });
  const b = createRedisPresence({ url, ttl: 900, maxRetryDelay: 200, log });
  try {
    await until(() => a.connected && b.connected, "connections");
    const onB = recorder(b, "room");
    await a.join("room", { id: "x", meta: "x" });
    await b.join("room", { id: "z", meta: "z" });
    await redis.stop();
    await until(() => !a.connected, "the outage to be seen");
    await a.join("room", { id: "y", meta: "y" });
    await a.leave("room", "x");
    const during = await a.list("room");
    assert.deepEqual(ids(during), ["y"]);
    assert.equal(during.partial, "unreachable");
    // A Redis restarted empty: both processes write their members again.
    redis = await startRedis(redis.port);
    await until(() => a.connected && b.connected, "reconnection", 10_000);
    await eventually(
      async () => ids(await b.list("room")).sort().join() === "y,z",
      "the members restored",
    );
    const after = await a.list("room");
    assert.equal(after.partial, undefined);
    await until(() => onB.events.some((e) => e.member.id === "y"), "y's join on b");
    assert.ok(
      logs.some((l) => /lost 127\.0\.0\.1:\d+ .*listing this process's members only/.test(l)),
      logs.join("\n"),
    );
    assert.ok(logs.some((l) => l.includes("restoring this process's members")), logs.join("\n"));
    // Keys lost behind a process's back (FLUSHALL): its next heartbeat counts
    // otherwise and writes them again.
    await redisCli(redis.port, "flushall");
    await eventually(
      async () => ids(await b.list("room")).sort().join() === "y,z",
      "the members written again",
    );
  } finally {
    await Promise.all([a.close(), b.close()]);
    await redis.stop();
  }
});

test("createRedisPresence(): a Redis that stops answering holds join() and list() at most ttl / 3; the join is written once it answers", async () => {
  const redis = await startRedis();
  const url = `redis://127.0.0.1:${redis.port}`;
  const ttl = 900;
  const a = createRedisPresence({ url, ttl, log: () => {} });
  const b = createRedisPresence({ url, ttl, log: () => {} });
  try {
    await until(() => a.connected && b.connected, "connections");
    await a.join("room", { id: "x", meta: "x" });
    redis.process.kill("SIGSTOP");
    // Bounded waits: each would hang for as long as Redis sleeps.
    const joined = a.join("room", { id: "y", meta: "y" });
    assert.equal(
      await Promise.race([joined.then(() => "joined"), settle(ttl).then(() => "held")]),
      "joined",
    );
    const listed = await Promise.race([a.list("room"), settle(ttl).then(() => undefined)]);
    assert.deepEqual(listed && ids(listed), ["x", "y"]);
    assert.equal(listed?.partial, "unreachable");
    redis.process.kill("SIGCONT");
    await eventually(async () => ids(await b.list("room")).join() === "x,y", "y written");
  } finally {
    redis.process.kill("SIGCONT");
    await Promise.all([a.close(), b.close()]);
    await redis.stop();
  }
});

test("createRedisPresence(): maxListed caps list() (partial: capped, oldest first), maxSweep bounds each heartbeat's sweep", async () => {
  const redis = await startRedis();
  const url = `redis://127.0.0.1:${redis.port}`;
  const ttl = 600;
  const a = createRedisPresence({ url, ttl, maxListed: 3, maxSweep: 2 });
  let peer: ServerProcess | undefined;
  try {
    await until(() => a.connected, "connection");
    for (let i = 0; i < 5; i++) await a.join("big", { id: `m${i}`, meta: i });
    const capped = await a.list("big");
    assert.deepEqual(ids(capped), ["m0", "m1", "m2"]);
    assert.equal(capped.partial, "capped");
    await a.leave("big", "m0");
    await a.leave("big", "m1");
    const whole = await a.list("big");
    assert.deepEqual(ids(whole), ["m2", "m3", "m4"]);
    assert.equal(whole.partial, undefined);

    // A dead process's 5 members, at most 2 per heartbeat.
    const batches: number[] = [];
    let batch = 0;
    a.watch("swept", (event) => {
      if (event.type !== "leave") return;
      if (batch++ === 0) queueMicrotask(() => (batches.push(batch), batch = 0));
    });
    peer = await startPeer(url, "swept", 5, ttl);
    peer.process.kill("SIGKILL");
    await peer.stop();
    peer = undefined;
    // Bounded, and patient: the sweep runs on heartbeats every ttl / 3,
    // which CI's parallel load (Chromium, workerd, the soaks) can delay.
    await until(() => batches.reduce((s, n) => s + n, 0) === 5, "every leave", ttl * 25)
      .catch(async (error) => {
        throw new Error(
          `${error.message}: batches ${batches}, listed ${ids(await a.list("swept"))}`,
        );
      });
    assert.ok(batches.length >= 3 && batches.every((n) => n <= 2), `batches ${batches}`);
    assert.deepEqual(await a.list("swept"), []);
  } finally {
    if (peer) peer.process.kill("SIGKILL");
    await a.close();
    await redis.stop();
  }
});

test("createRedisPresence(): a dead process's members all get their leave, however many sweeps they take", async () => {
  const redis = await startRedis();
  const url = `redis://127.0.0.1:${redis.port}`;
  const ttl = 600;
  // One member per sweep, a sweep every ttl / 3: 7 members take 7 sweeps,
  // past the keys' own TTL (2 ttl from the dead process's last beat), and
  // no live process has members in the topic to renew them.
  const a = createRedisPresence({ url, ttl, maxSweep: 1 });
  let peer: ServerProcess | undefined;
  try {
    await until(() => a.connected, "connection");
    const left: string[] = [];
    a.watch("many", (event) => {
      if (event.type === "leave") left.push(event.member.id);
    });
    peer = await startPeer(url, "many", 7, ttl);
    peer.process.kill("SIGKILL");
    await peer.stop();
    peer = undefined;
    await until(() => left.length === 7, "every leave", ttl * 40).catch((error) => {
      throw new Error(`${error.message}: left ${left}`);
    });
    assert.deepEqual(left.toSorted(), [0, 1, 2, 3, 4, 5, 6].map((i) => `peer-${i}`));
    assert.deepEqual(await a.list("many"), []);
  } finally {
    if (peer) peer.process.kill("SIGKILL");
    await a.close();
    await redis.stop();
  }
});

test("createRedisPresence(): an ACL user with only the documented commands, keys and channels", async () => {
  const port = freePort();
  const redis = await startProcess("redis-server", [
    "--port",
    `${port}`,
    "--bind",
    "127.0.0.1",
    "--save",
    "",
    "--appendonly",
    "no",
    "--user",
    "default",
    "off",
    "--user",
    "app",
    "on",
    ">secret",
    "resetchannels",
    "&edgesocket:*",
    "~edgesocket:*",
    "-@all",
    "+@connection",
    "+@pubsub",
    "+select",
    ...PRESENCE_COMMANDS.map((c) => `+${c}`),
  ], { port, ready: /Ready to accept connections/ });
  const logs: string[] = [];
  const url = `redis://app:secret@127.0.0.1:${port}`;
  const a = createRedisPresence({ url, log: (l) => logs.push(l) });
  const b = createRedisPresence({ url, log: (l) => logs.push(l) });
  try {
    await until(() => a.connected && b.connected, "connections");
    const onB = recorder(b, "room");
    await settle(100);
    await a.join("room", { id: "ada", meta: "Ada" });
    assert.deepEqual(await b.list("room"), [{ id: "ada", meta: "Ada" }]);
    await a.leave("room", "ada");
    await until(() => onB.events.length === 2, "the events");
    await b.join("room", { id: "lin", meta: "Lin" });
    assert.deepEqual(ids(await a.list("room")), ["lin"]);
    assert.deepEqual(logs, []);
  } finally {
    await Promise.all([a.close(), b.close()]);
    await redis.stop();
  }
});

/** A free port whose cluster bus port (10,000 above) is free too. */
function clusterPort(): number {
  for (;;) {
    const port = freePort();
    if (port > 55_000) continue;
    try {
      Deno.listen({ hostname: "127.0.0.1", port: port + 10_000 }).close();
      return port;
    } catch { /* taken: another */ }
  }
}

/** What README's "Presence" asks an ACL user to be allowed, besides pub/sub. */
const PRESENCE_COMMANDS = [
  "eval",
  "evalsha",
  "time",
  "zadd",
  "zrem",
  "zcard",
  "zrange",
  "zrangebyscore",
  "zrangebylex",
  "zlexcount",
  "hget",
  "hset",
  "hdel",
  "hexists",
  "hincrby",
  "pexpire",
];

test("createRedisPresence() on a three-master Cluster: each topic's keys in one slot, topics over every master, sharded events", async () => {
  const cluster = await startCluster([clusterPort(), clusterPort(), clusterPort()]);
  const a = createRedisPresence({ url: cluster.urls, ttl: 1500 });
  const b = createRedisPresence({ url: cluster.urls[1], cluster: true, ttl: 1500 });
  try {
    const topics = Array.from({ length: 9 }, (_, i) => `room-${i}`);
    const owners = new Set<number>();
    for (const t of topics) owners.add(await cluster.ownerOf(`edgesocket:presence:{${t}}`));
    assert.equal(owners.size, 3, "the topics hash to all three masters");
    // A topic's name with braces still keeps its keys together.
    topics.push("odd}{name");
    await until(() => a.connected && b.connected, "the cluster connections", 10_000);
    const seen = new Map(topics.map((t) => [t, recorder(b, t).events]));
    await settle(300);
    for (const t of topics) {
      await a.join(t, { id: `${t}/a`, meta: t });
      await b.join(t, { id: `${t}/b`, meta: t });
    }
    for (const t of topics) {
      assert.deepEqual(ids(await a.list(t)), [`${t}/a`, `${t}/b`]);
      await a.leave(t, `${t}/a`);
    }
    for (const t of topics) {
      await until(() => seen.get(t)!.length === 3, `${t}'s events`);
      assert.deepEqual(brief(seen.get(t)!), [`join ${t}/a`, `join ${t}/b local`, `leave ${t}/a`]);
      assert.deepEqual(ids(await b.list(t)), [`${t}/b`]);
    }
    const port = await cluster.ownerOf("edgesocket:presence:{room-0}");
    assert.equal(
      await redisCli(port, "pubsub", "shardnumsub", "edgesocket:presence:{room-0}"),
      "edgesocket:presence:{room-0}\n1",
    );
  } finally {
    await Promise.all([a.close(), b.close()]);
    await cluster.stop();
  }
});

test("Presence on createRedisPresence({ client: backplane.client }): two processes' sockets in one list; close() leaves the app's client open", async () => {
  const redis = await startRedis();
  const url = `redis://127.0.0.1:${redis.port}`;
  const backplanes = [createRedisBackplane({ url }), createRedisBackplane({ url })];
  const stores = backplanes.map((b) => createRedisPresence({ client: b.client }));
  // Two processes' presence, each on its own Redis store.
  const [a, b] = stores.map((store) => new Presence({ store }));
  const route = (presence: Presence) =>
    new Hono().get(
      "/room",
      upgradeWebSocket((c) => ({
        async onOpen(_event, ws) {
          await presence.join(ws, "room", { name: c.req.query("name") ?? "" });
          ws.send(JSON.stringify((await presence.list("room")).map((m) => m.meta)));
        },
      })),
    );
  try {
    await until(() => stores.every((s) => s.connected), "connections");
    const onB: PresenceEvent[] = [];
    b.watch("room", (event) => onB.push(event));
    await settle(100);
    const ada = await connect(route(a), "/room?name=Ada");
    assert.equal(await ada.nextMessage(), '[{"name":"Ada"}]');
    const lin = await connect(route(b), "/room?name=Lin");
    assert.equal(await lin.nextMessage(), '[{"name":"Ada"},{"name":"Lin"}]');
    // A socket that closes leaves, on the other process's list too.
    ada.close(1000);
    await ada.closed;
    await eventually(async () => (await b.list("room")).length === 1, "Ada's leave");
    await until(() => onB.length === 3, "the events");
    assert.deepEqual(
      onB.map((e) => [e.type, e.member.meta, e.local]),
      [["join", { name: "Ada" }, false], ["join", { name: "Lin" }, true], [
        "leave",
        { name: "Ada" },
        false,
      ]],
    );
    await stores[1].close();
    assert.ok(backplanes[1].client.isOpen, "the backplane's client stays open");
    assert.deepEqual(await a.list("room"), [], "b's close() said goodbye for Lin");
    lin.close(1000);
  } finally {
    await Promise.all(stores.map((s) => s.close()));
    await Promise.all(backplanes.map((b) => b.close()));
    await redis.stop();
  }
});

test("createRedisPresence() wants a url or a client, a ttl of 300 ms or more, a prefix without braces", () => {
  assert.throws(() => createRedisPresence({}), TypeError);
  assert.throws(() => createRedisPresence({ url: "redis://127.0.0.1:1", ttl: 100 }), RangeError);
  assert.throws(
    () => createRedisPresence({ url: "redis://127.0.0.1:1", prefix: "{app}:" }),
    TypeError,
  );
});
