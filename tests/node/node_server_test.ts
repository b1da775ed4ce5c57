/**
 * The Node adapter, served by the real Node 20 (not Deno's emulation), against
 * the `ws` client, Deno's own WebSocket, our codec client, and raw TCP.
 */
import assert from "node:assert/strict";
import WebSocket from "ws";
import { startNode } from "../_util/server_process.ts";
import { openTcpClient, rawRequest, upgradeRequest } from "../_util/tcp_client.ts";
import { frame } from "../_util/chunking.ts";

const server = await startNode("tests/fixtures/node_app.ts");
const { port } = server;
const url = (path: string) => `ws://127.0.0.1:${port}${path}`;

/** Runs `fn` with an open `ws` client and closes it afterwards. */
function wsClient(path: string, protocols?: string[], options?: WebSocket.ClientOptions) {
  const ws = new WebSocket(url(path), protocols, options);
  const messages: Array<{ data: Buffer | string; isBinary: boolean }> = [];
  const waiters: Array<() => void> = [];
  ws.on("message", (data: Buffer, isBinary: boolean) => {
    messages.push({ data: isBinary ? data : data.toString(), isBinary });
    waiters.shift()?.();
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.on("close", (code: number, reason: Buffer) => resolve({ code, reason: reason.toString() }))
  );
  const opened = new Promise<void>((resolve, reject) => {
    ws.on("open", () => resolve());
    ws.on("error", reject);
  });
  const next = async () => {
    if (messages.length === 0) await new Promise<void>((r) => waiters.push(r));
    return messages.shift()!;
  };
  return { ws, opened, closed, next };
}

Deno.test({
  name: "Node server: ws client round-trips text, binary, 16 MiB, ping and close",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const c = wsClient("/echo", ["chat"]);
    await c.opened;
    assert.equal(c.ws.protocol, "chat");
    c.ws.send("héllo");
    assert.deepEqual(await c.next(), { data: "héllo", isBinary: false });
    c.ws.send(new Uint8Array([0, 1, 255]));
    const bin = await c.next();
    assert.equal(bin.isBinary, true);
    assert.deepEqual(new Uint8Array(bin.data as Buffer), new Uint8Array([0, 1, 255]));
    const big = new Uint8Array(16 * 1024 * 1024);
    for (let i = 0; i < big.length; i += 4096) big[i] = i >> 12;
    c.ws.send(big);
    const echoed = await c.next();
    assert.equal((echoed.data as Buffer).length, big.length);
    assert.ok(Buffer.compare(echoed.data as Buffer, Buffer.from(big)) === 0);
    const pong = new Promise<string>((r) => c.ws.on("pong", (d: Buffer) => r(d.toString())));
    c.ws.ping("are you there");
    assert.equal(await pong, "are you there");
    c.ws.close(4001, "bye");
    assert.equal((await c.closed).code, 4001);
  },
});

Deno.test({
  name: "Node server: close codes and reasons from the server reach the ws client",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    for (
      const [code, reason] of [[1000, ""], [4002, "custom ✓"], [3000, "x".repeat(100)]] as const
    ) {
      const c = wsClient(`/close?code=${code}&reason=${encodeURIComponent(reason)}`);
      assert.deepEqual(await c.closed, { code, reason });
    }
  },
});

Deno.test({
  name: "Node server: Deno's WebSocket client sends text and binary and closes",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const ws = new globalThis.WebSocket(url("/echo"), ["echo"]);
    ws.binaryType = "arraybuffer";
    const messages: unknown[] = [];
    const got = (n: number) =>
      new Promise<void>((resolve) => {
        const check = () => messages.length >= n ? resolve() : setTimeout(check, 5);
        check();
      });
    ws.onmessage = (e) => messages.push(e.data);
    await new Promise((r) => (ws.onopen = r));
    assert.equal(ws.protocol, "echo");
    ws.send("text");
    ws.send(new Uint8Array([9, 8, 7]));
    await got(2);
    assert.equal(messages[0], "text");
    assert.deepEqual(new Uint8Array(messages[1] as ArrayBuffer), new Uint8Array([9, 8, 7]));
    const closed = new Promise<CloseEvent>((r) => (ws.onclose = r));
    ws.close(3001, "later");
    const event = await closed;
    assert.equal(event.code, 3001);
    assert.equal(event.wasClean, true);
  },
});

Deno.test({
  name: "Node server: our codec client talks to it over TCP",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const ws = await openTcpClient(port, "/info?user=lin", { protocols: ["v1"] });
    assert.equal(ws.protocol, "v1");
    assert.deepEqual(JSON.parse(await ws.nextMessage() as string).user, { user: "lin" });
    ws.send("view");
    assert.deepEqual(await ws.nextMessage(), new Uint8Array([5, 5, 5]));
    ws.send("ping");
    assert.equal(await ws.nextMessage(), "pinged");
    ws.close(1000);
    assert.equal((await ws.closed).code, 1000);
  },
});

Deno.test({
  name: "Node server: bad handshakes get 400/426/403/401 with a one-line reason, and it goes on",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const keep = await openTcpClient(port, "/echo");
    const cases: Array<[string, number]> = [
      [upgradeRequest("/echo", { "Sec-WebSocket-Version": "8" }), 426],
      [upgradeRequest("/echo", { "Sec-WebSocket-Key": "short" }), 400],
      [upgradeRequest("/echo", { "Sec-WebSocket-Key": null }), 400],
      [upgradeRequest("/echo", { Connection: "keep-alive" }), 400],
      [upgradeRequest("/echo", { "Sec-WebSocket-Protocol": "a b" }), 400],
      [upgradeRequest("/origin", { Origin: "http://evil.example" }), 403],
      [upgradeRequest("/private"), 401],
      [upgradeRequest("/nowhere"), 404],
      // Not an upgrade: on to the next handler, Hono's 404 here; the
      // direct form answers 426.
      [`GET /echo HTTP/1.1\r\nHost: x\r\n\r\n`, 404],
      [`GET /direct/1 HTTP/1.1\r\nHost: x\r\n\r\n`, 426],
    ];
    for (const [request, status] of cases) {
      const response = await rawRequest(port, request);
      response.conn.close();
      assert.equal(response.status, status, request);
      if (status !== 404) {
        assert.equal(response.body.trim().split("\n").length, 1, response.body);
      }
      if (status === 426 && request.includes("Version: 8")) {
        assert.equal(response.headers.get("sec-websocket-version"), "13");
      }
    }
    keep.send("still here");
    assert.equal(await keep.nextMessage(), "still here");
    keep.close();
    await keep.closed;
  },
});

async function readCloseCode(conn: Deno.Conn, rest: Uint8Array): Promise<number> {
  let data = rest;
  const buf = new Uint8Array(1024);
  while (data.length < 4) {
    const n = await conn.read(buf);
    if (n === null) break;
    const next = new Uint8Array(data.length + n);
    next.set(data);
    next.set(buf.subarray(0, n), data.length);
    data = next;
  }
  assert.equal(data[0], 0x88, "a close frame");
  return (data[2] << 8) | data[3];
}

Deno.test({
  name: "Node server: protocol violations get their close code; others are untouched",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const keep = await openTcpClient(port, "/echo");
    const violations: Array<[Uint8Array, number]> = [
      [frame(1, new TextEncoder().encode("x"), { mask: null }), 1002],
      [frame(1, new Uint8Array([0xff, 0xfe])), 1007],
      [frame(9, new Uint8Array(126)), 1002],
      [frame(3, new Uint8Array(1)), 1002],
      [new Uint8Array([0x82, 0xff, 0, 0, 1, 0, 0, 0, 0, 0, 1, 2, 3, 4]), 1009],
      [frame(8, new Uint8Array([3])), 1002],
    ];
    for (const [bytes, code] of violations) {
      const response = await rawRequest(port, upgradeRequest("/echo"));
      assert.equal(response.status, 101);
      await response.conn.write(bytes);
      assert.equal(await readCloseCode(response.conn, response.rest), code);
      response.conn.close();
    }
    const small = await rawRequest(port, upgradeRequest("/small"));
    await small.conn.write(frame(1, new Uint8Array(2000).fill(97)));
    assert.equal(await readCloseCode(small.conn, small.rest), 1009);
    small.conn.close();
    keep.send("fine");
    assert.equal(await keep.nextMessage(), "fine");
    keep.close();
    await keep.closed;
  },
});

Deno.test({
  name: "Node server: a client that vanishes mid-frame gets onClose once with 1006",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const before = (await (await fetch(`http://127.0.0.1:${port}/seen`)).json()).length;
    const response = await rawRequest(port, upgradeRequest("/record"));
    assert.equal(response.status, 101);
    // Half a frame: a header promising 100 bytes, then 10.
    await response.conn.write(frame(2, new Uint8Array(100)).subarray(0, 16));
    response.conn.close();
    let seen: Array<{ route: string; code: number; wasClean: boolean }> = [];
    for (let i = 0; i < 50 && seen.length <= before; i++) {
      await new Promise((r) => setTimeout(r, 20));
      seen = await (await fetch(`http://127.0.0.1:${port}/seen`)).json();
    }
    const after = seen.slice(before);
    assert.deepEqual(after, [{ route: "/record", code: 1006, wasClean: false, order: "" }]);
  },
});

Deno.test({
  name: "Node server: a peer's FIN without a close frame ends our side too, with 1006",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const before = (await (await fetch(`http://127.0.0.1:${port}/seen`)).json()).length;
    const response = await rawRequest(port, upgradeRequest("/record"));
    assert.equal(response.status, 101);
    // http.Server keeps half-open sockets; this one must not linger.
    await response.conn.closeWrite();
    const deadline = setTimeout(() => response.conn.close(), 5000);
    const buf = new Uint8Array(64);
    let ended = false;
    try {
      while (await response.conn.read(buf) !== null) { /* the 101's leftovers */ }
      ended = true;
    } catch { /* closed by the deadline */ }
    clearTimeout(deadline);
    assert.ok(ended, "the server ended its side");
    try {
      response.conn.close();
    } catch { /* closed */ }
    let seen: Array<{ route: string; code: number; wasClean: boolean }> = [];
    for (let i = 0; i < 50 && seen.length <= before; i++) {
      await new Promise((r) => setTimeout(r, 20));
      seen = await (await fetch(`http://127.0.0.1:${port}/seen`)).json();
    }
    assert.deepEqual(seen.slice(before), [
      { route: "/record", code: 1006, wasClean: false, order: "" },
    ]);
  },
});

Deno.test({
  name: "Node server: stops",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await server.stop();
  },
});
