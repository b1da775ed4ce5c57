/**
 * Resume in a Durable Object, end to end on real workerd (`wrangler dev`):
 * tests/fixtures/resume_do_worker.ts, the standard resumable route inside
 * one object per room, with its history and sessions in the object's
 * SQLite storage. The client is `ResumableWebSocket` under Deno, behind the
 * fault-injecting proxy (tests/_util/fault_proxy.ts).
 *
 * Eviction is real: workerd drops an object about 10 s after its last
 * event once nothing holds it (no request, no accepted socket). The fixture
 * numbers its instances, and its publish route answers with the number, so
 * a test knows a publication reached a new instance.
 *
 * DO_RESUME_N sets the messages each way of the run through cuts (default
 * 10,000).
 */
import assert from "node:assert/strict";
import { ResumableWebSocket, type ResumedEvent } from "../../src/client/mod.ts";
import { FaultProxy } from "../_util/fault_proxy.ts";
import { BIN, ROOT, type ServerProcess, startWrangler } from "../_util/server_process.ts";

// deno-lint-ignore no-explicit-any
type Json = any;

const CONFIG = `${ROOT}tests/fixtures/resume_do_wrangler.toml`;
const N = Number(Deno.env.get("DO_RESUME_N") ?? 10_000);
const MIN_CUTS = 100;

let server: ServerProcess | undefined;
let base = "";
let scratch = "";

function test(name: string, fn: () => Promise<void>): void {
  Deno.test({ name, sanitizeOps: false, sanitizeResources: false, fn });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function publish(room: string, from: number, to: number, short = false): Promise<Json> {
  const query = `from=${from}&to=${to}${short ? "&short=1" : ""}`;
  const response = await fetch(`${base}/publish/${room}?${query}`, { method: "POST" });
  assert.equal(response.status, 200, await response.clone().text());
  return await response.json();
}

async function run(room: string, full = false): Promise<Json> {
  return await (await fetch(`${base}/run/${room}${full ? "?full=1" : ""}`)).json();
}

/** A resumable client and what it got. */
interface Client {
  socket: ResumableWebSocket;
  received: string[];
  resumed: ResumedEvent[];
  opened: Promise<unknown>;
  /** Resolves at the next `resumed` event. */
  nextResume(): Promise<ResumedEvent>;
  close(): Promise<void>;
}

function connect(url: string): Client {
  const socket = new ResumableWebSocket(url, {
    minDelay: 5,
    maxDelay: 100,
    pingInterval: 1000,
    pongTimeout: 1000,
    connectTimeout: 3000,
    maxQueue: 20_000,
    maxQueueBytes: 8 << 20,
  });
  const received: string[] = [];
  const resumed: ResumedEvent[] = [];
  let waiter: ((event: ResumedEvent) => void) | undefined;
  socket.onmessage = (e) => void received.push(e.data as string);
  socket.addEventListener("resumed", (e) => {
    resumed.push(e as ResumedEvent);
    waiter?.(e as ResumedEvent);
    waiter = undefined;
  });
  return {
    socket,
    received,
    resumed,
    opened: new Promise((resolve) => socket.addEventListener("open", resolve, { once: true })),
    nextResume: () => new Promise((resolve) => (waiter = resolve)),
    async close() {
      if (socket.readyState === 3) return;
      const closed = new Promise((resolve) => socket.addEventListener("close", resolve));
      socket.close();
      await closed;
    },
  };
}

/** Waits (bounded) until `check` holds, polling. */
async function until(what: string, check: () => boolean | Promise<boolean>, ms = 30_000) {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/** What went wrong in a received sequence of `<prefix>0` … `<prefix>n-1`. */
function audit(received: string[], prefix: string, n: number) {
  const numbers = received.map((m) => Number(m.slice(prefix.length)));
  const unique = new Set(numbers);
  let lost = 0;
  for (let i = 0; i < n; i++) if (!unique.has(i)) lost++;
  let reordered = 0;
  for (let i = 1; i < numbers.length; i++) if (numbers[i] < numbers[i - 1]) reordered++;
  return { lost, duplicated: numbers.length - unique.size, reordered };
}

const range = (prefix: string, from: number, to: number) =>
  Array.from({ length: to - from }, (_, i) => `${prefix}${from + i}`);

test("Resume in a Durable Object: wrangler dev starts the fixture", async () => {
  scratch = await Deno.makeTempDir({ prefix: "edgesocket-do-resume-" });
  // Bundled once and served as is: `wrangler dev` reloads (dropping every
  // socket and object) whenever a source file changes.
  const { code, stderr } = await new Deno.Command(BIN.node, {
    args: [
      `${ROOT}node_modules/wrangler/bin/wrangler.js`,
      "deploy",
      "--dry-run",
      "--outdir",
      `${scratch}/bundle`,
      "--config",
      CONFIG,
    ],
    cwd: ROOT,
    env: { WRANGLER_SEND_METRICS: "false" },
    stdout: "null",
    stderr: "piped",
  }).output();
  assert.equal(code, 0, new TextDecoder().decode(stderr));
  server = await startWrangler([
    `${scratch}/bundle/resume_do_worker.js`,
    "--no-bundle",
    "--config",
    CONFIG,
    "--persist-to",
    `${scratch}/state`,
  ]);
  base = `http://127.0.0.1:${server.port}`;
});

test("Resume in a Durable Object: a dropped client comes back to its session, recovered, nothing lost", async () => {
  const proxy = FaultProxy.start({ target: { port: server!.port }, cutBytes: null, cutMs: null });
  const client = connect(`ws://127.0.0.1:${proxy.port}/ws/basic`);
  try {
    await client.opened;
    await publish("basic", 0, 5);
    client.socket.send("c0");
    await until("the first five", () => client.received.length === 5);
    proxy.refuse(true);
    proxy.cutAll();
    await publish("basic", 5, 10);
    client.socket.send("c1");
    const resumed = client.nextResume();
    proxy.refuse(false);
    const event = await resumed;
    assert.equal(event.recovered, true);
    assert.equal(event.session, true);
    assert.deepEqual(event.topics, { "resume:basic": true });
    await until("all ten", () => client.received.length === 10);
    assert.deepEqual(client.received, range("p", 0, 10));
    await until("both messages", async () => (await run("basic")).received === 2);
    const state = await run("basic", true);
    assert.deepEqual(state.messages, ["c0", "c1"]);
    assert.equal(state.opens, 1, "one session");
    assert.deepEqual(state.closes, []);
  } finally {
    await client.close();
    await proxy.close();
  }
});

test(`Resume in a Durable Object: ${N.toLocaleString("en")} each way through ${MIN_CUTS}+ cuts: 0 lost, 0 duplicated, 0 reordered`, async () => {
  const room = "cuts";
  const proxy = FaultProxy.start({
    target: { port: server!.port },
    seed: 15,
    cutBytes: [300, 40_000],
    cutMs: [20, 200],
    maxDelay: 2,
    maxPiece: 1500,
  });
  const client = connect(`ws://127.0.0.1:${proxy.port}/ws/${room}`);
  const perCut = Math.max(1, Math.ceil(N / MIN_CUTS));
  const started = Date.now();
  let sent = 0;
  let allowed = 0;
  const pump = setInterval(() => {
    for (let n = 0; n < 10 && sent < allowed; n++) client.socket.send(`c${sent++}`);
  }, 5);
  try {
    await client.opened;
    let published = 0;
    let serverReceived = 0;
    const deadline = Date.now() + 240_000;
    for (;;) {
      // Each cut unlocks the next share each way, so the cuts fall all
      // along the transfer.
      allowed = Math.min(N, (proxy.cuts + 1) * perCut);
      if (published < allowed) {
        const to = Math.min(allowed, published + 50);
        await publish(room, published, to);
        published = to;
      }
      serverReceived = (await run(room)).received;
      if (
        published === N && serverReceived >= N && client.received.length >= N &&
        proxy.cuts >= MIN_CUTS
      ) break;
      if (Date.now() > deadline) {
        throw new Error(
          `timed out: published ${published}, server got ${serverReceived}, ` +
            `client got ${client.received.length}, ${proxy.cuts} cuts`,
        );
      }
      await sleep(10);
    }
    proxy.faults = false;
    const cuts = proxy.cuts;
    const full = await run(room, true);
    const up = audit(full.messages, "c", N);
    const down = audit(client.received, "p", N);
    console.log(
      `workerd: ${full.messages.length} up, ${client.received.length} down, ${cuts} cuts ` +
        `(${proxy.cutsMidStream} at a random byte), ${proxy.connections} connections, ` +
        `${((Date.now() - started) / 1000).toFixed(1)} s; up ${JSON.stringify(up)}, ` +
        `down ${JSON.stringify(down)}`,
    );
    assert.ok(cuts >= MIN_CUTS, `${cuts} cuts`);
    assert.deepEqual(up, { lost: 0, duplicated: 0, reordered: 0 });
    assert.deepEqual(down, { lost: 0, duplicated: 0, reordered: 0 });
    assert.deepEqual(full.messages, range("c", 0, N));
    assert.deepEqual(client.received, range("p", 0, N));
    assert.equal(full.opens, 1, "one session throughout");
  } finally {
    clearInterval(pump);
    await client.close();
    await proxy.close();
  }
});

test("Resume in a Durable Object: the object evicted between the drop and the resume loses nothing (recovered: true)", async () => {
  const room = "evicted";
  const proxy = FaultProxy.start({ target: { port: server!.port }, cutBytes: null, cutMs: null });
  const client = connect(`ws://127.0.0.1:${proxy.port}/ws/${room}`);
  try {
    await client.opened;
    const first = await publish(room, 0, 100);
    for (let i = 0; i < 50; i++) client.socket.send(`c${i}`);
    await until("the first hundred", () => client.received.length === 100);
    await until("the first fifty up", async () => (await run(room)).received === 50);
    // The network goes; the object keeps the session, waiting.
    proxy.refuse(true);
    proxy.cutAll();
    const during = await publish(room, 100, 200);
    assert.equal(during.instance, first.instance, "still the same instance");
    for (let i = 50; i < 100; i++) client.socket.send(`c${i}`); // queued offline
    // Nothing reaches the object now: workerd evicts it ~10 s after its
    // last event. Bounded: 13 s idle, then a publication wakes a new one.
    await sleep(13_000);
    const after = await publish(room, 200, 300);
    assert.ok(
      after.instance > during.instance,
      `the object was not evicted (instance ${after.instance})`,
    );
    const resumed = client.nextResume();
    proxy.refuse(false);
    const event = await resumed;
    assert.equal(event.recovered, true);
    assert.equal(event.session, true);
    assert.deepEqual(event.topics, { [`resume:${room}`]: true });
    await until("all three hundred", () => client.received.length === 300);
    assert.deepEqual(client.received, range("p", 0, 300));
    await until("all hundred up", async () => (await run(room)).received === 100);
    const state = await run(room, true);
    assert.deepEqual(state.messages, range("c", 0, 100));
    assert.equal(state.opens, 1, "the same session, restored from storage");
    assert.deepEqual(state.closes, []);
    assert.equal(state.instance, after.instance);
  } finally {
    await client.close();
    await proxy.close();
  }
});

for (const route of ["short", "lazy"]) {
  const how = route === "short" ? "on its timer" : "at the next hello (no expiry timer)";
  test(`Resume in a Durable Object: a client away longer than retention and history is told recovered: false; onClose ${how}`, async () => {
    const room = `away-${route}`;
    const proxy = FaultProxy.start({ target: { port: server!.port }, cutBytes: null, cutMs: null });
    const client = connect(`ws://127.0.0.1:${proxy.port}/${route}/${room}`);
    try {
      await client.opened;
      await publish(room, 0, 10, true);
      await until("the first ten", () => client.received.length === 10);
      proxy.refuse(true);
      proxy.cutAll();
      await publish(room, 10, 20, true); // kept 2 s, as is the session
      await sleep(3_500);
      if (route === "short") assert.deepEqual((await run(room)).closes, [1006]);
      const resumed = client.nextResume();
      proxy.refuse(false);
      const event = await resumed;
      assert.equal(event.recovered, false);
      assert.equal(event.session, false, "a fresh session");
      assert.deepEqual(event.topics, { [`resume:${room}`]: false }, "the gap is said");
      // Live again from where the stream is now.
      await publish(room, 20, 25, true);
      await until("the next five", () => client.received.length === 15);
      assert.deepEqual(client.received, [...range("p", 0, 10), ...range("p", 20, 25)]);
      const state = await run(room);
      assert.equal(state.opens, 2);
      assert.deepEqual(state.closes, [1006], "the first session ended once, with its drop's code");
    } finally {
      await client.close();
      await proxy.close();
    }
  });
}

test("Resume in a Durable Object: wrangler dev stops", async () => {
  await server?.stop();
  if (scratch) await Deno.remove(scratch, { recursive: true }).catch(() => {});
});
