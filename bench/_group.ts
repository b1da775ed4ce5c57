/**
 * What a benchmark group beside bench/run.ts needs (bench/layer_cost.ts,
 * bench/fan_out.ts): the runner's settings, its progress line and its
 * Measurer; and a `main` for running one group on its own.
 */
import { ROOT } from "../tests/_util/server_process.ts";
import type { Figure, Sample, Side } from "./_figures.ts";
import { type MeasureConfig, Measurer } from "./_measure.ts";
import { canPin, stopAll } from "./_process.ts";
import { renderMarkdown, type RunInfo } from "./_report.ts";

/** The runner's settings, as bench/run.ts builds them. */
export interface GroupConfig extends MeasureConfig {
  /** Rounds; each measures every side once, in alternating order. */
  rounds: number;
}

/** What a group is given. */
export interface GroupContext {
  /** The runner's settings. */
  config: GroupConfig;
  /** Where progress lines go (stderr). */
  progress: (message: string) => void;
  /** The runner's Measurer (it counts noisy samples for the whole run). */
  measure: Measurer;
  /** A short smoke run. */
  quick: boolean;
}

/**
 * Records a sample in a figure and reports it.
 *
 * @param context The group's context.
 * @param figure The figure.
 * @param side The side.
 * @param sample The sample.
 */
export function recordSample(
  context: Pick<GroupContext, "progress">,
  figure: Figure,
  side: Side,
  sample: Sample,
): void {
  ((figure.samples[side] ??= []) as Sample[]).push(sample);
  const value = (sample.value / figure.scale).toLocaleString("en-US", {
    maximumFractionDigits: 2,
  });
  const d = sample.detail ?? {};
  const cpu = d.serverCpu === undefined ? "" : ` (server ${Math.round(d.serverCpu as number)}%, ` +
    `client ${Math.round(d.clientCpu as number)}%, cores ${
      (d.coreBusy as number[]).map(Math.round).join("/")
    }%, other ${Math.round(d.otherCpu as number)}%)`;
  const name = side === "ours"
    ? figure.sides?.ours ?? side
    : side === "ws"
    ? figure.sides?.ws ?? side
    : side;
  context.progress(`  ${figure.id} ${name}: ${value} ${figure.unit}${cpu}`);
}

async function commandOutput(command: string, argv: string[]): Promise<string> {
  try {
    const { stdout } = await new Deno.Command(command, { args: argv, stderr: "null" }).output();
    return new TextDecoder().decode(stdout).trim();
  } catch {
    return "?";
  }
}

async function readVersion(pkg: string): Promise<string> {
  const text = await Deno.readTextFile(`${ROOT}node_modules/${pkg}/package.json`);
  return JSON.parse(text).version;
}

/**
 * The versions of Bun and workerd, for the report's header.
 *
 * @returns For example "Bun 1.4.5, workerd 2026-04-26".
 */
export async function readRuntimeVersions(): Promise<string> {
  const bun = await commandOutput(`${ROOT}node_modules/.bin/bun`, ["--version"]);
  const workerd = (await commandOutput(`${ROOT}node_modules/.bin/workerd`, ["--version"]))
    .replace(/^workerd\s*/, "");
  return `Bun ${bun}, workerd ${workerd}`;
}

/** What {@linkcode describeRun} needs to know of a run. */
export interface RunFacts {
  /** The command, as the report shows it. */
  command: string;
  /** Whether it was a quick run. */
  quick: boolean;
  /** Rounds per figure. */
  rounds: number;
  /** Whether processes were pinned to cores. */
  pinned: boolean;
  /** `performance.now()` at the start. */
  started: number;
  /** How many samples were noisy. */
  noise: RunInfo["noise"];
  /** Whether Bun and workerd were measured (their versions go in the header). */
  runtimes: boolean;
}

/**
 * The report's header: the run, the machine and every version measured.
 *
 * @param facts The run.
 * @returns The header, for renderMarkdown() and results.json.
 */
export async function describeRun(facts: RunFacts): Promise<RunInfo> {
  return {
    command: facts.command,
    date: new Date().toISOString().slice(0, 16).replace("T", " ") + " UTC",
    quick: facts.quick,
    rounds: facts.rounds,
    node: await commandOutput("node", ["--version"]),
    deno: Deno.version.deno,
    ws: await readVersion("ws"),
    bufferutil: await readVersion("bufferutil"),
    cpu: (/model name\s*:\s*(.*)/.exec(await Deno.readTextFile("/proc/cpuinfo"))?.[1] ?? "?")
      .trim(),
    cores: navigator.hardwareConcurrency,
    pinned: facts.pinned,
    seconds: (performance.now() - facts.started) / 1000,
    noise: facts.noise,
    ...(facts.runtimes ? { runtimes: await readRuntimeVersions() } : {}),
  };
}

/**
 * Runs one group on its own, as bench/run.ts would, and prints its table:
 * progress to stderr, Markdown to stdout.
 *
 * @param name The group, for messages.
 * @param run The group.
 */
export async function runStandalone(
  name: string,
  run: (context: GroupContext) => Promise<Figure[]>,
): Promise<void> {
  const usage = `usage: deno run -A bench/${name}.ts [--quick] [--rounds=N]`;
  const flags = new Map(Deno.args.map((arg) => {
    const [flag, value] = arg.split("=", 2);
    return [flag, value ?? ""] as const;
  }));
  for (const flag of flags.keys()) {
    if (!["--quick", "--rounds"].includes(flag)) {
      console.error(`Unknown option: ${flag}\n${usage}`);
      Deno.exit(2);
    }
  }
  const quick = flags.has("--quick");
  const rounds = flags.has("--rounds") ? Number(flags.get("--rounds")) : quick ? 3 : 5;
  if (!(Number.isInteger(rounds) && rounds >= 1)) {
    console.error(`--rounds must be a whole number, at least 1\n${usage}`);
    Deno.exit(2);
  }
  const started = performance.now();
  const progress = (message: string) => {
    const elapsed = ((performance.now() - started) / 1000).toFixed(0).padStart(4);
    console.error(`[${name} ${elapsed}s] ${message}`);
  };
  // The same settings as bench/run.ts.
  const config: GroupConfig = {
    root: ROOT,
    rounds,
    microSeconds: quick ? 0.25 : 1,
    warmup: quick ? 0.5 : 1,
    loadSeconds: quick ? 1 : 3,
    idleConnections: quick ? 2000 : 10_000,
    quietCpu: 25,
    attempts: quick ? 1 : 3,
    retryUntil: performance.now() + (quick ? 0 : 330_000),
    retryPause: 3,
  };
  const measure = new Measurer(config, progress);
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    Deno.addSignalListener(signal, async () => {
      progress(`${signal}: stopping`);
      await stopAll();
      Deno.exit(130);
    });
  }
  const pinned = await canPin();
  if (!pinned) progress("taskset not found: processes are not pinned to cores");
  const figures = await run({ config, progress, measure, quick });
  const info = await describeRun({
    command: `deno run -A bench/${name}.ts${Deno.args.length ? ` ${Deno.args.join(" ")}` : ""}`,
    quick,
    rounds,
    pinned,
    started,
    noise: measure.noise,
    runtimes: true,
  });
  console.log(renderMarkdown(figures, info));
}
