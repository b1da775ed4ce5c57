/**
 * The backplane on Node 20 (bundled by `deno bundle`) and on Bun, against a
 * plain and a TLS redis-server; Deno runs every other test in this folder.
 */
import assert from "node:assert/strict";
import { BIN, bundleForNode } from "../_util/server_process.ts";
import { startRedis } from "../_util/redis.ts";
import { makeCertificates, startTlsRedis } from "./_redis_servers.ts";

const SCRIPT = "tests/backplanes/_redis_round_trip.ts";

async function roundTrip(command: string, args: string[], env: Record<string, string>) {
  const { code, stdout, stderr } = await new Deno.Command(command, {
    args,
    env,
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(30_000),
  }).output();
  const out = new TextDecoder().decode(stdout) + new TextDecoder().decode(stderr);
  assert.equal(code, 0, out);
  assert.match(out, /round trip ok/);
}

Deno.test({
  name: "Redis backplane on Node 20 and Bun: redis:// and rediss:// round trips",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const certs = await makeCertificates();
    const servers = [];
    try {
      const plain = await startRedis();
      servers.push(plain);
      const tls = await startTlsRedis(certs);
      servers.push(tls);
      const node = await bundleForNode(SCRIPT);
      const targets: Array<Record<string, string>> = [
        { REDIS_URL: `redis://127.0.0.1:${plain.port}` },
        { REDIS_URL: `rediss://127.0.0.1:${tls.port}`, REDIS_TLS_DIR: certs.dir },
      ];
      for (const env of targets) {
        await roundTrip(BIN.node, [node], env);
        await roundTrip(BIN.bun, ["run", SCRIPT], env);
      }
    } finally {
      await Promise.all(servers.map((s) => s.stop()));
      await Deno.remove(certs.dir, { recursive: true });
    }
  },
});
