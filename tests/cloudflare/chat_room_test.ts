/**
 * The demo Worker sharded by room, on real workerd (`wrangler dev`): the
 * stateless Worker (examples/worker.ts) answers pages, login, health and the
 * echo routes itself, and each room is its own `ChatRoom` Durable Object
 * (examples/chat/chat_room.ts). The fixture (tests/fixtures/chat_rooms_worker.ts)
 * wraps the demo unchanged and adds probes: which rooms the Worker asked the
 * `CHAT` binding for, and each object's id and instance number.
 *
 * Eviction is real: workerd drops an object 10 s after its last event when
 * only hibernatable sockets are left, so a test waits (bounded) until the
 * room's instance number changes and then checks what survived.
 */
import assert from "node:assert/strict";
import WebSocket from "ws";
import { bundleWorker, ROOT, type ServerProcess, startWrangler } from "../_util/server_process.ts";
import { type Client, closeAll, join, openClient } from "../examples/_chat_client.ts";
import { login, TEST_SECRET } from "../examples/_chat_server.ts";
import type { ChatMessage } from "../../examples/chat/protocol.ts";

// deno-lint-ignore no-explicit-any
type Json = any;

const CONFIG = `${ROOT}tests/fixtures/chat_rooms_wrangler.toml`;
let server: ServerProcess | undefined;
let port = 0;
let scratch = "";

function test(name: string, fn: () => Promise<void>): void {
  Deno.test({ name, sanitizeOps: false, sanitizeResources: false, fn });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function get(path: string, init: RequestInit = {}): Promise<Response> {
  return await fetch(`http://127.0.0.1:${port}${path}`, { redirect: "manual", ...init });
}

async function json(path: string): Promise<Json> {
  return await (await get(path)).json();
}

/** What the Worker asked the binding for since the last call. */
function touched(): Promise<{ names: string[]; stubs: number }> {
  return json("/__touched");
}

/** The room's object: `{ id, name, instance, sockets }`. */
function probe(room: string): Promise<Json> {
  return json(`/__probe/${room}`);
}

/** Opens a socket with any headers; resolves with the welcome, or the refusal's status. */
function upgrade(
  path: string,
  headers: Record<string, string>,
): Promise<{ status: number; welcome?: Json; ws: WebSocket }> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}${path}`, { headers });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer to ${path}`)), 5000);
    ws.on("unexpected-response", (_req: unknown, res: { statusCode: number; resume(): void }) => {
      clearTimeout(timer);
      res.resume();
      ws.terminate();
      resolve({ status: res.statusCode, ws });
    });
    ws.once("message", (data: Uint8Array) => {
      clearTimeout(timer);
      resolve({ status: 101, welcome: JSON.parse(new TextDecoder().decode(data)), ws });
    });
    ws.on("error", () => {});
  });
}

async function startServer(): Promise<void> {
  server = await startWrangler([
    `${scratch}/bundle/chat_rooms_worker.js`,
    "--no-bundle",
    "--config",
    CONFIG,
    "--persist-to",
    `${scratch}/state`,
    "--var",
    `SECRET:${TEST_SECRET}`,
  ]);
  port = server.port;
}

test("ChatRoom: wrangler dev starts the demo Worker with its probes", async () => {
  scratch = await Deno.makeTempDir({ prefix: "edgesocket-rooms-" });
  // Bundled once, then served as is: `wrangler dev` reloads (and drops every
  // socket) whenever a source file changes, which would cut the eviction
  // test short while the tree is being edited.
  await bundleWorker(CONFIG, `${scratch}/bundle`);
  await startServer();
});

test("ChatRoom: the Worker answers pages, login, health, echo and refusals without touching an object", async () => {
  await touched();
  const login_page = await get("/");
  assert.equal(login_page.status, 200);
  assert.match(await login_page.text(), /<form/);
  for (const asset of ["/chat.js", "/chat.css"]) {
    const response = await get(asset);
    assert.equal(response.status, 200, asset);
    await response.body?.cancel();
  }
  const cookie = await login(port, "ada-t");
  const page = await get("/?room=games", { headers: { cookie } });
  assert.equal(page.status, 200);
  assert.match(await page.text(), /chat\.js/);
  assert.deepEqual(await (await get("/me", { headers: { cookie } })).json(), { name: "ada-t" });
  assert.deepEqual(await json("/healthz"), { ok: true, connections: 0, scope: "isolate" });

  // The echo route's socket is the Worker's own, and counted by its /healthz.
  const echo = openClient(port, "/echo", cookie);
  await echo.opened;
  const echoed = new Promise<string>((r) => echo.ws.once("message", (d: Uint8Array) => r(`${d}`)));
  echo.ws.send("round trip");
  assert.equal(await echoed, "round trip");
  assert.deepEqual(await json("/healthz"), { ok: true, connections: 1, scope: "isolate" });
  await closeAll(echo);

  // What the session and room checks refuse never reaches an object.
  assert.equal((await upgrade("/chat/lobby", {})).status, 401);
  assert.equal((await upgrade("/chat/lobby", { cookie: "chat_user=ada-t.forged" })).status, 401);
  assert.equal((await upgrade("/chat/no!such", { cookie })).status, 400);
  assert.equal(
    (await upgrade("/chat/lobby", { cookie, origin: "https://evil.example" })).status,
    403,
  );
  // A plain GET goes on to Hono's 404, as on the other runtimes.
  const plain = await get("/chat/lobby", { headers: { cookie } });
  assert.equal(plain.status, 404);
  await plain.body?.cancel();
  assert.deepEqual(await touched(), { names: [], stubs: 0 });

  // A room's upgrade is the one thing that goes to an object: the room's.
  const ada = await join(port, "ada-t", "touch");
  assert.deepEqual(await touched(), { names: ["touch"], stubs: 1 });
  await closeAll(ada);
});

test("ChatRoom: two rooms are two objects, with their own ids, histories and online lists", async () => {
  const ada = await join(port, "ada-2", "north");
  const bob = await join(port, "bob-2", "south");
  const [north, south] = [await probe("north"), await probe("south")];
  assert.notEqual(north.id, south.id);
  assert.match(north.id, /^[0-9a-f]{64}$/);
  // workerd names an object made by idFromName(); Cloudflare may leave it out.
  if (north.name !== null) assert.deepEqual([north.name, south.name], ["north", "south"]);
  assert.deepEqual([north.sockets, south.sockets], [1, 1]);

  ada.say("only the north");
  const said = await ada.next() as ChatMessage;
  assert.equal(said.text, "only the north");
  // Bob's next frame is his own: nothing of the north's reached the south.
  bob.say("only the south");
  assert.equal((await bob.next() as ChatMessage).text, "only the south");

  const cy = await join(port, "cy-2", "north");
  assert.deepEqual(cy.welcome.online, ["ada-2", "cy-2"]);
  assert.deepEqual(cy.welcome.history, [said]);
  const dee = await join(port, "dee-2", "south");
  assert.deepEqual(dee.welcome.online, ["bob-2", "dee-2"]);
  assert.deepEqual(dee.welcome.history.map((m: ChatMessage) => m.text), ["only the south"]);
  assert.deepEqual((await probe("north")).id, north.id, "the same name, the same object");
  await closeAll(ada, bob, cy, dee);
});

test("ChatRoom: the object trusts the Worker's X-Chat-User only; a client's copy is dropped", async () => {
  const cookie = await login(port, "ada-h");
  const forged = await upgrade("/chat/trust", { cookie, "x-chat-user": "mallory" });
  assert.equal(forged.status, 101);
  assert.equal(forged.welcome.you, "ada-h");
  assert.deepEqual(forged.welcome.online, ["ada-h"]);
  // Without the cookie the header alone gets nothing from the Worker …
  assert.equal((await upgrade("/chat/trust", { "x-chat-user": "mallory" })).status, 401);
  // … and the object refuses what did not come through the Worker's check.
  assert.equal((await upgrade("/__raw/trust", {})).status, 403);
  forged.ws.close(1000);
  await new Promise((r) => forged.ws.once("close", r));
});

test("ChatRoom: history and online list survive the room's object leaving memory", async () => {
  const ada = await join(port, "ada-e", "sleepy");
  const sent: ChatMessage[] = [];
  for (const text of ["one", "two", "three"]) {
    ada.say(text);
    sent.push(await ada.next() as ChatMessage);
  }
  const before = await probe("sleepy");
  // Each probe is an event, so each round waits longer than workerd's 10 s.
  // Bounded: 6 rounds.
  let now = before;
  for (let round = 0; round < 6 && now.instance === before.instance; round++) {
    await sleep(12_000);
    now = await probe("sleepy");
  }
  assert.notEqual(now.instance, before.instance, "the object was not evicted");
  assert.equal(now.id, before.id);
  // Ada's socket stayed open through it: the new instance finds her in her
  // attachment, and the history in SQLite.
  assert.equal(now.sockets, 1);
  const lin: Client & { welcome: Json } = await join(port, "lin-e", "sleepy");
  assert.deepEqual(lin.welcome.online, ["ada-e", "lin-e"]);
  assert.deepEqual(lin.welcome.history, sent);
  assert.deepEqual(await ada.next(), { type: "join", name: "lin-e", online: ["ada-e", "lin-e"] });
  ada.say("four");
  const four = await lin.next() as ChatMessage;
  assert.equal(four.text, "four");
  assert.deepEqual(await ada.next(), four);
  await closeAll(ada, lin);
});

test("ChatRoom: history survives a restart of workerd (storage on disk)", async () => {
  const ada = await join(port, "ada-r", "durable");
  ada.say("kept");
  const kept = await ada.next() as ChatMessage;
  await closeAll(ada);
  await server?.stop();
  await startServer();
  const lin = await join(port, "lin-r", "durable");
  assert.deepEqual(lin.welcome.history, [kept]);
  assert.deepEqual(lin.welcome.online, ["lin-r"]);
  await closeAll(lin);
});

test("ChatRoom: wrangler dev stops", async () => {
  await server?.stop();
  if (scratch) await Deno.remove(scratch, { recursive: true }).catch(() => {});
});
