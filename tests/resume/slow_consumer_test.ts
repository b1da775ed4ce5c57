/**
 * A resumable subscriber whose socket has more queued than the route's
 * highWaterMark is not skipped (that would be a silent gap): its socket is
 * closed 1013, and the client resumes and catches up from history, with
 * every publication once, in order. The fault proxy stops reading, so the
 * server's writes back up as they do behind a stalled phone.
 */
import assert from "node:assert/strict";
import { ResumableWebSocket } from "../../src/client/mod.ts";
import { FaultProxy } from "../_util/fault_proxy.ts";
import { startNode } from "../_util/server_process.ts";

Deno.test({
  name:
    "resume.highWaterMark: a slow socket is closed 1013 and catches up on resume, nothing skipped",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const server = await startNode("tests/fixtures/resume_node_app.ts", {
      HIGH_WATER_MARK: "65536",
      HISTORY_BYTES: `${64 << 20}`,
    });
    const proxy = FaultProxy.start({ target: { port: server.port }, cutBytes: null, cutMs: null });
    const base = `http://127.0.0.1:${server.port}`;
    const socket = new ResumableWebSocket(`ws://127.0.0.1:${proxy.port}/ws?run=slow`, {
      minDelay: 5,
      maxDelay: 50,
    });
    const received: string[] = [];
    socket.onmessage = (e) => void received.push((e.data as string).split(" ")[0]);
    const closes: number[] = [];
    socket.addEventListener("reconnecting", () => void closes.push(received.length));
    const count = 300;
    try {
      await new Promise((resolve) => socket.addEventListener("open", resolve, { once: true }));
      proxy.stall = true;
      // 300 publications of 64 KiB (19 MiB): more than the kernel's buffers hold.
      for (let from = 0; from < count; from += 50) {
        await fetch(`${base}/publish?run=slow&from=${from}&to=${from + 50}&size=65536`, {
          method: "POST",
        }).then((r) => r.text());
      }
      await new Promise((resolve) => setTimeout(resolve, 300));
      proxy.stall = false;
      const deadline = Date.now() + 30_000;
      while (received.length < count && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 20));
      }
      console.log(`socket closed after ${closes[0]} of ${count}; ${closes.length} reconnect(s)`);
      assert.ok(closes.length >= 1, "the slow socket was closed and the client came back");
      assert.ok(closes[0] < count, `it had ${closes[0]} of ${count} when its socket went`);
      assert.deepEqual(received, Array.from({ length: count }, (_, i) => `p${i}`));
    } finally {
      socket.close();
      await proxy.close();
      await server.stop();
    }
  },
});
