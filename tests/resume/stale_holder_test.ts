/**
 * A copy of a session that lost it while its socket was half-open: the
 * client gave up on that socket and resumed on another process, which took
 * the session over once its handover wait ran out. When the old socket
 * finally goes, the old copy must not write its stale dedupe window over
 * the new holder's record, nor end the session there. And two processes
 * that restore one session at once: only the one whose claim on the record
 * lands welcomes the client. Apps in one process, each with its own client
 * of one real redis-server.
 */
import assert from "node:assert/strict";
import { Hono } from "hono";
import { upgradeWebSocket } from "../../mod.ts";
import { RedisSessionStore } from "../../src/backplanes/redis.ts";
import { hashToken } from "../../src/core/resume_route.ts";
import { startRedis } from "../_util/redis.ts";
import { eventually, hello, openRaw } from "./_raw_client.ts";

function createApp(sessions: RedisSessionStore, got: string[], closes: number[]): Hono {
  return new Hono().get(
    "/ws",
    upgradeWebSocket(() => ({
      onMessage: (event) => void got.push(String(event.data)),
      onClose: (event) => void closes.push(event.code),
    }), { resume: { sessions, retention: 10_000, expiryTimer: false } }),
  );
}

// One real redis-server and a store (its own client, as another process
// has) per app, for the length of a test.
async function withStores(
  count: number,
  fn: (stores: RedisSessionStore[]) => Promise<void>,
): Promise<void> {
  const redis = await startRedis();
  const url = `redis://127.0.0.1:${redis.port}`;
  const stores = Array.from({ length: count }, () => new RedisSessionStore({ url }));
  try {
    await fn(stores);
  } finally {
    await Promise.all(stores.map((store) => store.close()));
    await redis.stop();
  }
}

Deno.test({
  name:
    "a copy that lost its session while half-open neither overwrites the new holder's record nor ends it: no message handed over twice",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: () =>
    withStores(2, async ([storeA, storeB]) => {
      const gotA: string[] = [];
      const gotB: string[] = [];
      const closesA: number[] = [];
      const closesB: number[] = [];
      const appA = createApp(storeA, gotA, closesA);
      const appB = createApp(storeB, gotB, closesB);

      const first = await hello(appA, "/ws");
      const token = first.welcome.s as string;
      for (let i = 1; i <= 3; i++) first.client.send({ t: "m", i, d: `m${i}` });
      assert.deepEqual((await first.client.until("ack")).at(-1), { t: "ack", a: 3 });

      // The client gives up on that socket, which stays open on A (half
      // open), and resumes on B: B waits for A to let go, then takes over.
      const second = await hello(appB, "/ws", { token });
      assert.equal(second.welcome.recovered, true);
      assert.equal(second.welcome.a, 3);
      second.client.send({ t: "m", i: 4, d: "m4" });
      assert.deepEqual((await second.client.until("ack")).at(-1), { t: "ack", a: 4 });

      // A's socket goes at last: its copy parks and writes, and is refused.
      first.client.ws.close(4001, "gone");
      await first.client.ws.closed;
      await new Promise((resolve) => setTimeout(resolve, 300)); // for A's write to land
      const record = await storeB.get(await hashToken(token));
      assert.equal(record?.lastClientId, 4, "the record is still B's");
      assert.equal(record?.expires, undefined, "B still has a socket");

      // The client is cut from B and comes back on A: it resumes from B's
      // record, so m4 is not handed over a second time.
      second.client.ws.close(4001, "cut");
      await second.client.ws.closed;
      const third = await hello(appA, "/ws", { token });
      assert.equal(third.welcome.recovered, true);
      assert.equal(third.welcome.a, 4, "the welcome acknowledges what B handed over");
      third.client.send({ t: "m", i: 4, d: "m4" });
      third.client.send({ t: "m", i: 5, d: "m5" });
      assert.deepEqual((await third.client.until("ack")).at(-1), { t: "ack", a: 5 });
      assert.deepEqual(gotA, ["m1", "m2", "m3", "m5"]);
      assert.deepEqual(gotB, ["m4"]);
      assert.deepEqual(closesA, [], "A's stale copy was dropped, not ended");
      third.client.ws.close(1000);
      await third.client.ws.closed;
      await eventually(() => closesA.length === 1, "onClose on A");
      assert.equal(await storeA.get(await hashToken(token)), undefined);
    }),
});

Deno.test({
  name:
    "two processes restoring one session at once: one welcomes the client, the other closes 1013 before any welcome",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: () =>
    withStores(3, async (stores) => {
      const got: string[][] = [[], [], []];
      const apps = stores.map((store, i) => createApp(store, got[i], []));
      const first = await hello(apps[0], "/ws");
      const token = first.welcome.s as string;
      first.client.send({ t: "m", i: 1, d: "m1" });
      assert.deepEqual((await first.client.until("ack")).at(-1), { t: "ack", a: 1 });
      // The first socket stays open (half open); the client's token is
      // sent to two other processes at once (a hello it gave up on, then
      // another): both wait for the first copy, then both restore.
      const racers = await Promise.all([openRaw(apps[1], "/ws"), openRaw(apps[2], "/ws")]);
      for (const racer of racers) racer.send({ t: "hello", v: 1, s: token, p: {} });
      const outcomes = await Promise.all(racers.map((racer) =>
        Promise.race([
          racer.next(10_000).then((frame) => `frame ${frame.t}`),
          racer.ws.closed.then((closed) => `closed ${closed.code}`),
        ])
      ));
      assert.deepEqual([...outcomes].sort(), ["closed 1013", "frame welcome"]);
      const live = racers[outcomes.indexOf("frame welcome")];
      live.send({ t: "m", i: 1, d: "m1" });
      live.send({ t: "m", i: 2, d: "m2" });
      assert.deepEqual((await live.until("ack")).at(-1), { t: "ack", a: 2 });
      assert.deepEqual(got.flat(), ["m1", "m2"]);
      live.ws.close(1000);
      first.client.ws.close(1000);
      await Promise.all([live.ws.closed, first.client.ws.closed]);
    }),
});
