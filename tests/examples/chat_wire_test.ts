/**
 * The chat's wire format against the real servers, with the `ws` client:
 * examples/serve_deno.ts under Deno, serve_node.ts under Node 20,
 * serve_bun.ts under Bun, and worker.ts under workerd (`wrangler dev`), where
 * each room is a Durable Object of its own.
 */
import assert from "node:assert/strict";
import WebSocket from "ws";
import type { ServerProcess } from "../_util/server_process.ts";
import type { ChatMessage } from "../../examples/chat/protocol.ts";
import { closeAll, join, openClient } from "./_chat_client.ts";
import {
  login,
  startChatBun,
  startChatDeno,
  startChatNode,
  startChatWorkerd,
} from "./_chat_server.ts";

/** The status a refused upgrade got. */
function refusedStatus(port: number, path: string, cookie?: string): Promise<number> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}${path}`, {
    headers: cookie ? { cookie } : {},
  });
  return new Promise((resolve, reject) => {
    ws.on("unexpected-response", (_req: unknown, res: { statusCode: number; resume(): void }) => {
      res.resume();
      resolve(res.statusCode);
      ws.terminate();
    });
    ws.on("open", () => {
      ws.terminate();
      reject(new Error("the upgrade was accepted"));
    });
    ws.on("error", () => {});
  });
}

async function connectionCount(port: number): Promise<number> {
  const body = await (await fetch(`http://127.0.0.1:${port}/healthz`)).json();
  assert.equal(body.ok, true);
  return body.connections;
}

async function waitForCount(port: number, expected: number): Promise<void> {
  let count = -1;
  for (let i = 0; i < 100 && count !== expected; i++) {
    count = await connectionCount(port);
    if (count !== expected) await new Promise((r) => setTimeout(r, 20));
  }
  assert.equal(count, expected);
}

function defineSuite(
  runtime: string,
  start: () => Promise<ServerProcess>,
  options: { signals: boolean; healthCountsChat: boolean },
): void {
  let server: ServerProcess;
  let port = 0;
  const test = (name: string, fn: () => Promise<void>) =>
    Deno.test({
      name: `chat on ${runtime}: ${name}`,
      sanitizeOps: false,
      sanitizeResources: false,
      fn,
    });

  test("starts", async () => {
    server = await start();
    port = server.port;
  });

  test("GET /chat/:room is 401 without the cookie or with a forged one, and no socket", async () => {
    assert.equal(await refusedStatus(port, "/chat/lobby"), 401);
    assert.equal(await refusedStatus(port, "/chat/lobby", "chat_user=ada.forged"), 401);
    const response = await fetch(`http://127.0.0.1:${port}/chat/lobby`);
    assert.equal(response.status, 401);
    assert.equal((await response.text()).trim(), "Unauthorized: log in at /");
    assert.equal(await connectionCount(port), 0);
  });

  test("welcome, then messages to the whole room, the sender included, and no other room", async () => {
    const ada = await join(port, "ada-w");
    assert.deepEqual(ada.welcome, {
      type: "welcome",
      room: "lobby",
      you: "ada-w",
      online: ["ada-w"],
      history: [],
    });
    const lin = await join(port, "lin-w");
    assert.deepEqual(lin.welcome.online, ["ada-w", "lin-w"]);
    assert.deepEqual(await ada.next(), { type: "join", name: "lin-w", online: ["ada-w", "lin-w"] });
    const kai = await join(port, "kai-w", "games");
    assert.deepEqual(kai.welcome.online, ["kai-w"]);

    ada.say("<b>hi</b> & ✓");
    const seen = [await ada.next(), await lin.next()] as ChatMessage[];
    for (const m of seen) {
      assert.deepEqual(Object.keys(m).sort(), ["at", "from", "id", "text", "type"]);
      assert.equal(m.type, "message");
      assert.equal(m.from, "ada-w");
      assert.equal(m.text, "<b>hi</b> & ✓");
      assert.equal(typeof m.at, "number");
    }
    assert.equal(seen[0].id, seen[1].id);
    // Kai's next frame is his own: nothing from the lobby came first.
    kai.say("games only");
    assert.equal((await kai.next() as ChatMessage).text, "games only");

    await closeAll(lin);
    assert.deepEqual(await ada.next(), { type: "leave", name: "lin-w", online: ["ada-w"] });
    await closeAll(ada, kai);
  });

  test("a message over 2,000 characters gets an error back and is not broadcast", async () => {
    const ada = await join(port, "ada-s", "size");
    const lin = await join(port, "lin-s", "size");
    await ada.next(); // lin joined
    ada.say("y".repeat(2001));
    assert.deepEqual(await ada.next(), {
      type: "error",
      error: "Message too long: at most 2000 characters",
    });
    ada.say("y".repeat(2000));
    assert.equal((await ada.next() as ChatMessage).text.length, 2000);
    assert.equal((await lin.next() as ChatMessage).text.length, 2000, "lin never saw the long one");
    assert.equal(ada.ws.readyState, WebSocket.OPEN);
    await closeAll(ada, lin);
  });

  test("more than 20 messages in 10 s are refused with an error, and the socket stays", async () => {
    const ada = await join(port, "ada-r", "rate");
    const lin = await join(port, "lin-r", "rate");
    await ada.next(); // lin joined
    for (let i = 1; i <= 22; i++) ada.say(`r${i}`);
    for (let i = 1; i <= 20; i++) assert.equal((await ada.next() as ChatMessage).text, `r${i}`);
    for (let i = 0; i < 2; i++) {
      assert.deepEqual(await ada.next(), {
        type: "error",
        error: "Too many messages: at most 20 in 10 seconds",
      });
    }
    for (let i = 1; i <= 20; i++) await lin.next();
    lin.say("lin may still talk");
    assert.equal((await lin.next() as ChatMessage).text, "lin may still talk");
    assert.equal((await ada.next() as ChatMessage).text, "lin may still talk");
    assert.equal(ada.ws.readyState, WebSocket.OPEN);
    await closeAll(ada, lin);
  });

  test("a newcomer gets the room's last 50 messages, oldest first", async () => {
    const listener = await join(port, "listener-h", "history");
    const senders = await Promise.all(["h1", "h2", "h3"].map((n) => join(port, n, "history")));
    for (let i = 0; i < 3; i++) await listener.next(); // three joins
    for (let i = 1; i <= 19; i++) for (const [k, s] of senders.entries()) s.say(`h${k + 1}-${i}`);
    const all: ChatMessage[] = [];
    while (all.length < 57) {
      const event = await listener.next();
      if (event.type === "message") all.push(event);
    }
    const late = await join(port, "late-h", "history");
    assert.equal(late.welcome.history.length, 50);
    assert.deepEqual(late.welcome.history, all.slice(7));
    await closeAll(listener, late, ...senders);
  });

  if (options.healthCountsChat) {
    test("GET /healthz counts open connections", async () => {
      await waitForCount(port, 0);
      const ada = await join(port, "ada-c");
      const echo = openClient(port, "/echo");
      await echo.opened;
      assert.equal(await connectionCount(port), 2);
      await closeAll(ada);
      await waitForCount(port, 1);
      await closeAll(echo);
      await waitForCount(port, 0);
    });
  } else {
    test("GET /healthz counts the Worker's echo sockets, not the rooms' objects' chat sockets", async () => {
      await waitForCount(port, 0);
      const ada = await join(port, "ada-c");
      const echo = openClient(port, "/echo");
      await echo.opened;
      const body = await (await fetch(`http://127.0.0.1:${port}/healthz`)).json();
      assert.deepEqual(body, { ok: true, connections: 1, scope: "isolate" });
      await closeAll(echo);
      await waitForCount(port, 0);
      await closeAll(ada);
    });
  }

  test("the echo routes work, and one log line per connection opened and closed", async () => {
    const echo = openClient(port, "/echo", await login(port, "echoer"));
    await echo.opened;
    const echoed = new Promise<string>((r) =>
      echo.ws.once("message", (d: Buffer) => r(d.toString()))
    );
    echo.ws.send("round trip");
    assert.equal(await echoed, "round trip");
    const foo = new WebSocket(`ws://127.0.0.1:${port}/foo`);
    assert.equal(
      await new Promise<string>((r) => foo.once("message", (d: Buffer) => r(d.toString()))),
      "foo",
    );
    foo.close(4001);
    await new Promise((r) => foo.once("close", r));
    echo.ws.close(4002);
    await echo.closed;
    await waitForCount(port, 0);
    // wrangler relays the Worker's console a little later.
    const wanted = [
      /^ws open \/echo user="echoer" connections=\d+$/m,
      /^ws close \/echo user="echoer" code=4002 duration=\d+ms$/m,
      /^ws close \/foo user="-" code=4001 duration=\d+ms$/m,
    ];
    for (let i = 0; i < 100 && !wanted.every((re) => re.test(server.output())); i++) {
      await new Promise((r) => setTimeout(r, 20));
    }
    for (const re of wanted) assert.match(server.output(), re);
    const lines = server.output().split("\n");
    const opens = lines.filter((l) => l.startsWith("ws open ")).length;
    const closes = lines.filter((l) => l.startsWith("ws close ")).length;
    assert.equal(opens, closes);
  });

  if (!options.signals) {
    // Workers get no signal: the platform ends the object's sockets itself.
    test("stops", async () => {
      await server.stop();
    });
    return;
  }

  test("SIGTERM gives every client 1001 (Going Away), then the process exits", async () => {
    const ada = await join(port, "ada-t");
    const kai = await join(port, "kai-t", "games");
    const echo = openClient(port, "/echo");
    await echo.opened;
    await waitForCount(port, 3);
    const stopped = server.stop();
    for (const c of [ada, kai, echo]) {
      assert.deepEqual(await c.closed, { code: 1001, reason: "Server shutting down" });
    }
    await stopped;
    assert.equal((await server.process.status).code, 0);
    assert.match(server.output(), /SIGTERM: closing 3 sockets with 1001/);
    // The clients echoed 1001, and the handlers saw it.
    assert.match(server.output(), /^ws close \/chat\/lobby user="ada-t" code=1001 /m);
    assert.match(server.output(), /^ws close \/echo user="-" code=1001 /m);
  });
}

defineSuite("Deno", () => startChatDeno(), { signals: true, healthCountsChat: true });
defineSuite("Node", () => startChatNode(), { signals: true, healthCountsChat: true });
defineSuite("Bun", () => startChatBun(), { signals: true, healthCountsChat: true });
// Each room is its own Durable Object there; the stateless Worker answers /healthz.
defineSuite("workerd", () => startChatWorkerd(), { signals: false, healthCountsChat: false });
