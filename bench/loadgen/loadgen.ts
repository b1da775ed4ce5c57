/**
 * The C epoll load generator (bench/loadgen/loadgen.c), for the benchmark
 * and the soak: compiled on demand with the machine's `gcc` into `dist/`,
 * cached by the source's hash (no binary is committed), started pinned like
 * any benchmark process, its JSON lines parsed.
 *
 * @example
 * ```ts ignore
 * import { runLoadgen } from "./bench/loadgen/loadgen.ts";
 *
 * const result = await runLoadgen("echo", { port: 8000, clients: 64, inflight: 16, size: 1024 });
 * console.log(result.rate, result.clientCpu);
 * ```
 */
import { ROOT } from "../../tests/_util/server_process.ts";
import { type ChildProcess, spawn, type SpawnOptions } from "../_process.ts";

/** The modes loadgen.c has. */
export type LoadgenMode = "echo" | "handshake" | "connect" | "listen" | "fanout";

/** Flags, as `--name=value`. */
export type LoadgenFlags = Record<string, number | string>;

/** What `echo`, `handshake` and `fanout` print as their `result` line. */
export interface LoadgenWindow {
  mode: string;
  /** The measured window, in seconds. */
  seconds: number;
  /** Round trips (echo), upgrades (handshake) or deliveries (fanout) in the window. */
  count: number;
  /** `count` per second. */
  rate: number;
  /** The server processes' CPU, % of one core. */
  serverCpu: number;
  /** The load generator's own CPU (getrusage), % of one core. */
  clientCpu: number;
  /** Each core's busy share, %, softirq included. */
  coreBusy: number[];
  /** Softirq, where Linux accounts loopback TCP, % of one core. */
  softirqCpu: number;
  /** CPU of other programs, % of one core. */
  otherCpu: number;
  /** Errors seen, and the first distinct ones. */
  errors: number;
  errorKinds: string[];
  sources: number;
  /** fanout: the open loop's figures. */
  extra?: FanoutExtra;
  [key: string]: unknown;
}

/**
 * What `fanout` adds to its window (the closed loop's) in `extra`: the open
 * loop's latency, in ms, and its rate and CPU. A latency is NaN when no
 * delivery was recorded (null in the JSON line).
 */
export interface FanoutExtra {
  /** The closed loop's otherCpu (the result's is the larger of both loops'). */
  closedOtherCpu: number;
  /** Deliveries/s in the open loop, and what its schedule asks for. */
  openRate: number;
  openExpected: number;
  /** Publish → receipt of each delivery. */
  p50: number;
  p99: number;
  max: number;
  /** Publish → receipt by its last subscriber. */
  reachAllP50: number;
  reachAllP99: number;
  latencySamples: number;
  openServerCpu: number;
  openClientCpu: number;
  openOtherCpu: number;
}

const SOURCE = `${ROOT}bench/loadgen/loadgen.c`;
let built: Promise<string> | undefined;

/**
 * Compiles loadgen.c with `gcc -O2` into `dist/loadgen-<hash>`, once per
 * source version (the hash is the source's SHA-256).
 *
 * @returns The binary's path.
 * @throws {Error} When gcc is missing or the build fails.
 */
export function buildLoadgen(): Promise<string> {
  built ??= (async () => {
    const source = await Deno.readFile(SOURCE);
    const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", source));
    const hash = Array.from(digest.slice(0, 8), (b) => b.toString(16).padStart(2, "0")).join("");
    const out = `${ROOT}dist/loadgen-${hash}`;
    try {
      await Deno.stat(out);
      return out;
    } catch { /* not built yet */ }
    await Deno.mkdir(`${ROOT}dist`, { recursive: true });
    const partial = `${out}.${Deno.pid}.tmp`;
    let output: Deno.CommandOutput;
    try {
      output = await new Deno.Command("gcc", {
        args: ["-O2", "-Wall", "-o", partial, SOURCE, "-lm"],
        stdout: "piped",
        stderr: "piped",
      }).output();
    } catch (error) {
      throw new Error(`Cannot build bench/loadgen/loadgen.c: gcc: ${(error as Error).message}`);
    }
    if (!output.success) {
      throw new Error(
        `Cannot build bench/loadgen/loadgen.c:\n${new TextDecoder().decode(output.stderr)}`,
      );
    }
    // Another run may have built the same hash meanwhile: the rename wins either way.
    await Deno.rename(partial, out);
    return out;
  })();
  return built;
}

/**
 * Starts the load generator in a mode; its own file limit it raises itself.
 *
 * @param mode The mode.
 * @param flags Its flags.
 * @param options Pinning and stdin (`connect` and `listen` read commands).
 * @returns The running process.
 */
export async function startLoadgen(
  mode: LoadgenMode,
  flags: LoadgenFlags,
  options: SpawnOptions = {},
): Promise<ChildProcess> {
  const binary = await buildLoadgen();
  const argv = [mode, ...Object.entries(flags).map(([name, value]) => `--${name}=${value}`)];
  return await spawn(binary, argv, { cwd: ROOT, ...options });
}

/**
 * Runs `echo`, `handshake` or `fanout` to its end and returns its window
 * (fanout's: the closed loop's, with the open loop's in `extra`).
 *
 * @param mode The mode.
 * @param flags Its flags (`port`, `server-pid`, `warmup`, `duration` …).
 * @param options Pinning.
 * @returns The parsed `result` line.
 * @throws {Error} When it exits without a result.
 */
export async function runLoadgen(
  mode: "echo" | "handshake" | "fanout",
  flags: LoadgenFlags,
  options: SpawnOptions = {},
): Promise<LoadgenWindow> {
  const child = await startLoadgen(mode, flags, options);
  try {
    // fanout measures two windows: the closed loop's and the open loop's.
    const windows = mode === "fanout" ? 2 : 1;
    const window = Number(flags.warmup ?? 1) + Number(flags.duration ?? 3);
    const timeout = (windows * window + 60) * 1000;
    const result: LoadgenWindow = JSON.parse(
      (await child.waitFor(/^result (.*)/, { timeout }))[1],
      (_, value) => value ?? NaN,
    );
    return result;
  } finally {
    await child.stop();
  }
}

/**
 * The JSON of the last line of a kind that a process printed.
 *
 * @param child The process.
 * @param kind The line's first word.
 * @returns The parsed JSON, or undefined.
 */
export function lastLine<T = Record<string, unknown>>(
  child: ChildProcess,
  kind: string,
): T | undefined {
  for (let i = child.lines.length - 1; i >= 0; i--) {
    if (child.lines[i].startsWith(`${kind} `)) {
      return JSON.parse(child.lines[i].slice(kind.length + 1));
    }
  }
  return undefined;
}

/**
 * Waits for the next line of a kind, after those already printed, and parses it.
 *
 * @param child The process.
 * @param kind The line's first word.
 * @param timeout Milliseconds.
 * @returns The parsed JSON.
 */
export async function nextLine<T = Record<string, unknown>>(
  child: ChildProcess,
  kind: string,
  timeout = 60_000,
): Promise<T> {
  const pattern = new RegExp(`^${kind} (.*)`);
  const skip = child.count(pattern);
  return JSON.parse((await child.waitFor(pattern, { skip, timeout }))[1]);
}

/**
 * The soft and hard `RLIMIT_NOFILE` a child started with a raised limit gets
 * (`ulimit -n` of the hard limit, as bench/_process.ts's `spawn` does).
 *
 * @returns The hard limit.
 */
export async function readHardFileLimit(): Promise<number> {
  const { stdout } = await new Deno.Command("sh", { args: ["-c", "ulimit -Hn"] }).output();
  const text = new TextDecoder().decode(stdout).trim();
  return text === "unlimited" ? Infinity : Number(text);
}
