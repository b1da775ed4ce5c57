import assert from "node:assert/strict";
import { PubSub } from "../../mod.ts";
import { createRedisBackplane, type RedisTlsOptions } from "../../src/backplanes/redis.ts";
import { makeCertificates, startTlsRedis } from "./_redis_servers.ts";
import { recordingSubscriber as subscriber, settle, until } from "./_topic_helpers.ts";

Deno.test({
  name: "Redis backplane: rediss:// with the server's CA and a client certificate",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const certs = await makeCertificates();
    const redis = await startTlsRedis(certs).catch(async (error) => {
      await Deno.remove(certs.dir, { recursive: true });
      throw error;
    });
    const url = `rediss://127.0.0.1:${redis.port}`;
    const tls: RedisTlsOptions = { ca: certs.ca, cert: certs.clientCert, key: certs.clientKey };
    const planeA = createRedisBackplane({ url, tls, log: () => {} });
    // Bytes work as well as PEM text.
    const bytes = new TextEncoder();
    const planeB = createRedisBackplane({
      url,
      tls: {
        ca: [bytes.encode(certs.ca)],
        cert: bytes.encode(certs.clientCert),
        key: bytes.encode(certs.clientKey),
      },
      log: () => {},
    });
    const failures: string[] = [];
    // The system's CAs do not know the test CA.
    const noCa = createRedisBackplane({
      url,
      tls: { cert: certs.clientCert, key: certs.clientKey },
      log: (l) => failures.push(l),
      maxRetryDelay: 100,
    });
    // Not tested here: without the client certificate the server asks for,
    // Deno 2.9 emits TLS 1.3's late "certificate required" alert before
    // node-redis listens for errors, and it is thrown uncaught (Node and Bun
    // report it as a failed connection).
    try {
      const a = new PubSub({ backplane: planeA });
      const b = new PubSub({ backplane: planeB });
      const onA = subscriber(), onB = subscriber();
      a.subscribe(onA, "room");
      b.subscribe(onB, "room");
      await until(() => planeA.connected && planeB.connected, "TLS connections");
      await settle(100);
      for (let i = 0; i < 50; i++) a.publish("room", `m${i}`);
      b.publish("room", new Uint8Array([7]));
      await until(() => onA.got.length === 51 && onB.got.length === 51, "delivery over TLS");
      assert.deepEqual(onB.got.slice(1), Array.from({ length: 50 }, (_, i) => `m${i}`));
      assert.deepEqual(onA.got[50], new Uint8Array([7]));

      await until(() => failures.length > 0, "the failed handshake's line");
      assert.equal(noCa.connected, false);
      assert.match(failures[0], /cannot reach 127\.0\.0\.1:\d+ \(.*certificate/);
    } finally {
      await Promise.all([planeA.close(), planeB.close(), noCa.close()]);
      await redis.stop();
      await Deno.remove(certs.dir, { recursive: true });
    }
  },
});
