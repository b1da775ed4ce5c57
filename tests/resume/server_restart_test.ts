/**
 * A server killed with SIGKILL and started again on the same port, with
 * the in-memory stores: its sessions and its history are gone, and the
 * client is told so — a fresh session, and `recovered: false` for the
 * topic it was following — instead of a silent gap.
 */
import assert from "node:assert/strict";
import { ResumableWebSocket, type ResumedEvent } from "../../src/client/mod.ts";
import { freePort, startNode } from "../_util/server_process.ts";

Deno.test({
  name:
    "a Node server restarted after SIGKILL with in-memory history: the client is told recovered: false",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const port = freePort();
    const base = `http://127.0.0.1:${port}`;
    const topic = "resume:restart";
    let server = await startNode("tests/fixtures/resume_node_app.ts", { PORT: `${port}` });
    const socket = new ResumableWebSocket(`ws://127.0.0.1:${port}/ws?run=restart`, {
      minDelay: 20,
      maxDelay: 200,
      pingInterval: 500,
      pongTimeout: 500,
    });
    const received: Array<{ data: unknown; topic?: string }> = [];
    socket.onmessage = (e) => void received.push({ data: e.data, topic: e.topic });
    try {
      await new Promise((resolve) => socket.addEventListener("open", resolve, { once: true }));
      await fetch(`${base}/publish?run=restart&from=0&to=3`, { method: "POST" }).then((r) =>
        r.text()
      );
      while (received.length < 3) await new Promise((r) => setTimeout(r, 10));
      const before = socket.positions[topic];
      assert.equal(before.offset, 3);
      server.process.kill("SIGKILL");
      await server.process.status;
      await server.stop();
      const resumed = new Promise<ResumedEvent>((resolve) =>
        socket.addEventListener("resumed", (e) => resolve(e as ResumedEvent), { once: true })
      );
      server = await startNode("tests/fixtures/resume_node_app.ts", { PORT: `${port}` });
      const event = await resumed;
      assert.equal(event.session, false, "the sessions died with the process");
      assert.equal(event.recovered, false);
      assert.deepEqual(event.topics, { [topic]: false }, "the history died with it too");
      const after = socket.positions[topic];
      assert.notEqual(after.epoch, before.epoch, "a new epoch");
      assert.equal(after.offset, 0);
      await fetch(`${base}/publish?run=restart&from=3&to=4`, { method: "POST" }).then((r) =>
        r.text()
      );
      while (received.length < 4) await new Promise((r) => setTimeout(r, 10));
      assert.deepEqual(received.map((m) => m.data), ["p0", "p1", "p2", "p3"]);
    } finally {
      socket.close();
      await server.stop();
    }
  },
});
