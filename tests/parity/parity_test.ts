/**
 * One behaviour suite, five real runtimes: tests/fixtures/app.ts served by
 * `deno serve`, by Deno with the codec (`serveWithCodec()` over its
 * `node:http`), Node 20 (the codec), workerd (`wrangler dev`) and Bun, each
 * as its own process, driven through real sockets by the `ws` client and
 * raw TCP. Every case runs on every runtime; where a runtime cannot do
 * something the case asserts the documented exception (see `CANNOT`).
 * Outside CI a runtime that cannot start is reported and its cases ignored;
 * in CI (`CI=true`) that fails.
 */
import assert from "node:assert/strict";
import type { ServerProcess } from "../_util/server_process.ts";
import { rawRequest, upgradeRequest } from "../_util/tcp_client.ts";
import { CANNOT, isCI, type RuntimeName, START } from "./_runtimes.ts";
import { openWs, within } from "./_ws_client.ts";
import { concat, frame, randomBytes } from "../_util/chunking.ts";
import { viewReport } from "../_util/kept_views.ts";

interface Target {
  name: RuntimeName;
  port: number;
}

const NAMES: RuntimeName[] = ["deno", "deno-codec", "node", "workerd", "bun"];
const servers: ServerProcess[] = [];
const started = await Promise.all(NAMES.map(async (name) => {
  try {
    const server = await START[name]();
    servers.push(server);
    return { name, server, error: undefined };
  } catch (error) {
    return { name, server: undefined, error };
  }
}));
// A safety net for runs filtered past the last test.
globalThis.addEventListener("unload", () => {
  for (const server of servers) {
    try {
      server.process.kill("SIGTERM");
    } catch { /* gone */ }
  }
});

const textOf = (data: string | Uint8Array) =>
  typeof data === "string" ? data : new TextDecoder().decode(data);

/** Every `/info` close the server recorded for `user`, waiting for at least one. */
async function seenFor(port: number, user: string) {
  type Seen = { code: number; reason?: string; wasClean: boolean; order: string; user?: string };
  const read = async () =>
    ((await (await fetch(`http://127.0.0.1:${port}/seen`)).json()) as Seen[])
      .filter((s) => s.user === user);
  for (let i = 0; i < 100; i++) {
    const found = await read();
    if (found.length > 0) {
      // Long enough for a second onClose to show up.
      await new Promise((r) => setTimeout(r, 200));
      return await read();
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return [];
}

/** Reads server frames (unmasked) until a text frame, and returns its text; pongs are skipped. */
async function readTextFrame(conn: Deno.Conn): Promise<string> {
  let buffered = new Uint8Array(0);
  const chunk = new Uint8Array(65536);
  for (;;) {
    while (buffered.length >= 2) {
      const opcode = buffered[0] & 0x0f;
      let length = buffered[1] & 0x7f;
      let at = 2;
      if (length === 126) {
        if (buffered.length < 4) break;
        length = (buffered[2] << 8) | buffered[3];
        at = 4;
      } else if (length === 127) throw new Error("unexpected 64-bit length");
      if (buffered.length < at + length) break;
      const payload = buffered.subarray(at, at + length);
      if (opcode === 1) return new TextDecoder().decode(payload);
      if (opcode === 8) throw new Error(`closed: ${(payload[0] << 8) | payload[1]}`);
      buffered = buffered.slice(at + length);
    }
    const n = await within(conn.read(chunk), "a text frame");
    if (n === null) throw new Error("connection ended before a text frame");
    const next = new Uint8Array(buffered.length + n);
    next.set(buffered);
    next.set(chunk.subarray(0, n), buffered.length);
    buffered = next;
  }
}

const CASES: Array<[string, (t: Target) => Promise<void>]> = [
  ["echoes text and binary with their types", async ({ port }) => {
    const c = await openWs(port, "/echo", { protocols: ["chat"] });
    assert.equal(c.ws.protocol, "chat");
    c.ws.send("héllo");
    assert.deepEqual(await c.next(), { data: "héllo", isBinary: false });
    c.ws.send(new Uint8Array([0, 1, 255]));
    assert.deepEqual(await c.next(), { data: new Uint8Array([0, 1, 255]), isBinary: true });
    c.ws.send(new Uint8Array(0));
    assert.deepEqual(await c.next(), { data: new Uint8Array(0), isBinary: true });
    c.ws.close(1000);
    assert.equal((await c.closed).code, 1000);
  }],

  ["fires onOpen before any message, onClose once with code, reason and wasClean", async (t) => {
    const user = `u${crypto.randomUUID()}`;
    const c = await openWs(t.port, `/info?user=${user}`);
    // Sent at once: a runtime may deliver it before its own open event.
    c.ws.send("first");
    const info = JSON.parse(textOf((await c.next()).data));
    assert.deepEqual(info, { protocol: "", path: "/info", user: { user } });
    c.ws.close(4001, "bye ✓");
    // The server's reply to the client's close frame.
    const reason = CANNOT.echoCloseReason[t.name] ? "" : "bye ✓";
    assert.deepEqual(await c.closed, { code: 4001, reason }, CANNOT.echoCloseReason[t.name]);
    const seen = await seenFor(t.port, user);
    assert.deepEqual(seen, [{
      route: "/info",
      code: 4001,
      reason: "bye ✓",
      wasClean: true,
      order: "open,message,close",
      user,
    }]);
  }],

  ["fires onClose once with 1006, and no onError, when the client vanishes", async (t) => {
    const user = `u${crypto.randomUUID()}`;
    const response = await rawRequest(t.port, upgradeRequest(`/info?user=${user}`));
    assert.equal(response.status, 101);
    response.conn.close();
    const seen = await seenFor(t.port, user);
    assert.equal(seen.length, 1, JSON.stringify(seen));
    assert.equal(seen[0].code, 1006);
    assert.equal(seen[0].wasClean, false);
    assert.equal(seen[0].order, "open,close");
  }],

  ["delivers binary as ArrayBuffer by default and as Blob on request", async ({ port }) => {
    const c = await openWs(port, "/info");
    await c.next();
    c.ws.send(new Uint8Array(7));
    assert.equal(textOf((await c.next()).data), "arraybuffer 7");
    c.ws.send("binaryType:blob");
    c.ws.send(new Uint8Array(5));
    assert.equal(textOf((await c.next()).data), "blob 5");
    c.ws.close();
    await c.closed;
  }],

  ['hands binary as intact Uint8Array views on a binaryType "uint8array" route', async (t) => {
    const c = await openWs(t.port, "/bytes");
    const sent = [new Uint8Array([1, 2, 3]), new Uint8Array(0), randomBytes(100_000, 7)];
    for (const bytes of sent) c.ws.send(bytes);
    c.ws.send("check");
    assert.deepEqual(JSON.parse(textOf((await c.next()).data)), viewReport(sent));
    c.ws.send("arraybuffer");
    c.ws.send(new Uint8Array(4));
    assert.equal(textOf((await c.next()).data), "arraybuffer 4");
    c.ws.close();
    await c.closed;
  }],

  ["keeps each view intact however the frames are split and fragmented", async (t) => {
    const response = await rawRequest(t.port, upgradeRequest("/bytes"));
    assert.equal(response.status, 101);
    const { conn } = response;
    const big = randomBytes(70_000, 11);
    const messages = [new Uint8Array([9, 8, 7]), randomBytes(3_000, 5), big];
    const bytes = concat([
      frame(2, messages[0]),
      // The second message in three fragments, a ping between them.
      frame(2, messages[1].subarray(0, 1_000), { fin: false }),
      frame(9, new Uint8Array([1])),
      frame(0, messages[1].subarray(1_000, 2_000), { fin: false }),
      frame(0, messages[1].subarray(2_000), { fin: true }),
      frame(2, big),
      frame(1, new TextEncoder().encode("check")),
    ]);
    // Chops of 1 to 4,096 bytes, each its own write, so the server reads
    // headers and payloads in pieces.
    for (let at = 0, i = 0; at < bytes.length; i++) {
      const size = 1 + (i * 7919) % 4096;
      await conn.write(bytes.subarray(at, at + size));
      at += size;
      if (i % 8 === 0) await new Promise((r) => setTimeout(r, 1));
    }
    const text = await readTextFrame(conn);
    conn.close();
    assert.deepEqual(JSON.parse(text), viewReport(messages));
  }],

  ["sends exactly a view's bytes", async ({ port }) => {
    const c = await openWs(port, "/info");
    await c.next();
    c.ws.send("view");
    assert.deepEqual(await c.next(), { data: new Uint8Array([5, 5, 5]), isBinary: true });
    c.ws.close();
    await c.closed;
  }],

  ["picks the subprotocol from the server's list, in the server's order", async ({ port }) => {
    const c = await openWs(port, "/info", { protocols: ["v1", "v2"] });
    assert.equal(c.ws.protocol, "v2");
    assert.equal(JSON.parse(textOf((await c.next()).data)).protocol, "v2");
    c.ws.close();
    await c.closed;
    // Raw, to see the header itself: once, and not the first offer.
    const picked = await rawRequest(
      port,
      upgradeRequest("/info", { "Sec-WebSocket-Protocol": "v0, v1" }),
    );
    picked.conn.close();
    assert.equal(picked.status, 101);
    assert.equal(picked.headers.get("sec-websocket-protocol"), "v1");
  }],

  [
    "answers no subprotocol when none of the route's list matches, and still opens",
    async ({ port }) => {
      const none = await rawRequest(
        port,
        upgradeRequest("/info", { "Sec-WebSocket-Protocol": "v0" }),
      );
      none.conn.close();
      assert.equal(none.status, 101);
      assert.equal(none.headers.get("sec-websocket-protocol"), null);
    },
  ],

  [
    "answers the first offered subprotocol on a route without protocols, like Hono and ws",
    async ({ port }) => {
      const first = await rawRequest(
        port,
        upgradeRequest("/foo", { "Sec-WebSocket-Protocol": "graphql-transport-ws, x" }),
      );
      first.conn.close();
      assert.equal(first.status, 101);
      assert.equal(first.headers.get("sec-websocket-protocol"), "graphql-transport-ws");
      // The ws client fails "Server sent no subprotocol" without it.
      const c = await openWs(port, "/foo", { protocols: ["token.abc", "chat"] });
      assert.equal(c.ws.protocol, "token.abc");
      assert.equal(textOf((await c.next()).data), "foo");
      c.ws.close();
      await c.closed;
      // No offer, no header.
      const plain = await rawRequest(port, upgradeRequest("/foo"));
      plain.conn.close();
      assert.equal(plain.headers.get("sec-websocket-protocol"), null);
    },
  ],

  ["refuses a foreign Origin with 403 and accepts the allowed one", async ({ port }) => {
    const bad = await rawRequest(
      port,
      upgradeRequest("/origin", { Origin: "http://evil.example" }),
    );
    bad.conn.close();
    assert.equal(bad.status, 403);
    assert.equal(bad.body, "Origin not allowed: http://evil.example\n");
    const c = await openWs(port, "/origin", { origin: "http://good.example" });
    assert.equal(textOf((await c.next()).data), "welcome");
    c.ws.close();
    await c.closed;
  }],

  ["lets auth middleware answer 401 with no socket", async ({ port }) => {
    const refused = await rawRequest(port, upgradeRequest("/private"));
    refused.conn.close();
    assert.equal(refused.status, 401);
    assert.equal(refused.body, "Unauthorized\n");
    assert.equal(refused.headers.get("sec-websocket-accept"), null);
    const c = await openWs(port, "/private", { headers: { Cookie: "user=lin" } });
    assert.equal(textOf((await c.next()).data), "secret");
    c.ws.close();
    await c.closed;
  }],

  ["passes a plain GET on to the next handler, as Hono's helper does", async ({ port }) => {
    const page = await fetch(`http://127.0.0.1:${port}/page`);
    assert.equal(page.status, 200);
    assert.equal(await page.text(), "<p>page</p>");
    // The same path still upgrades.
    const c = await openWs(port, "/page");
    assert.equal(textOf((await c.next()).data), "socket");
    c.ws.close();
    await c.closed;
    // Nothing after it: Hono's own 404.
    const alone = await fetch(`http://127.0.0.1:${port}/echo`);
    assert.equal(alone.status, 404);
    assert.equal(await alone.text(), "404 Not Found");
  }],

  ["upgrades in Hono's direct form, and answers a plain GET there with 426", async ({ port }) => {
    const c = await openWs(port, "/direct/7");
    assert.equal(textOf((await c.next()).data), "direct 7");
    c.ws.close();
    await c.closed;
    const response = await fetch(`http://127.0.0.1:${port}/direct/7`);
    assert.equal(response.status, 426);
    assert.equal(
      await response.text(),
      "Expected a WebSocket upgrade request (Upgrade: websocket)\n",
    );
  }],

  [
    "hands handlers DOM events, Hono's readyState, and the runtime's own socket",
    async ({ name, port }) => {
      const c = await openWs(port, "/info");
      await c.next();
      c.ws.send("event");
      const raw = {
        deno: "WebSocket",
        "deno-codec": "WebSocketConnection",
        node: "WebSocketConnection",
        workerd: "WebSocket",
        bun: "ServerWebSocket",
      };
      assert.deepEqual(JSON.parse(textOf((await c.next()).data)), {
        messageEvent: true,
        type: "message",
        readyState: 1,
        raw: raw[name],
      });
      c.ws.send("compress");
      assert.equal(textOf((await c.next()).data), "not compressed");
      c.ws.close();
      await c.closed;
      if (name === "bun") {
        // The fixture takes { upgradeWebSocket, websocket } from createBunWebSocket().
        const bun = await openWs(port, "/bun-raw");
        assert.equal(textOf((await bun.next()).data), "raw function");
        bun.ws.close();
        await bun.closed;
      }
    },
  ],

  ["refuses to send an object with a TypeError, not an empty frame", async ({ port }) => {
    const c = await openWs(port, "/info");
    await c.next();
    c.ws.send("send-object");
    assert.equal(
      textOf((await c.next()).data),
      "TypeError: Cannot send an object (Object): send() takes a string, ArrayBuffer, view or Blob",
    );
    c.ws.close();
    await c.closed;
  }],

  ["fires onError with an Event before onClose when the peer breaks the protocol", async (t) => {
    if (CANNOT.protocolErrorEvent[t.name]) {
      // The documented exception: the Worker hears nothing at all.
      const user = `u${crypto.randomUUID()}`;
      const response = await rawRequest(t.port, upgradeRequest(`/info?user=${user}`));
      await response.conn.write(new Uint8Array([0x81, 0x82, 0, 0, 0, 0, 0xc3, 0x28]));
      assert.deepEqual(await seenFor(t.port, user), [], CANNOT.protocolErrorEvent[t.name]);
      response.conn.close();
      return;
    }
    for (
      const [what, frame] of [
        // Invalid UTF-8 in a masked text frame (mask 0: the payload as is).
        ["invalid UTF-8", [0x81, 0x82, 0, 0, 0, 0, 0xc3, 0x28]],
        // A ping over 125 bytes.
        ["a 126-byte ping", [0x89, 0xfe, 0, 126, 0, 0, 0, 0, ...new Array(126).fill(0)]],
      ] as const
    ) {
      const user = `u${crypto.randomUUID()}`;
      const response = await rawRequest(t.port, upgradeRequest(`/info?user=${user}`));
      assert.equal(response.status, 101);
      await response.conn.write(new Uint8Array(frame));
      const seen = await seenFor(t.port, user);
      response.conn.close();
      assert.equal(seen.length, 1, `${what}: ${JSON.stringify(seen)}`);
      // The first message (the info) was sent on open; then error, close.
      assert.equal(seen[0].order, "open,error,close", what);
      assert.equal(seen[0].wasClean, false, what);
    }
  }],

  ["answers another version with 426 and Sec-WebSocket-Version: 13", async ({ name, port }) => {
    const response = await rawRequest(
      port,
      upgradeRequest("/echo", { "Sec-WebSocket-Version": "8" }),
    );
    response.conn.close();
    if (CANNOT.refuseBadHandshake[name]) {
      // The documented exception: the runtime answers, not the app.
      assert.equal(response.status, 400, CANNOT.refuseBadHandshake[name]);
      assert.equal(response.headers.get("sec-websocket-version"), null);
      return;
    }
    assert.equal(response.status, 426);
    assert.equal(response.headers.get("sec-websocket-version"), "13");
    assert.equal(response.body, "Unsupported Sec-WebSocket-Version: only 13 is supported\n");
  }],

  ["answers a bad key with 400", async ({ name, port }) => {
    for (const key of ["short", null]) {
      const response = await rawRequest(
        port,
        upgradeRequest("/echo", { "Sec-WebSocket-Key": key }),
      );
      response.conn.close();
      if (CANNOT.refuseBadHandshake[name] && key !== null) {
        // The documented exception: workerd takes any key.
        assert.equal(response.status, 101, CANNOT.refuseBadHandshake[name]);
        continue;
      }
      assert.equal(response.status, 400, `key ${key}`);
      assert.equal(response.body.trim().split("\n").length, 1);
    }
  }],

  ["closes with 1009 above the route's maxMessageSize", async ({ port }) => {
    const c = await openWs(port, "/small");
    c.ws.send("a".repeat(1024));
    assert.equal(textOf((await c.next()).data), "a".repeat(1024));
    c.ws.send("a".repeat(2000));
    assert.equal((await c.closed).code, 1009);
  }],

  ["passes the server's close code and reason to the client", async ({ port }) => {
    for (const [code, reason] of [[1000, ""], [4002, "custom ✓"]] as const) {
      const c = await openWs(port, `/close?code=${code}&reason=${encodeURIComponent(reason)}`);
      assert.deepEqual(await c.closed, { code, reason });
    }
  }],

  ["pings from the server where the runtime can", async ({ name, port }) => {
    const c = await openWs(port, "/info");
    await c.next();
    c.ws.send("ping");
    const reply = textOf((await c.next()).data);
    if (CANNOT.ping[name]) {
      // The documented exception: ws.canPing is false and ping() does nothing.
      assert.equal(reply, "no ping", CANNOT.ping[name]);
      assert.deepEqual(c.pings, []);
    } else {
      assert.equal(reply, "pinged");
      assert.deepEqual(c.pings, ["p"]);
    }
    c.ws.close();
    await c.closed;
  }],

  ["topics: a publish reaches every subscriber but its sender, once; leavers get none", async ({
    name,
    port,
  }) => {
    const topic = `t${crypto.randomUUID().slice(0, 8)}`;
    const [a, b, c] = [
      await openWs(port, `/topic/${topic}`),
      await openWs(port, `/topic/${topic}`),
      await openWs(port, `/topic/${topic}`),
    ];
    for (const x of [a, b, c]) assert.equal(textOf((await x.next()).data), `joined ${topic}`);
    a.ws.send("count");
    assert.equal(textOf((await a.next()).data), "count 3");
    a.ws.send("hello");
    if (CANNOT.topics[name]) {
      // The documented exception: Workers refuse the write to b.
      assert.match(textOf((await a.next()).data), /^refused .*I\/O/, CANNOT.topics[name]);
    } else {
      assert.equal(textOf((await a.next()).data), "published 2");
      assert.equal(textOf((await b.next()).data), "hello");
      assert.equal(textOf((await c.next()).data), "hello");
      b.ws.send("leave");
      assert.equal(textOf((await b.next()).data), "left 2");
      a.ws.send("again");
      assert.equal(textOf((await a.next()).data), "published 1");
      assert.equal(textOf((await c.next()).data), "again");
      const posted = await fetch(`http://127.0.0.1:${port}/publish/${topic}`, {
        method: "POST",
        body: "from http",
      });
      assert.deepEqual(await posted.json(), { sent: 2, subscribers: 2 });
      assert.equal(textOf((await a.next()).data), "from http");
      assert.equal(textOf((await c.next()).data), "from http");
      c.ws.close();
      await c.closed;
      // b left: its next message is its own answer, not "again" or "from http".
      b.ws.send("count");
      assert.equal(textOf((await b.next()).data), "count 1");
    }
    for (const x of [a, b, c]) x.ws.close();
    await Promise.all([a.closed, b.closed, c.closed]);
  }],

  ["fires onDrain once a backed-up send queue has emptied", async ({ name, port }) => {
    const c = await openWs(port, "/drain");
    // Under Bun's 16 MiB backpressureLimit, over what the kernel buffers.
    const bytes = 12 * 1024 * 1024;
    // Not reading for a while: the server's queue must back up.
    c.ws.pause();
    c.ws.send(`fill ${bytes}`);
    await new Promise((r) => setTimeout(r, 500));
    c.ws.resume();
    const big = await c.next();
    assert.equal((big.data as Uint8Array).length, bytes);
    if (CANNOT.drain[name]) {
      assert.equal(textOf((await c.next()).data), "queued false", CANNOT.drain[name]);
    } else {
      assert.equal(textOf((await c.next()).data), "queued true");
      assert.equal(textOf((await c.next()).data), "drained 0");
    }
    c.ws.close();
    await c.closed;
  }],

  ["routes /foo and /bar to different handlers", async ({ port }) => {
    for (const path of ["/foo", "/bar"]) {
      const c = await openWs(port, path);
      assert.equal(textOf((await c.next()).data), path.slice(1));
      c.ws.close();
      await c.closed;
    }
  }],

  ["hands handlers a ws that is an instance of Hono's WSContext", async ({ port }) => {
    const c = await openWs(port, "/instanceof");
    // Hono's class, and still edgesocket's context (topics and all).
    assert.equal(textOf((await c.next()).data), "true function");
    c.ws.close();
    await c.closed;
  }],

  ["upgrades behind middleware that sets response headers", async ({ name, port }) => {
    const routes: Array<[string, string, string]> = [
      ["/secure", "x-content-type-options", "nosniff"],
      ["/cors", "access-control-allow-origin", "http://good.example"],
    ];
    for (const [path, header, value] of routes) {
      const c = await openWs(port, path, { origin: "http://good.example" });
      assert.equal(textOf((await c.next()).data), path.slice(1));
      if (CANNOT.middlewareHeadersOn101[name]) {
        // The documented exception: the socket opens, the headers are lost.
        assert.equal(c.headers[header], undefined, CANNOT.middlewareHeadersOn101[name]);
      } else {
        assert.equal(c.headers[header], value, `${path}: ${header}`);
      }
      c.ws.close();
      await c.closed;
    }
  }],
];

const ci = isCI();
for (const { name, error } of started) {
  if (error === undefined) continue;
  console.error(
    `parity: ${name} did not start${ci ? "" : " (its cases are ignored outside CI)"}: ${error}`,
  );
  Deno.test({
    name: `parity/${name}: the server starts`,
    ignore: !ci,
    fn() {
      throw error;
    },
  });
}

for (const [title, fn] of CASES) {
  for (const { name, server } of started) {
    if (!server && ci) continue; // CI: "the server starts" fails instead.
    Deno.test({
      name: `parity/${name}: ${title}`,
      ignore: !server,
      sanitizeOps: false,
      sanitizeResources: false,
      fn: () => within(fn({ name, port: server!.port }), `${name}: ${title}`, 30_000),
    });
  }
}

Deno.test({
  name: "parity: the servers stop",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await Promise.all(servers.map((server) => server.stop()));
  },
});
