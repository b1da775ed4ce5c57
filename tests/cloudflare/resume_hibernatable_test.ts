/**
 * Resume over hibernatable sockets, end to end on real workerd (`wrangler
 * dev`): `DurableObjectWebSockets` with its `resume` option
 * (tests/fixtures/resume_do_worker.ts, `HibernatingResumeRoom`), each
 * socket's protocol state in its attachment, sessions and history in the
 * object's SQLite storage. The client is `ResumableWebSocket` under Deno,
 * behind the fault-injecting proxy.
 *
 * Hibernation and eviction are real: workerd drops an object about 10 s
 * after its last event when only hibernatable sockets are left (the
 * client's heartbeat is answered by the auto-response, which does not wake
 * it). The fixture's publish route answers with the instance number.
 */
import assert from "node:assert/strict";
import { ResumableWebSocket, type ResumeStorage } from "../../src/client/mod.ts";
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

const ROUTES: Routes = { socket: "/h", publish: "/hpublish", run: "/hrun" };
let fixture: Fixture;

const publish = (room: string, from: number, to: number) => fixture.publish(ROUTES, room, from, to);
const run = (room: string, full = false) => fixture.run(ROUTES, room, full);

function plainProxy(): FaultProxy {
  return FaultProxy.start({ target: { port: fixture.port }, cutBytes: null, cutMs: null });
}

test("Resume over hibernatable sockets: wrangler dev starts the fixture", async () => {
  fixture = await startFixture();
});

test("Resume over hibernatable sockets: a dropped client comes back to its session, recovered, nothing lost", async () => {
  const proxy = plainProxy();
  const client = connect(`ws://127.0.0.1:${proxy.port}/h/basic`);
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
    assert.deepEqual(
      { recovered: event.recovered, session: event.session, topics: event.topics },
      { recovered: true, session: true, topics: { "resume:basic": true } },
    );
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
  // The client's close ends the session: onClose once, with 1000.
  await until("onClose", async () => (await run("basic")).closes.length === 1);
  assert.deepEqual((await run("basic")).closes, [1000]);
});

test(`Resume over hibernatable sockets: ${N.toLocaleString("en")} each way through ${MIN_CUTS}+ cuts: 0 lost, 0 duplicated, 0 reordered`, async () => {
  await runThroughCuts(fixture, ROUTES, "cuts", 16);
});

test("Resume over hibernatable sockets: the object hibernates with the client connected and goes on where it was", async () => {
  const room = "sleepy";
  const proxy = plainProxy();
  const client = connect(`ws://127.0.0.1:${proxy.port}/h/${room}`);
  try {
    await client.opened;
    const before = await publish(room, 0, 50);
    for (let i = 0; i < 20; i++) client.socket.send(`c${i}`);
    await until("the first fifty", () => client.received.length === 50);
    await until("the first twenty up", async () => (await run(room)).received === 20);
    // Quiet but for the client's heartbeat, which the auto-response answers
    // without waking the object: it hibernates.
    await sleep(13_000);
    const after = await publish(room, 50, 100);
    assert.ok(after.instance > before.instance, `not evicted (instance ${after.instance})`);
    assert.equal(after.sent, 1, "the woken object found the socket");
    for (let i = 20; i < 40; i++) client.socket.send(`c${i}`);
    await until("all hundred", () => client.received.length === 100);
    assert.deepEqual(client.received, range("p", 0, 100));
    await until("all forty up", async () => (await run(room)).received === 40);
    const state = await run(room, true);
    assert.deepEqual(state.messages, range("c", 0, 40));
    assert.equal(state.opens, 1);
    assert.equal(proxy.connections, 1, "never reconnected");
  } finally {
    await client.close();
    await proxy.close();
  }
});

test("Resume over hibernatable sockets: the object evicted between the drop and the resume loses nothing (recovered: true)", async () => {
  const room = "evicted";
  const proxy = plainProxy();
  const client = connect(`ws://127.0.0.1:${proxy.port}/h/${room}`);
  try {
    await client.opened;
    const first = await publish(room, 0, 100);
    for (let i = 0; i < 50; i++) client.socket.send(`c${i}`);
    await until("the first hundred", () => client.received.length === 100);
    await until("the first fifty up", async () => (await run(room)).received === 50);
    proxy.refuse(true);
    proxy.cutAll();
    const during = await publish(room, 100, 200);
    assert.equal(during.instance, first.instance, "still the same instance");
    for (let i = 50; i < 100; i++) client.socket.send(`c${i}`); // queued offline
    await sleep(13_000);
    const after = await publish(room, 200, 300);
    assert.ok(after.instance > during.instance, `not evicted (instance ${after.instance})`);
    const resumed = client.nextResume();
    proxy.refuse(false);
    const event = await resumed;
    assert.deepEqual(
      { recovered: event.recovered, session: event.session, topics: event.topics },
      { recovered: true, session: true, topics: { [`resume:${room}`]: true } },
    );
    await until("all three hundred", () => client.received.length === 300);
    assert.deepEqual(client.received, range("p", 0, 300));
    await until("all hundred up", async () => (await run(room)).received === 100);
    const state = await run(room, true);
    assert.deepEqual(state.messages, range("c", 0, 100));
    assert.equal(state.opens, 1, "the same session, restored from storage");
    assert.deepEqual(state.closes, []);
  } finally {
    await client.close();
    await proxy.close();
  }
});

test("Resume over hibernatable sockets: a client away longer than retention and history is told recovered: false; onClose at the next hello", async () => {
  const room = "short-away";
  const proxy = plainProxy();
  const client = connect(`ws://127.0.0.1:${proxy.port}/h/${room}`);
  try {
    await client.opened;
    await publish(room, 0, 10);
    await until("the first ten", () => client.received.length === 10);
    proxy.refuse(true);
    proxy.cutAll();
    await publish(room, 10, 20); // kept 2 s, as is the session
    await sleep(3_500);
    const resumed = client.nextResume();
    proxy.refuse(false);
    const event = await resumed;
    assert.deepEqual(
      { recovered: event.recovered, session: event.session, topics: event.topics },
      { recovered: false, session: false, topics: { [`resume:${room}`]: false } },
    );
    await publish(room, 20, 25);
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

test("Resume over hibernatable sockets: a second connection with the token takes the session over; the first is closed 4000", async () => {
  const room = "takeover";
  const kept = new Map<string, string>();
  const storage: ResumeStorage = {
    getItem: (key) => kept.get(key) ?? null,
    setItem: (key, value) => void kept.set(key, value),
  };
  const url = `ws://127.0.0.1:${fixture.port}/h/${room}`;
  const first = new ResumableWebSocket(url, { storage, minDelay: 5, maxDelay: 50 });
  const firstClosed = new Promise<{ code: number }>((resolve) =>
    first.addEventListener("close", (e) => resolve(e as unknown as { code: number }))
  );
  await new Promise((resolve) => first.addEventListener("open", resolve, { once: true }));
  first.send("from the first");
  await until("the first message", async () => (await run(room)).received === 1);
  await sleep(50); // the welcome's token is saved by the end of the turn
  const second = new ResumableWebSocket(url, { storage, minDelay: 5, maxDelay: 50 });
  try {
    const resumed = new Promise<{ recovered: boolean }>((resolve) =>
      second.addEventListener("resumed", (e) => resolve(e as unknown as { recovered: boolean }))
    );
    assert.equal((await resumed).recovered, true);
    assert.equal((await firstClosed).code, 4000);
    second.send("from the second");
    await until("the second message", async () => (await run(room)).received === 2);
    const state = await run(room, true);
    assert.deepEqual(state.messages, ["from the first", "from the second"]);
    assert.equal(state.opens, 1, "one session, taken over");
    assert.deepEqual(state.closes, []);
  } finally {
    const closed = new Promise((resolve) => second.addEventListener("close", resolve));
    second.close();
    await closed;
  }
});

/** A client that keeps each message with its topic. */
function topicClient(url: string) {
  const socket = new ResumableWebSocket(url, { minDelay: 5, maxDelay: 50 });
  const got: Array<[string | undefined, unknown]> = [];
  socket.onmessage = (e) => void got.push([e.topic, e.data]);
  const opened = new Promise((resolve) => socket.addEventListener("open", resolve, { once: true }));
  const closed = new Promise<{ code: number }>((resolve) =>
    socket.addEventListener("close", (e) => resolve(e as unknown as { code: number }))
  );
  return { socket, got, opened, closed };
}

test("Resume over hibernatable sockets: ws.subscribe(), unsubscribe(), publish(), send() and close() from handlers; binary messages", async () => {
  const room = "commands";
  const proxy = plainProxy();
  const ada = topicClient(`ws://127.0.0.1:${fixture.port}/h/${room}`);
  const bob = topicClient(`ws://127.0.0.1:${proxy.port}/h/${room}`);
  try {
    await Promise.all([ada.opened, bob.opened]);
    ada.socket.send("!sub:extra");
    bob.socket.send("!sub:extra");
    await until(
      "both subscribed",
      () => "resume:extra" in ada.socket.positions && "resume:extra" in bob.socket.positions,
    );
    // ws.publish(): to the others, the publisher gets the position only.
    ada.socket.send("!pub:extra:hello");
    await until("bob's copy", () => bob.got.length === 1);
    assert.deepEqual(bob.got, [["resume:extra", "hello"]]);
    await until("ada's position", () => ada.socket.positions["resume:extra"].offset === 1);
    // Bob away: what ada publishes meanwhile replays on both topics.
    proxy.refuse(true);
    proxy.cutAll();
    ada.socket.send("!pub:extra:while away");
    await fixture.publish(ROUTES, room, 0, 2);
    const resumed = new Promise<{ recovered: boolean; topics: unknown }>((resolve) =>
      bob.socket.addEventListener(
        "resumed",
        (e) => resolve(e as unknown as { recovered: boolean; topics: unknown }),
        { once: true },
      )
    );
    proxy.refuse(false);
    const event = await resumed;
    assert.equal(event.recovered, true);
    assert.deepEqual(event.topics, { [`resume:${room}`]: true, "resume:extra": true });
    await until("bob caught up", () => bob.got.length === 4);
    // In order within each topic (topics are streams of their own).
    const of = (topic: string) => bob.got.filter(([t]) => t === topic).map(([, d]) => d);
    assert.deepEqual(of("resume:extra"), ["hello", "while away"]);
    assert.deepEqual(of(`resume:${room}`), ["p0", "p1"]);
    // ws.send(): to this socket alone, no topic.
    ada.socket.send("!send:direct");
    await until("the direct message", () => ada.got.some(([, d]) => d === "direct"));
    assert.deepEqual(ada.got.find(([, d]) => d === "direct"), [undefined, "direct"]);
    // ws.unsubscribe(): the client forgets the topic, nothing more comes.
    ada.socket.send("!unsub:extra");
    await until("unsubscribed", () => !("resume:extra" in ada.socket.positions));
    await fixture.publish(ROUTES, room, 2, 3, "&topic=extra");
    await until("bob's p2", () => bob.got.length === 5);
    assert.ok(!ada.got.some(([topic]) => topic === "resume:extra"));
    // Binary, as base64 in the frame: onMessage gets the bytes.
    ada.socket.send(new Uint8Array([1, 2, 255]));
    await until(
      "the binary",
      async () => (await run(room, true)).messages.includes("binary:1,2,255"),
    );
    // ws.close() from a handler ends the session: the client stops.
    bob.socket.send("!close");
    assert.equal((await bob.closed).code, 4100);
    await until("bob's onClose", async () => (await run(room)).closes.includes(4100));
  } finally {
    for (const c of [ada, bob]) {
      if (c.socket.readyState !== 3) {
        c.socket.close();
        await c.closed;
      }
    }
    await proxy.close();
  }
});

/** A raw socket of the resume protocol: what it got, and how it closed. */
async function rawSocket(path: string) {
  const ws = new WebSocket(`ws://127.0.0.1:${fixture.port}${path}`, ["edgesocket.resume.v1"]);
  const frames: string[] = [];
  ws.onmessage = (e) => void frames.push(e.data);
  const closed = new Promise<{ code: number; reason: string }>((resolve) => {
    ws.onclose = (e) => resolve({ code: e.code, reason: e.reason });
  });
  await new Promise((resolve, reject) => {
    ws.onopen = resolve;
    ws.onerror = reject;
  });
  assert.equal(ws.protocol, "edgesocket.resume.v1");
  return { ws, frames, closed };
}

test("Resume over hibernatable sockets: protocol errors close 1002 and 1003, no hello in time 1008; a forged token gets a fresh session", async () => {
  const early = await rawSocket("/h/errors");
  early.ws.send('{"t":"m","i":1,"d":"too early"}');
  assert.deepEqual(await early.closed, { code: 1002, reason: "Message before welcome" });
  const binary = await rawSocket("/h/errors");
  binary.ws.send(new Uint8Array([1]));
  assert.equal((await binary.closed).code, 1003);
  const silent = await rawSocket("/h/errors");
  assert.deepEqual(await silent.closed, { code: 1008, reason: "No hello in time" });
  const forged = await rawSocket("/h/errors");
  forged.ws.send(JSON.stringify({ t: "hello", v: 1, s: "forged-token", p: {} }));
  await until("the welcome", () => forged.frames.length > 0);
  const welcome = JSON.parse(forged.frames[0]);
  assert.equal(welcome.t, "welcome");
  assert.equal(welcome.recovered, false);
  assert.notEqual(welcome.s, "forged-token");
  forged.ws.send('{"t":"m","i":2,"d":"skips ahead"}');
  assert.deepEqual(await forged.closed, { code: 1002, reason: "Message id out of order" });
  assert.equal((await run("errors")).received, 0, "nothing reached onMessage");
});

test("Resume over hibernatable sockets: presence counts a session once, through hibernation, a drop and its resume, until it ends", async () => {
  const room = "present";
  const presence = async () =>
    await (await fetch(`http://127.0.0.1:${fixture.port}/hpresence/${room}`)).json() as {
      members: string[];
      sockets: number;
      events: string[];
      instance: number;
    };
  const proxy = plainProxy();
  const ada = connect(`ws://127.0.0.1:${proxy.port}/h/${room}?user=ada`);
  const lin = connect(`ws://127.0.0.1:${fixture.port}/h/${room}?user=lin`);
  try {
    await ada.opened;
    await lin.opened;
    // One after the other: the order of events is then known (members
    // are listed by join time, and Workers' clock may not move between two).
    ada.socket.send("!join:presence:ada");
    await until("ada joined", async () => (await presence()).members.length === 1);
    lin.socket.send("!join:presence:lin");
    await until("lin joined", async () => (await presence()).members.length === 2);
    const names = async () => (await presence()).members.sort();
    const before = await presence();
    assert.deepEqual(before.members.sort(), ["ada", "lin"]);
    // Hibernation: the memberships come back from the attachments.
    await sleep(13_000);
    const woken = await presence();
    assert.ok(woken.instance > before.instance, `not evicted (instance ${woken.instance})`);
    assert.deepEqual(woken.members.sort(), ["ada", "lin"]);
    // ada's network goes: her session waits, and is still a member.
    proxy.refuse(true);
    proxy.cutAll();
    await until("ada's socket gone", async () => (await presence()).sockets === 1);
    assert.deepEqual(await names(), ["ada", "lin"]);
    // Back on the same session: no second join.
    const resumed = ada.nextResume();
    proxy.refuse(false);
    assert.equal((await resumed).session, true);
    await until("ada's socket back", async () => (await presence()).sockets === 2);
    assert.deepEqual(await names(), ["ada", "lin"]);
    // Unsubscribing ends lin's membership; ada's session ends with her close.
    lin.socket.send("!unsub:presence");
    await until("lin left", async () => (await presence()).members.length === 1);
    await ada.close();
    await until("ada left", async () => (await presence()).members.length === 0);
    assert.deepEqual((await presence()).events, [
      "join ada",
      "join lin",
      "leave lin",
      "leave ada",
    ]);
  } finally {
    await ada.close();
    await lin.close();
    await proxy.close();
  }
});

test("Resume over hibernatable sockets: wrangler dev stops", async () => {
  await fixture?.stop();
});
