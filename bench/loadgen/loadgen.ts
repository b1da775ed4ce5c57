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
export type LoadgenMode = "echo" | "handshake" | "connect" | "listen";

/** Flags, as `--name=value`. */
export type LoadgenFlags = Record<string, number | string>;

/** What `echo` and `handshake` print as their `result` line. */
export interface LoadgenWindow {
  mode: string;
  /** The measured window, in seconds. */
  seconds: number;
  /** Round trips (echo) or upgrades (handshake) in the window. */
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
  [key: string]: unknown;
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
 * Runs `echo` or `handshake` to its end and returns its window.
 *
 * @param mode The mode.
 * @param flags Its flags (`port`, `server-pid`, `warmup`, `duration` …).
 * @param options Pinning.
 * @returns The parsed `result` line.
 * @throws {Error} When it exits without a result.
 */
export async function runLoadgen(
  mode: "echo" | "handshake",
  flags: LoadgenFlags,
  options: SpawnOptions = {},
): Promise<LoadgenWindow> {
  const child = await startLoadgen(mode, flags, options);
  try {
    const timeout = (Number(flags.warmup ?? 1) + Number(flags.duration ?? 3) + 60) * 1000;
    return JSON.parse((await child.waitFor(/^result (.*)/, { timeout }))[1]);
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
