/**
 * Deno, native against the codec (issue #14, part 3): the same app
 * (bench/servers/bench_app.ts) served by bench/servers/deno_codec_server.ts
 * with `Deno.serve` + `Deno.upgradeWebSocket` (`native`, the baseline) and
 * with `serveWithCodec()`, the codec over Deno's `node:http` (`codec`):
 *
 * - echo msgs/s, 64 clients × 16 in flight × 1 KiB binary (the C epoll load
 *   generator, bench/loadgen/loadgen.c, `echo` mode);
 * - fan-out deliveries/s to 1,000 subscribers × 64 B, closed loop with 16
 *   publishes in flight (its `fanout` mode), and its p99 at 50 publishes/s;
 * - handshakes/s, 64 in flight (its `handshake` mode);
 * - RSS per idle connection with 10,000 open (2,000 with `--quick`), both as
 *   `ps` shows it 1 s after the last one opened and after a forced GC (the
 *   server runs with `--v8-flags=--expose-gc`), each from the same
 *   collected baseline taken after a warm-up of 100 connections (the Node
 *   client, bench/load_client.cjs `idle` mode, opens them).
 *
 * Every server is pinned to core 0, the load generator to core 1; each round
 * measures both sides of every figure, in alternating order; the figures are
 * the medians, the ratios codec ÷ native, the target that the codec is not
 * worse (≥ 1×, ≤ 1× for memory and latency).
 *
 *     deno run -A bench/deno_codec.ts [--quick] [--rounds=N]
 *     deno task bench --only=deno-codec
 */
import { ROOT } from "../tests/_util/server_process.ts";
import type { Figure, Sample } from "./_figures.ts";
import { type GroupContext, recordSample, runStandalone } from "./_group.ts";
import type { ServerSpec } from "./_measure.ts";
import { type ChildProcess, readRss, sleep, spawn } from "./_process.ts";

/** The two ways Deno serves the app. */
type DenoSide = "native" | "codec";

const SERVER = `${ROOT}bench/servers/deno_codec_server.ts`;
const ECHO = { clients: 64, inflight: 16, size: 1024 };
const FANOUT = { subscribers: 1000, size: 64, window: 16, rate: 50 };
const HANDSHAKE = { concurrency: 64 };
const SIDES = { ours: "codec over `node:http` on Deno", ws: "native `Deno.upgradeWebSocket`" };

/**
 * Creates the group's figures, empty.
 *
 * @param idleConnections The idle test's connections.
 * @returns The figures, in table order.
 */
export function createDenoCodecFigures(idleConnections: number): Figure[] {
  const baseline = "Deno's native server (`Deno.serve` + `Deno.upgradeWebSocket`), same app";
  const open = idleConnections.toLocaleString("en-US");
  const figure = (
    id: string,
    title: string,
    unit: string,
    scale: number,
    extra: Partial<Figure> = {},
  ): Figure => ({
    id: `deno-codec-${id}`,
    title: `Deno, codec vs native: ${title}`,
    baseline,
    unit,
    scale,
    target: 1,
    sides: SIDES,
    samples: {},
    ...extra,
  });
  return [
    figure(
      "echo",
      "echo, 64 clients × 16 in flight × 1 KiB (ws client)",
      "k msgs/s",
      1e3,
      { loadTest: true },
    ),
    figure(
      "fanout",
      "fan-out, 1,000 subscribers × 64 B, deliveries/s (closed loop, 16 publishes in flight)",
      "k deliveries/s",
      1e3,
      { loadTest: true },
    ),
    figure(
      "handshake",
      "handshakes, 64 in flight, raw TCP client",
      "handshakes/s",
      1,
      { loadTest: true },
    ),
    figure(
      "idle",
      `RSS per idle connection, ${open} open, as ps shows it 1 s after (no forced GC)`,
      "KiB",
      1024,
      { lowerIsBetter: true },
    ),
    figure(
      "idle-gc",
      `RSS per idle connection, ${open} open, after a forced GC`,
      "KiB",
      1024,
      { lowerIsBetter: true },
    ),
    figure(
      "fanout-p99",
      "fan-out, 1,000 subscribers × 64 B, p99 publish → receipt at 50 publishes/s",
      "ms",
      1,
      { lowerIsBetter: true, informational: true },
    ),
  ];
}

function serverSpec(side: DenoSide): ServerSpec {
  return { command: Deno.execPath(), args: ["run", "-A", "--quiet", SERVER, side] };
}

// The open loop's latency from a fan-out sample, with the open loop's CPU.
function latencySample(sample: Sample): Sample {
  const d = sample.detail ?? {};
  return {
    value: d.p99 as number,
    attempts: sample.attempts,
    detail: {
      p50: d.p50,
      max: d.max,
      openServerCpu: d.openServerCpu,
      openClientCpu: d.openClientCpu,
      otherCpu: d.openOtherCpu,
      ...(d.noisy ? { noisy: d.noisy } : {}),
    },
  };
}

// Collects garbage in the server twice (letting V8 give back the pages it
// freed in between), then reads its RSS and its own memory figures.
async function collect(server: ChildProcess): Promise<{ rss: number; heapUsed: number }> {
  let match: RegExpExecArray | undefined;
  for (const settle of [1500, 200]) {
    const skip = server.count(/^memory /);
    server.signal("SIGUSR2");
    match = await server.waitFor(/^memory (.*)/, { skip });
    await sleep(settle);
  }
  const usage = JSON.parse((match as RegExpExecArray)[1]);
  return { rss: await readRss(server.pid), heapUsed: usage.heapUsed };
}

// One idle sample of one side: [as ps shows it, after a forced GC].
async function measureIdle(context: GroupContext, side: DenoSide): Promise<[Sample, Sample]> {
  const count = context.config.idleConnections;
  const spec = serverSpec(side);
  const server = await spawn(spec.command, [
    "run",
    "-A",
    "--quiet",
    "--v8-flags=--expose-gc",
    SERVER,
    side,
  ], { cpu: 0, raiseFileLimit: true, cwd: ROOT });
  let client: ChildProcess | undefined;
  try {
    const port = Number((await server.waitFor(/^listening (\d+)/))[1]);
    client = await spawn("node", [
      `${ROOT}bench/load_client.cjs`,
      "idle",
      `--port=${port}`,
      `--count=${count}`,
      "--concurrency=256",
      "--warmup=0",
      "--duration=60",
    ], { cpu: 1, raiseFileLimit: true, stdin: true, cwd: `${ROOT}bench/` });
    await client.waitFor(/^ready/);
    await client.send("warm");
    await client.waitFor(/^warm/);
    const before = await collect(server);
    await client.send("go");
    const result = JSON.parse((await client.waitFor(/^result (.*)/, { timeout: 120_000 }))[1]);
    await sleep(1000);
    const shown = await readRss(server.pid);
    const after = await collect(server);
    const detail = { rssBefore: before.rss, opened: result.opened, openSeconds: result.seconds };
    return [
      { value: (shown - before.rss) / count, detail: { ...detail, rssAfter: shown } },
      {
        value: (after.rss - before.rss) / count,
        detail: {
          ...detail,
          rssAfter: after.rss,
          heapPerConnection: (after.heapUsed - before.heapUsed) / count,
        },
      },
    ];
  } finally {
    // The server first: its end of the sockets waits in TIME_WAIT, not the
    // client's ephemeral ports.
    await server.stop();
    await client?.stop();
  }
}

/**
 * Measures Deno's native server against the codec over its `node:http`.
 *
 * @param context The runner's settings, progress and Measurer.
 * @returns The figures with their samples.
 */
export async function runDenoCodec(context: GroupContext): Promise<Figure[]> {
  const { config, progress, measure } = context;
  const figures = createDenoCodecFigures(config.idleConnections);
  const byId = new Map(figures.map((f) => [f.id.slice("deno-codec-".length), f]));
  const record = (id: string, side: DenoSide, sample: Sample) =>
    recordSample(context, byId.get(id) as Figure, side === "codec" ? "ours" : "ws", sample);
  for (let round = 1; round <= config.rounds; round++) {
    // Alternate which side goes first, so that a drift in the machine's
    // load does not favour one.
    const sides: DenoSide[] = round % 2 ? ["codec", "native"] : ["native", "codec"];
    progress(`Deno codec vs native, round ${round}/${config.rounds}: echo`);
    for (const side of sides) {
      record(
        "echo",
        side,
        await measure.loadServers(`echo ${side}`, [serverSpec(side)], "echo", () => ECHO),
      );
    }
    progress(`Deno codec vs native, round ${round}/${config.rounds}: fan-out to 1,000`);
    for (const side of sides) {
      const sample = await measure.loadServers(
        `fanout ${side}`,
        [serverSpec(side)],
        "fanout",
        () => FANOUT,
      );
      record("fanout", side, sample);
      record("fanout-p99", side, latencySample(sample));
    }
    progress(`Deno codec vs native, round ${round}/${config.rounds}: handshakes, 64 in flight`);
    for (const side of sides) {
      record(
        "handshake",
        side,
        await measure.loadServers(
          `handshake ${side}`,
          [serverSpec(side)],
          "handshake-raw",
          () => HANDSHAKE,
        ),
      );
    }
    progress(
      `Deno codec vs native, round ${round}/${config.rounds}: ${config.idleConnections} idle`,
    );
    for (const side of sides) {
      const [shown, collected] = await measureIdle(context, side);
      record("idle", side, shown);
      record("idle-gc", side, collected);
    }
  }
  return figures;
}

if (import.meta.main) await runStandalone("deno_codec", runDenoCodec);
