/**
 * Chromium, which always offers permessage-deflate, against the Node
 * adapter's `serve()` with `compression: true`, on the real Node 20 and on
 * Deno's `node:http`. A counting TCP proxy between them proves the bytes on
 * the wire were compressed both ways. Skipped without Chromium, except in
 * CI (CI=true). CHROMIUM names another binary.
 */
import assert from "node:assert/strict";
import { chromium } from "playwright-core";
import {
  BIN,
  bundleForNode,
  ROOT,
  type ServerProcess,
  startProcess,
} from "../_util/server_process.ts";

const CHROMIUM = Deno.env.get("CHROMIUM") ?? "/usr/bin/chromium";
const ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"];
const IN_CI = ["true", "1"].includes(Deno.env.get("CI") ?? "");
const HAS_CHROMIUM = await Deno.stat(CHROMIUM).then(() => true, () => false);
const FIXTURE = "tests/fixtures/compression_app.ts";
const READY = /listening (\d+)/;

const RUNTIMES: Array<[string, () => Promise<ServerProcess>]> = [
  ["Node 20", async () => startProcess(BIN.node, [await bundleForNode(FIXTURE)], { ready: READY })],
  [
    "Deno node:http",
    () => startProcess(BIN.deno, ["run", "-A", `${ROOT}${FIXTURE}`], { ready: READY }),
  ],
];

/** A TCP proxy on 127.0.0.1 that counts the bytes each way. */
function startCountingProxy(target: number) {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const counts = { up: 0, down: 0 };
  const conns: Deno.Conn[] = [];
  const pipe = async (from: Deno.Conn, to: Deno.Conn, key: "up" | "down") => {
    const buf = new Uint8Array(65536);
    try {
      for (let n = await from.read(buf); n !== null; n = await from.read(buf)) {
        counts[key] += n;
        let at = 0;
        while (at < n) at += await to.write(buf.subarray(at, n));
      }
    } catch { /* closed */ }
    try {
      await to.closeWrite();
    } catch { /* closed */ }
  };
  const accepting = (async () => {
    try {
      for await (const client of listener) {
        const server = await Deno.connect({ hostname: "127.0.0.1", port: target });
        conns.push(client, server);
        pipe(client, server, "up");
        pipe(server, client, "down");
      }
    } catch { /* listener closed */ }
  })();
  return {
    port: (listener.addr as Deno.NetAddr).port,
    counts,
    async close() {
      listener.close();
      for (const conn of conns) {
        try {
          conn.close();
        } catch { /* closed */ }
      }
      await accepting;
    },
  };
}

for (const [runtime, start] of RUNTIMES) {
  Deno.test({
    name:
      `Chromium against serve() on ${runtime} with compression: permessage-deflate agreed, 1 MB each way in far fewer bytes`,
    ignore: !HAS_CHROMIUM && !IN_CI,
    sanitizeOps: false,
    sanitizeResources: false,
    async fn() {
      if (!HAS_CHROMIUM) {
        throw new Error(`Chromium is missing at ${CHROMIUM}: apt-get install chromium`);
      }
      const server = await start();
      const proxy = startCountingProxy(server.port);
      const browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
      try {
        const page = await browser.newPage();
        // Same origin as the socket: Chromium blocks local sockets from about:blank.
        await page.goto(`http://127.0.0.1:${proxy.port}/`);
        const result = await page.evaluate(async (url) => {
          const ws = new WebSocket(url);
          const replies: string[] = [];
          let wake = () => {};
          ws.onmessage = (e) => {
            replies.push(e.data as string);
            wake();
          };
          const next = () =>
            replies.length > 0
              ? Promise.resolve(replies.shift()!)
              : new Promise<string>((resolve) => wake = () => resolve(replies.shift()!));
          await new Promise((resolve, reject) => {
            ws.onopen = resolve;
            ws.onerror = reject;
          });
          ws.send("?extensions");
          const server = await next();
          // Chat-like JSON, about 1 MB, sent and echoed 10 times.
          const lines = [];
          for (let i = 0; i < 10_000; i++) {
            lines.push({ from: `user${i % 13}`, text: `message number ${i}`, at: 1700000000 + i });
          }
          const big = JSON.stringify(lines);
          let echoed = 0;
          for (let i = 0; i < 10; i++) {
            ws.send(big);
            if ((await next()) === big) echoed++;
          }
          ws.close(1000);
          return { client: ws.extensions, server, echoed, size: big.length };
        }, `ws://127.0.0.1:${proxy.port}/echo`);
        assert.match(result.client, /^permessage-deflate/);
        assert.equal(result.server, result.client);
        assert.equal(result.echoed, 10);
        const total = result.size * 10;
        // Compressed both ways: Chromium's messages inflated by the server,
        // the server's deflated for Chromium.
        assert.ok(proxy.counts.up < total / 5, `up ${proxy.counts.up} of ${total}`);
        assert.ok(proxy.counts.down < total / 5, `down ${proxy.counts.down} of ${total}`);
      } finally {
        await browser.close();
        await proxy.close();
        await server.stop();
      }
    },
  });
}
