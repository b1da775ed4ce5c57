/**
 * Nothing lost, nothing doubled, nothing reordered: 10,000 messages each way
 * between the resumable client and a resumable route, through the fault
 * proxy, which cuts the connection at least 100 times (at random moments,
 * mid-frame too) and splits and delays the bytes in between. Each run
 * unlocks 100 more messages each way per cut, so the cuts fall all along
 * the transfer.
 *
 * Servers: Node 20 through the codec (a bundled fixture) and Deno's native
 * server (and Bun). Clients: ResumableWebSocket under Deno with Deno's
 * WebSocket, and under the real Node 20 with `ws` as its WebSocket.
 */
import assert from "node:assert/strict";
import { ResumableWebSocket } from "../../src/client/mod.ts";
import { FaultProxy } from "../_util/fault_proxy.ts";
import { within } from "../parity/_ws_client.ts";
import {
  BIN,
  bundleForNode,
  type ServerProcess,
  startBun,
  startDeno,
  startNode,
} from "../_util/server_process.ts";

const N = 10_000;
const PER_CUT = 100;
const MIN_CUTS = 100;

const SERVERS: Record<string, () => Promise<ServerProcess>> = {
  node: () => startNode("tests/fixtures/resume_node_app.ts"),
  deno: () => startDeno("tests/fixtures/resume_app.ts"),
  bun: () => startBun("tests/fixtures/resume_bun_app.ts"),
};

/** The client side of a run. */
interface Driver {
  /** Resolves at the first welcome: the subscription exists from then on. */
  opened: Promise<unknown>;
  allow(n: number): void;
  readonly received: number;
  finish(): Promise<string[]>;
  stop(): Promise<void>;
}

function denoClient(url: string): Driver {
  const socket = new ResumableWebSocket(url, {
    minDelay: 5,
    maxDelay: 100,
    pingInterval: 1000,
    pongTimeout: 1000,
    connectTimeout: 2000,
    maxQueue: 20_000,
    maxQueueBytes: 8 << 20,
  });
  const received: string[] = [];
  socket.onmessage = (e) => void received.push(e.data as string);
  const opened = new Promise((resolve) => socket.addEventListener("open", resolve));
  let allowed = 0;
  let sent = 0;
  const pump = setInterval(() => {
    for (let n = 0; n < 10 && sent < allowed; n++) socket.send(`c${sent++}`);
  }, 5);
  return {
    opened,
    allow: (n) => void (allowed = n),
    get received() {
      return received.length;
    },
    async finish() {
      clearInterval(pump);
      const closed = new Promise((resolve) => socket.addEventListener("close", resolve));
      socket.close();
      await within(closed, "the client's close", 30_000);
      return received;
    },
    async stop() {
      clearInterval(pump);
      if (socket.readyState !== 3) {
        const closed = new Promise((resolve) => socket.addEventListener("close", resolve));
        socket.close();
        await closed;
      }
    },
  };
}

async function nodeClient(url: string): Promise<Driver> {
  const file = await bundleForNode("tests/fixtures/resume_node_client.ts");
  const child = new Deno.Command(BIN.node, {
    args: [file],
    env: { URL: url },
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const writer = child.stdin.getWriter();
  const encoder = new TextEncoder();
  let received = 0;
  let result: string[] | undefined;
  let ready: () => void = () => {};
  const isReady = new Promise<void>((resolve) => (ready = resolve));
  let open: () => void = () => {};
  const opened = new Promise<void>((resolve) => (open = resolve));
  let done: () => void = () => {};
  let failed: (error: Error) => void = () => {};
  const isDone = new Promise<void>((resolve, reject) => {
    done = resolve;
    failed = reject;
  });
  // A client that exits without its report fails the run instead of hanging it.
  child.status.then((status) => {
    if (!result) failed(new Error(`The Node client exited (${status.code}) before finishing`));
  });
  (async () => {
    let buffer = "";
    for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
      buffer += chunk;
      let at;
      while ((at = buffer.indexOf("\n")) >= 0) {
        const line = JSON.parse(buffer.slice(0, at));
        buffer = buffer.slice(at + 1);
        if (line.ready) ready();
        if (line.open) open();
        if (line.received !== undefined && !line.done) received = line.received;
        if (line.done) {
          result = line.received;
          done();
        }
      }
    }
  })();
  await isReady;
  let last = -1;
  return {
    opened,
    allow(n) {
      if (n !== last) writer.write(encoder.encode(`allow ${(last = n)}\n`));
    },
    get received() {
      return received;
    },
    async finish() {
      await writer.write(encoder.encode("finish\n"));
      await within(isDone, "the Node client's report", 30_000);
      await writer.close().catch(() => {});
      await child.status;
      return result!;
    },
    async stop() {
      if (!result) {
        try {
          child.kill("SIGKILL");
        } catch { /* gone */ }
      }
      await writer.close().catch(() => {});
      await child.status;
    },
  };
}

/** What went wrong in a received sequence: lost, duplicated, reordered. */
function audit(
  received: string[],
  prefix: string,
): { lost: number; duplicated: number; reordered: number } {
  const numbers = received.map((m) => Number(m.slice(prefix.length)));
  const unique = new Set(numbers);
  let lost = 0;
  for (let i = 0; i < N; i++) if (!unique.has(i)) lost++;
  let reordered = 0;
  for (let i = 1; i < numbers.length; i++) if (numbers[i] < numbers[i - 1]) reordered++;
  return { lost, duplicated: numbers.length - unique.size, reordered };
}

async function runThroughCuts(
  server: string,
  client: "deno" | "node-ws",
  seed: number,
): Promise<void> {
  const process = await SERVERS[server]();
  const proxy = FaultProxy.start({
    target: { port: process.port },
    seed,
    cutBytes: [300, 40_000],
    cutMs: [20, 200],
    maxDelay: 2,
    maxPiece: 1500,
  });
  const run = `${server}-${client}-${seed}`;
  const base = `http://127.0.0.1:${process.port}`;
  const url = `ws://127.0.0.1:${proxy.port}/ws?run=${run}`;
  let driver: Driver | undefined;
  try {
    driver = client === "deno" ? denoClient(url) : await nodeClient(url);
    // Publications count from the subscription, made when the session starts.
    await within(driver.opened, `${run}: the first welcome`, 30_000);
    let published = 0;
    let serverReceived = 0;
    const deadline = Date.now() + 240_000;
    for (;;) {
      const allowed = Math.min(N, (proxy.cuts + 1) * PER_CUT);
      driver.allow(allowed);
      if (published < allowed) {
        const to = Math.min(allowed, published + 20);
        await (await fetch(`${base}/publish?run=${run}&from=${published}&to=${to}`, {
          method: "POST",
        })).text();
        published = to;
      }
      serverReceived = (await (await fetch(`${base}/run?run=${run}`)).json()).received;
      if (
        published === N && serverReceived >= N && driver.received >= N && proxy.cuts >= MIN_CUTS
      ) break;
      if (Date.now() > deadline) {
        throw new Error(
          `${run}: timed out: published ${published}, server got ${serverReceived}, ` +
            `client got ${driver.received}, ${proxy.cuts} cuts`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    proxy.faults = false;
    const cuts = proxy.cuts;
    const clientGot = await driver.finish();
    const full = await (await fetch(`${base}/run?run=${run}&full=1`)).json();
    const up = audit(full.messages, "c");
    const down = audit(clientGot, "p");
    console.log(
      `${run}: ${full.messages.length} up, ${clientGot.length} down, ${cuts} cuts ` +
        `(${proxy.cutsMidStream} at a random byte), ` +
        `${proxy.connections} connections; up ${JSON.stringify(up)}, down ${JSON.stringify(down)}`,
    );
    assert.ok(cuts >= MIN_CUTS, `${cuts} cuts`);
    assert.deepEqual(up, { lost: 0, duplicated: 0, reordered: 0 });
    assert.deepEqual(down, { lost: 0, duplicated: 0, reordered: 0 });
    assert.deepEqual(full.messages, Array.from({ length: N }, (_, i) => `c${i}`));
    assert.deepEqual(clientGot, Array.from({ length: N }, (_, i) => `p${i}`));
    assert.equal(full.opens, 1, "one session throughout");
  } finally {
    await driver?.stop();
    await proxy.close();
    await process.stop();
  }
}

const options = { sanitizeOps: false, sanitizeResources: false };
// Whatever hangs, a run ends (and fails) within this: the transfer itself has
// its own 240 s deadline.
const RUN_LIMIT = 300_000;

Deno.test({
  name:
    "10,000 each way through 100+ cuts: Node 20 (codec) server, Deno client: 0 lost, 0 duplicated, 0 reordered",
  ...options,
  fn: () => within(runThroughCuts("node", "deno", 11), "a run through cuts", RUN_LIMIT),
});

Deno.test({
  name:
    "10,000 each way through 100+ cuts: Deno native server, Deno client: 0 lost, 0 duplicated, 0 reordered",
  ...options,
  fn: () => within(runThroughCuts("deno", "deno", 12), "a run through cuts", RUN_LIMIT),
});

Deno.test({
  name:
    "10,000 each way through 100+ cuts: Node 20 server, Node 20 client with ws: 0 lost, 0 duplicated, 0 reordered",
  ...options,
  fn: () => within(runThroughCuts("node", "node-ws", 13), "a run through cuts", RUN_LIMIT),
});

Deno.test({
  name:
    "10,000 each way through 100+ cuts: Bun server, Deno client: 0 lost, 0 duplicated, 0 reordered",
  ...options,
  fn: () => within(runThroughCuts("bun", "deno", 14), "a run through cuts", RUN_LIMIT),
});
