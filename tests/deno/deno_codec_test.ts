/**
 * serveWithCodec() on Deno, in this process, through real loopback sockets:
 * `Deno.serve`'s call forms and options, the `Deno.HttpServer` shape, TLS,
 * compression, and shutdown() from the Deno entry for both servers.
 */
import assert from "node:assert/strict";
import { Hono } from "hono";
import {
  type CodecServer,
  type CodecServerAddr,
  serveWithCodec,
  type ServeWithCodecOptions,
  shutdown,
  upgradeWebSocket,
} from "../../src/entries/deno.ts";
import { frame } from "../_util/chunking.ts";
import { rawRequest, readResponse, upgradeRequest } from "../_util/tcp_client.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

function createApp(): Hono {
  const app = new Hono();
  app.get("/", (c) => c.text("page"));
  app.get(
    "/echo",
    upgradeWebSocket(() => ({
      onOpen: (_e, ws) => ws.send(`raw ${ws.raw?.constructor.name} ping ${ws.canPing}`),
      onMessage: (e, ws) => ws.send(e.data as string),
    })),
  );
  app.get("/deflate", upgradeWebSocket(() => ({}), { compression: true }));
  return app;
}

/** Starts a server on a free port of 127.0.0.1 and waits for onListen. */
async function start(
  init: ServeWithCodecOptions = {},
): Promise<{ server: CodecServer; addr: CodecServerAddr }> {
  let listening: (addr: CodecServerAddr) => void = () => {};
  const ready = new Promise<CodecServerAddr>((resolve) => (listening = resolve));
  const server = serveWithCodec(
    { port: 0, hostname: "127.0.0.1", ...init, onListen: listening },
    createApp().fetch,
  );
  return { server, addr: await ready };
}

/** Opens Deno's own WebSocket; resolves with it and its first message. */
async function openEcho(url: string): Promise<{ ws: WebSocket; first: string }> {
  const ws = new WebSocket(url);
  const first = await new Promise<string>((resolve, reject) => {
    ws.onmessage = (e) => resolve(e.data);
    ws.onerror = () => reject(new Error(`WebSocket ${url} failed`));
  });
  return { ws, first };
}

function isRefused(port: number): Promise<boolean> {
  return Deno.connect({ hostname: "127.0.0.1", port }).then((conn) => {
    conn.close();
    return false;
  }, () => true);
}

Deno.test({
  name: "serveWithCodec() serves pages and codec-driven WebSockets, shaped as Deno.HttpServer",
  ...opts,
  async fn() {
    const { server, addr } = await start();
    try {
      assert.equal(addr.transport, "tcp");
      assert.equal(addr.hostname, "127.0.0.1");
      assert.ok(addr.port > 0);
      assert.deepEqual(server.addr, addr);
      const page = await fetch(`http://127.0.0.1:${addr.port}/`);
      assert.equal(await page.text(), "page");
      const { ws, first } = await openEcho(`ws://127.0.0.1:${addr.port}/echo`);
      // The codec's connection, which can ping: not Deno's WebSocket.
      assert.equal(first, "raw WebSocketConnection ping true");
      const echoed = new Promise((resolve) => (ws.onmessage = (e) => resolve(e.data)));
      ws.send("héllo");
      assert.equal(await echoed, "héllo");
      ws.close();
    } finally {
      await server.shutdown();
    }
    await server.finished;
    assert.ok(await isRefused(addr.port));
  },
});

Deno.test({
  name: "serveWithCodec() takes { handler } as Deno.serve does, and throws TypeError without one",
  ...opts,
  async fn() {
    let listening: (addr: CodecServerAddr) => void = () => {};
    const ready = new Promise<CodecServerAddr>((resolve) => (listening = resolve));
    const server = serveWithCodec({
      port: 0,
      hostname: "127.0.0.1",
      onListen: listening,
      handler: createApp().fetch,
    });
    const { port } = await ready;
    assert.equal(await (await fetch(`http://127.0.0.1:${port}/`)).text(), "page");
    await server.shutdown();
    assert.throws(
      () => serveWithCodec({ port: 0 } as never),
      (error) => error instanceof TypeError && /needs a handler/.test(error.message),
    );
  },
});

Deno.test({
  name: "serveWithCodec() prints Deno.serve's line by default, and answers with onError",
  ...opts,
  async fn() {
    const lines: string[] = [];
    const log = console.log;
    console.log = (line: string) => lines.push(line);
    let server: CodecServer | undefined;
    try {
      server = serveWithCodec({
        port: 0,
        hostname: "127.0.0.1",
        onError: (error) => new Response(`caught ${(error as Error).message}`, { status: 502 }),
      }, () => {
        throw new Error("raw");
      });
      for (let i = 0; i < 250 && lines.length === 0; i++) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    } finally {
      console.log = log;
    }
    try {
      const port = server.addr.port;
      assert.deepEqual(lines, [`Listening on http://127.0.0.1:${port}/`]);
      const response = await fetch(`http://127.0.0.1:${port}/`);
      assert.equal(response.status, 502);
      assert.equal(await response.text(), "caught raw");
    } finally {
      await server.shutdown();
    }
  },
});

Deno.test({
  name: "serveWithCodec() stops when its signal aborts; finished rejects when the port is taken",
  ...opts,
  async fn() {
    const controller = new AbortController();
    const { server, addr } = await start({ signal: controller.signal });
    controller.abort();
    await server.finished;
    assert.ok(await isRefused(addr.port));
    const taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    try {
      const clash = serveWithCodec({
        port: (taken.addr as Deno.NetAddr).port,
        hostname: "127.0.0.1",
        onListen() {},
      }, createApp().fetch);
      await assert.rejects(clash.finished, /EADDRINUSE|in use/i);
    } finally {
      taken.close();
    }
  },
});

Deno.test({
  name: "shutdown() from the Deno entry: 1001 to every codec socket, silent ones dropped",
  ...opts,
  async fn() {
    const { server, addr } = await start();
    const { ws } = await openEcho(`ws://127.0.0.1:${addr.port}/echo`);
    const closed = new Promise<number>((resolve) => (ws.onclose = (e) => resolve(e.code)));
    // A peer that reads but never answers the close frame.
    const silent = await rawRequest(addr.port, upgradeRequest("/echo"));
    assert.equal(silent.status, 101);
    const result = await shutdown(server, { timeout: 500 });
    assert.deepEqual(result, { closed: 1, dropped: 1 });
    assert.equal(await closed, 1001);
    await server.finished;
    assert.ok(await isRefused(addr.port));
    silent.conn.close();
  },
});

Deno.test({
  name: "shutdown() from the Deno entry still shuts a Deno.serve() server down",
  ...opts,
  async fn() {
    let listening: (port: number) => void = () => {};
    const ready = new Promise<number>((resolve) => (listening = resolve));
    const native = Deno.serve({
      port: 0,
      hostname: "127.0.0.1",
      onListen: ({ port }) => listening(port),
    }, createApp().fetch);
    const port = await ready;
    const { ws, first } = await openEcho(`ws://127.0.0.1:${port}/echo`);
    assert.equal(first, "raw WebSocket ping false");
    const closed = new Promise<number>((resolve) => (ws.onclose = (e) => resolve(e.code)));
    assert.deepEqual(await shutdown(native, { timeout: 2000 }), { closed: 1, dropped: 0 });
    assert.equal(await closed, 1001);
    await native.finished;
  },
});

Deno.test({
  name: "serveWithCodec() negotiates permessage-deflate on a route that asks for it",
  ...opts,
  async fn() {
    const { server, addr } = await start();
    try {
      const offer = { "Sec-WebSocket-Extensions": "permessage-deflate; client_max_window_bits" };
      const agreed = await rawRequest(addr.port, upgradeRequest("/deflate", offer));
      agreed.conn.close();
      assert.equal(agreed.status, 101);
      assert.match(agreed.headers.get("sec-websocket-extensions") ?? "", /^permessage-deflate/);
    } finally {
      await server.shutdown();
    }
  },
});

/** Makes a self-signed certificate for 127.0.0.1 with openssl, in a temp dir. */
async function makeCertificate(): Promise<{ cert: string; key: string }> {
  const dir = await Deno.makeTempDir({ prefix: "edgesocket-deno-codec-" });
  try {
    const { code, stderr } = await new Deno.Command("openssl", {
      args: [
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-keyout",
        "key.pem",
        "-out",
        "cert.pem",
        "-days",
        "1",
        "-subj",
        "/CN=127.0.0.1",
        // A leaf, not a CA: rustls refuses a CA certificate as the server's.
        "-addext",
        "basicConstraints=critical,CA:FALSE",
        "-addext",
        "extendedKeyUsage=serverAuth",
        "-addext",
        "subjectAltName=IP:127.0.0.1",
      ],
      cwd: dir,
      stdout: "null",
      stderr: "piped",
    }).output();
    if (code !== 0) throw new Error(`openssl failed: ${new TextDecoder().decode(stderr)}`);
    return {
      cert: await Deno.readTextFile(`${dir}/cert.pem`),
      key: await Deno.readTextFile(`${dir}/key.pem`),
    };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test({
  name: "serveWithCodec({ cert, key }) serves HTTPS and wss://, named as Deno.serve names them",
  ...opts,
  async fn() {
    const { cert, key } = await makeCertificate();
    const { server, addr } = await start({ cert, key });
    const client = Deno.createHttpClient({ caCerts: [cert] });
    try {
      const page = await fetch(`https://127.0.0.1:${addr.port}/`, { client });
      assert.equal(await page.text(), "page");
      const conn = await Deno.connectTls({
        hostname: "127.0.0.1",
        port: addr.port,
        caCerts: [cert],
      });
      await conn.write(new TextEncoder().encode(upgradeRequest("/echo")));
      const upgraded = await readResponse(conn);
      assert.equal(upgraded.status, 101);
      await conn.write(frame(0x1, new TextEncoder().encode("over tls")));
      // The greeting, then the echo: unmasked text frames from the server.
      let bytes = upgraded.rest;
      const buf = new Uint8Array(4096);
      const text = () => new TextDecoder().decode(bytes);
      while (!text().includes("over tls")) {
        const n = await conn.read(buf);
        assert.notEqual(n, null, `closed after ${text()}`);
        bytes = new Uint8Array([...bytes, ...buf.subarray(0, n!)]);
      }
      conn.close();
    } finally {
      client.close();
      await server.shutdown();
    }
  },
});

Deno.test({
  name: "serveWithCodec()'s server shuts down on `await using`",
  ...opts,
  async fn() {
    let port = 0;
    {
      await using started = await start().then(({ server, addr }) => {
        port = addr.port;
        return server;
      });
      assert.equal(await (await fetch(`http://127.0.0.1:${started.addr.port}/`)).text(), "page");
    }
    assert.ok(await isRefused(port));
  },
});
