/**
 * DurableObjectWebSockets on real workerd (`wrangler dev`), through real
 * sockets: tests/fixtures/durable_object_worker.ts, one object per room.
 *
 * Hibernation is real, not simulated: workerd evicts an object 10 s after
 * its last event when only hibernatable sockets are left (and the next event
 * builds a new instance). The fixture numbers its instances, so a test waits
 * (bounded) until the number changes and then checks what survived.
 */
import assert from "node:assert/strict";
import WebSocket from "ws";
import { bundleWorker, ROOT, type ServerProcess, startWrangler } from "../_util/server_process.ts";
import { openWs, within, type WsClient } from "../parity/_ws_client.ts";

// deno-lint-ignore no-explicit-any
type Json = any;

let server: ServerProcess | undefined;
let port = 0;
let scratch = "";
const CONFIG = `${ROOT}tests/fixtures/durable_object_wrangler.toml`;

function test(name: string, fn: () => Promise<void>): void {
  Deno.test({ name, sanitizeOps: false, sanitizeResources: false, fn });
}

async function next(client: WsClient): Promise<Json> {
  const { data } = await client.next();
  return typeof data === "string" && data.startsWith("{") ? JSON.parse(data) : data;
}

/** Opens a socket in `room` as `user` and reads its welcome. */
async function join(room: string, user: string): Promise<WsClient & { welcome: Json }> {
  const client = await openWs(port, `/room/${room}?user=${encodeURIComponent(user)}`, {
    protocols: ["chat"],
  });
  const welcome = await next(client);
  assert.equal(welcome.type, "welcome");
  return Object.assign(client, { welcome });
}

async function ask(client: WsClient, command: string): Promise<Json> {
  client.ws.send(command);
  return await next(client);
}

async function closeAll(...clients: WsClient[]): Promise<void> {
  for (const c of clients) if (c.ws.readyState === WebSocket.OPEN) c.ws.close(1000);
  await Promise.all(clients.map((c) => c.closed));
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test("DurableObjectWebSockets: wrangler dev starts the fixture", async () => {
  scratch = await Deno.makeTempDir({ prefix: "edgesocket-do-" });
  // Bundled once, then served as is: `wrangler dev` reloads (and drops every
  // socket) whenever a source file changes, which would cut the long
  // hibernation test short while the tree is being edited.
  await bundleWorker(CONFIG, `${scratch}/bundle`);
  server = await startWrangler([
    `${scratch}/bundle/durable_object_worker.js`,
    "--no-bundle",
    "--config",
    CONFIG,
    "--persist-to",
    `${scratch}/state`,
  ]);
  port = server.port;
});

test("DurableObjectWebSockets: two clients in one room talk; onOpen, onMessage and onClose run", async () => {
  const ada = await join("lobby", "ada");
  assert.deepEqual(ada.welcome.online, ["ada"]);
  assert.deepEqual(ada.welcome.topics, ["room"]);
  assert.equal(ada.welcome.protocol, "chat");
  assert.equal(ada.welcome.path, "/room/lobby");
  assert.equal(ada.headers["sec-websocket-protocol"], "chat");
  const bob = await join("lobby", "bob");
  assert.deepEqual([...bob.welcome.online].sort(), ["ada", "bob"]);
  // onOpen's ws.publish reaches the others, not the sender.
  assert.deepEqual(await next(ada), { type: "join", user: "bob" });
  ada.ws.send("hello bob");
  assert.deepEqual(await next(bob), { type: "message", from: "ada", text: "hello bob" });
  bob.ws.send("hi ada");
  assert.deepEqual(await next(ada), { type: "message", from: "bob", text: "hi ada" });
  // Nothing of her own came back to ada: her next message is the answer.
  const me = await ask(ada, "whoami");
  assert.equal(me.type, "whoami");
  assert.deepEqual(me.data, { user: "ada", said: 1 });
  // An app route of the object counts the room; the tags agree.
  const stats = await (await fetch(`http://127.0.0.1:${port}/stats/lobby`)).json();
  assert.equal(stats.subscribers, 2);
  assert.equal(stats.tagged, 2);
  bob.ws.close(1000, "done");
  assert.deepEqual(await bob.closed, { code: 1000, reason: "done" });
  assert.deepEqual(await next(ada), { type: "leave", user: "bob", code: 1000 });
  // Another room is another object: nothing crosses.
  const eve = await join("other", "eve");
  assert.deepEqual(eve.welcome.online, ["eve"]);
  await closeAll(ada, eve);
});

test("DurableObjectWebSockets: subscribe, unsubscribe and ws.publish skip the sender", async () => {
  const ada = await join("topics", "ada");
  const bob = await join("topics", "bob");
  await next(ada); // bob's join
  assert.deepEqual(await ask(bob, "sub:news"), { type: "subscribed", topic: "news", count: 1 });
  assert.deepEqual(await ask(ada, "sub:news"), { type: "subscribed", topic: "news", count: 2 });
  assert.deepEqual(await ask(ada, "pub:news:extra"), { type: "published", sent: 1 });
  assert.deepEqual(await next(bob), { type: "pub", topic: "news", text: "extra" });
  assert.deepEqual(await ask(bob, "unsub:news"), { type: "unsubscribed", topic: "news", count: 1 });
  assert.deepEqual(await ask(ada, "pub:news:nobody"), { type: "published", sent: 0 });
  // The initial topic can be left too, though its tag stays.
  assert.deepEqual(await ask(bob, "unsub:room"), { type: "unsubscribed", topic: "room", count: 1 });
  ada.ws.send("only me");
  assert.deepEqual((await ask(bob, "whoami")).topics, []);
  // An HTTP route publishes to the room from outside any socket.
  const response = await fetch(`http://127.0.0.1:${port}/publish/topics`, {
    method: "POST",
    body: "from http",
  });
  assert.deepEqual(await response.json(), { sent: 1 });
  assert.equal(await next(ada), "from http");
  await closeAll(ada, bob);
});

test("DurableObjectWebSockets: errors, ws.close() and maxMessageSize", async () => {
  const ada = await join("errors", "ada");
  const bob = await join("errors", "bob");
  await next(ada);
  // A throwing handler reaches onError; the socket stays open.
  assert.deepEqual(await ask(ada, "throw"), { type: "error", message: "boom" });
  assert.equal((await ask(ada, "whoami")).type, "whoami");
  // ws.close() from a handler: the client sees the code, onClose runs once.
  ada.ws.send("close");
  assert.deepEqual(await ada.closed, { code: 4000, reason: "bye" });
  assert.deepEqual(await next(bob), { type: "leave", user: "ada", code: 4000 });
  // Over maxMessageSize (1,024 bytes): 1009, as on every runtime.
  bob.ws.send("x".repeat(1025));
  assert.deepEqual(await bob.closed, { code: 1009, reason: "Message too big" });
});

test("DurableObjectWebSockets: ws.data too large for the attachment refuses the upgrade", async () => {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/room/big?user=big&pad=20000`, ["chat"]);
  type Res = { statusCode: number; on(event: string, fn: (chunk?: Uint8Array) => void): void };
  const [status, body] = await within(
    new Promise<[number, string]>((resolve, reject) => {
      ws.on("unexpected-response", (_req: unknown, res: Res) => {
        let text = "";
        res.on("data", (chunk) => (text += new TextDecoder().decode(chunk)));
        res.on("end", () => resolve([res.statusCode, text]));
      });
      ws.on("open", () => reject(new Error("the upgrade was accepted")));
      ws.on("error", () => {});
    }),
    "the refused upgrade",
  );
  ws.terminate();
  assert.equal(status, 500);
  assert.match(body, /^RangeError: WebSocket attachment is too large for ws.data/);
});

test("DurableObjectWebSockets: the auto-response answers ping without running onMessage", async () => {
  const ada = await join("pings", "ada");
  const before = await ask(ada, "whoami");
  assert.equal(before.autoResponseAt, null);
  assert.equal(await ask(ada, "ping"), "pong");
  const after = await ask(ada, "whoami");
  assert.equal(typeof after.autoResponseAt, "number");
  // Only the two whoami ran the handler: the ping never reached it.
  assert.equal(after.handled, before.handled + 1);
  assert.equal(after.instance, before.instance);
  await closeAll(ada);
});

test("DurableObjectWebSockets: ws.data and topics survive hibernation; pings do not wake the object", async () => {
  // A binaryType "uint8array" route, in a room of its own: its views too
  // come back from the attachment. Opened first: every new object takes
  // the next instance number, and ada's must be the last one made.
  const carol = await openWs(port, "/bytes/sleepy-bytes?user=carol");
  assert.equal((await next(carol)).type, "welcome");
  carol.ws.send(new Uint8Array(3));
  assert.deepEqual(await next(carol), { type: "binary", view: true, length: 3 });
  const carolBefore = await ask(carol, "whoami");
  const ada = await join("sleepy", "ada");
  const bob = await join("sleepy", "bob");
  await next(ada);
  ada.ws.send("one"); // ada's ws.data.said becomes 1
  assert.deepEqual(await next(bob), { type: "message", from: "ada", text: "one" });
  // Subscribed after the accept: in the attachment, not in the tags.
  await ask(bob, "sub:late");
  const before = await ask(ada, "whoami");
  assert.deepEqual(before.data, { user: "ada", said: 1 });

  // Ping through the quiet time: auto-responses must not keep the object
  // awake. workerd evicts 10 s after the last event; each probe is an event,
  // so each round waits longer than that. Bounded: 6 rounds.
  let now = before;
  let lastPong = before.autoResponseAt ?? 0;
  for (let round = 0; round < 6 && now.instance === before.instance; round++) {
    for (let i = 0; i < 12; i++) {
      assert.equal(await ask(ada, "ping"), "pong");
      await sleep(1000);
    }
    now = await ask(ada, "whoami");
    assert.ok(now.autoResponseAt > lastPong, "the pings were answered");
    lastPong = now.autoResponseAt;
  }
  // A new instance: the object left memory, and exactly once (the probe woke
  // it; no ping did).
  assert.equal(now.instance, before.instance + 1);
  // Its memory is new: this probe is the first message it handled …
  assert.equal(now.handled, 1);
  // … but each socket's data and topics came back from its attachment.
  assert.deepEqual(now.data, { user: "ada", said: 1 });
  assert.deepEqual(now.topics, ["room"]);
  const bobNow = await ask(bob, "whoami");
  assert.equal(bobNow.instance, now.instance);
  assert.deepEqual(bobNow.data, { user: "bob", said: 0 });
  assert.deepEqual(bobNow.topics, ["late", "room"]);
  // Publishing after the wake finds the late subscriber, and the room.
  assert.deepEqual(await ask(ada, "pub:late:after"), { type: "published", sent: 1 });
  assert.deepEqual(await next(bob), { type: "pub", topic: "late", text: "after" });
  ada.ws.send("two");
  assert.deepEqual(await next(bob), { type: "message", from: "ada", text: "two" });
  assert.deepEqual((await ask(ada, "whoami")).data, { user: "ada", said: 2 });
  // onClose after the wake still knows who left.
  ada.ws.close(1000);
  assert.deepEqual(await next(bob), { type: "leave", user: "ada", code: 1000 });
  // Carol's object was evicted as well (a new instance answers), and her
  // socket still gets views.
  carol.ws.send(new Uint8Array(5));
  assert.deepEqual(await next(carol), { type: "binary", view: true, length: 5 });
  assert.notEqual((await ask(carol, "whoami")).instance, carolBefore.instance);
  await closeAll(ada, bob, carol);
});

test("DurableObjectWebSockets: wrangler dev stops", async () => {
  await server?.stop();
  if (scratch) await Deno.remove(scratch, { recursive: true }).catch(() => {});
});
