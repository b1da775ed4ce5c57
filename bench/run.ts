/**
 * `deno task bench`: edgesocket against `ws` 8 and the bare runtimes on this
 * machine, in one run.
 *
 * Codec micro-benchmarks (unmask, decode, encode) run in the real Node 20,
 * one process per case, side and round; the load tests (echo, idle
 * connections with both memory measures, allocation per upgrade,
 * handshakes) run a Node server pinned to core 0 and the C epoll load
 * generator (bench/loadgen/loadgen.c, built with gcc on first use) pinned to
 * core 1, which reports its own CPU beside every figure. Every round measures
 * edgesocket and ws, in alternating order; the table shows medians, their
 * ratios and how each figure was measured, written to bench/results.md,
 * bench/results.json and bench/chart.svg. Then, each with rounds of its own:
 * the layer's cost on Deno, Bun and workerd against the bare runtime
 * (bench/layer_cost.ts), topic fan-out against a ws loop, bare Bun publish
 * and Redis (bench/fan_out.ts), permessage-deflate against ws with
 * compression (bench/compression.ts), and Deno's native server against the
 * codec over its `node:http` (bench/deno_codec.ts).
 *
 *     deno run -A bench/run.ts [--quick] [--prototype] [--rounds=N] [--idle-100k]
 *       [--only=micro,echo,idle,handshake,layer,fanout,compression,deno-codec,client-size,resume]
 *
 * `--quick` is a one-minute smoke run (3 rounds, short windows, 2,000 idle
 * connections). `--prototype` applies bench/proto/proposed.patch to a
 * temporary copy of the repository and measures it as a third side where it
 * applies (about six minutes). `--only` runs some groups and prints their
 * table, leaving the files of the last whole run alone. `--idle-100k` runs
 * the idle test again with 100,000 connections (it needs an open-file hard
 * limit above that; the load generator says when it is lower).
 */
import { ROOT } from "../tests/_util/server_process.ts";
import { type Figure, type Sample, type Side, summarize } from "./_figures.ts";
import { createFigures } from "./_figures.ts";
import { type AllocationSample, Measurer } from "./_measure.ts";
import { bundleEntry, canPin, stopAll } from "./_process.ts";
import { readHardFileLimit } from "./loadgen/loadgen.ts";
import { describeMethod, judgeBottleneck, renderChart, renderMarkdown } from "./_report.ts";
import { describeRun, type GroupContext, recordSample } from "./_group.ts";
import { runLayerCost } from "./layer_cost.ts";
import { type CompressionBenchResult, runCompressionBench } from "./compression.ts";
import { runFanOut } from "./fan_out.ts";
import { runDenoCodec } from "./deno_codec.ts";
import { runClientSize } from "./client_size.ts";
import { runResume } from "./resume.ts";

const USAGE =
  "usage: deno run -A bench/run.ts [--quick] [--prototype] [--rounds=N] [--idle-100k] " +
  "[--only=micro,echo,idle,handshake,layer,fanout,compression,deno-codec,client-size,resume]";
const GROUPS = [
  "micro",
  "echo",
  "idle",
  "handshake",
  "layer",
  "fanout",
  "compression",
  "deno-codec",
  "client-size",
  "resume",
];
const flags = new Map(Deno.args.map((arg) => {
  const [name, value] = arg.split("=", 2);
  return [name, value ?? ""] as const;
}));
for (const name of flags.keys()) {
  if (!["--quick", "--prototype", "--rounds", "--only", "--idle-100k"].includes(name)) {
    console.error(`Unknown option: ${name}\n${USAGE}`);
    Deno.exit(2);
  }
}
const quick = flags.has("--quick");
const withPrototype = flags.has("--prototype");
const roundsOption = flags.has("--rounds") ? Number(flags.get("--rounds")) : undefined;
if (roundsOption !== undefined && !(Number.isInteger(roundsOption) && roundsOption >= 3)) {
  console.error(`--rounds must be a whole number, at least 3\n${USAGE}`);
  Deno.exit(2);
}
// The groups to run (all by default).
const only = new Set(flags.has("--only") ? (flags.get("--only") as string).split(",") : GROUPS);
if ([...only].some((group) => !GROUPS.includes(group))) {
  console.error(`--only takes ${GROUPS.join(", ")}\n${USAGE}`);
  Deno.exit(2);
}
const config = {
  root: ROOT,
  rounds: roundsOption ?? (quick ? 3 : 5),
  microSeconds: quick ? 0.25 : 1,
  warmup: quick ? 0.5 : 1,
  loadSeconds: quick ? 1 : 3,
  idleConnections: quick ? 2000 : 10_000,
  // The idle test again at 100,000 connections, with --idle-100k.
  idleLarge: flags.has("--idle-100k") ? 100_000 as number | undefined : undefined,
  allocationConnections: quick ? 500 : 1000,
  // Retry a load sample when other programs took more than this much CPU.
  quietCpu: 25,
  attempts: quick ? 1 : 3,
  // Retries stop 5.5 minutes into a full run, to bound its length.
  retryUntil: performance.now() + (quick ? 0 : 330_000),
  retryPause: 3,
};
const benchDir = `${ROOT}bench/`;
const started = performance.now();
// Bundles and the prototype's copy, removed at the end.
const temporary: string[] = [];

function progress(message: string): void {
  const elapsed = ((performance.now() - started) / 1000).toFixed(0).padStart(4);
  console.error(`[bench ${elapsed}s] ${message}`);
}

const measure = new Measurer(config, progress);

// Bundles a TypeScript entry of a repository copy for Node.
async function bundle(root: string, entry: string): Promise<string> {
  const out = await Deno.makeTempFile({ prefix: "edgesocket-bench-", suffix: ".mjs" });
  temporary.push(out);
  return await bundleEntry(entry, out, { root });
}

interface Bundles {
  micro: string;
  server: string;
}

// A temporary copy of the repository with bench/proto/proposed.patch
// applied, bundled; undefined (with a warning) when the patch no longer applies.
async function preparePrototype(): Promise<Bundles | undefined> {
  const dir = await Deno.makeTempDir({ prefix: "edgesocket-proto-" });
  temporary.push(dir);
  const copy = await new Deno.Command("cp", {
    args: ["-r", "deno.json", "mod.ts", "src", "examples", "bench", `${dir}/`],
    cwd: ROOT,
  }).output();
  if (!copy.success) throw new Error("could not copy the repository for the prototype");
  await Deno.symlink(`${ROOT}node_modules`, `${dir}/node_modules`);
  const patched = await new Deno.Command("patch", {
    args: ["-p1", "--batch", "--forward", "-d", dir, "-i", `${benchDir}proto/proposed.patch`],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!patched.success) {
    progress(
      "the prototype patch no longer applies to src/; measuring without it:\n" +
        new TextDecoder().decode(patched.stdout),
    );
    return undefined;
  }
  const root = `${dir}/`;
  return {
    micro: await bundle(root, "bench/micro.ts"),
    server: await bundle(root, "bench/servers/edgesocket_server.ts"),
  };
}

// ---- the run ----------------------------------------------------------------

// The sides of one run: ours, the prototype's if asked for, and their bundles.
interface Plan {
  ours: Side[];
  micro(side: Side): string;
  server(side: Side): string;
  record(id: string, side: Side, sample: Sample): void;
}

async function runMicroRound(plan: Plan, round: number): Promise<void> {
  progress(`round ${round}/${config.rounds}: codec micro-benchmarks`);
  const { micro, record } = plan;
  for (const side of plan.ours) {
    const unmask = await measure.micro(micro(side), "unmask", side);
    record("unmask-js", side, unmask);
    record("unmask-native", side, unmask);
  }
  record("unmask-js", "ws", await measure.micro(micro("ours"), "unmask", "ws-js"));
  record("unmask-native", "ws", await measure.micro(micro("ours"), "unmask", "ws"));
  for (const side of plan.ours) {
    record("decode", side, await measure.micro(micro(side), "decode", side));
  }
  if (!quick) {
    record("decode-frames", "ours", await measure.micro(micro("ours"), "decode-frames", "ours"));
  }
  const decodeWs = await measure.micro(micro("ours"), "decode", "ws-js");
  record("decode", "ws", decodeWs);
  if (!quick) record("decode-frames", "ws", decodeWs);
  for (const id of ["encode-32", "encode-1m"]) {
    record(id, "ours", await measure.micro(micro("ours"), id, "ours"));
    record(id, "ws", await measure.micro(micro("ours"), id, "ws"));
  }
}

// Lines the report prints under its table (a test that could not run, and why).
const notes: string[] = [];
if (config.idleLarge && only.has("idle")) {
  const hard = await readHardFileLimit();
  if (hard < config.idleLarge + 64) {
    notes.push(
      `The idle test at ${config.idleLarge.toLocaleString("en-US")} connections did not run: ` +
        `the open-file hard limit (RLIMIT_NOFILE) here is ${hard.toLocaleString("en-US")}, so ` +
        "one server process cannot hold them (raising it needs CAP_SYS_RESOURCE or a higher " +
        "hard limit from whatever starts the shell).",
    );
    progress(`warning: ${notes[notes.length - 1]}`);
    config.idleLarge = undefined;
  }
}

// Allocation per upgrade: once per side, in the first round of the idle group.
const allocations: Partial<Record<Side, AllocationSample>> = {};

async function runLoadRound(plan: Plan, round: number, group: string): Promise<void> {
  // Alternate the order, so that a drift in the machine's load favours no side.
  const sides = (round % 2 ? [...plan.ours, "ws"] : ["ws", ...plan.ours]) as Side[];
  if (group === "echo") {
    progress(`round ${round}/${config.rounds}: echo, 64 clients × 16 in flight × 1 KiB`);
    const echo = { clients: 64, inflight: 16, size: 1024 };
    for (const side of sides) {
      const sample = await measure.load(side, plan.server(side), "echo", echo);
      plan.record("echo", side, sample);
      if (side === "ours") plan.record("echo-arraybuffer", "ours", sample);
      if (side === "ws") plan.record("echo-views", "ws", sample);
    }
    // ws with ArrayBuffer messages: started as a server script of its own.
    plan.record(
      "echo-arraybuffer",
      "ws",
      await measure.load("ours", `${benchDir}servers/ws_server_arraybuffer.cjs`, "echo", echo),
    );
    // edgesocket's route that hands views (binaryType "uint8array"), against
    // the same ws samples: both hand the handler the bytes as read.
    const views = await measure.load("ours", plan.server("ours"), "echo", {
      ...echo,
      path: "/echo-views",
    });
    plan.record("echo-views", "ours", views);
  } else if (group === "idle") {
    const sizes: Array<[number, string]> = [[config.idleConnections, ""]];
    if (config.idleLarge) sizes.push([config.idleLarge, "-large"]);
    for (const [count, suffix] of sizes) {
      progress(
        `round ${round}/${config.rounds}: ${count.toLocaleString("en-US")} idle connections`,
      );
      for (const side of sides) {
        const { shown, collected } = await measure.idle(side, plan.server(side), count);
        plan.record(`idle${suffix}`, side, shown);
        if (collected) plan.record(`idle-gc${suffix}`, side, collected);
      }
    }
    if (round === 1) {
      const n = config.allocationConnections;
      progress(`round ${round}/${config.rounds}: allocation per upgrade, ${n} upgrades`);
      for (const side of sides) {
        const a = await measure.allocation(side, plan.server(side), n);
        allocations[side] = a;
        const detail = {
          opened: a.opened,
          gcs: a.gcs,
          heapKeptPerConnection: a.heapKeptPerConnection,
          bytesPerConnection: a.bytesPerConnection,
        };
        plan.record("upgrade-alloc", side, { value: a.allocatedPerUpgrade, detail });
        plan.record("upgrade-objects", side, { value: a.objectsPerConnection, detail });
      }
    }
  } else {
    progress(`round ${round}/${config.rounds}: handshakes, 64 in flight`);
    const handshake = { concurrency: 64 };
    for (const side of sides) {
      plan.record(
        "handshake",
        side,
        await measure.load(side, plan.server(side), "handshake", handshake),
      );
    }
  }
}

async function removeTemporary(): Promise<void> {
  for (const path of temporary.splice(0)) {
    await Deno.remove(path, { recursive: true }).catch(() => {});
  }
}

async function main(): Promise<void> {
  progress(`bundling for Node${quick ? " (quick run)" : ""}`);
  const figures = createFigures(config);
  const byId = new Map(figures.map((f) => [f.id, f]));
  const pinned = await canPin();
  let compression: CompressionBenchResult | undefined;
  if (!pinned) progress("taskset not found: processes are not pinned to cores");

  try {
    const bundles: Partial<Record<Side, Bundles>> = {
      ours: {
        micro: await bundle(ROOT, "bench/micro.ts"),
        server: await bundle(ROOT, "bench/servers/edgesocket_server.ts"),
      },
    };
    if (withPrototype) bundles.proto = await preparePrototype();
    const of = (side: Side) => (bundles[side] ?? bundles.ours) as Bundles;
    const plan: Plan = {
      // Our side first, then the prototype's, if any, then ws's.
      ours: bundles.proto ? ["ours", "proto"] : ["ours"],
      micro: (side) => of(side).micro,
      server: (side) => of(side).server,
      record(id, side, sample) {
        recordSample({ progress }, byId.get(id) as Figure, side, sample);
      },
    };
    for (let round = 1; round <= config.rounds; round++) {
      if (only.has("micro")) await runMicroRound(plan, round);
      for (const group of ["echo", "idle", "handshake"]) {
        if (only.has(group)) await runLoadRound(plan, round, group);
      }
    }
    // The groups against other runtimes run their own interleaved rounds;
    // they get retries of their own (the run's budget is spent by now).
    const context: GroupContext = { config, progress, measure, quick };
    if (only.has("layer")) {
      config.retryUntil = performance.now() + (quick ? 0 : 120_000);
      figures.push(...await runLayerCost(context));
    }
    if (only.has("fanout")) {
      config.retryUntil = performance.now() + (quick ? 0 : 180_000);
      figures.push(...await runFanOut(context));
    }
    if (only.has("deno-codec")) {
      config.retryUntil = performance.now() + (quick ? 0 : 120_000);
      figures.push(...await runDenoCodec(context));
    }
    if (only.has("compression")) {
      compression = await runCompressionBench({ quick, progress });
    }
    if (only.has("client-size")) figures.push(...await runClientSize(context));
    if (only.has("resume")) {
      // Retries as in `--only=resume`, whatever ran before it.
      config.retryUntil = performance.now() + (quick ? 0 : 120_000);
      figures.push(...await runResume(context));
    }
  } finally {
    await removeTemporary();
  }

  const info = await describeRun({
    command: `deno task bench${Deno.args.length ? ` ${Deno.args.join(" ")}` : ""}`,
    quick,
    rounds: config.rounds,
    pinned,
    started,
    noise: measure.noise,
    runtimes: only.has("layer") || only.has("fanout"),
  });
  const json = {
    info,
    allocations,
    compression: compression && { figures: compression.figures, ratios: compression.ratios },
    config: { ...config, root: undefined, retryUntil: undefined },
    figures: figures.map((figure) => ({
      ...figure,
      outcome: (figure.samples.ours?.length ?? 0) > 0 ? summarize(figure) : undefined,
      how: describeMethod(figure, info),
      limitedBy: ["echo", "handshake"].includes(figure.id) || figure.loadTest
        ? {
          ours: judgeBottleneck(figure.samples.ours),
          ws: judgeBottleneck(figure.samples.ws),
        }
        : undefined,
    })),
  };
  const extras = {
    notes,
    allocations: Object.fromEntries(
      Object.entries(allocations).map(([side, a]) => [side, { opened: a.opened, kinds: a.kinds }]),
    ),
  };
  const markdown = renderMarkdown(figures, info, extras) +
    (compression
      ? `\n### permessage-deflate: echo against ws with compression\n\n${compression.markdown}\n`
      : "");
  console.log(markdown);
  // A partial run prints only: the files keep the last whole run.
  if (only.size < GROUPS.length) {
    progress("an --only run: bench/results.* and bench/chart.svg left as they were");
    return;
  }
  await Deno.writeTextFile(`${benchDir}results.md`, markdown);
  await Deno.writeTextFile(`${benchDir}results.json`, JSON.stringify(json, null, 2) + "\n");
  await Deno.writeTextFile(`${benchDir}chart.svg`, renderChart(figures, info));
  progress("wrote bench/results.md, bench/results.json and bench/chart.svg");
}

// Ctrl-C: no server or load generator outlives the run.
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  Deno.addSignalListener(signal, async () => {
    progress(`${signal}: stopping`);
    await stopAll();
    await removeTemporary();
    Deno.exit(130);
  });
}

await main();
