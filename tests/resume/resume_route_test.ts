/**
 * The server side of `edgesocket.resume.v1` through Hono and the codec,
 * in process, with the client's frames written by hand: sessions, dedupe,
 * acks, replay, tokens, limits and protocol errors.
 */
import assert from "node:assert/strict";
import { Hono } from "hono";
import {
  defaultPubSub,
  MemoryHistoryStore,
  MemorySessionStore,
  publish,
  RESUME_PROTOCOL,
  upgradeWebSocket,
  type WebSocketContext,
} from "../../mod.ts";
import { connect } from "../../src/testing/mod.ts";
import { eventually, hello, openRaw } from "./_raw_client.ts";

const history = new MemoryHistoryStore();
defaultPubSub.useHistory(history, { topics: (t) => t.startsWith("resume-test:") });

interface Seen {
  opened: number;
  messages: unknown[];
  closes: Array<{ code: number; wasClean: boolean }>;
  errors: unknown[];
  sockets: Set<WebSocketContext<{ user: string }>>;
}

let topicCounter = 0;
function freshTopic(): string {
  return `resume-test:${++topicCounter}`;
}

function createApp(
  topic: string,
  options: { retention?: number; helloTimeout?: number; maxWaitingSessions?: number } = {},
) {
  const seen: Seen = { opened: 0, messages: [], closes: [], errors: [], sockets: new Set() };
  const app = new Hono();
  app.get(
    "/ws",
    async (c, next) => {
      c.set("user" as never, (c.req.header("x-user") ?? "anon") as never);
      await next();
    },
    upgradeWebSocket((c) => ({
      onOpen(_e, ws) {
        seen.opened++;
        seen.sockets.add(ws as never);
        ws.subscribe(topic);
        if (c.req.query("plain")) ws.subscribe(`plain-${topic}`);
        ws.send("hello from onOpen");
      },
      onMessage(e, ws) {
        seen.messages.push(e.data);
        if (e.data === "publish") ws.publish(topic, "published by a socket");
        if (e.data === "close") ws.close(4001, "asked");
        if (e.data === "unsubscribe") ws.unsubscribe(topic);
        if (e.data === "throw") throw new Error("handler threw");
      },
      onClose: (e) => void seen.closes.push({ code: e.code, wasClean: e.wasClean }),
      onError: (e) => void seen.errors.push(e.error),
    }), {
      data: (c) => ({ user: c.get("user" as never) as string }),
      resume: {
        identify: (c) => c.get("user" as never) as string,
        retention: options.retention ?? 60_000,
        helloTimeout: options.helloTimeout,
        maxWaitingSessions: options.maxWaitingSessions,
        // Its own store: the count of waiting sessions is this route's.
        sessions: options.maxWaitingSessions ? new MemorySessionStore() : undefined,
      },
    }),
  );
  return { app, seen };
}

Deno.test("upgradeWebSocket({ resume }) answers edgesocket.resume.v1 with a welcome and a fresh session", async () => {
  const topic = freshTopic();
  const { app, seen } = createApp(topic);
  const { client, welcome } = await hello(app, "/ws");
  assert.equal(client.ws.protocol, RESUME_PROTOCOL);
  assert.equal(welcome.v, 1);
  assert.equal(welcome.recovered, false);
  assert.equal(welcome.a, 0);
  assert.match(welcome.s as string, /^[A-Za-z0-9_-]{43}$/);
  // The subscription made in onOpen is in the welcome, as a new one (no recovered).
  const position = history.position(topic);
  assert.deepEqual(welcome.p, { [topic]: { e: position.epoch, o: position.offset } });
  // What onOpen sent follows the welcome.
  assert.deepEqual(await client.next(), { t: "m", d: "hello from onOpen" });
  assert.equal(seen.opened, 1);
  client.ws.close(1000);
  await client.ws.closed;
  await eventually(() => seen.closes.length === 1, "onClose");
  assert.deepEqual(seen.closes, [{ code: 1000, wasClean: true }]);
});

Deno.test("a plain client on a resumable route gets the plain route; a plain route does not answer the resume protocol", async () => {
  const { app, seen } = createApp(freshTopic());
  const plain = await connect(app, "/ws");
  assert.equal(plain.protocol, "");
  assert.equal(await plain.nextMessage(), "hello from onOpen");
  plain.send("raw text");
  await eventually(() => seen.messages.length === 1, "the message");
  assert.equal(seen.messages[0], "raw text");
  plain.close(1000);
  await plain.closed;
  const other = new Hono().get("/p", upgradeWebSocket(() => ({})));
  const offered = await connect(other, "/p", { protocols: [RESUME_PROTOCOL, "chat"] });
  assert.equal(offered.protocol, "chat");
  offered.close(1000);
  await offered.closed;
});

Deno.test("client messages reach onMessage once each, in order, and are acknowledged cumulatively", async () => {
  const { app, seen } = createApp(freshTopic());
  const { client } = await hello(app, "/ws");
  await client.next(); // onOpen's message
  for (let i = 1; i <= 5; i++) client.send({ t: "m", i, d: `m${i}` });
  client.send({ t: "m", i: 6, b: "AAEC" });
  const acks = await client.until("ack");
  assert.deepEqual(acks.at(-1), { t: "ack", a: 6 });
  // Retries of what was handed over already are ignored.
  client.send({ t: "m", i: 3, d: "m3 again" });
  client.send({ t: "m", i: 6, d: "m6 again" });
  client.send({ t: "m", i: 7, d: "m7" });
  assert.deepEqual(await client.next(), { t: "ack", a: 7 });
  assert.deepEqual(seen.messages.slice(0, 5), ["m1", "m2", "m3", "m4", "m5"]);
  assert.deepEqual(new Uint8Array(seen.messages[5] as ArrayBuffer), new Uint8Array([0, 1, 2]));
  assert.deepEqual(seen.messages.slice(6), ["m7"]);
  client.send({ t: "ping" });
  assert.deepEqual(await client.next(), { t: "pong" });
  client.ws.close(1000);
  await client.ws.closed;
});

Deno.test("a message id that skips ahead closes with 1002 and ends the session", async () => {
  const { app, seen } = createApp(freshTopic());
  const { client } = await hello(app, "/ws");
  client.send({ t: "m", i: 2, d: "skipped one" });
  const closed = await client.ws.closed;
  assert.equal(closed.code, 1002);
  assert.equal(closed.reason, "Message id out of order");
  await eventually(() => seen.closes.length === 1, "onClose");
  assert.equal(seen.errors.length, 1);
  assert.equal((seen.errors[0] as { code: number }).code, 1002);
});

Deno.test("protocol errors close with their code and reason, and never reach onMessage", async () => {
  const { app, seen } = createApp(freshTopic(), { helloTimeout: 50 });
  const cases: Array<[unknown, number, string]> = [
    ["{not json", 1002, "Frame is not JSON"],
    [{ t: "m", i: 1, d: "x" }, 1002, "Message before welcome"],
    [{ t: "nope" }, 1002, "Unknown frame type"],
    [{ t: "hello", v: 1, s: "x".repeat(129), p: {} }, 1008, "Token too long"],
    [
      {
        t: "hello",
        v: 1,
        s: null,
        p: Object.fromEntries(Array.from({ length: 1025 }, (_, i) => [`t${i}`, ["e", 0]])),
      },
      1008,
      "Too many topics in hello",
    ],
  ];
  for (const [frame, code, reason] of cases) {
    const client = await openRaw(app, "/ws");
    client.send(frame);
    const closed = await client.ws.closed;
    assert.deepEqual([closed.code, closed.reason], [code, reason], JSON.stringify(frame));
  }
  const binary = await openRaw(app, "/ws");
  binary.ws.send(new Uint8Array([1]));
  assert.equal((await binary.ws.closed).code, 1003);
  const silent = await openRaw(app, "/ws");
  assert.deepEqual(await silent.ws.closed, {
    code: 1008,
    reason: "No hello in time",
    wasClean: true,
  });
  const twice = await hello(app, "/ws");
  twice.client.send({ t: "hello", v: 1, s: null, p: {} });
  await twice.client.until("hello").catch(() => {});
  assert.equal((await twice.client.ws.closed).code, 1002);
  assert.deepEqual(seen.messages, []);
});

Deno.test("a resumed session keeps ws, ws.id, ws.data and topics, and replays what it missed once, in order", async () => {
  const topic = freshTopic();
  const { app, seen } = createApp(topic);
  const first = await hello(app, "/ws", { headers: { "x-user": "ada" } });
  const token = first.welcome.s as string;
  const epoch = (first.welcome.p as Record<string, { e: string; o: number }>)[topic].e;
  await first.client.next();
  publish(topic, "p1");
  assert.deepEqual(await first.client.next(), { t: "pub", c: topic, e: epoch, o: 1, d: "p1" });
  first.client.send({ t: "m", i: 1, d: "one" });
  assert.deepEqual(await first.client.next(), { t: "ack", a: 1 });
  const [ws] = seen.sockets;
  const id = ws.id;
  // The network drops: no close frame.
  first.client.ws.connection.terminate();
  await first.client.ws.closed;
  await eventually(() => ws.readyState === 0, "the session to wait");
  assert.deepEqual(seen.closes, [], "onClose waits for the session to end");
  publish(topic, "p2");
  publish(topic, new Uint8Array([7]));
  ws.send("lost: ws.send() is not resumed");
  const second = await hello(app, "/ws", {
    token,
    positions: { [topic]: [epoch, 1] },
    headers: { "x-user": "ada" },
  });
  assert.equal(second.welcome.s, token);
  assert.equal(second.welcome.recovered, true);
  assert.equal(second.welcome.a, 1);
  assert.deepEqual(second.welcome.p, { [topic]: { e: epoch, o: 1, recovered: true } });
  assert.deepEqual(await second.client.next(), { t: "pub", c: topic, e: epoch, o: 2, d: "p2" });
  assert.deepEqual(await second.client.next(), { t: "pub", c: topic, e: epoch, o: 3, b: "Bw==" });
  publish(topic, "p4");
  assert.deepEqual(await second.client.next(), { t: "pub", c: topic, e: epoch, o: 4, d: "p4" });
  assert.equal(seen.opened, 1, "onOpen ran once");
  assert.equal(seen.sockets.size, 1);
  assert.equal(ws.id, id);
  assert.deepEqual(ws.data, { user: "ada" });
  assert.deepEqual([...ws.topics], [topic]);
  assert.equal(ws.readyState, 1);
  // Its own publication comes back as a position only.
  second.client.send({ t: "m", i: 2, d: "publish" });
  const frames = await second.client.until("pub");
  assert.deepEqual(frames.at(-1), { t: "pub", c: topic, e: epoch, o: 5 });
  second.client.ws.close(1000);
  await second.client.ws.closed;
  await eventually(() => seen.closes.length === 1, "onClose");
});

Deno.test("a forged or foreign token gets a fresh session and recovered: false, and leaves the session alone", async () => {
  const topic = freshTopic();
  const { app, seen } = createApp(topic);
  const owner = await hello(app, "/ws", { headers: { "x-user": "ada" } });
  await owner.client.next();
  const forged = await hello(app, "/ws", { token: "A".repeat(43), headers: { "x-user": "ada" } });
  assert.equal(forged.welcome.recovered, false);
  assert.notEqual(forged.welcome.s, owner.welcome.s);
  const foreign = await hello(app, "/ws", {
    token: owner.welcome.s as string,
    headers: { "x-user": "mallory" },
  });
  assert.equal(foreign.welcome.recovered, false);
  assert.notEqual(foreign.welcome.s, owner.welcome.s);
  assert.equal(seen.opened, 3);
  // The owner's socket is still connected and gets its messages.
  publish(topic, "still yours");
  assert.equal((await owner.client.next()).d, "still yours");
  const byPath = await hello(app, "/ws?other=1", {
    token: owner.welcome.s as string,
    headers: { "x-user": "ada" },
  });
  assert.equal(byPath.welcome.recovered, true, "the query is not part of the binding");
  assert.equal((await owner.client.ws.closed).code, 4000, "the stale socket is replaced");
  for (const c of [forged.client, foreign.client, byPath.client]) {
    c.ws.close(1000);
    await c.ws.closed;
  }
});

Deno.test("a client away longer than retention gets recovered: false; onClose ran when it expired", async () => {
  const topic = freshTopic();
  const { app, seen } = createApp(topic, { retention: 50 });
  const first = await hello(app, "/ws");
  const epoch = (first.welcome.p as Record<string, { e: string }>)[topic].e;
  first.client.ws.connection.terminate();
  await first.client.ws.closed;
  await eventually(() => seen.closes.length === 1, "the session to expire");
  assert.deepEqual(seen.closes, [{ code: 1006, wasClean: false }]);
  publish(topic, "while away");
  const second = await hello(app, "/ws", {
    token: first.welcome.s as string,
    positions: { [topic]: [epoch, 0] },
  });
  assert.equal(second.welcome.recovered, false);
  // The history still reaches back, so the new session's topic recovers.
  assert.deepEqual(second.welcome.p, { [topic]: { e: epoch, o: 0, recovered: true } });
  // onOpen subscribed (the replay) before it sent its message.
  assert.equal((await second.client.next()).d, "while away");
  assert.equal((await second.client.next()).d, "hello from onOpen");
  second.client.ws.close(1000);
  await second.client.ws.closed;
});

Deno.test("a position history no longer covers, or of another epoch, is recovered: false with the current position", async () => {
  const topic = freshTopic();
  const { app } = createApp(topic);
  publish(topic, "one");
  const { epoch, offset } = history.position(topic);
  const other = await hello(app, "/ws", { positions: { [topic]: ["another-epoch", 0] } });
  assert.deepEqual(other.welcome.p, { [topic]: { e: epoch, o: offset, recovered: false } });
  const ahead = await hello(app, "/ws", { positions: { [topic]: [epoch, offset + 5] } });
  assert.deepEqual(ahead.welcome.p, { [topic]: { e: epoch, o: offset, recovered: false } });
  for (const c of [other.client, ahead.client]) {
    c.ws.close(1000);
    await c.ws.closed;
  }
});

Deno.test("subscribe and unsubscribe after the welcome send sub and unsub frames", async () => {
  const topic = freshTopic();
  const { app } = createApp(topic);
  const { client } = await hello(app, "/ws?plain=1");
  await client.next();
  client.send({ t: "m", i: 1, d: "unsubscribe" });
  const frames = await client.until("unsub");
  assert.deepEqual(frames.at(-1), { t: "unsub", c: topic });
  publish(`plain-${topic}`, "not resumable");
  const plain = await client.until("m");
  assert.deepEqual(plain.at(-1), { t: "m", c: `plain-${topic}`, d: "not resumable" });
  client.ws.close(1000);
  await client.ws.closed;
});

Deno.test("ws.close() from the app ends the session with its code", async () => {
  const { app, seen } = createApp(freshTopic());
  const { client } = await hello(app, "/ws");
  client.send({ t: "m", i: 1, d: "close" });
  const closed = await client.ws.closed;
  assert.deepEqual([closed.code, closed.reason], [4001, "asked"]);
  await eventually(() => seen.closes.length === 1, "onClose");
  assert.equal(seen.closes[0].code, 4001);
});

Deno.test("a handler that throws reaches onError; the session goes on", async () => {
  const { app, seen } = createApp(freshTopic());
  const { client } = await hello(app, "/ws");
  await client.next();
  client.send({ t: "m", i: 1, d: "throw" });
  client.send({ t: "m", i: 2, d: "after" });
  assert.deepEqual((await client.until("ack")).at(-1), { t: "ack", a: 2 });
  assert.equal((seen.errors[0] as Error).message, "handler threw");
  client.ws.close(1000);
  await client.ws.closed;
});

Deno.test("resume.maxWaitingSessions bounds the sessions waiting for their client: the oldest ends", async () => {
  const { app, seen } = createApp(freshTopic(), { maxWaitingSessions: 2 });
  const tokens: string[] = [];
  for (let i = 0; i < 3; i++) {
    const { client, welcome } = await hello(app, "/ws");
    tokens.push(welcome.s as string);
    client.ws.connection.terminate();
    await client.ws.closed;
    await eventually(() => seen.sockets.size === i + 1, "the session");
  }
  await eventually(() => seen.closes.length === 1, "the oldest to end");
  assert.deepEqual(seen.closes, [{ code: 1006, wasClean: false }]);
  const oldest = await hello(app, "/ws", { token: tokens[0] });
  assert.equal(oldest.welcome.recovered, false);
  const newest = await hello(app, "/ws", { token: tokens[2] });
  assert.equal(newest.welcome.recovered, true);
  const middle = await hello(app, "/ws", { token: tokens[1] });
  assert.equal(middle.welcome.recovered, true);
  for (const c of [oldest.client, newest.client, middle.client]) {
    c.ws.close(1000);
    await c.ws.closed;
  }
});

Deno.test("the route's onError option hears what a handler of a resumable session throws, for both forms", async () => {
  const reported: unknown[] = [];
  const app = new Hono().get(
    "/ws",
    upgradeWebSocket(() => ({
      onMessage(e, ws) {
        if (e.data === "throw") throw new Error("sync");
        if (e.data === "reject") return Promise.reject(new Error("async"));
        ws.send(`echo ${e.data}`);
      },
    }), { resume: { identify: () => "u" }, onError: (error) => void reported.push(error) }),
  );
  const { client } = await hello(app, "/ws");
  client.send({ t: "m", i: 1, d: "throw" });
  client.send({ t: "m", i: 2, d: "reject" });
  client.send({ t: "m", i: 3, d: "after" });
  // The session goes on: the third message is echoed.
  const frames = await client.until("m");
  assert.deepEqual(frames.at(-1), { t: "m", d: "echo after" });
  await eventually(() => reported.length === 2, "both errors reported");
  assert.deepEqual(reported.map((e) => (e as Error).message), ["sync", "async"]);
  client.ws.close(1000);
  await client.ws.closed;
});
