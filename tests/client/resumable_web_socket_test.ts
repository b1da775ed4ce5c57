/**
 * ResumableWebSocket under Deno with Deno's own WebSocket, against a
 * resumable route on Deno's native server, through the fault proxy.
 */
import assert from "node:assert/strict";
import { Hono } from "hono";
import { publish, upgradeWebSocket } from "../../mod.ts";
import {
  type ResumableMessageEvent,
  ResumableWebSocket,
  type ResumableWebSocketOptions,
  type ResumedEvent,
} from "../../src/client/mod.ts";
import { FaultProxy } from "../_util/fault_proxy.ts";
import { startResumeServer } from "./_resume_server.ts";

const FAST: ResumableWebSocketOptions = { minDelay: 5, maxDelay: 50, pingInterval: 60_000 };

function nextEvent<E extends Event>(target: EventTarget, type: string, ms = 5000): Promise<E> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${type} event in ${ms} ms`)), ms);
    target.addEventListener(type, (e) => {
      clearTimeout(timer);
      resolve(e as E);
    }, { once: true });
  });
}

async function waitFor(check: () => boolean, what: string, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function closeClient(socket: ResumableWebSocket): Promise<void> {
  if (socket.readyState === 3) return;
  const closed = nextEvent(socket, "close");
  socket.close();
  await closed;
}

Deno.test("ResumableWebSocket opens, sends, and gets publications with their topic", async () => {
  const server = startResumeServer();
  const socket = new ResumableWebSocket(server.url + "?topic=client-test:a", FAST);
  await nextEvent(socket, "open");
  assert.equal(socket.readyState, 1);
  socket.send("hi");
  await waitFor(() => server.log.messages.includes("hi"), "the message");
  await waitFor(() => socket.bufferedAmount === 0, "the ack");
  const got = nextEvent<ResumableMessageEvent>(socket, "message");
  publish("client-test:a", "news");
  const event = await got;
  assert.equal(event.data, "news");
  assert.equal(event.topic, "client-test:a");
  const binary = nextEvent<ResumableMessageEvent>(socket, "message");
  socket.send("echo-binary");
  const bytes = await binary;
  assert.ok(bytes.data instanceof ArrayBuffer);
  assert.deepEqual(new Uint8Array(bytes.data), new Uint8Array([1, 2, 3]));
  assert.equal(bytes.topic, undefined);
  await closeClient(socket);
  await waitFor(() => server.log.closes.length === 1, "the session's end");
  assert.deepEqual(server.log.closes, [1000]);
  await server.close();
});

Deno.test("ResumableWebSocket resends what was not acknowledged after a cut; onMessage gets each once", async () => {
  const server = startResumeServer();
  const topic = "client-test:cut";
  const socket = new ResumableWebSocket(`${server.url}?topic=${topic}`, FAST);
  const received: string[] = [];
  socket.onmessage = (e) => void received.push(e.data as string);
  await nextEvent(socket, "open");
  for (let i = 0; i < 50; i++) socket.send(`a${i}`);
  server.proxy.cutAll();
  // Sent while the connection is gone: queued.
  for (let i = 50; i < 100; i++) socket.send(`a${i}`);
  publish(topic, "missed");
  const resumed = await nextEvent<ResumedEvent>(socket, "resumed");
  assert.equal(resumed.recovered, true);
  assert.equal(resumed.session, true);
  assert.deepEqual(resumed.topics, { [topic]: true });
  await waitFor(() => server.log.messages.length >= 100 && socket.bufferedAmount === 0, "all 100");
  assert.deepEqual(server.log.messages, Array.from({ length: 100 }, (_, i) => `a${i}`));
  await waitFor(() => received.length === 1, "the missed publication");
  assert.deepEqual(received, ["missed"]);
  assert.equal(server.log.opens, 1);
  await closeClient(socket);
  await server.close();
});

Deno.test('a resumable route with binaryType "uint8array" hands views, after a resume too', async () => {
  const server = startResumeServer();
  const socket = new ResumableWebSocket(server.bytesUrl, FAST);
  await nextEvent(socket, "open");
  socket.send(new Uint8Array([1, 2, 3]));
  await waitFor(() => server.log.binary.length === 1, "the first message");
  server.proxy.cutAll();
  socket.send(new Uint8Array([4, 5]));
  await nextEvent<ResumedEvent>(socket, "resumed");
  await waitFor(() => server.log.binary.length === 2, "the message sent while cut");
  assert.deepEqual(server.log.binary, ["uint8array:view:1,2,3", "uint8array:view:4,5"]);
  await closeClient(socket);
  await server.close();
});

Deno.test("ResumableWebSocket dispatches reconnecting with full-jitter delays, gives up, and reconnect() still works", async () => {
  const server = startResumeServer();
  const socket = new ResumableWebSocket(server.url, {
    ...FAST,
    maxRetries: 3,
    minDelay: 20,
    maxDelay: 40,
  });
  await nextEvent(socket, "open");
  const delays: number[] = [];
  socket.addEventListener(
    "reconnecting",
    (e) => void delays.push((e as Event & { delay: number }).delay),
  );
  server.proxy.refuse(true);
  const closed = nextEvent<Event & { code: number; reason: string }>(socket, "close");
  server.proxy.cutAll();
  socket.send("queued while reconnecting");
  const gaveUp = await closed;
  assert.equal(gaveUp.reason, "Gave up reconnecting");
  assert.equal(socket.readyState, 3);
  assert.equal(delays.length, 3);
  for (const [i, delay] of delays.entries()) {
    assert.ok(delay >= 0 && delay <= Math.min(40, 20 * 2 ** i), `delay ${i}: ${delay}`);
  }
  assert.throws(() => socket.send("after giving up"), DOMException);
  server.proxy.refuse(false);
  const resumed = nextEvent<ResumedEvent>(socket, "resumed");
  socket.reconnect();
  assert.equal((await resumed).recovered, true);
  await waitFor(
    () => server.log.messages.includes("queued while reconnecting"),
    "the queued message",
  );
  await closeClient(socket);
  await server.close();
});

Deno.test("ResumableWebSocket's heartbeat notices a silent connection and resumes", async () => {
  const server = startResumeServer();
  const socket = new ResumableWebSocket(server.url, {
    ...FAST,
    pingInterval: 50,
    pongTimeout: 100,
  });
  await nextEvent(socket, "open");
  server.proxy.blackhole = true;
  const reconnecting = nextEvent(socket, "reconnecting", 2000);
  await reconnecting;
  server.proxy.blackhole = false;
  const resumed = await nextEvent<ResumedEvent>(socket, "resumed");
  assert.equal(resumed.recovered, true);
  await closeClient(socket);
  await server.close();
});

Deno.test("ResumableWebSocket is told recovered: false when the session expired while it was away", async () => {
  const server = startResumeServer({ retention: 50 });
  const socket = new ResumableWebSocket(server.url, FAST);
  await nextEvent(socket, "open");
  server.proxy.refuse(true);
  server.proxy.cutAll();
  await waitFor(() => server.log.closes.length === 1, "the session to expire");
  server.proxy.refuse(false);
  const resumed = await nextEvent<ResumedEvent>(socket, "resumed");
  assert.equal(resumed.session, false);
  assert.equal(resumed.recovered, false);
  assert.equal(server.log.opens, 2);
  await closeClient(socket);
  await server.close();
});

Deno.test("ResumableWebSocket's queue: RangeError when full, or drop-oldest with a drop event", async () => {
  const server = startResumeServer();
  server.proxy.refuse(true);
  const strict = new ResumableWebSocket(server.url, { ...FAST, maxQueue: 2, maxRetries: 0 });
  strict.send("1");
  strict.send("2");
  assert.throws(() => strict.send("3"), RangeError);
  assert.throws(() => strict.send(new Blob(["x"]) as never), TypeError);
  const bytes = new ResumableWebSocket(server.url, { ...FAST, maxQueueBytes: 4, maxRetries: 0 });
  bytes.send("é"); // 2 bytes of UTF-8
  assert.throws(() => bytes.send("abc"), RangeError);
  assert.equal(bytes.bufferedAmount, 2);
  const lenient = new ResumableWebSocket(server.url, {
    ...FAST,
    maxQueue: 2,
    overflow: "drop-oldest",
    maxRetries: 0,
  });
  const dropped: unknown[] = [];
  lenient.addEventListener("drop", (e) => void dropped.push((e as Event & { data: unknown }).data));
  for (const m of ["1", "2", "3", "4"]) lenient.send(m);
  assert.deepEqual(dropped, ["1", "2"]);
  for (const s of [strict, bytes, lenient]) await closeClient(s);
  await server.close();
});

Deno.test("ResumableWebSocket with storage resumes the session of a reloaded page, its queue too", async () => {
  const server = startResumeServer();
  const topic = "client-test:reload";
  const map = new Map<string, string>();
  const storage = {
    getItem: (k: string) => map.get(k) ?? null,
    setItem: (k: string, v: string) => void map.set(k, v),
  };
  const before = new ResumableWebSocket(`${server.url}?topic=${topic}`, { ...FAST, storage });
  await nextEvent(before, "open");
  publish(topic, "seen before the reload");
  await nextEvent(before, "message");
  server.proxy.refuse(true);
  server.proxy.cutAll();
  before.send("sent offline");
  before.send(new Uint8Array([9, 8]));
  await new Promise((r) => setTimeout(r, 10));
  // The page goes away without a word; a new one starts from storage.
  before.reconnect = () => {};
  (before as unknown as { close: () => void }).close = () => {};
  publish(topic, "published during the reload");
  server.proxy.refuse(false);
  const after = new ResumableWebSocket(`${server.url}?topic=${topic}`, { ...FAST, storage });
  const received: unknown[] = [];
  after.onmessage = (e) => void received.push(e.data);
  const resumed = await nextEvent<ResumedEvent>(after, "resumed");
  assert.equal(resumed.recovered, true);
  await waitFor(
    () => received.length === 1 && server.log.messages.length === 2,
    "replay and resend",
  );
  assert.deepEqual(received, ["published during the reload"]);
  assert.equal(server.log.messages[0], "sent offline");
  assert.equal(server.log.opens, 1);
  await closeClient(after);
  await server.close();
});

// A plain route selects `edgesocket.plain`, offered after the resume
// protocol; one with its own list selects nothing, which Deno's WebSocket
// accepts (browsers fail such a handshake: hence the second offer).
for (const [path, protocol] of [["/plain", "edgesocket.plain"], ["/none", ""]]) {
  Deno.test(`ResumableWebSocket on a plain route that selects ${JSON.stringify(protocol)} falls back to a plain reconnecting socket, recovered: false at each reconnect`, async () => {
    const log = { messages: [] as string[], opens: 0 };
    const events = () => ({
      onOpen: (_e: Event, ws: { send(data: string): void }) => ws.send(`hello ${++log.opens}`),
      onMessage: (e: MessageEvent) => void log.messages.push(e.data as string),
    });
    const app = new Hono()
      .get("/plain", upgradeWebSocket(events))
      .get("/none", upgradeWebSocket(events, { protocols: [] }));
    const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, app.fetch);
    const proxy = FaultProxy.start({ target: { port: server.addr.port } });
    proxy.faults = false;
    const socket = new ResumableWebSocket(`ws://127.0.0.1:${proxy.port}${path}`, FAST);
    const received: unknown[] = [];
    socket.onmessage = (e) => void received.push(e.data, e.topic);
    const resumed: ResumedEvent[] = [];
    socket.addEventListener("resumed", (e) => void resumed.push(e as ResumedEvent));
    let errors = 0;
    socket.onerror = () => void errors++;
    await nextEvent(socket, "open");
    assert.equal(socket.protocol, protocol);
    assert.equal(socket.readyState, 1);
    socket.send("live");
    await waitFor(() => log.messages.length === 1 && received.length === 2, "a round trip");
    assert.deepEqual(received, ["hello 1", undefined]);
    for (let cut = 1; cut <= 2; cut++) {
      proxy.refuse(true);
      proxy.cutAll();
      await nextEvent(socket, "reconnecting");
      socket.send(`offline ${cut}`);
      assert.ok(socket.bufferedAmount > 0, "queued while disconnected");
      proxy.refuse(false);
      await waitFor(() => resumed.length === cut, "the reconnect");
      await waitFor(() => log.messages.length === cut + 1, "the queued message");
    }
    assert.deepEqual(log.messages, ["live", "offline 1", "offline 2"]);
    assert.deepEqual(
      resumed.map((e) => [e.recovered, e.session, e.topics]),
      [[false, false, {}], [false, false, {}]],
    );
    await waitFor(() => received.length === 6, "each connection's greeting");
    assert.deepEqual(received.filter((d) => d !== undefined), ["hello 1", "hello 2", "hello 3"]);
    assert.equal(socket.bufferedAmount, 0);
    assert.equal(errors, 0);
    await closeClient(socket);
    await proxy.close();
    await server.shutdown();
  });
}

Deno.test("ResumableWebSocket closes for good when the app ends the session", async () => {
  const server = startResumeServer();
  const socket = new ResumableWebSocket(server.url, FAST);
  await nextEvent(socket, "open");
  const closed = nextEvent<Event & { code: number; reason: string }>(socket, "close");
  socket.send("end");
  const event = await closed;
  assert.deepEqual([event.code, event.reason], [1000, "done"]);
  assert.equal(socket.readyState, 3);
  assert.throws(() => socket.send("x"), DOMException);
  await server.close();
});
