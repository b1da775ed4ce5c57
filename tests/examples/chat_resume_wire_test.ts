/**
 * The chat route's resumable side, in process, frame by frame: the chat's
 * JSON frames travel as the payloads of `edgesocket.resume.v1`, `sync`
 * brings the room's state again, a token resumes only its own user's
 * session, and a plain client of the same route keeps the plain frames.
 * And the page's `/client.js`: served, and what build_client_bundle.ts
 * makes of src/client/ now.
 */
import assert from "node:assert/strict";
import type { Hono } from "hono";
import { createApp } from "../../examples/app.ts";
import { bundleClient, renderBundleModule } from "../../examples/chat/build_client_bundle.ts";
import { CLIENT_BUNDLE } from "../../examples/chat/client_bundle.ts";
import type { ServerEvent, WelcomeEvent } from "../../examples/chat/protocol.ts";
import { connect } from "../../src/testing/mod.ts";
import { openRaw, type RawClient } from "../resume/_raw_client.ts";

const SECRET = "chat resume wire test secret";
let rooms = 0;

function harness() {
  const app = createApp({ secret: SECRET, log: () => {} });
  const cookies = new Map<string, string>();
  const login = async (name: string) => {
    if (!cookies.has(name)) {
      const response = await app.request("/login", {
        method: "POST",
        body: new URLSearchParams({ name }),
      });
      cookies.set(name, response.headers.get("set-cookie")!.split(";")[0]);
    }
    return cookies.get(name)!;
  };
  // A resume client: its hello, and the chat's welcome behind the protocol's.
  const resume = async (
    name: string,
    room: string,
    hello: { s?: string | null; p?: Record<string, [string, number]> } = {},
  ) => {
    const client = await openRaw(app as unknown as Hono, `/chat/${room}`, {
      cookie: await login(name),
    });
    client.send({ t: "hello", v: 1, s: hello.s ?? null, p: hello.p ?? {} });
    const welcome = await client.next();
    assert.equal(welcome.t, "welcome");
    return { client, welcome };
  };
  const plain = async (name: string, room: string) =>
    await connect(app, `/chat/${room}`, { headers: { cookie: await login(name) } });
  return { app, login, resume, plain };
}

/** The next `m` or `pub` frame's chat event (skipping acks and positions). */
async function nextEvent(
  client: RawClient,
): Promise<{ frame: Record<string, unknown>; event: ServerEvent }> {
  for (;;) {
    const frame = await client.next();
    if (typeof frame.d === "string") return { frame, event: JSON.parse(frame.d) };
  }
}

function freshRoom(): string {
  return `resume${++rooms}`;
}

Deno.test("chat route: a resume client gets the chat's frames as payloads, the welcome best effort, the room numbered", async () => {
  const { resume, plain } = harness();
  const room = freshRoom();
  const { client: ada, welcome } = await resume("ada", room);
  assert.equal(welcome.recovered, false);
  const sub = await ada.next();
  assert.deepEqual([sub.t, sub.c, sub.o], ["sub", `chat:${room}`, 0]);
  const hello = await nextEvent(ada);
  assert.equal(hello.frame.t, "m");
  assert.deepEqual(
    hello.event,
    {
      type: "welcome",
      room,
      you: "ada",
      online: ["ada"],
      history: [],
    } satisfies WelcomeEvent,
  );
  // Its own join reaches the room, and comes back to it as a position only.
  const own = await ada.next();
  assert.deepEqual([own.t, own.o, own.d], ["pub", 1, undefined]);

  const lin = await plain("lin", room);
  assert.equal(JSON.parse(await lin.nextMessage() as string).type, "welcome");
  const join = await nextEvent(ada);
  assert.deepEqual([join.frame.t, join.frame.o], ["pub", 2]);
  assert.deepEqual(join.event, { type: "join", name: "lin", online: ["ada", "lin"] });

  ada.send({ t: "m", i: 1, d: JSON.stringify({ type: "message", text: "hi" }) });
  const said = await nextEvent(ada);
  assert.deepEqual([said.frame.t, said.frame.o], ["pub", 3]);
  assert.deepEqual([said.event.type, (said.event as { text: string }).text], ["message", "hi"]);
  // The plain client on the same route gets the plain frame.
  assert.deepEqual(JSON.parse(await lin.nextMessage() as string), said.event);
  lin.close(1000);
  ada.ws.close(1000);
  await Promise.all([lin.closed, ada.ws.closed]);
});

Deno.test('chat route: {"type":"sync"} is answered with a welcome that has the room\'s last messages', async () => {
  const { resume, plain } = harness();
  const room = freshRoom();
  const lin = await plain("lin", room);
  await lin.nextMessage();
  lin.send(JSON.stringify({ type: "message", text: "before" }));
  await lin.nextMessage();
  const { client: ada } = await resume("ada", room);
  let welcome = (await nextEvent(ada)).event as WelcomeEvent;
  assert.deepEqual(welcome.history.map((m) => m.text), ["before"]);
  ada.send({ t: "m", i: 1, d: JSON.stringify({ type: "sync" }) });
  do welcome = (await nextEvent(ada)).event as WelcomeEvent; while (welcome.type !== "welcome");
  assert.deepEqual([welcome.room, welcome.you, welcome.online], [room, "ada", ["lin", "ada"]]);
  assert.deepEqual(welcome.history.map((m) => m.text), ["before"]);
  // A plain client may ask too.
  lin.send(JSON.stringify({ type: "sync" }));
  let frame: ServerEvent;
  do frame = JSON.parse(await lin.nextMessage() as string); while (frame.type !== "welcome");
  assert.equal((frame as WelcomeEvent).you, "lin");
  lin.close(1000);
  ada.ws.close(1000);
  await Promise.all([lin.closed, ada.ws.closed]);
});

Deno.test("chat route: a token resumes only the session of the user it was made for", async () => {
  const { resume } = harness();
  const room = freshRoom();
  const first = await resume("ada", room);
  const token = first.welcome.s as string;
  const topic = `chat:${room}`;
  const sub = await first.client.next();
  const epoch = sub.e as string;
  await nextEvent(first.client);
  first.client.ws.connection.terminate();
  await first.client.ws.closed;

  // lin presents ada's token: a session of lin's own, nothing of ada's.
  const stolen = await resume("lin", room, { s: token, p: { [topic]: [epoch, 0] } });
  assert.equal(stolen.welcome.recovered, false);
  assert.notEqual(stolen.welcome.s, token);
  let welcome: ServerEvent;
  do welcome = (await nextEvent(stolen.client)).event; while (welcome.type !== "welcome");
  assert.equal((welcome as WelcomeEvent).you, "lin");

  // ada's session was left as it was: her token still resumes it.
  const back = await resume("ada", room, { s: token, p: { [topic]: [epoch, 1] } });
  assert.equal(back.welcome.recovered, true);
  assert.equal(back.welcome.s, token);
  // What she missed: lin's join, replayed.
  const join = await nextEvent(back.client);
  assert.deepEqual(join.event, { type: "join", name: "lin", online: ["ada", "lin"] });
  stolen.client.ws.close(1000);
  back.client.ws.close(1000);
  await Promise.all([stolen.client.ws.closed, back.client.ws.closed]);
});

Deno.test("GET /client.js serves the client bundle, which is what build_client_bundle.ts makes of src/client/ now", async () => {
  const { app } = harness();
  const response = await app.request("/client.js");
  assert.match(response.headers.get("content-type")!, /^text\/javascript/);
  assert.equal(await response.text(), CLIENT_BUNDLE);
  assert.match(CLIENT_BUNDLE, /export\{.*ResumableWebSocket.*\}/);
  const fresh = await renderBundleModule(await bundleClient());
  const stored = await Deno.readTextFile(
    new URL("../../examples/chat/client_bundle.ts", import.meta.url),
  );
  assert.ok(
    fresh === stored,
    "examples/chat/client_bundle.ts is stale: run deno run -A examples/chat/build_client_bundle.ts",
  );
});
