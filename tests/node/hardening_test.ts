/** Handshake floods, connection limits, ping storms and graceful shutdown on the real Node 20. */
import assert from "node:assert/strict";
import { startNode } from "../_util/server_process.ts";
import { encodeFrame, Opcode, WebSocketProtocol } from "../../src/codec/mod.ts";
import { openTcpClient, rawRequest, upgradeRequest } from "../_util/tcp_client.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

Deno.test({
  name: "Node serve(): an unfinished request head is dropped after handshakeTimeout",
  ...opts,
  async fn() {
    const server = await startNode("tests/fixtures/node_app.ts", { HANDSHAKE_TIMEOUT: "1000" });
    try {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
      await conn.write(
        new TextEncoder().encode("GET /echo HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"),
      );
      const started = Date.now();
      const buf = new Uint8Array(1024);
      let answer = "";
      // Bounded: the server must end it well before 10 s.
      const deadline = setTimeout(() => conn.close(), 10_000);
      try {
        for (let n = await conn.read(buf); n !== null; n = await conn.read(buf)) {
          answer += new TextDecoder().decode(buf.subarray(0, n));
        }
      } catch { /* closed by the deadline */ }
      clearTimeout(deadline);
      const elapsed = Date.now() - started;
      assert.ok(elapsed < 5000, `dropped after ${elapsed} ms`);
      assert.match(answer, /^HTTP\/1.1 408|^$/);
      try {
        conn.close();
      } catch { /* closed */ }
      // The server still serves.
      const ws = await openTcpClient(server.port, "/echo");
      ws.send("alive");
      assert.equal(await ws.nextMessage(), "alive");
      ws.close();
      await ws.closed;
    } finally {
      await server.stop();
    }
  },
});

Deno.test({
  name:
    "Node serve(): headers over maxHeaderSize get 431; past maxConnections 503 with Retry-After",
  ...opts,
  async fn() {
    const server = await startNode("tests/fixtures/node_app.ts", {
      MAX_CONNECTIONS: "3",
      MAX_HEADER_SIZE: "4096",
    });
    try {
      const big = await rawRequest(
        server.port,
        upgradeRequest("/echo", { "X-Big": "a".repeat(8000) }),
      );
      assert.equal(big.status, 431);
      big.conn.close();
      const open = [];
      for (let i = 0; i < 3; i++) open.push(await openTcpClient(server.port, "/echo"));
      const refused = await rawRequest(server.port, upgradeRequest("/echo"));
      assert.equal(refused.status, 503);
      assert.equal(refused.headers.get("retry-after"), "5");
      refused.conn.close();
      for (const [i, ws] of open.entries()) {
        ws.send(`still ${i}`);
        assert.equal(await ws.nextMessage(), `still ${i}`);
      }
      open[0].close();
      await open[0].closed;
      // A slot is free again.
      let again;
      for (let i = 0; i < 50 && !again; i++) {
        try {
          again = await openTcpClient(server.port, "/echo");
        } catch {
          await new Promise((r) => setTimeout(r, 20));
        }
      }
      assert.ok(again, "a new upgrade succeeds once one closed");
      for (const ws of [...open.slice(1), again]) {
        ws.close();
        await ws.closed;
      }
    } finally {
      await server.stop();
    }
  },
});

Deno.test({
  name: "Node shutdown(): 1,000 open connections all get 1001 and the process exits",
  ...opts,
  async fn() {
    const server = await startNode("tests/fixtures/node_app.ts");
    const sockets: WebSocket[] = [];
    const codes: Promise<number>[] = [];
    for (let i = 0; i < 1000; i++) {
      const ws = new WebSocket(`ws://127.0.0.1:${server.port}/echo`);
      codes.push(new Promise((resolve) => (ws.onclose = (e) => resolve(e.code))));
      sockets.push(ws);
    }
    await Promise.all(sockets.map((ws) => new Promise((r) => (ws.onopen = r))));
    server.process.kill("SIGTERM");
    const got = await Promise.all(codes);
    assert.equal(got.filter((c) => c === 1001).length, 1000);
    const status = await server.process.status;
    assert.equal(status.code, 0);
    assert.match(server.output(), /shutdown closed=1000 dropped=0/);
    await server.stop();
  },
});

async function readRss(pid: number): Promise<number> {
  const status = await Deno.readTextFile(`/proc/${pid}/status`);
  return Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1]) * 1024;
}

Deno.test({
  name: "Node serve(): a ping storm that never reads its pongs gets 1008, memory flat",
  ...opts,
  async fn() {
    const server = await startNode("tests/fixtures/node_app.ts");
    try {
      const echo = await openTcpClient(server.port, "/echo");
      echo.send("warm");
      assert.equal(await echo.nextMessage(), "warm");
      const before = await readRss(server.process.pid);
      const storm = await rawRequest(server.port, upgradeRequest("/echo"));
      assert.equal(storm.status, 101);
      // 1,000 masked pings of 125 bytes a batch, 400 batches: 52 MB of
      // pings, whose pongs, all kept, would cost the server over 200 MB.
      const frames = [];
      for (let i = 0; i < 1000; i++) {
        frames.push(...encodeFrame(Opcode.Ping, new Uint8Array(125).fill(i), { mask: true }));
      }
      const batch = new Uint8Array(frames.reduce((n, f) => n + f.length, 0));
      frames.reduce((at, f) => (batch.set(f, at), at + f.length), 0);
      let peak = before;
      const sampler = setInterval(async () => {
        peak = Math.max(peak, await readRss(server.process.pid).catch(() => 0));
      }, 50);
      let sent = 0;
      try {
        for (let i = 0; i < 400; i++) {
          for (let at = 0; at < batch.length;) at += await storm.conn.write(batch.subarray(at));
          sent += 1000;
          if (i === 200) {
            // Another connection keeps echoing meanwhile.
            echo.send("during the storm");
            assert.equal(await echo.nextMessage(), "during the storm");
          }
        }
      } catch (error) {
        // The server may drop the socket once it failed it: the flood ends.
        if (
          !(error instanceof Deno.errors.BrokenPipe || error instanceof Deno.errors.ConnectionReset)
        ) {
          throw error;
        }
      }
      await new Promise((resolve) => setTimeout(resolve, 300));
      clearInterval(sampler);
      peak = Math.max(peak, await readRss(server.process.pid));
      // Generous: garbage from 52 MB of reads, not a backlog of pongs.
      assert.ok(peak - before < 64 * 2 ** 20, `RSS grew ${(peak - before) >> 20} MiB`);
      // Now read: some pongs, then the 1008 close.
      let pongs = 0;
      let code = 0;
      const client = new WebSocketProtocol({
        write() {},
        onText() {},
        onBinary() {},
        onPong: () => pongs++,
        onClose: (c) => (code = c),
      }, { role: "client" });
      if (storm.rest.length > 0) client.receive(storm.rest.slice());
      const buf = new Uint8Array(65536);
      const deadline = setTimeout(() => storm.conn.close(), 20_000);
      try {
        for (let n = await storm.conn.read(buf); n !== null && code === 0;) {
          client.receive(buf.slice(0, n));
          if (code === 0) n = await storm.conn.read(buf);
        }
      } catch { /* closed by the deadline */ }
      clearTimeout(deadline);
      assert.equal(code, 1008);
      assert.ok(pongs > 0 && pongs < sent, `${pongs} pongs to ${sent} pings`);
      try {
        storm.conn.close();
      } catch { /* closed */ }
      echo.send("after the storm");
      assert.equal(await echo.nextMessage(), "after the storm");
      echo.close();
      await echo.closed;
    } finally {
      await server.stop();
    }
  },
});

Deno.test({
  name: "Node serve(): a failed connection whose peer never reads is dropped, not held open",
  ...opts,
  async fn() {
    const server = await startNode("tests/fixtures/node_app.ts");
    try {
      const peer = await rawRequest(server.port, upgradeRequest("/echo"));
      assert.equal(peer.status, 101);
      // 16 MiB of echoes the peer does not read: more than the kernel buffers.
      const message = encodeFrame(Opcode.Binary, new Uint8Array(1 << 20), { mask: true });
      for (let i = 0; i < 16; i++) {
        for (const chunk of message) {
          for (let at = 0; at < chunk.length;) at += await peer.conn.write(chunk.subarray(at));
        }
      }
      // An unmasked frame: 1002, and the server ends TCP behind 16 MiB unread.
      await peer.conn.write(new Uint8Array([0x81, 0x01, 0x61]));
      // Past the 5 s an ended socket may idle.
      await new Promise((resolve) => setTimeout(resolve, 6500));
      const expected = 16 * ((1 << 20) + 10) + 4 + "Masking required".length;
      let received = peer.rest.length;
      let reset = false;
      const buf = new Uint8Array(1 << 16);
      const deadline = setTimeout(() => peer.conn.close(), 20_000);
      try {
        for (let n = await peer.conn.read(buf); n !== null; n = await peer.conn.read(buf)) {
          received += n;
        }
      } catch (error) {
        reset = error instanceof Deno.errors.ConnectionReset;
        if (!reset && !(error instanceof Deno.errors.BadResource)) throw error;
      }
      clearTimeout(deadline);
      // Held open, the socket would have delivered every echo and the close.
      assert.ok(
        reset || received < expected,
        `received ${received} of ${expected}, reset ${reset}`,
      );
      try {
        peer.conn.close();
      } catch { /* closed */ }
    } finally {
      await server.stop();
    }
  },
});
