/**
 * Fan-out (issue #5): 1,000 subscribers on one topic, one publisher, 64-byte
 * and 1 KiB binary messages. Two numbers per server, from one run of the C
 * epoll load generator (bench/loadgen/loadgen.c, `fanout` mode, which says
 * exactly how), with its own CPU and its core's load beside each:
 *
 * - deliveries per second, closed loop: 16 publishes in flight, the next
 *   sent when the oldest has reached all 1,000 subscribers (the rate and
 *   the CPU figures of the sample);
 * - p99 latency from publish to receipt over every delivery, open loop at
 *   50 publishes/s on a fixed schedule, both times the load generator's
 *   CLOCK_MONOTONIC (latencySample(), with the open loop's CPU).
 *
 * The servers, each pinned to core 0 (the load generator to core 1):
 *
 * - edgesocket on Node (the codec; bench/servers/node_server.ts), topics in
 *   memory, against a `ws` server that loops over its subscribers
 *   (bench/servers/ws_fanout_server.cjs); target ≥ 1.5×;
 * - edgesocket on Bun (bench/servers/bun_server.ts `ours`) against bare Bun's
 *   native `ws.subscribe()`/`ws.publish()` (`raw`); target ≥ 0.9×;
 * - edgesocket on Node with the Redis backplane: the publisher on one Node
 *   process, the subscribers on another, so every delivery goes through
 *   Redis (redis-server and both nodes on core 0, their CPU summed), against
 *   the in-memory run above; target: no more than 2× the cost (≥ 0.5× the
 *   deliveries/s, ≤ 2× the p99).
 *
 *     deno run -A bench/fan_out.ts [--quick] [--rounds=N]
 */
import { BIN, freePort, ROOT } from "../tests/_util/server_process.ts";
import { bundleEntry } from "./_process.ts";
import type { Figure, Sample, Side } from "./_figures.ts";
import { type GroupContext, recordSample, runStandalone } from "./_group.ts";
import type { ServerSpec, StartedServer } from "./_measure.ts";

/** The servers measured. */
type FanOutServer = "node" | "ws" | "bun" | "bun-raw" | "node-redis";

const SUBSCRIBERS = 1000;
const WINDOW = 16;
const RATE = 50;
const SIZES = [64, 1024] as const;
const REDIS = "/usr/bin/redis-server";

function sizeName(size: number): string {
  return size === 1024 ? "1 KiB" : `${size} B`;
}

/**
 * Creates the group's figures, empty: deliveries/s and p99 latency per
 * comparison and size.
 *
 * @returns The figures, in table order.
 */
export function createFanOutFigures(): Figure[] {
  const figures: Figure[] = [];
  const pairs = [
    {
      key: "node",
      what: "on Node",
      baseline: "ws server looping over its clients",
      sides: undefined,
      target: 1.5,
      latencyIsTarget: false,
    },
    {
      key: "bun",
      what: "on Bun",
      baseline: "bare Bun `ws.subscribe()` + native `ws.publish()`",
      sides: { ours: "edgesocket on Bun", ws: "bare Bun publish" },
      target: 0.9,
      latencyIsTarget: false,
    },
    {
      key: "redis",
      what: "on Node, Redis backplane (publisher and subscribers on two processes)",
      baseline: "edgesocket on Node, topics in memory",
      sides: { ours: "edgesocket + Redis", ws: "edgesocket in memory" },
      target: 0.5,
      latencyIsTarget: true,
    },
  ];
  for (const pair of pairs) {
    for (const size of SIZES) {
      figures.push({
        id: `fanout-${pair.key}-${size}`,
        title: `fan-out ${pair.what}, 1,000 subscribers × ${sizeName(size)}, deliveries/s ` +
          `(closed loop, ${WINDOW} publishes in flight)`,
        baseline: pair.baseline,
        unit: "k deliveries/s",
        scale: 1e3,
        target: pair.target,
        ...(pair.sides ? { sides: pair.sides } : {}),
        loadTest: true,
        samples: {},
      });
    }
    for (const size of SIZES) {
      figures.push({
        id: `fanout-${pair.key}-${size}-p99`,
        title: `fan-out ${pair.what}, 1,000 subscribers × ${sizeName(size)}, p99 publish → ` +
          `receipt at ${RATE} publishes/s`,
        baseline: pair.baseline,
        unit: "ms",
        scale: 1,
        // Lower is better: the inverse of the throughput target, where the
        // issue sets none for latency.
        target: pair.latencyIsTarget ? 1 / pair.target : Math.round(100 / pair.target) / 100,
        lowerIsBetter: true,
        informational: !pair.latencyIsTarget,
        ...(pair.sides ? { sides: pair.sides } : {}),
        samples: {},
      });
    }
  }
  return figures;
}

// Bundles the Node server for Node.
function bundleNodeServer(dir: string): Promise<string> {
  return bundleEntry("bench/servers/node_server.ts", `${dir}/node_server.mjs`, { root: ROOT });
}

interface Plan {
  specs: ServerSpec[];
  ports(servers: StartedServer[]): Record<string, number>;
}

function planServer(server: FanOutServer, nodeBundle: string): Plan {
  const one = (spec: ServerSpec): Plan => ({ specs: [spec], ports: () => ({}) });
  switch (server) {
    case "node":
      return one({ command: "node", args: [nodeBundle] });
    case "ws":
      return one({ command: "node", args: [`${ROOT}bench/servers/ws_fanout_server.cjs`] });
    case "bun":
    case "bun-raw":
      return one({
        command: BIN.bun,
        args: ["run", `${ROOT}bench/servers/bun_server.ts`, server === "bun" ? "ours" : "raw"],
      });
    case "node-redis": {
      const port = freePort();
      const env = { REDIS_URL: `redis://127.0.0.1:${port}` };
      return {
        specs: [
          {
            command: REDIS,
            args: ["--port", `${port}`, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            port,
          },
          { command: "node", args: [nodeBundle], env },
          { command: "node", args: [nodeBundle], env },
        ],
        // Subscribers on the second node, the publisher on the first.
        ports: (servers) => ({ port: servers[2].port, "publish-port": servers[1].port }),
      };
    }
  }
}

// Where each server's samples go: [figure key, side].
const TARGETS: Record<FanOutServer, Array<[string, Side]>> = {
  "node": [["node", "ours"], ["redis", "ws"]],
  "ws": [["node", "ws"]],
  "bun": [["bun", "ours"]],
  "bun-raw": [["bun", "ws"]],
  "node-redis": [["redis", "ours"]],
};

// The open loop's latency as a sample of its own, with the open loop's CPU.
function latencySample(sample: Sample): Sample {
  const d = sample.detail ?? {};
  const { p99, p50, max, reachAllP50, reachAllP99, openRate, openExpected } = d;
  return {
    value: p99 as number,
    attempts: sample.attempts,
    detail: {
      p50,
      max,
      reachAllP50,
      reachAllP99,
      openRate,
      openExpected,
      openServerCpu: d.openServerCpu,
      openClientCpu: d.openClientCpu,
      otherCpu: d.openOtherCpu,
      ...(d.noisy ? { noisy: d.noisy } : {}),
    },
  };
}

/**
 * Measures fan-out on Node (in memory and through Redis) and on Bun, with
 * their baselines.
 *
 * @param context The runner's settings, progress and Measurer.
 * @returns The figures with their samples.
 */
export async function runFanOut(context: GroupContext): Promise<Figure[]> {
  const { config, progress, measure } = context;
  const figures = createFanOutFigures();
  const byId = new Map(figures.map((f) => [f.id, f]));
  const dir = await Deno.makeTempDir({ prefix: "edgesocket-fanout-" });
  try {
    const nodeBundle = await bundleNodeServer(dir);
    const servers: FanOutServer[] = ["node", "ws", "bun", "bun-raw", "node-redis"];
    for (let round = 1; round <= config.rounds; round++) {
      // Alternate the order, so that a drift in the machine's load does
      // not favour one side.
      const order = round % 2 ? servers : [...servers].reverse();
      for (const size of SIZES) {
        progress(
          `fan-out, round ${round}/${config.rounds}: 1,000 subscribers × ${sizeName(size)}`,
        );
        for (const server of order) {
          const plan = planServer(server, nodeBundle);
          const sample = await measure.loadServers(
            `fanout ${server} ${size}`,
            plan.specs,
            "fanout",
            (started) => ({
              subscribers: SUBSCRIBERS,
              size,
              window: WINDOW,
              rate: RATE,
              ...plan.ports(started),
            }),
          );
          for (const [key, side] of TARGETS[server]) {
            // The in-memory Node run is the Redis figure's baseline too:
            // recorded once, reported once.
            const quiet = key === "redis" && server === "node";
            const throughput = byId.get(`fanout-${key}-${size}`) as Figure;
            const latency = byId.get(`fanout-${key}-${size}-p99`) as Figure;
            if (quiet) {
              ((throughput.samples[side] ??= []) as Sample[]).push(sample);
              ((latency.samples[side] ??= []) as Sample[]).push(latencySample(sample));
            } else {
              recordSample(context, throughput, side, sample);
              recordSample(context, latency, side, latencySample(sample));
            }
          }
        }
      }
    }
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
  return figures;
}

if (import.meta.main) await runStandalone("fan_out", runFanOut);
