/**
 * Resumable topics (issue 13): what numbering and keeping publications
 * costs a fan-out, and how long a client that missed 1,000 messages takes
 * to catch up. In this process, through the real codec at both ends over
 * in-memory pipes (`@edgesocket/edgesocket/testing`'s `connect()`), so the
 * figures are the library's work, not a network's:
 *
 * - 1,000 subscribers of one topic, 500 publications of 64 bytes published
 *   at once, until every subscriber has all of them: deliveries per second
 *   on a resumable route and topic (in-memory history) against a plain
 *   route and topic, the fastest of three bursts; target ≥ 0.85×;
 * - the same with the history on Redis Streams (a local redis-server, each
 *   publication an `XADD` in a Lua script, pipelined) against the
 *   in-memory history; target ≥ 0.5×;
 * - catch-up: a resumable client leaves, 1,000 publications go out, it
 *   comes back with its position: the time from its `hello` to the last
 *   replayed publication, with the Redis store against the in-memory one
 *   (shown, not a target).
 *
 *     deno run -A bench/resume.ts [--quick] [--rounds=N]
 *
 * bench/run.ts runs it as the `resume` group.
 *
 * @module
 */
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
import { startRedis } from "../tests/_util/redis.ts";
import type { Figure, Side } from "./_figures.ts";
import { type GroupContext, recordSample, runStandalone } from "./_group.ts";

const SUBSCRIBERS = 1000;
const PUBLICATIONS = 500;
const MISSED = 1000;
const BURSTS = 3;
const PAYLOAD = "x".repeat(64);

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
  return peer;
}

async function until(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`resume bench: timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

/**
 * One fan-out: 1,000 subscribers, 200 publications at once.
 *
 * @returns Deliveries per second.
 */
async function measureFanOut(
  app: Hono,
  resumable: boolean,
  history: HistoryStore | undefined,
  topic: string,
): Promise<number> {
  defaultPubSub.useHistory(history, { topics: (t) => t.startsWith("room:") });
  const path = `/${resumable ? "resume" : "plain"}?topic=${encodeURIComponent(topic)}`;
  const peers: Peer[] = [];
  for (let i = 0; i < SUBSCRIBERS; i++) peers.push(await open(app, path, resumable));
  // Subscribed once the welcomes are out (a resumable topic's first read of
  // the store included); a warm-up publication reaches everyone first.
  await new Promise((resolve) => setTimeout(resolve, 50));
  publish(topic, PAYLOAD);
  await until(() => peers.every((p) => p.count >= 1), "the warm-up");
  const delivered = () => peers.reduce((sum, p) => sum + p.count, 0);
  // The fastest of a few bursts: the one other programs on the machine
  // disturbed least.
  let seconds = Infinity;
  for (let burst = 1; burst <= BURSTS; burst++) {
    const total = SUBSCRIBERS * (PUBLICATIONS * burst + 1);
    const started = performance.now();
    for (let i = 0; i < PUBLICATIONS; i++) publish(topic, PAYLOAD);
    await until(() => delivered() >= total, "every delivery");
    seconds = Math.min(seconds, (performance.now() - started) / 1000);
  }
  for (const peer of peers) peer.client.close(1000);
  await Promise.all(peers.map((p) => p.client.closed));
  defaultPubSub.useHistory(undefined);
  return (SUBSCRIBERS * PUBLICATIONS) / seconds;
}

/**
 * One catch-up: a client leaves, 1,000 publications, it comes back.
 *
 * @returns Milliseconds from its hello to the last publication replayed.
 */
async function measureCatchUp(app: Hono, history: HistoryStore, topic: string): Promise<number> {
  defaultPubSub.useHistory(history, { topics: (t) => t.startsWith("room:") });
  const path = `/resume?topic=${encodeURIComponent(topic)}`;
  const client = await connect(app, path, { protocols: [RESUME_PROTOCOL] });
  client.send(encodeResumeFrame({ t: "hello", v: 1, s: null, p: {} }));
  const welcome = JSON.parse(await client.nextMessage() as string);
  const { e: epoch, o: offset } = welcome.p[topic];
  // Gone without a close frame's 1000: the session waits for it.
  client.close(4001, "Reconnecting");
  await client.closed;
  for (let i = 0; i < MISSED; i++) publish(topic, PAYLOAD);
  // Every publication is in the store before the client comes back.
  for (let i = 0; i < 1000; i++) {
    const { offset: last } = await history.position(topic);
    if (last >= offset + MISSED) break;
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
  await until(() => back.count >= MISSED, "the replay");
  const ms = performance.now() - started;
  back.client.close(1000);
  await back.client.closed;
  defaultPubSub.useHistory(undefined);
  return ms;
}

/**
 * Creates the group's figures, empty.
 *
 * @returns Fan-out resumable/plain, Redis/memory, and catch-up.
 */
export function createResumeFigures(): Figure[] {
  const how = `in process, the codec at both ends over in-memory pipes; ${SUBSCRIBERS} ` +
    `subscribers, ${PUBLICATIONS} publications of 64 B published at once, until all are delivered; ` +
    `the fastest of ${BURSTS} such bursts on the same connections`;
  return [
    {
      id: "resume-fanout",
      title: "fan-out to 1,000 subscribers, resumable topic (in-memory history)",
      baseline: "a plain topic on a plain route",
      unit: "deliveries/s",
      scale: 1,
      target: 0.85,
      sides: { ours: "resumable", ws: "plain" },
      method: how,
      samples: {},
    },
    {
      id: "resume-fanout-redis",
      title: "fan-out to 1,000 subscribers, history on Redis Streams",
      baseline: "the in-memory history",
      unit: "deliveries/s",
      scale: 1,
      target: 0.5,
      sides: { ours: "Redis Streams", ws: "in memory" },
      method: `${how}; a local redis-server, one XADD (Lua script) per publication, pipelined`,
      samples: {},
    },
    {
      id: "resume-catchup",
      title: `catch-up of a client that missed ${MISSED.toLocaleString("en-US")} publications`,
      baseline: "the in-memory history",
      unit: "ms",
      scale: 1,
      target: 1,
      lowerIsBetter: true,
      informational: true,
      sides: { ours: "Redis Streams", ws: "in memory" },
      method: "in process, as above: from the hello with the client's position to the last " +
        "replayed publication received (256 per read)",
      samples: {},
    },
  ];
}

/**
 * Runs the group: its rounds, each side once per round in alternating order.
 *
 * @param context The runner's context.
 * @returns The figures.
 */
export async function runResume(context: GroupContext): Promise<Figure[]> {
  const figures = createResumeFigures();
  const [fanOut, fanOutRedis, catchUp] = figures;
  const redis = await startRedis();
  const redisStore = new RedisHistoryStore({
    url: `redis://127.0.0.1:${redis.port}`,
    maxEntries: 5000,
  });
  const app = createApp();
  try {
    for (let round = 1; round <= context.config.rounds; round++) {
      context.progress(`resume: round ${round}/${context.config.rounds}`);
      const memory = () => new MemoryHistoryStore({ maxEntries: 5000 });
      const sides: Array<[Figure, Side, () => Promise<number>]> = [
        [fanOut, "ws", () => measureFanOut(app, false, undefined, `plain:${round}`)],
        [fanOut, "ours", () => measureFanOut(app, true, memory(), `room:m${round}`)],
        [fanOutRedis, "ws", () => measureFanOut(app, true, memory(), `room:n${round}`)],
        [fanOutRedis, "ours", () => measureFanOut(app, true, redisStore, `room:r${round}`)],
        [catchUp, "ws", () => measureCatchUp(app, memory(), `room:cm${round}`)],
        [catchUp, "ours", () => measureCatchUp(app, redisStore, `room:cr${round}`)],
      ];
      // Alternate which side of each pair goes first.
      const ordered = round % 2 === 0
        ? sides.flatMap((_, i) => i % 2 === 0 ? [sides[i + 1], sides[i]] : [])
        : sides;
      for (const [figure, side, measure] of ordered) {
        recordSample(context, figure, side, { value: await measure() });
      }
    }
  } finally {
    await redisStore.close();
    await redis.stop();
  }
  return figures;
}

if (import.meta.main) await runStandalone("resume", runResume);
