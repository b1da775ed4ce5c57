/**
 * What the layer costs (issue #3): echo msgs/s, 64 clients × 16 in flight ×
 * 1 KiB binary, through edgesocket's Hono layer against the bare runtime in
 * the same run, on each native runtime:
 *
 * - Deno: bench/servers/deno_server.ts, `ours` (bench/servers/bench_app.ts
 *   through `Deno.upgradeWebSocket`) against `raw` (`Deno.serve` +
 *   `Deno.upgradeWebSocket` echo, no Hono);
 * - Bun: bench/servers/bun_server.ts, `ours` (the Bun adapter) against `raw`
 *   (`Bun.serve` with `server.upgrade()` and a `websocket.message` echo),
 *   and, as extra rows for echo and idle memory, against `hono` (the same
 *   routes through Hono's own `hono/bun` helper) and, for idle memory,
 *   against `hono-contract` (Hono's routing and the handlers its contract
 *   makes per upgrade, with no layer);
 * - workerd: bench/servers/worker_server.ts bundled, `ours` (the Workers
 *   adapter) against `raw` (a bare `WebSocketPair` echo Worker).
 *
 * workerd runs directly (`workerd serve` with a one-Worker config), not under
 * `wrangler dev`: wrangler puts a second workerd in front of the Worker's
 * (its proxy worker), which would carry every message through another
 * process and hide the layer's cost in both sides' shared overhead.
 *
 * Every server is pinned to core 0 and the C epoll load generator
 * (bench/loadgen/loadgen.c, echo mode: it is not the limit, where `ws`'s
 * JavaScript client was on Bun) to core 1; each round measures both sides of
 * every runtime, in alternating order; the figures are the medians, and the
 * target is ours ≥ 0.95× the bare runtime. Bun's echo, whose rate drifts on
 * this host by a third from one 3-second window to the next, is measured
 * otherwise: its three servers up together, five passes of 1-second windows
 * per round, one on each server in an order turned every pass; the ratio is
 * the median of the windows' pair ratios, and the report shows their spread. On Deno and Bun the same rounds
 * also measure handshakes (64 in flight, target ≥ 0.95×) and RSS per idle
 * connection (`--idle` connections: as `ps` shows it 1 s after the burst,
 * and after a forced GC; target ≤ 1.1×).
 *
 *     deno run -A bench/layer_cost.ts [--quick] [--rounds=N]
 */
import { BIN, freePort, ROOT } from "../tests/_util/server_process.ts";
import { bundleEntry } from "./_process.ts";
import type { Figure, Sample } from "./_figures.ts";
import { type GroupContext, recordSample, runStandalone } from "./_group.ts";
import type { ServerSpec } from "./_measure.ts";

/** The runtimes measured. */
export type LayerRuntime = "deno" | "bun" | "workerd";

const ECHO = { clients: 64, inflight: 16, size: 1024 };
const WORKERD = `${ROOT}node_modules/.bin/workerd`;

/**
 * Creates the group's figures, empty: msgs/s per runtime, then (extra) the
 * server's CPU time per message, which shows the layer's cost where the load
 * generator limits the rate.
 *
 * @param idleConnections The idle test's connections.
 * @returns The figures, in table order.
 */
export function createLayerCostFigures(idleConnections = 10_000): Figure[] {
  const figure = (runtime: LayerRuntime, name: string, baseline: string): Figure => ({
    id: `layer-${runtime}`,
    title: `echo on ${name} through edgesocket, 64 clients × 16 in flight × 1 KiB`,
    baseline,
    unit: "k msgs/s",
    scale: 1e3,
    target: 0.95,
    sides: { ours: `edgesocket on ${name}`, ws: `bare ${name}` },
    loadTest: true,
    method: "C epoll load generator (bench/loadgen/loadgen.c), `echo` mode: 64 connections × " +
      "16 binary messages of 1 KiB in flight, one sent per echo; no GC forced",
    samples: {},
  });
  // The server's CPU time per echoed message: the layer's cost where the
  // load generator, not the server, limits the rate (Bun's native path).
  const cpu = (runtime: LayerRuntime, name: string, baseline: string): Figure => ({
    id: `layer-${runtime}-cpu`,
    title: `server CPU per echoed message on ${name}, the same run`,
    baseline,
    unit: "µs",
    scale: 1e-6,
    target: Math.round(100 / 0.95) / 100,
    lowerIsBetter: true,
    informational: true,
    sides: { ours: `edgesocket on ${name}`, ws: `bare ${name}` },
    samples: {},
  });
  const runtimes: Array<[LayerRuntime, string, string]> = [
    ["deno", "Deno", "bare `Deno.serve` + `Deno.upgradeWebSocket` echo"],
    ["bun", "Bun", "bare `Bun.serve` + `server.upgrade()` echo"],
    ["workerd", "workerd", "bare `WebSocketPair` echo Worker"],
  ];
  const server = runtimes.filter(([runtime]) => runtime !== "workerd");
  // The same echo against bare Bun handing its handler ArrayBuffers, as
  // edgesocket's handlers get them: what the message type costs Bun itself
  // is then on both sides.
  const sameType: Figure = {
    ...figure("bun", "Bun", 'bare `Bun.serve` echo with `ws.binaryType = "arraybuffer"`'),
    id: "layer-bun-arraybuffer",
    informational: true,
    sides: { ours: "edgesocket on Bun", ws: "bare Bun, ArrayBuffer messages" },
  };
  // The same app through Hono's own Bun helper (`hono/bun`): what a Hono
  // app costs on Bun without edgesocket, the handlers object and closures
  // that `createEvents(c)` makes for each upgrade among it. The target: no
  // worse than Hono's own.
  const honoSides = { ours: "edgesocket on Bun", ws: "Hono's own Bun helper" };
  const honoBaseline = "the same app through Hono's own `upgradeWebSocket` from `hono/bun`";
  const viaHono: Figure = {
    ...figure("bun", "Bun", honoBaseline),
    id: "layer-bun-hono",
    target: 1,
    informational: true,
    sides: honoSides,
  };
  const idleViaHono = idleFigures("bun", "Bun", honoBaseline, idleConnections).map((f) => ({
    ...f,
    id: `${f.id}-hono`,
    target: 1,
    informational: true,
    sides: honoSides,
  }));
  // Hono's contract alone, under any layer: Hono's routing, the native
  // upgrade, and the handlers object `createEvents(c)` returns kept per
  // socket. What edgesocket's own objects cost on top of it.
  const contractBaseline = "a Hono route that upgrades natively and keeps only the handlers " +
    "`createEvents(c)` returns (Hono's contract, no layer)";
  const idleOverContract = idleFigures("bun", "Bun", contractBaseline, idleConnections).map((
    f,
  ) => ({
    ...f,
    id: `${f.id}-contract`,
    informational: true,
    sides: { ours: "edgesocket on Bun", ws: "Hono's contract alone" },
  }));
  return [
    ...runtimes.map(([runtime, name, baseline]) => figure(runtime, name, baseline)),
    sameType,
    viaHono,
    ...server.map(([runtime, name, baseline]) => handshakeFigure(runtime, name, baseline)),
    ...server.flatMap(([runtime, name, baseline]) =>
      idleFigures(runtime, name, baseline, idleConnections)
    ),
    ...idleViaHono,
    ...idleOverContract,
    ...runtimes.map(([runtime, name, baseline]) => cpu(runtime, name, baseline)),
  ];
}

const C_CLIENT = "C epoll load generator (bench/loadgen/loadgen.c)";

function handshakeFigure(runtime: LayerRuntime, name: string, baseline: string): Figure {
  return {
    id: `layer-${runtime}-handshake`,
    title: `handshakes on ${name} through edgesocket, 64 in flight`,
    baseline,
    unit: "upgrades/s",
    scale: 1,
    target: 0.95,
    sides: { ours: `edgesocket on ${name}`, ws: `bare ${name}` },
    loadTest: true,
    method: `${C_CLIENT}, \`handshake\` mode: 64 at a time, each connect, upgrade, close frame, ` +
      "server's end; no GC forced",
    samples: {},
  };
}

function idleFigures(
  runtime: LayerRuntime,
  name: string,
  baseline: string,
  count: number,
): Figure[] {
  const open = count.toLocaleString("en-US");
  const how = `${C_CLIENT}, \`connect\` mode: ${open} connections opened 256 at a time after ` +
    "a warm-up of 100, then held idle";
  const base = {
    baseline,
    unit: "KiB",
    scale: 1024,
    target: 1.1,
    lowerIsBetter: true,
    sides: { ours: `edgesocket on ${name}`, ws: `bare ${name}` },
  };
  return [
    {
      ...base,
      samples: {},
      id: `layer-${runtime}-idle`,
      title: `RSS per idle connection on ${name} through edgesocket, ${open} open, as \`ps\` ` +
        "shows it 1 s after",
      method: `${how}; RSS 1 s after the last opened, against RSS before the burst; no GC forced`,
    },
    {
      ...base,
      samples: {},
      id: `layer-${runtime}-idle-gc`,
      title: `RSS per idle connection on ${name} through edgesocket, ${open} open, after a ` +
        "forced GC",
      method: `${how}; two forced GCs (${
        runtime === "bun" ? "`Bun.gc(true)`" : "--expose-gc"
      }) before each RSS read, before and after the burst`,
    },
  ];
}

// The server's CPU seconds per message, from an echo sample.
function cpuSample(sample: Sample): Sample {
  const d = sample.detail ?? {};
  return {
    value: (d.serverCpu as number) / 100 / sample.value,
    attempts: sample.attempts,
    detail: { otherCpu: d.otherCpu, ...(d.noisy ? { noisy: d.noisy } : {}) },
  };
}

// Bundles the Worker (both sides) once, for workerd.
async function bundleWorker(dir: string): Promise<void> {
  await bundleEntry("bench/servers/worker_server.ts", `${dir}/worker.mjs`, {
    root: ROOT,
    platform: "browser",
  });
}

// A workerd config serving the bundled Worker on a free port; `SIDE` picks
// the side.
async function writeWorkerdConfig(dir: string, side: string, port: number): Promise<string> {
  const path = `${dir}/${side}.capnp`;
  await Deno.writeTextFile(
    path,
    `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [(name = "main", worker = .bench)],
  sockets = [(name = "http", address = "127.0.0.1:${port}", http = (), service = "main")],
);
const bench :Workerd.Worker = (
  modules = [(name = "worker.mjs", esModule = embed "worker.mjs")],
  compatibilityDate = "2026-04-20",
  bindings = [(name = "SIDE", text = "${side}")],
);
`,
  );
  return path;
}

async function serverSpec(
  runtime: LayerRuntime,
  side: "ours" | "raw" | "raw-arraybuffer" | "hono" | "hono-contract",
  dir: string,
): Promise<ServerSpec> {
  if (runtime === "deno") {
    return {
      command: Deno.execPath(),
      args: [
        "run",
        "-A",
        "--quiet",
        "--v8-flags=--expose-gc",
        `${ROOT}bench/servers/deno_server.ts`,
        side,
      ],
    };
  }
  if (runtime === "bun") {
    return { command: BIN.bun, args: ["run", `${ROOT}bench/servers/bun_server.ts`, side] };
  }
  const port = freePort();
  return { command: WORKERD, args: ["serve", await writeWorkerdConfig(dir, side, port)], port };
}

/**
 * The Bun echo's windows: how many passes per round, and each window's
 * warm-up and length in seconds. Bun's echo runs near 600k msgs/s, and
 * this host's speed drifts by a third between one 3-second window and the
 * next: short windows of the three servers in turn, paired, follow it.
 */
function bunEchoWindows(config: GroupContext["config"], quick: boolean) {
  return {
    passes: quick ? 2 : 5,
    warmup: Math.min(0.5, config.warmup),
    seconds: Math.min(1, config.loadSeconds),
  };
}

/**
 * Marks the Bun echo figures as paired, with their schedule and method.
 *
 * @param figures The group's figures.
 * @param rounds The rounds.
 * @param windows What {@linkcode bunEchoWindows} returns.
 */
function describeBunEcho(
  figures: Figure[],
  rounds: number,
  windows: ReturnType<typeof bunEchoWindows>,
): void {
  const { passes, warmup, seconds } = windows;
  const schedule = `${rounds} rounds × ${passes} passes (${rounds * passes} windows per side): ` +
    "in each round the four Bun servers (edgesocket, bare, bare with ArrayBuffer messages, " +
    "Hono's own helper) " +
    "start together and stay up, idle but for the one under load, and each pass gives each " +
    "one window, in an order turned every pass and round; window i of edgesocket pairs with " +
    "window i of the baseline";
  for (const id of ["layer-bun", "layer-bun-arraybuffer", "layer-bun-hono", "layer-bun-cpu"]) {
    const figure = figures.find((f) => f.id === id);
    if (!figure) continue;
    figure.paired = true;
    figure.schedule = schedule;
    if (figure.method) {
      figure.method = figure.method.replace(
        "; no GC forced",
        `; windows of ${seconds} s after ${warmup} s of load (a server's first after the ` +
          "run's full warm-up); no GC forced",
      );
    } else {
      figure.method = `the server's CPU time (utime+stime, /proc) over each echo window of ` +
        "the row above, per echoed message";
    }
  }
}

// Bun's echo, one round: edgesocket, bare Bun, bare Bun with ArrayBuffer
// messages and Hono's own helper up together, their short windows
// interleaved and paired.
async function measureBunEcho(
  context: GroupContext,
  byId: Map<string, Figure>,
  dir: string,
  round: number,
): Promise<void> {
  const sides = ["ours", "raw", "raw-arraybuffer", "hono"] as const;
  const order = round % 2 ? [...sides] : [...sides].reverse();
  const specs = [];
  for (const side of order) specs.push(await serverSpec("bun", side, dir));
  const windows = bunEchoWindows(context.config, context.quick);
  const taken = await context.measure.interleave(
    order.map((side) => `layer-bun ${side}`),
    specs,
    "echo",
    ECHO,
    windows,
  );
  const of = (side: typeof sides[number]) => taken[order.indexOf(side)];
  const [echo, cpu, sameType, viaHono] = [
    "layer-bun",
    "layer-bun-cpu",
    "layer-bun-arraybuffer",
    "layer-bun-hono",
  ].map((id) => byId.get(id) as Figure);
  for (let i = 0; i < windows.passes; i++) {
    const [ours, raw, rawArrayBuffer, hono] = sides.map((side) => of(side)[i]);
    recordSample(context, echo, "ours", ours);
    recordSample(context, echo, "ws", raw);
    recordSample(context, cpu, "ours", cpuSample(ours));
    recordSample(context, cpu, "ws", cpuSample(raw));
    recordSample(context, sameType, "ours", ours);
    recordSample(context, sameType, "ws", rawArrayBuffer);
    recordSample(context, viaHono, "ours", ours);
    recordSample(context, viaHono, "ws", hono);
  }
}

/**
 * Measures the layer's cost on Deno, Bun and workerd.
 *
 * @param context The runner's settings, progress and Measurer.
 * @param runtimes The runtimes to measure (all by default).
 * @returns The figures with their samples.
 */
export async function runLayerCost(
  context: GroupContext,
  runtimes: readonly LayerRuntime[] = ["deno", "bun", "workerd"],
): Promise<Figure[]> {
  const { config, progress, measure } = context;
  const all = createLayerCostFigures(config.idleConnections).filter((f) =>
    runtimes.includes(f.id.split("-")[1] as LayerRuntime)
  );
  const figures = all.filter((f) => /^layer-[a-z]+$/.test(f.id));
  const byId = new Map(all.map((f) => [f.id, f]));
  describeBunEcho(all, config.rounds, bunEchoWindows(config, context.quick));
  const dir = await Deno.makeTempDir({ prefix: "edgesocket-layer-" });
  try {
    if (runtimes.includes("workerd")) await bundleWorker(dir);
    for (let round = 1; round <= config.rounds; round++) {
      progress(
        `layer cost, round ${round}/${config.rounds}: echo, 64 clients × 16 in flight × 1 KiB; ` +
          `handshakes and ${config.idleConnections} idle connections on Deno and Bun`,
      );
      // Alternate which side goes first, so that a drift in the machine's
      // load does not favour one.
      const sides = round % 2 ? ["ours", "raw"] as const : ["raw", "ours"] as const;
      for (const figure of figures) {
        const runtime = figure.id.slice("layer-".length) as LayerRuntime;
        if (runtime === "bun") await measureBunEcho(context, byId, dir, round);
        else {
          for (const side of sides) {
            const spec = await serverSpec(runtime, side, dir);
            const sample = await measure.loadServers(
              `${figure.id} ${side}`,
              [spec],
              "echo",
              () => ECHO,
            );
            const as = side === "ours" ? "ours" : "ws";
            recordSample(context, figure, as, sample);
            recordSample(context, byId.get(`${figure.id}-cpu`) as Figure, as, cpuSample(sample));
          }
        }
        if (runtime === "workerd") continue;
        for (const side of sides) {
          const as = side === "ours" ? "ours" : "ws";
          const spec = await serverSpec(runtime, side, dir);
          const sample = await measure.loadServers(
            `${figure.id}-handshake ${side}`,
            [spec],
            "handshake",
            () => ({ concurrency: 64 }),
          );
          recordSample(context, byId.get(`${figure.id}-handshake`) as Figure, as, sample);
        }
        for (const side of sides) {
          const as = side === "ours" ? "ours" : "ws";
          const spec = await serverSpec(runtime, side, dir);
          const { shown, collected } = await measure.idleServer(spec, config.idleConnections, true);
          recordSample(context, byId.get(`${figure.id}-idle`) as Figure, as, shown);
          if (collected) {
            recordSample(context, byId.get(`${figure.id}-idle-gc`) as Figure, as, collected);
          }
        }
        if (runtime !== "bun") continue;
        // Hono's own helper and Hono's contract alone on the same rounds,
        // beside edgesocket's idle samples just taken (the baseline
        // differs, the ours side is shared).
        for (const [side, suffix] of [["hono", "hono"], ["hono-contract", "contract"]] as const) {
          const other = await measure.idleServer(
            await serverSpec(runtime, side, dir),
            config.idleConnections,
            true,
          );
          for (
            const [id, taken] of [["idle", other.shown], ["idle-gc", other.collected]] as const
          ) {
            const mine = byId.get(`layer-bun-${id}`)?.samples.ours?.at(-1);
            const against = byId.get(`layer-bun-${id}-${suffix}`) as Figure;
            if (!mine || !taken) continue;
            (against.samples.ours ??= []).push(mine);
            recordSample(context, against, "ws", taken);
          }
        }
      }
    }
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
  return all;
}

if (import.meta.main) await runStandalone("layer_cost", (context) => runLayerCost(context));
