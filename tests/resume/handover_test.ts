/**
 * A session that moves to another process while the first one's last write
 * to the shared store is still on its way (a loaded process, a slow
 * Redis): the second process must resume from that write, not from the
 * record before it, or it hands the client's unacknowledged messages to
 * `onMessage` a second time. Two apps in one process, one shared store
 * whose writes from the first app land late.
 */
import assert from "node:assert/strict";
import { Hono } from "hono";
import { upgradeWebSocket } from "../../mod.ts";
import type { ResumeSessionRecord, SessionStore } from "../../src/core/session_store.ts";
import { eventually, hello } from "./_raw_client.ts";

// A shared store (as Redis is): each write is the record as it was when
// written, landing after `delay()` ms.
function sharedStore(map: Map<string, ResumeSessionRecord>, delay: () => number): SessionStore {
  return {
    shared: true,
    get: (key) => structuredClone(map.get(key)),
    async set(key, record) {
      const copy = structuredClone(record);
      const ms = delay();
      if (ms > 0) await new Promise((resolve) => setTimeout(resolve, ms));
      map.set(key, copy);
    },
    delete: (key) => void map.delete(key),
  };
}

function createApp(sessions: SessionStore, got: string[]): Hono {
  return new Hono().get(
    "/ws",
    upgradeWebSocket(() => ({ onMessage: (event) => void got.push(String(event.data)) }), {
      resume: { sessions, retention: 10_000, expiryTimer: false },
    }),
  );
}

Deno.test("a session resumed on another process waits for the first one's last write: no message handed over twice", async () => {
  const map = new Map<string, ResumeSessionRecord>();
  let lateWrites = 0;
  const gotA: string[] = [];
  const gotB: string[] = [];
  const appA = createApp(sharedStore(map, () => lateWrites), gotA);
  const appB = createApp(sharedStore(map, () => 0), gotB);

  const first = await hello(appA, "/ws");
  const token = first.welcome.s as string;
  await eventually(() => map.size === 1, "the first record");
  // From now on the first process's writes land 300 ms late.
  lateWrites = 300;
  for (let i = 1; i <= 5; i++) first.client.send({ t: "m", i, d: `m${i}` });
  await eventually(() => gotA.length === 5, "onMessage on the first process");
  // Cut before the acknowledgement (it waits for the late write).
  first.client.ws.close(4000, "cut");
  await first.client.ws.closed;

  // The client resumes at once on the other process and sends again what
  // was not acknowledged, then one more.
  const second = await hello(appB, "/ws", { token });
  assert.equal(second.welcome.recovered, true);
  assert.equal(second.welcome.a, 5, "the welcome acknowledges what the first process handed over");
  for (let i = 1; i <= 6; i++) second.client.send({ t: "m", i, d: `m${i}` });
  const acks = await second.client.until("ack");
  assert.deepEqual(acks.at(-1), { t: "ack", a: 6 });
  assert.deepEqual([...gotA, ...gotB], ["m1", "m2", "m3", "m4", "m5", "m6"]);
  second.client.ws.close(1000);
  await second.client.ws.closed;
  await new Promise((resolve) => setTimeout(resolve, 350)); // the late writes land
});
