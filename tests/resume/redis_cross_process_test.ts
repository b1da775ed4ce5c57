/**
 * Resume across processes: a Deno server and a Node 20 server (bundled),
 * each a resumable route with its history (Redis Streams) and sessions on
 * one real redis-server, the Redis backplane between them. The client
 * (ResumableWebSocket) reaches them through a fault proxy each, which cuts
 * its connections at random moments; every new connection goes to the
 * other process. Both processes publish at once, and the client sends; then
 * each process is killed with SIGKILL while the other publishes, and
 * started again. Nothing is lost, doubled or reordered either way.
 *
 * With in-memory history a process killed and started again has another
 * stream: the client is told `recovered: false`.
 */
import assert from "node:assert/strict";
import { createClient } from "@redis/client";
import { ResumableWebSocket, type WebSocketConstructor } from "../../src/client/mod.ts";
import { FaultProxy } from "../_util/fault_proxy.ts";
import { startRedis } from "../_util/redis.ts";
import { freePort, type ServerProcess, startNode, startProcess } from "../_util/server_process.ts";
import { BIN } from "../_util/server_process.ts";

const options = { sanitizeOps: false, sanitizeResources: false };

type Kind = "deno" | "node";

function startApp(kind: Kind, env: Record<string, string>): Promise<ServerProcess> {
  if (kind === "node") return startNode("tests/fixtures/resume_redis_node_app.ts", env);
  return startProcess(BIN.deno, ["run", "-A", "tests/fixtures/resume_redis_deno_app.ts"], {
    ready: /listening (\d+)/,
    env,
  });
}

/** A process that can be killed and started again on the same port. */
class App {
  server!: ServerProcess;
  readonly port = freePort();
  constructor(readonly kind: Kind, readonly env: Record<string, string>) {}
  async start(): Promise<void> {
    this.server = await startApp(this.kind, { ...this.env, PORT: `${this.port}` });
  }
  get base(): string {
    return `http://127.0.0.1:${this.port}`;
  }
  async kill(): Promise<void> {
    this.server.process.kill("SIGKILL");
    await this.server.stop();
  }
}

/** A client whose every new connection goes to the next of `urls`. */
function alternatingClient(urls: string[]) {
  let connections = 0;
  const Base = WebSocket;
  class Alternating extends Base {
    constructor(_url: string, protocols: string[]) {
      super(urls[connections++ % urls.length], protocols);
    }
  }
  const socket = new ResumableWebSocket(urls[0], {
    WebSocket: Alternating as unknown as WebSocketConstructor,
    minDelay: 5,
    maxDelay: 100,
    pingInterval: 1000,
    pongTimeout: 1000,
    connectTimeout: 2000,
    maxQueue: 20_000,
    maxQueueBytes: 8 << 20,
  });
  const received: string[] = [];
  const resumed: Array<{ recovered: boolean; session: boolean }> = [];
  socket.onmessage = (e) => void received.push(e.data as string);
  socket.addEventListener("resumed", (e) => {
    const { recovered, session } = e as unknown as { recovered: boolean; session: boolean };
    resumed.push({ recovered, session });
  });
  const opened = new Promise((resolve) => socket.addEventListener("open", resolve));
  return {
    socket,
    received,
    resumed,
    opened,
    get connections() {
      return connections;
    },
  };
}

/** Lost, duplicated and reordered, against the order of record. */
function audit(got: string[], expected: string[]) {
  const position = new Map(expected.map((m, i) => [m, i]));
  const seen = new Set(got);
  let reordered = 0;
  for (let i = 1; i < got.length; i++) {
    if ((position.get(got[i]) ?? -1) < (position.get(got[i - 1]) ?? -1)) reordered++;
  }
  return {
    lost: expected.filter((m) => !seen.has(m)).length,
    duplicated: got.length - seen.size,
    reordered,
    unknown: got.filter((m) => !position.has(m)).length,
  };
}

async function waitFor(check: () => boolean | Promise<boolean>, what: string, ms = 60_000) {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const post = async (url: string) => await (await fetch(url, { method: "POST" })).text();

Deno.test({
  name:
    "Redis history and sessions: a client coming back to the other process each time, through cuts, and to processes killed with SIGKILL: 0 lost, 0 duplicated, 0 reordered",
  ...options,
  async fn() {
    const redis = await startRedis();
    const env = { REDIS_URL: `redis://127.0.0.1:${redis.port}` };
    const apps = [new App("deno", env), new App("node", env)];
    await Promise.all(apps.map((app) => app.start()));
    const proxies = apps.map((app, i) =>
      FaultProxy.start({
        target: { port: app.port },
        seed: 21 + i,
        cutBytes: [300, 30_000],
        cutMs: [30, 300],
        maxDelay: 2,
        maxPiece: 1500,
      })
    );
    const run = "cross";
    const client = alternatingClient(
      proxies.map((p) => `ws://127.0.0.1:${p.port}/ws?run=${run}&user=alice`),
    );
    const redisClient = createClient({ url: env.REDIS_URL });
    await redisClient.connect();
    const serverGot = async () =>
      (await redisClient.lRange(`test:${run}:messages`, 0, -1)).filter((m) => m !== "open");
    const cuts = () => proxies[0].cuts + proxies[1].cuts;
    let published = 0;
    let sent = 0;
    const sendUpTo = (n: number) => {
      while (sent < n) client.socket.send(`c${sent++}`);
    };
    // Both processes publish at once: the stream's order is the order of record.
    const publishBoth = async (count: number) => {
      const half = Math.ceil(count / 2);
      await Promise.all([
        post(
          `${apps[0].base}/publish?run=${run}&prefix=d&from=${published}&to=${published + half}`,
        ),
        post(
          `${apps[1].base}/publish?run=${run}&prefix=n&from=${published}&to=${published + half}`,
        ),
      ]);
      published += half;
    };
    const stream = async (app: App) =>
      (await (await fetch(`${app.base}/stream?run=${run}`)).json()) as string[];
    try {
      await client.opened;
      // Phase 1: cuts, every reconnect to the other process.
      const N = 1500;
      const deadline = Date.now() + 120_000;
      while (published < N || cuts() < 30) {
        await publishBoth(20);
        sendUpTo(Math.min(2 * N, sent + 20));
        await new Promise((resolve) => setTimeout(resolve, 15));
        if (Date.now() > deadline) throw new Error(`phase 1 timed out: ${cuts()} cuts`);
      }
      for (const proxy of proxies) proxy.faults = false;
      const total = () => 2 * published;
      await waitFor(() => client.received.length >= total(), "the client to catch up");
      await waitFor(async () => (await serverGot()).length >= sent, "the servers to get all");
      const phase1Cuts = cuts();
      const phase1Connections = client.connections;

      // Phase 2: each process killed with SIGKILL while the other publishes,
      // then started again; the client is cut over to it.
      for (const [dead, alive] of [[0, 1], [1, 0]]) {
        await waitFor(() => client.socket.bufferedAmount === 0, "every message acknowledged");
        await apps[dead].kill();
        for (const proxy of proxies) proxy.cutAll();
        for (let i = 0; i < 5; i++) {
          const from = published;
          await post(
            `${apps[alive].base}/publish?run=${run}&prefix=k${dead}-&from=${from}&to=${from + 40}`,
          );
          published += 40;
          sendUpTo(sent + 10);
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
        await apps[dead].start();
        const connectionsBefore = proxies[dead].connections;
        // Cut until the client has been back on the restarted process.
        await waitFor(() => {
          if (proxies[dead].connections === connectionsBefore) proxies[alive].cutAll();
          return proxies[dead].connections > connectionsBefore && client.socket.readyState === 1;
        }, "a connection to the restarted process");
        await publishBoth(40);
        sendUpTo(sent + 20);
      }
      const expected = await stream(apps[0]);
      assert.deepEqual(await stream(apps[1]), expected, "one stream, seen alike by both");
      await waitFor(() => client.received.length >= expected.length, "the client to catch up");
      await waitFor(async () => (await serverGot()).length >= sent, "the servers to get all");
      await new Promise((resolve) => setTimeout(resolve, 200)); // nothing more arrives
      const up = await serverGot();
      const downAudit = audit(client.received, expected);
      const upAudit = audit(up, Array.from({ length: sent }, (_, i) => `c${i}`));
      console.log(
        `${expected.length} published by both processes, ${sent} sent; phase 1: ${phase1Cuts} cuts, ` +
          `${phase1Connections} connections; then 2 SIGKILLs, ${client.connections} connections ` +
          `in all; down ${JSON.stringify(downAudit)}, up ${JSON.stringify(upAudit)}`,
      );
      assert.ok(phase1Cuts >= 30 && phase1Connections >= 30);
      assert.deepEqual(downAudit, { lost: 0, duplicated: 0, reordered: 0, unknown: 0 });
      assert.deepEqual(upAudit, { lost: 0, duplicated: 0, reordered: 0, unknown: 0 });
      assert.deepEqual(client.received, expected);
      assert.deepEqual(up, Array.from({ length: sent }, (_, i) => `c${i}`));
      // A connection cut before its welcome (the proxy cuts from 30 ms on, and
      // a hello may wait for the other process's last write) resumes on the
      // next one: what counts is that none was told recovered: false.
      assert.ok(
        client.resumed.length >= 30,
        `${client.resumed.length} resumes of ${client.connections} connections`,
      );
      assert.deepEqual(
        client.resumed.filter((r) => !r.recovered || !r.session),
        [],
        "never told recovered: false",
      );
      const opens = (await redisClient.lRange(`test:${run}:messages`, 0, -1))
        .filter((m) => m === "open").length;
      assert.equal(opens, 1, "one session throughout, on both processes");
    } finally {
      client.socket.close();
      await redisClient.close();
      await Promise.all(proxies.map((p) => p.close()));
      await Promise.all(apps.map((app) => app.server.stop()));
      await redis.stop();
    }
  },
});

async function killedWithMemoryHistory(sessions: "memory" | "redis") {
  const redis = await startRedis();
  const app = new App("deno", {
    REDIS_URL: `redis://127.0.0.1:${redis.port}`,
    HISTORY: "memory",
    SESSIONS: sessions,
  });
  await app.start();
  const client = alternatingClient([`ws://127.0.0.1:${app.port}/ws?run=mem`]);
  try {
    await client.opened;
    await post(`${app.base}/publish?run=mem&from=0&to=10`);
    await waitFor(() => client.received.length === 10, "the first publications");
    await app.kill();
    await app.start();
    await waitFor(() => client.resumed.length > 0, "the client to come back");
    await post(`${app.base}/publish?run=mem&from=10&to=15`);
    await waitFor(() => client.received.length === 15, "publications after the restart");
    return client.resumed[0];
  } finally {
    client.socket.close();
    await app.server.stop();
    await redis.stop();
  }
}

Deno.test({
  name:
    "In-memory history and sessions: a process killed with SIGKILL and started again tells the client recovered: false",
  ...options,
  async fn() {
    assert.deepEqual(await killedWithMemoryHistory("memory"), { recovered: false, session: false });
  },
});

Deno.test({
  name:
    "In-memory history with Redis sessions: the session resumes after SIGKILL, its topic is told recovered: false",
  ...options,
  async fn() {
    assert.deepEqual(await killedWithMemoryHistory("redis"), { recovered: false, session: true });
  },
});
