/**
 * One sample of the resume group (bench/resume.ts), in a process of its
 * own: bench/resume.ts starts this script once per side and round, so that
 * every figure is measured in a fresh Deno process whatever ran before it
 * in the bench's own (its heap, its JIT, its timers), and both sides of a
 * figure are measured the same way.
 *
 *     deno run -A bench/resume_sample.ts '{"kind":"fanout","route":"plain",...}'
 *
 * The one argument is a {@linkcode ResumeSampleSpec} as JSON; the script
 * prints `result {"value":N}` and exits. Through the real codec at both
 * ends over in-memory pipes (`@edgesocket/edgesocket/testing`'s
 * `connect()`), so the figures are the library's work, not a network's.
 *
 * @module
 */
import process from "node:process";
import { Hono } from "hono";
import {
  defaultPubSub,
  type HistoryStore,
  MemoryHistoryStore,
  publish,
  upgradeWebSocket,
} from "../mod.ts";
import { RedisHistoryStore } from "../src/backplanes/redis.ts";
import { encodeResumeFrame, RESUME_PROTOCOL } from "../src/protocol/resume_protocol.ts";
import { connect, type WebSocketTestClient } from "../src/testing/mod.ts";

/** What one sample measures, as bench/resume.ts passes it. */
export interface ResumeSampleSpec {
  /** A fan-out burst, or a catch-up. */
  kind: "fanout" | "catchup";
  /** The route: plain (a plain topic), or resumable with a history store. */
  route: "plain" | "memory" | "redis";
  /** The topic (resumable ones start with "room:"). */
  topic: string;
  /** The local redis-server's port, for the Redis store. */
  redisPort?: number;
  /** Subscribers of the fan-out. */
  subscribers: number;
  /** Publications per fan-out burst. */
  publications: number;
  /** Bursts per fan-out sample (the fastest is kept). */
  bursts: number;
  /** Publications a catch-up client missed. */
  missed: number;
  /** Bytes per publication. */
  payloadBytes: number;
}

function createApp(): Hono {
  const app = new Hono();
  const events = (topic: string) => ({
    onOpen(_e: Event, ws: { subscribe(topic: string): void }) {
      ws.subscribe(topic);
    },
  });
  app.get("/plain", upgradeWebSocket((c) => events(c.req.query("topic")!)));
  app.get(
    "/resume",
    upgradeWebSocket((c) => events(c.req.query("topic")!), { resume: { retention: 600_000 } }),
  );
  return app;
}

// A connection and what it counts.
interface Peer {
  client: WebSocketTestClient;
  count: number;
  onCount?: () => void;
}

async function open(app: Hono, path: string, resumable: boolean, hello?: string): Promise<Peer> {
  const client = await connect(app, path, resumable ? { protocols: [RESUME_PROTOCOL] } : {});
  const peer: Peer = { client, count: 0 };
  client.connection.addEventListener("message", () => {
    peer.count++;
    peer.onCount?.();
  });
  if (resumable) {
    client.send(hello ?? encodeResumeFrame({ t: "hello", v: 1, s: null, p: {} }));
    await client.nextMessage(); // the welcome
    peer.count--;
  }
  // Counted, not kept: a queue of every delivery (the test client's
  // default) made each burst's figure mostly the collector's work, and more
  // so on the resumable side, whose frames are larger.
  client.discardUnread();
  return peer;
}

async function until(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`resume bench: timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

// One fan-out: the subscribers, the publications published at once, the
// fastest of a few bursts; deliveries per second.
async function measureFanOut(
  spec: ResumeSampleSpec,
  history: HistoryStore | undefined,
): Promise<number> {
  const { subscribers, publications, topic } = spec;
  const payload = "x".repeat(spec.payloadBytes);
  const app = createApp();
  const resumable = history !== undefined;
  defaultPubSub.useHistory(history, { topics: (t) => t.startsWith("room:") });
  const path = `/${resumable ? "resume" : "plain"}?topic=${encodeURIComponent(topic)}`;
  const peers: Peer[] = [];
  for (let i = 0; i < subscribers; i++) peers.push(await open(app, path, resumable));
  // Subscribed once the welcomes are out (a resumable topic's first read of
  // the store included); a warm-up publication reaches everyone first.
  await new Promise((resolve) => setTimeout(resolve, 50));
  publish(topic, payload);
  await until(() => peers.every((p) => p.count >= 1), "the warm-up");
  const delivered = () => peers.reduce((sum, p) => sum + p.count, 0);
  // The fastest of a few bursts: the one other programs on the machine
  // disturbed least.
  let seconds = Infinity;
  for (let burst = 1; burst <= spec.bursts; burst++) {
    const total = subscribers * (publications * burst + 1);
    const started = performance.now();
    for (let i = 0; i < publications; i++) publish(topic, payload);
    await until(() => delivered() >= total, "every delivery");
    seconds = Math.min(seconds, (performance.now() - started) / 1000);
  }
  for (const peer of peers) peer.client.close(1000);
  await Promise.all(peers.map((p) => p.client.closed));
  defaultPubSub.useHistory(undefined);
  return (subscribers * publications) / seconds;
}

// One catch-up: a client leaves, the publications it misses go out, it
// comes back; milliseconds from its hello to the last publication replayed.
async function measureCatchUp(spec: ResumeSampleSpec, history: HistoryStore): Promise<number> {
  const { missed, topic } = spec;
  const payload = "x".repeat(spec.payloadBytes);
  const app = createApp();
  defaultPubSub.useHistory(history, { topics: (t) => t.startsWith("room:") });
  const path = `/resume?topic=${encodeURIComponent(topic)}`;
  const client = await connect(app, path, { protocols: [RESUME_PROTOCOL] });
  client.send(encodeResumeFrame({ t: "hello", v: 1, s: null, p: {} }));
  const welcome = JSON.parse(await client.nextMessage() as string);
  const { e: epoch, o: offset } = welcome.p[topic];
  // Gone without a close frame's 1000: the session waits for it.
  client.close(4001, "Reconnecting");
  await client.closed;
  for (let i = 0; i < missed; i++) publish(topic, payload);
  // Every publication is in the store before the client comes back.
  for (let i = 0; i < 1000; i++) {
    const { offset: last } = await history.position(topic);
    if (last >= offset + missed) break;
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  const hello = encodeResumeFrame({
    t: "hello",
    v: 1,
    s: welcome.s,
    p: { [topic]: { epoch, offset } },
  });
  const started = performance.now();
  const back = await open(app, path, true, hello);
  await until(() => back.count >= missed, "the replay");
  const ms = performance.now() - started;
  back.client.close(1000);
  await back.client.closed;
  defaultPubSub.useHistory(undefined);
  return ms;
}

async function measure(spec: ResumeSampleSpec): Promise<number> {
  let redis: RedisHistoryStore | undefined;
  const store = (): HistoryStore | undefined => {
    if (spec.route === "plain") return undefined;
    if (spec.route === "memory") return new MemoryHistoryStore({ maxEntries: 5000 });
    redis = new RedisHistoryStore({ url: `redis://127.0.0.1:${spec.redisPort}`, maxEntries: 5000 });
    return redis;
  };
  try {
    if (spec.kind === "fanout") return await measureFanOut(spec, store());
    const history = store();
    if (!history) throw new TypeError("A catch-up needs a history store: memory or redis");
    // One catch-up first, on a topic of its own, so that the one measured
    // runs warm, as in a server that has been up for a while.
    await measureCatchUp({ ...spec, topic: `${spec.topic}:warm-up` }, history);
    return await measureCatchUp(spec, history);
  } finally {
    await redis?.close();
  }
}

// The machine's busy CPU seconds so far, all cores (/proc/stat, USER_HZ 100).
async function readBusySeconds(): Promise<number> {
  const stat = await Deno.readTextFile("/proc/stat");
  const t = stat.split("\n")[0].trim().split(/\s+/).slice(1, 9).map(Number);
  return (t.reduce((a, b) => a + b, 0) - t[3] - t[4]) / 100;
}

if (import.meta.main) {
  const spec = JSON.parse(Deno.args[0] ?? "null") as ResumeSampleSpec | null;
  if (!spec?.kind || !spec.route || !spec.topic) {
    console.error("usage: deno run -A bench/resume_sample.ts '<ResumeSampleSpec as JSON>'");
    Deno.exit(2);
  }
  // What other programs took meanwhile, for the runner's retries: the
  // machine's busy time less this process's own.
  const busy = await readBusySeconds();
  const own = process.cpuUsage();
  const wall = performance.now();
  const value = await measure(spec);
  const seconds = (performance.now() - wall) / 1000;
  const { user, system } = process.cpuUsage(own);
  const ownSeconds = (user + system) / 1e6;
  const detail: Record<string, number> = { cpu: ownSeconds / seconds * 100, seconds };
  // /proc/stat counts in hundredths of a second per core: over less than a
  // second (a catch-up) its rounding alone would read as other programs.
  if (seconds >= 1) {
    detail.otherCpu = Math.max(0, (await readBusySeconds() - busy - ownSeconds) / seconds * 100);
  }
  console.log(`result ${JSON.stringify({ value, detail })}`);
  // Timers of the sessions left waiting (retention) must not keep it alive.
  Deno.exit(0);
}
