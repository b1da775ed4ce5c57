/**
 * The soak test, short: 1,000 connections on each server. Broadcast: the C
 * load generator holds them, each subscribed to one topic, and 10 publishes
 * must reach every one exactly once and in order. Echo: 12 s of numbered
 * echoes with 5% of the clients dropped without a close frame every 5 s.
 * Correctness only (no figure is asserted: the suite shares the machine).
 */
import assert from "node:assert/strict";
import { runSoak, type SoakServer } from "../../tools/soak.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

for (const server of ["node", "deno"] as SoakServer[]) {
  Deno.test({
    name: `runSoak(): 1,000 connections on ${server} echo every message once, in order`,
    ...opts,
    async fn() {
      const [result] = await runSoak({
        connections: 1000,
        seconds: 12,
        servers: [server],
        broadcast: false,
      });
      const summary = JSON.stringify({ ...result, errors: result.errors.slice(0, 5) });
      assert.equal(result.held, 1000, summary);
      assert.equal(result.lost, 0, summary);
      assert.equal(result.reordered, 0, summary);
      assert.equal(result.duplicated, 0, summary);
      assert.equal(result.unexpectedCloses, 0, summary);
      assert.equal(result.serverDied, false, summary);
      assert.ok(result.echoed > 0, summary);
      // The churn ran, and every dropped client came back.
      assert.ok(result.drops > 0, summary);
      assert.equal(result.reconnects, result.drops, summary);
      assert.equal(result.cleanCloses, 1000, summary);
    },
  });

  Deno.test({
    name: `runSoak(): a publish to 1,000 connections on ${server} reaches each once, in order`,
    ...opts,
    async fn() {
      const [result] = await runSoak({
        connections: 1000,
        seconds: 1,
        servers: [server],
        echoConnections: 0,
        publishes: 10,
        publishInterval: 100,
      });
      const b = result.broadcast;
      assert.ok(b, "the broadcast phase ran");
      const summary = JSON.stringify({ ...b });
      assert.equal(b.opened, 1000, summary);
      assert.equal(b.held, 1000, summary);
      assert.equal(b.failed, 0, summary);
      assert.equal(b.expected, 10_000, summary);
      assert.equal(b.deliveries, 10_000, summary);
      assert.equal(b.lost, 0, summary);
      assert.equal(b.duplicated, 0, summary);
      assert.equal(b.reordered, 0, summary);
      assert.equal(b.closedByServer, 0, summary);
      assert.equal(b.serverDied, false, summary);
      assert.ok(b.serverFds >= 1000, summary);
    },
  });
}
