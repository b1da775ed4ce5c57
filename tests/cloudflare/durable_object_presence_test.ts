/**
 * DurableObjectWebSockets.presence on real workerd (`wrangler dev`), through
 * real sockets: tests/fixtures/durable_object_presence_worker.ts, one object
 * per room. The eviction is real: workerd drops an object 10 s after its
 * last event when only hibernatable sockets are left; the fixture numbers
 * its instances, so the test waits (bounded) until the number changes.
 */
import assert from "node:assert/strict";
import WebSocket from "ws";
import { bundleWorker, ROOT, type ServerProcess, startWrangler } from "../_util/server_process.ts";
import { openWs, type WsClient } from "../parity/_ws_client.ts";

// deno-lint-ignore no-explicit-any
type Json = any;

let server: ServerProcess | undefined;
let port = 0;
let scratch = "";
const CONFIG = `${ROOT}tests/fixtures/durable_object_presence_wrangler.toml`;

function test(name: string, fn: () => Promise<void>): void {
  Deno.test({ name, sanitizeOps: false, sanitizeResources: false, fn });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function next(client: WsClient): Promise<Json> {
  return JSON.parse((await client.next()).data as string);
}

/** Opens a socket in `room` as `user` and reads its welcome. */
async function join(
  room: string,
  user: string,
  query = "",
): Promise<WsClient & { welcome: Json }> {
  const client = await openWs(port, `/room/${room}?user=${encodeURIComponent(user)}${query}`);
  const welcome = await next(client);
  assert.equal(welcome.type, "welcome");
  return Object.assign(client, { welcome });
}

async function ask(client: WsClient, command: string): Promise<Json> {
  client.ws.send(command);
  return await next(client);
}

/** The next presence event a socket in "room" is sent: `"join ada"`, `"leave side bo"`. */
async function event(client: WsClient): Promise<string> {
  const { type, event } = await next(client);
  assert.equal(type, "event");
  const topic = event.topic === "room" ? "" : ` ${event.topic}`;
  assert.equal(event.local, true);
  return `${event.type}${topic} ${event.member.meta?.name ?? JSON.stringify(event.member.meta)}`;
}

const names = (members: Json[]) => members.map((m) => m.meta.name);

async function closeAll(...clients: WsClient[]): Promise<void> {
  for (const c of clients) if (c.ws.readyState === WebSocket.OPEN) c.ws.close(1000);
  await Promise.all(clients.map((c) => c.closed));
}

test("DurableObjectWebSockets.presence: wrangler dev starts the fixture", async () => {
  scratch = await Deno.makeTempDir({ prefix: "edgesocket-do-presence-" });
  // Bundled once, then served as is: `wrangler dev` reloads on source changes.
  await bundleWorker(CONFIG, `${scratch}/bundle`);
  server = await startWrangler([
    `${scratch}/bundle/durable_object_presence_worker.js`,
    "--no-bundle",
    "--config",
    CONFIG,
    "--persist-to",
    `${scratch}/state`,
  ]);
  port = server.port;
});

test("DurableObjectWebSockets.presence: members with metadata, oldest first; join and leave events on leave(), unsubscribe and close", async () => {
  const ada = await join("lobby", "ada");
  assert.deepEqual(names(ada.welcome.online), ["ada"]);
  assert.equal(typeof ada.welcome.online[0].id, "string");
  assert.equal(await event(ada), "join ada");
  const bo = await join("lobby", "bo");
  assert.deepEqual(names(bo.welcome.online), ["ada", "bo"]);
  assert.equal(await event(ada), "join bo");
  assert.equal(await event(bo), "join bo");
  // A socket may be in other topics with other metadata; joining subscribes.
  const side = await ask(bo, 'join:side:{"name":"bo","tabs":[1,2]}');
  assert.deepEqual(side.member.meta, { name: "bo", tabs: [1, 2] });
  assert.deepEqual(side.topics.sort(), ["room", "side"]);
  assert.equal(await event(ada), "join side bo");
  assert.equal(await event(bo), "join side bo");
  // Joining again keeps the first membership.
  assert.deepEqual((await ask(bo, 'join:side:{"name":"other"}')).member, side.member);
  assert.deepEqual((await ask(ada, "list:side")).members, [side.member]);
  // leave() ends it, the subscription stays.
  assert.deepEqual((await ask(bo, "leave:side")).topics.sort(), ["room", "side"]);
  assert.equal(await event(ada), "leave side bo");
  assert.equal(await event(bo), "leave side bo");
  assert.deepEqual((await ask(ada, "list:side")).members, []);
  // Unsubscribing from the room ends bo's membership there.
  const cy = await join("lobby", "cy");
  assert.equal(await event(ada), "join cy");
  assert.equal(await event(bo), "join cy");
  assert.deepEqual(await ask(bo, "unsub:room"), { type: "unsubscribed" });
  assert.equal(await event(ada), "leave bo");
  assert.equal(await event(cy), "join cy");
  assert.equal(await event(cy), "leave bo");
  assert.deepEqual(names((await ask(cy, "list:room")).members), ["ada", "cy"]);
  // A close ends every membership of the socket.
  ada.ws.close(1000);
  assert.equal(await event(cy), "leave ada");
  assert.deepEqual(names((await ask(cy, "list:room")).members), ["cy"]);
  // Another room is another object.
  const eve = await join("other", "eve");
  assert.deepEqual(names(eve.welcome.online), ["eve"]);
  await closeAll(ada, bo, cy, eve);
});

test("DurableObjectWebSockets.presence.join() refuses metadata over 1,024 bytes and an attachment over the runtime's limit with a RangeError", async () => {
  const ada = await join("limits", "ada", "&join=0");
  assert.deepEqual(ada.welcome.online, []);
  const big = await ask(ada, `join:room:${JSON.stringify("x".repeat(1100))}`);
  assert.deepEqual({ name: big.name, message: big.message }, {
    name: "RangeError",
    message: "Presence metadata must be at most 1024 bytes of JSON",
  });
  // Under the metadata limit, but 16 topics of it pass the attachment's 16,384 bytes.
  const meta = JSON.stringify("y".repeat(1000));
  let refused: Json;
  for (let i = 0; i < 20 && !refused; i++) {
    const answer = await ask(ada, `join:t${i}:${meta}`);
    if (answer.type === "error") refused = answer;
  }
  assert.equal(refused?.name, "RangeError");
  assert.match(refused.message, /WebSocket attachment is too large/);
  assert.deepEqual((await ask(ada, "list:room")).members, []);
  await closeAll(ada);
});

test("DurableObjectWebSockets.presence: members and metadata survive the object leaving memory; a close after the wake is a leave", async () => {
  const ada = await join("sleepy", "ada");
  await event(ada);
  const bo = await join("sleepy", "bo");
  await event(ada);
  await event(bo);
  const before = await ask(ada, "whoami");
  const listed = (await ask(ada, "list:room")).members;
  // Bounded: up to 4 quiet spells of 12 s, each longer than workerd's 10 s.
  let now = before;
  for (let round = 0; round < 4 && now.instance === before.instance; round++) {
    await sleep(12_000);
    now = await ask(ada, "whoami");
  }
  assert.equal(now.instance, before.instance + 1, "the object was evicted");
  assert.deepEqual((await ask(ada, "list:room")).members, listed);
  // The new instance's watchers hear bo leave, with bo's metadata.
  bo.ws.close(1000);
  const { event: left, instance } = await next(ada);
  assert.equal(instance, now.instance);
  assert.deepEqual([left.type, left.member], ["leave", listed[1]]);
  assert.deepEqual(names((await ask(ada, "list:room")).members), ["ada"]);
  await closeAll(ada, bo);
});

test("DurableObjectWebSockets.presence: wrangler dev stops", async () => {
  await server?.stop();
  if (scratch) await Deno.remove(scratch, { recursive: true }).catch(() => {});
});
