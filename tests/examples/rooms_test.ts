/**
 * The chat's room logic, fast: the registry on its own, then the app through
 * the in-process `connect()` (real framing, no network).
 */
import assert from "node:assert/strict";
import { HandshakeError } from "../../src/codec/mod.ts";
import { connect, type WebSocketTestClient } from "../../src/testing/mod.ts";
import { type ChatAppOptions, createApp } from "../../examples/app.ts";
import { ConnectionRegistry } from "../../examples/chat/connections.ts";
import { MemoryRooms, type RoomMember } from "../../examples/chat/rooms.ts";
import { RateLimiter } from "../../examples/chat/rate_limiter.ts";
import type { ChatMessage, ServerEvent } from "../../examples/chat/protocol.ts";

const SECRET = "test secret";

function member(name: string): RoomMember & { frames: ServerEvent[] } {
  const frames: ServerEvent[] = [];
  return { name, frames, deliver: (frame) => frames.push(JSON.parse(frame)) };
}

function message(n: number): ChatMessage {
  return { type: "message", id: `m${n}`, from: "ada", text: `#${n}`, at: n };
}

Deno.test("MemoryRooms.join() lists names once, in order of arrival, and says who arrived", async () => {
  const rooms = new MemoryRooms();
  const ada = member("ada"), lin = member("lin"), adaTab = member("ada");
  assert.deepEqual(await rooms.join("lobby", ada), { online: ["ada"], history: [], arrived: true });
  assert.deepEqual((await rooms.join("lobby", lin)).online, ["ada", "lin"]);
  const again = await rooms.join("lobby", adaTab);
  assert.deepEqual(again, { online: ["ada", "lin"], history: [], arrived: false });
  assert.deepEqual(await rooms.leave("lobby", ada), { online: ["ada", "lin"], departed: false });
  assert.deepEqual(await rooms.leave("lobby", adaTab), { online: ["lin"], departed: true });
  assert.deepEqual(await rooms.leave("lobby", adaTab), { online: ["lin"], departed: false });
  assert.deepEqual(await rooms.leave("nowhere", adaTab), { online: [], departed: false });
});

Deno.test("MemoryRooms.broadcast() reaches the room but the skipped member, and no other room", async () => {
  const rooms = new MemoryRooms();
  const ada = member("ada"), lin = member("lin"), kai = member("kai");
  await rooms.join("lobby", ada);
  await rooms.join("lobby", lin);
  await rooms.join("games", kai);
  await rooms.broadcast("lobby", { type: "join", name: "lin", online: [] }, { except: lin });
  await rooms.broadcast("lobby", message(1));
  assert.deepEqual(ada.frames.map((f) => f.type), ["join", "message"]);
  assert.deepEqual(lin.frames.map((f) => f.type), ["message"]);
  assert.deepEqual(kai.frames, []);
  await rooms.broadcast("empty", { type: "leave", name: "x", online: [] });
  assert.deepEqual(await rooms.history("empty"), []);
});

Deno.test("MemoryRooms.history() keeps the last 50 messages, oldest first, and no presence", async () => {
  const rooms = new MemoryRooms();
  for (let n = 1; n <= 55; n++) await rooms.broadcast("lobby", message(n));
  await rooms.broadcast("lobby", { type: "join", name: "x", online: [] });
  const history = await rooms.history("lobby");
  assert.equal(history.length, 50);
  assert.equal(history[0].id, "m6");
  assert.equal(history.at(-1)!.id, "m55");
  history.pop();
  assert.equal((await rooms.history("lobby")).length, 50, "a copy");
  assert.equal((await rooms.join("lobby", member("ada"))).history.length, 50);
});

Deno.test("MemoryRooms forgets the least recently used empty rooms past maxIdleRooms", async () => {
  const rooms = new MemoryRooms({ maxIdleRooms: 2 });
  const ada = member("ada");
  await rooms.join("busy", ada);
  for (const name of ["a", "b", "c"]) await rooms.broadcast(name, message(1));
  assert.deepEqual(await rooms.history("a"), []);
  assert.equal((await rooms.history("b")).length, 1);
  assert.equal((await rooms.history("c")).length, 1);
  assert.equal(rooms.activeRooms, 1);
});

Deno.test("RateLimiter.take() allows `limit` in a sliding window and does not count refusals", () => {
  let now = 0;
  const limiter = new RateLimiter({ limit: 3, window: 1000, now: () => now });
  assert.deepEqual([1, 2, 3, 4].map(() => limiter.take("ada")), [true, true, true, false]);
  assert.equal(limiter.take("lin"), true, "per key");
  now = 999;
  assert.equal(limiter.take("ada"), false);
  now = 1000;
  assert.equal(limiter.take("ada"), true);
  assert.equal(limiter.take("ada"), true);
  assert.equal(limiter.take("ada"), true);
  assert.equal(limiter.take("ada"), false);
});

// --- the app, in process ---

interface Harness {
  app: ReturnType<typeof createApp>;
  connections: ConnectionRegistry;
  logs: string[];
  login(name: string): Promise<string>;
  join(name: string, room?: string): Promise<ChatClient>;
}

interface ChatClient {
  ws: WebSocketTestClient;
  next(): Promise<ServerEvent>;
  say(text: string): void;
}

function harness(options: ChatAppOptions = {}): Harness {
  const connections = new ConnectionRegistry();
  const logs: string[] = [];
  const app = createApp({
    secret: SECRET,
    connections,
    log: (line) => logs.push(line),
    ...options,
  });
  const login = async (name: string) => {
    const response = await app.request("/login", {
      method: "POST",
      body: new URLSearchParams({ name }),
    });
    assert.equal(response.status, 303);
    return response.headers.get("set-cookie")!.split(";")[0];
  };
  const join = async (name: string, room = "lobby") => {
    const ws = await connect(app, `/chat/${room}`, { headers: { cookie: await login(name) } });
    return {
      ws,
      next: async () => JSON.parse(await ws.nextMessage() as string) as ServerEvent,
      say: (text: string) => ws.send(JSON.stringify({ type: "message", text })),
    };
  };
  return { app, connections, logs, login, join };
}

async function refusal(promise: Promise<unknown>): Promise<number> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof HandshakeError);
    return error.status;
  }
  return 101;
}

Deno.test("GET /chat/:room refuses 401 with no cookie or a forged one, and 400 for a bad room", async () => {
  const { app, login } = harness();
  assert.equal(await refusal(connect(app, "/chat/lobby")), 401);
  assert.equal(
    await refusal(connect(app, "/chat/lobby", { headers: { cookie: "chat_user=ada" } })),
    401,
  );
  const other = harness({ secret: "another secret" });
  const foreign = await other.login("ada");
  assert.equal(await refusal(connect(app, "/chat/lobby", { headers: { cookie: foreign } })), 401);
  const cookie = await login("ada");
  assert.equal(await refusal(connect(app, "/chat/a.b", { headers: { cookie } })), 400);
  assert.equal(
    await refusal(
      connect(app, "/chat/lobby", { headers: { cookie, origin: "http://evil.example" } }),
    ),
    403,
  );
  const ok = await connect(app, "/chat/lobby", {
    headers: { cookie, origin: "http://localhost" },
  });
  ok.close();
  await ok.closed;
});

Deno.test("GET /chat/:room welcomes, broadcasts to the room only, and tells the others who joined and left", async () => {
  const { join } = harness();
  const ada = await join("ada");
  assert.deepEqual(await ada.next(), {
    type: "welcome",
    room: "lobby",
    you: "ada",
    online: ["ada"],
    history: [],
  });
  const lin = await join("lin");
  assert.deepEqual(await ada.next(), { type: "join", name: "lin", online: ["ada", "lin"] });
  const welcome = await lin.next();
  assert.equal(welcome.type, "welcome");
  assert.deepEqual((welcome as { online: string[] }).online, ["ada", "lin"]);
  const kai = await join("kai", "games");
  assert.deepEqual((await kai.next() as { online: string[] }).online, ["kai"]);

  lin.say("hello <b>lobby</b>");
  for (const client of [ada, lin]) {
    const got = await client.next() as ChatMessage;
    assert.equal(got.type, "message");
    assert.equal(got.from, "lin");
    assert.equal(got.text, "hello <b>lobby</b>");
    assert.match(got.id, /^[0-9a-f-]{36}$/);
    assert.ok(Math.abs(got.at - Date.now()) < 5000);
  }
  // Kai's next frame is his own: nothing from the lobby came first.
  kai.say("hello games");
  assert.equal((await kai.next() as ChatMessage).text, "hello games");

  lin.ws.close(1000);
  await lin.ws.closed;
  assert.deepEqual(await ada.next(), { type: "leave", name: "lin", online: ["ada"] });
  ada.ws.close(1000);
  kai.ws.close(1000);
  await Promise.all([ada.ws.closed, kai.ws.closed]);
});

Deno.test("GET /chat/:room sends join and leave once per name, not per tab", async () => {
  const { join } = harness();
  const ada = await join("ada");
  await ada.next();
  const tab1 = await join("lin");
  const tab2 = await join("lin");
  assert.deepEqual(await ada.next(), { type: "join", name: "lin", online: ["ada", "lin"] });
  await tab1.next();
  assert.deepEqual((await tab2.next() as { online: string[] }).online, ["ada", "lin"]);
  tab1.ws.close(1000);
  await tab1.ws.closed;
  tab2.say("still here");
  assert.equal((await ada.next()).type, "message", "no leave while a tab stays");
  tab2.ws.close(1000);
  assert.deepEqual(await ada.next(), { type: "leave", name: "lin", online: ["ada"] });
  ada.ws.close(1000);
  await ada.ws.closed;
});

Deno.test("GET /chat/:room refuses over 2,000 characters and bad frames with an error, keeping the socket", async () => {
  const { join } = harness();
  const ada = await join("ada");
  const lin = await join("lin");
  await ada.next();
  await ada.next(); // lin joined
  await lin.next();
  ada.say("x".repeat(2001));
  assert.deepEqual(await ada.next(), {
    type: "error",
    error: "Message too long: at most 2000 characters",
  });
  ada.say("😀".repeat(2000)); // 2,000 characters, 4,000 UTF-16 units
  assert.equal((await ada.next() as ChatMessage).text.length, 4000);
  for (const bad of ["not json", '{"type":"nope"}', '{"type":"message","text":5}']) {
    ada.ws.send(bad);
    assert.equal((await ada.next()).type, "error", bad);
  }
  ada.say("   ");
  assert.deepEqual(await ada.next(), { type: "error", error: "Message is empty" });
  ada.ws.send(new Uint8Array([1, 2]));
  assert.deepEqual(await ada.next(), { type: "error", error: "Expected a JSON text frame" });
  // Lin saw only the one message that went through.
  const seen = await lin.next() as ChatMessage;
  assert.equal(seen.text.length, 4000);
  lin.say("done");
  assert.equal((await lin.next() as ChatMessage).text, "done");
  ada.ws.close(1000);
  lin.ws.close(1000);
  await Promise.all([ada.ws.closed, lin.ws.closed]);
});

Deno.test("GET /chat/:room closes 1009 past 64 KiB rather than reading it", async () => {
  const { join } = harness();
  const ada = await join("ada");
  await ada.next();
  ada.say("x".repeat(70_000));
  assert.equal((await ada.ws.closed).code, 1009);
});

Deno.test("GET /chat/:room refuses the 21st message in 10 s with an error, then allows again", async () => {
  let now = 1_000_000;
  const { join } = harness({ rateLimit: { now: () => now } });
  const ada = await join("ada");
  await ada.next();
  for (let i = 1; i <= 21; i++) ada.say(`m${i}`);
  for (let i = 1; i <= 20; i++) assert.equal((await ada.next() as ChatMessage).text, `m${i}`);
  assert.deepEqual(await ada.next(), {
    type: "error",
    error: "Too many messages: at most 20 in 10 seconds",
  });
  // Per user, not per socket: a second tab is refused too.
  const tab = await join("ada");
  await tab.next();
  tab.say("from the tab");
  assert.equal((await tab.next()).type, "error");
  now += 10_000;
  ada.say("later");
  assert.equal((await ada.next() as ChatMessage).text, "later");
  assert.equal(ada.ws.connection.readyState, 1, "still open");
  ada.ws.close(1000);
  tab.ws.close(1000);
  await Promise.all([ada.ws.closed, tab.ws.closed]);
});

Deno.test("GET /chat/:room welcomes with the room's last 50 messages, oldest first", async () => {
  const { join } = harness({ rateLimit: { limit: 1000 } });
  const ada = await join("ada");
  await ada.next();
  for (let i = 1; i <= 55; i++) ada.say(`m${i}`);
  for (let i = 1; i <= 55; i++) await ada.next();
  const lin = await join("lin");
  const welcome = await lin.next() as { history: ChatMessage[] };
  assert.equal(welcome.history.length, 50);
  assert.deepEqual(
    welcome.history.map((m) => m.text),
    Array.from({ length: 50 }, (_, i) => `m${i + 6}`),
  );
  const other = await join("kai", "elsewhere");
  assert.deepEqual((await other.next() as { history: ChatMessage[] }).history, []);
  for (const c of [ada, lin, other]) c.ws.close(1000);
  await Promise.all([ada.ws.closed, lin.ws.closed, other.ws.closed]);
});

Deno.test("GET /healthz counts open sockets of every route; the log has a line per open and close", async () => {
  const { app, join, logs, login } = harness();
  const count = async () => (await (await app.request("/healthz")).json()).connections;
  assert.deepEqual(await (await app.request("/healthz")).json(), { ok: true, connections: 0 });
  const ada = await join("ada");
  await ada.next();
  const echo = await connect(app, "/echo", { headers: { cookie: await login("lin") } });
  echo.send("hi");
  assert.equal(await echo.nextMessage(), "hi");
  const foo = await connect(app, "/foo");
  assert.equal(await foo.nextMessage(), "foo");
  assert.equal(await count(), 3);
  echo.close(1000);
  foo.close(4000);
  await Promise.all([echo.closed, foo.closed]);
  assert.equal(await count(), 1);
  ada.ws.close(1000);
  await ada.ws.closed;
  await new Promise((r) => setTimeout(r, 0));
  assert.equal(await count(), 0);
  assert.equal(logs.length, 6);
  assert.match(logs[0], /^ws open \/chat\/lobby user="ada" connections=1$/);
  assert.match(
    logs.find((l) => l.startsWith("ws close /echo"))!,
    /user="lin" code=1000 duration=\d+ms$/,
  );
  assert.match(logs.find((l) => l.startsWith("ws close /foo"))!, /user="-" code=4000 /);
  assert.match(logs.at(-1)!, /^ws close \/chat\/lobby user="ada" code=1000 duration=\d+ms$/);
});

Deno.test("ConnectionRegistry.closeAll() closes every socket with 1001, waits, and sends latecomers away", async () => {
  const { app, join, connections } = harness();
  const ada = await join("ada");
  const lin = await join("lin", "games");
  const echo = await connect(app, "/echo");
  await ada.next();
  await lin.next();
  await connections.closeAll(1001, "Server shutting down", { timeout: 1000 });
  assert.equal(connections.size, 0);
  for (const c of [ada.ws, lin.ws, echo]) {
    assert.deepEqual(await c.closed, {
      code: 1001,
      reason: "Server shutting down",
      wasClean: true,
    });
  }
  // One that slips in while the server stops is sent away too.
  const late = await connect(app, "/echo");
  assert.equal((await late.closed).code, 1001);
});

Deno.test("POST /login accepts 1 to 32 characters and sets a signed, HttpOnly cookie", async () => {
  const { app } = harness();
  const post = (name: string, room?: string) =>
    app.request("/login", {
      method: "POST",
      body: new URLSearchParams(room ? { name, room } : { name }),
    });
  for (const bad of ["", "   ", "x".repeat(33), "a\nb", "tab\there"]) {
    const response = await post(bad);
    assert.equal(response.status, 400, JSON.stringify(bad));
    assert.equal(response.headers.get("set-cookie"), null);
  }
  const ok = await post("  " + "é".repeat(32) + "  ");
  assert.equal(ok.status, 303);
  assert.equal(ok.headers.get("location"), "/");
  const cookie = ok.headers.get("set-cookie")!;
  assert.match(cookie, /^chat_user=/);
  assert.match(cookie, /HttpOnly/);
  assert.match(cookie, /SameSite=Lax/);
  const me = await app.request("/me", { headers: { cookie: cookie.split(";")[0] } });
  assert.deepEqual(await me.json(), { name: "é".repeat(32) });
  assert.equal((await app.request("/me")).status, 401);
  const toRoom = await post("ada", "games");
  assert.equal(toRoom.headers.get("location"), "/?room=games");
});

Deno.test("GET / serves the login form, then the chat page, its script and style, with a CSP", async () => {
  const { app, login } = harness();
  const anonymous = await app.request("/");
  assert.equal(anonymous.status, 200);
  assert.match(await anonymous.text(), /action="\/login"/);
  assert.match(anonymous.headers.get("content-security-policy")!, /default-src 'self'/);
  const page = await app.request("/", { headers: { cookie: await login("ada") } });
  const html = await page.text();
  assert.match(html, /<script src="\/chat.js"><\/script>/);
  assert.doesNotMatch(html, /ada/, "the name reaches the page as data, not HTML");
  assert.equal((await app.request("/?room=<x>")).status, 400);
  const script = await app.request("/chat.js");
  assert.match(script.headers.get("content-type")!, /^text\/javascript/);
  assert.match(await script.text(), /textContent/);
  assert.match((await app.request("/chat.css")).headers.get("content-type")!, /^text\/css/);
});
