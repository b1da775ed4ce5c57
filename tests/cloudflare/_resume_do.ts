/**
 * What the Durable Object resume tests share: the fixture under `wrangler
 * dev` (tests/fixtures/resume_do_worker.ts), the client behind the fault
 * proxy, and the run through cuts with its audit.
 */
import assert from "node:assert/strict";
import { ResumableWebSocket, type ResumedEvent } from "../../src/client/mod.ts";
import { FaultProxy } from "../_util/fault_proxy.ts";
import { bundleWorker, ROOT, type ServerProcess, startWrangler } from "../_util/server_process.ts";

// deno-lint-ignore no-explicit-any
export type Json = any;

const CONFIG = `${ROOT}tests/fixtures/resume_do_wrangler.toml`;

/** The messages each way of a run through cuts (`DO_RESUME_N`, default 10,000). */
export const N: number = Number(Deno.env.get("DO_RESUME_N") ?? 10_000);
/** The fewest cuts a run goes through. */
export const MIN_CUTS = 100;

/** The routes of one kind of room: the socket, publishing, and what the room got. */
export interface Routes {
  /** The socket's path prefix (`/ws`, `/h`). */
  socket: string;
  /** `/publish`, `/hpublish`. */
  publish: string;
  /** `/run`, `/hrun`. */
  run: string;
}

/** The fixture running under `wrangler dev`. */
export interface Fixture {
  readonly port: number;
  publish(routes: Routes, room: string, from: number, to: number, query?: string): Promise<Json>;
  run(routes: Routes, room: string, full?: boolean): Promise<Json>;
  stop(): Promise<void>;
}

/** A Deno test that leaves the wrangler process and sockets to the stop test. */
export function test(name: string, fn: () => Promise<void>): void {
  Deno.test({ name, sanitizeOps: false, sanitizeResources: false, fn });
}

/** Sleeps. */
export const sleep = (ms: number): Promise<void> =>
  new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Bundles the fixture once and serves it as is: `wrangler dev` reloads
 * (dropping every socket and object) whenever a source file changes, and
 * the tree is edited while tests run.
 */
export async function startFixture(): Promise<Fixture> {
  const scratch = await Deno.makeTempDir({ prefix: "edgesocket-do-resume-" });
  await bundleWorker(CONFIG, `${scratch}/bundle`);
  const server: ServerProcess = await startWrangler([
    `${scratch}/bundle/resume_do_worker.js`,
    "--no-bundle",
    "--config",
    CONFIG,
    "--persist-to",
    `${scratch}/state`,
  ]);
  const base = `http://127.0.0.1:${server.port}`;
  return {
    port: server.port,
    async publish(routes, room, from, to, query = "") {
      const url = `${base}${routes.publish}/${room}?from=${from}&to=${to}${query}`;
      const response = await fetch(url, { method: "POST" });
      assert.equal(response.status, 200, await response.clone().text());
      return await response.json();
    },
    async run(routes, room, full = false) {
      return await (await fetch(`${base}${routes.run}/${room}${full ? "?full=1" : ""}`)).json();
    },
    async stop() {
      await server.stop();
      await Deno.remove(scratch, { recursive: true }).catch(() => {});
    },
  };
}

/** A resumable client and what it got. */
export interface Client {
  socket: ResumableWebSocket;
  received: string[];
  opened: Promise<unknown>;
  /** Resolves at the next `resumed` event. */
  nextResume(): Promise<ResumedEvent>;
  close(): Promise<void>;
}

/** Connects a `ResumableWebSocket` with short delays and a 1 s heartbeat. */
export function connect(url: string): Client {
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
  let waiter: ((event: ResumedEvent) => void) | undefined;
  socket.onmessage = (e) => void received.push(e.data as string);
  socket.addEventListener("resumed", (e) => {
    waiter?.(e as ResumedEvent);
    waiter = undefined;
  });
  return {
    socket,
    received,
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
export async function until(
  what: string,
  check: () => boolean | Promise<boolean>,
  ms = 30_000,
): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/** What went wrong in a received sequence of `<prefix>0` … `<prefix>n-1`. */
export function audit(
  received: string[],
  prefix: string,
  n: number,
): { lost: number; duplicated: number; reordered: number } {
  const numbers = received.map((m) => Number(m.slice(prefix.length)));
  const unique = new Set(numbers);
  let lost = 0;
  for (let i = 0; i < n; i++) if (!unique.has(i)) lost++;
  let reordered = 0;
  for (let i = 1; i < numbers.length; i++) if (numbers[i] < numbers[i - 1]) reordered++;
  return { lost, duplicated: numbers.length - unique.size, reordered };
}

/** `<prefix><from>` … `<prefix><to - 1>`. */
export const range = (prefix: string, from: number, to: number): string[] =>
  Array.from({ length: to - from }, (_, i) => `${prefix}${from + i}`);

/**
 * N messages each way between the client and a room through at least
 * MIN_CUTS cuts of the fault proxy (at random moments, mid-frame too, the
 * bytes split and delayed): each cut unlocks the next share each way, so
 * the cuts fall all along the transfer. Asserts 0 lost, 0 duplicated, 0
 * reordered, one session.
 */
export async function runThroughCuts(
  fixture: Fixture,
  routes: Routes,
  room: string,
  seed: number,
): Promise<void> {
  const proxy = FaultProxy.start({
    target: { port: fixture.port },
    seed,
    cutBytes: [300, 40_000],
    cutMs: [20, 200],
    maxDelay: 2,
    maxPiece: 1500,
  });
  const client = connect(`ws://127.0.0.1:${proxy.port}${routes.socket}/${room}`);
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
      allowed = Math.min(N, (proxy.cuts + 1) * perCut);
      if (published < allowed) {
        const to = Math.min(allowed, published + 50);
        await fixture.publish(routes, room, published, to);
        published = to;
      }
      serverReceived = (await fixture.run(routes, room)).received;
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
    const full = await fixture.run(routes, room, true);
    const up = audit(full.messages, "c", N);
    const down = audit(client.received, "p", N);
    console.log(
      `${routes.socket}: ${full.messages.length} up, ${client.received.length} down, ${cuts} cuts ` +
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
}
