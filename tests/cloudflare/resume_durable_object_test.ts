/**
 * Resume in a Durable Object, end to end on real workerd (`wrangler dev`):
 * tests/fixtures/resume_do_worker.ts, the standard resumable route inside
 * one object per room (sockets accepted with `accept()`), with its history
 * and sessions in the object's SQLite storage. The client is
 * `ResumableWebSocket` under Deno, behind the fault-injecting proxy
 * (tests/_util/fault_proxy.ts).
 *
 * Eviction is real: workerd drops an object about 10 s after its last
 * event once nothing holds it (no request, no accepted socket, no pending
 * timer: the route runs with `expiryTimer: false`). The fixture numbers its
 * instances, and its publish route answers with the number, so a test knows
 * a publication reached a new instance.
 *
 * DO_RESUME_N sets the messages each way of the run through cuts (default
 * 10,000).
 */
import assert from "node:assert/strict";
import { FaultProxy } from "../_util/fault_proxy.ts";
import {
  connect,
  type Fixture,
  MIN_CUTS,
  N,
  range,
  type Routes,
  runThroughCuts,
  sleep,
  startFixture,
  test,
  until,
} from "./_resume_do.ts";

const ROUTES: Routes = { socket: "/ws", publish: "/publish", run: "/run" };
let fixture: Fixture;

const publish = (room: string, from: number, to: number, short = false) =>
  fixture.publish(ROUTES, room, from, to, short ? "&short=1" : "");
const run = (room: string, full = false) => fixture.run(ROUTES, room, full);

test("Resume in a Durable Object: wrangler dev starts the fixture", async () => {
  fixture = await startFixture();
});

test("Resume in a Durable Object: a dropped client comes back to its session, recovered, nothing lost", async () => {
  const proxy = FaultProxy.start({ target: { port: fixture.port }, cutBytes: null, cutMs: null });
  const client = connect(`ws://127.0.0.1:${proxy.port}/ws/basic`);
  try {
    await client.opened;
    await publish("basic", 0, 5);
    client.socket.send("c0");
    await until("the first five", () => client.received.length === 5);
    proxy.refuse(true);
    proxy.cutAll();
    await publish("basic", 5, 10);
    client.socket.send("c1");
    const resumed = client.nextResume();
    proxy.refuse(false);
    const event = await resumed;
    assert.equal(event.recovered, true);
    assert.equal(event.session, true);
    assert.deepEqual(event.topics, { "resume:basic": true });
    await until("all ten", () => client.received.length === 10);
    assert.deepEqual(client.received, range("p", 0, 10));
    await until("both messages", async () => (await run("basic")).received === 2);
    const state = await run("basic", true);
    assert.deepEqual(state.messages, ["c0", "c1"]);
    assert.equal(state.opens, 1, "one session");
    assert.deepEqual(state.closes, []);
  } finally {
    await client.close();
    await proxy.close();
  }
});

test(`Resume in a Durable Object: ${N.toLocaleString("en")} each way through ${MIN_CUTS}+ cuts: 0 lost, 0 duplicated, 0 reordered`, async () => {
  await runThroughCuts(fixture, ROUTES, "cuts", 15);
});

test("Resume in a Durable Object: the object evicted between the drop and the resume loses nothing (recovered: true)", async () => {
  const room = "evicted";
  const proxy = FaultProxy.start({ target: { port: fixture.port }, cutBytes: null, cutMs: null });
  const client = connect(`ws://127.0.0.1:${proxy.port}/ws/${room}`);
  try {
    await client.opened;
    const first = await publish(room, 0, 100);
    for (let i = 0; i < 50; i++) client.socket.send(`c${i}`);
    await until("the first hundred", () => client.received.length === 100);
    await until("the first fifty up", async () => (await run(room)).received === 50);
    // The network goes; the object keeps the session, waiting.
    proxy.refuse(true);
    proxy.cutAll();
    const during = await publish(room, 100, 200);
    assert.equal(during.instance, first.instance, "still the same instance");
    for (let i = 50; i < 100; i++) client.socket.send(`c${i}`); // queued offline
    // Nothing reaches the object now: workerd evicts it ~10 s after its
    // last event. Bounded: 13 s idle, then a publication wakes a new one.
    await sleep(13_000);
    const after = await publish(room, 200, 300);
    assert.ok(
      after.instance > during.instance,
      `the object was not evicted (instance ${after.instance})`,
    );
    const resumed = client.nextResume();
    proxy.refuse(false);
    const event = await resumed;
    assert.equal(event.recovered, true);
    assert.equal(event.session, true);
    assert.deepEqual(event.topics, { [`resume:${room}`]: true });
    await until("all three hundred", () => client.received.length === 300);
    assert.deepEqual(client.received, range("p", 0, 300));
    await until("all hundred up", async () => (await run(room)).received === 100);
    const state = await run(room, true);
    assert.deepEqual(state.messages, range("c", 0, 100));
    assert.equal(state.opens, 1, "the same session, restored from storage");
    assert.deepEqual(state.closes, []);
    assert.equal(state.instance, after.instance);
  } finally {
    await client.close();
    await proxy.close();
  }
});

for (const route of ["short", "lazy"]) {
  const how = route === "short" ? "on its timer" : "at the next hello (no expiry timer)";
  test(`Resume in a Durable Object: a client away longer than retention and history is told recovered: false; onClose ${how}`, async () => {
    const room = `away-${route}`;
    const proxy = FaultProxy.start({ target: { port: fixture.port }, cutBytes: null, cutMs: null });
    const client = connect(`ws://127.0.0.1:${proxy.port}/${route}/${room}`);
    try {
      await client.opened;
      await publish(room, 0, 10, true);
      await until("the first ten", () => client.received.length === 10);
      proxy.refuse(true);
      proxy.cutAll();
      await publish(room, 10, 20, true); // kept 2 s, as is the session
      await sleep(3_500);
      if (route === "short") assert.deepEqual((await run(room)).closes, [1006]);
      const resumed = client.nextResume();
      proxy.refuse(false);
      const event = await resumed;
      assert.equal(event.recovered, false);
      assert.equal(event.session, false, "a fresh session");
      assert.deepEqual(event.topics, { [`resume:${room}`]: false }, "the gap is said");
      // Live again from where the stream is now.
      await publish(room, 20, 25, true);
      await until("the next five", () => client.received.length === 15);
      assert.deepEqual(client.received, [...range("p", 0, 10), ...range("p", 20, 25)]);
      const state = await run(room);
      assert.equal(state.opens, 2);
      assert.deepEqual(state.closes, [1006], "the first session ended once, with its drop's code");
    } finally {
      await client.close();
      await proxy.close();
    }
  });
}

test("Resume in a Durable Object: wrangler dev stops", async () => {
  await fixture?.stop();
});
