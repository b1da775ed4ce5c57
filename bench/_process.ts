/** Child processes for the benchmark: pinned, line-read, always reaped. */

/** How to start a process. */
export interface SpawnOptions {
  /** Pin to this CPU with `taskset -c` (when taskset exists). */
  cpu?: number;
  /** Raise the open-file limit to the hard limit first. */
  raiseFileLimit?: boolean;
  /** Extra environment variables. */
  env?: Record<string, string>;
  /** Whether the benchmark writes to its stdin. */
  stdin?: boolean;
  /** The working directory. */
  cwd?: string;
}

const encoder = new TextEncoder();
const running = new Set<ChildProcess>();
const OUTPUT_LIMIT = 256 * 1024;
let hasTaskset: boolean | undefined;

/** Whether `taskset` (util-linux) is on the PATH. */
export async function canPin(): Promise<boolean> {
  if (hasTaskset === undefined) {
    try {
      const { success } = await new Deno.Command("taskset", {
        args: ["-p", `${Deno.pid}`],
        stdout: "null",
        stderr: "null",
      }).output();
      hasTaskset = success;
    } catch {
      hasTaskset = false;
    }
  }
  return hasTaskset;
}

/** A running child: its pid, its stdout as lines, and a way to stop it. */
export class ChildProcess {
  readonly pid: number;
  readonly lines: string[] = [];
  #child: Deno.ChildProcess;
  #partial = "";
  #stderr = "";
  #waiters: Array<() => void> = [];
  #exited = false;
  #status: Promise<Deno.CommandStatus>;
  #pumps: Promise<void>[];
  #stdin: WritableStreamDefaultWriter<Uint8Array> | undefined;

  constructor(child: Deno.ChildProcess, stdin: boolean) {
    this.#child = child;
    this.pid = child.pid;
    this.#stdin = stdin ? child.stdin.getWriter() : undefined;
    running.add(this);
    this.#status = child.status.then((status) => {
      this.#exited = true;
      running.delete(this);
      this.#wake();
      return status;
    });
    this.#pumps = [
      this.#pump(child.stdout, (text) => this.#addStdout(text)),
      this.#pump(child.stderr, (text) => {
        this.#stderr = (this.#stderr + text).slice(-OUTPUT_LIMIT);
      }),
    ];
  }

  /** The end of what the child wrote to stderr. */
  get stderr(): string {
    return this.#stderr;
  }

  /** Resolves with the exit status. */
  get status(): Promise<Deno.CommandStatus> {
    return this.#status;
  }

  async #pump(
    stream: ReadableStream<Uint8Array>,
    onText: (text: string) => void,
  ): Promise<void> {
    try {
      for await (const text of stream.pipeThrough(new TextDecoderStream())) onText(text);
    } catch { /* the child died */ }
  }

  #addStdout(text: string): void {
    const parts = (this.#partial + text).split("\n");
    this.#partial = parts.pop() ?? "";
    if (parts.length === 0) return;
    this.lines.push(...parts);
    // Keep only recent lines: servers may log a line per reset connection.
    if (this.lines.length > 20_000) this.lines.splice(0, this.lines.length - 10_000);
    this.#wake();
  }

  #wake(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
  }

  /**
   * Waits for a stdout line that matches, after the first `skip` matches.
   *
   * @param pattern What the line must match.
   * @param options How long to wait, and how many earlier matches to skip.
   * @returns The match.
   */
  async waitFor(
    pattern: RegExp,
    options: { timeout?: number; skip?: number } = {},
  ): Promise<RegExpExecArray> {
    const deadline = Date.now() + (options.timeout ?? 30_000);
    while (true) {
      let seen = 0;
      for (const line of this.lines) {
        const match = pattern.exec(line);
        if (match && seen++ >= (options.skip ?? 0)) return match;
      }
      if (this.#exited) {
        throw new Error(
          `process ${this.pid} exited before printing ${pattern}:\n${this.#tail()}`,
        );
      }
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new Error(`process ${this.pid} did not print ${pattern}:\n${this.#tail()}`);
      }
      let timer: ReturnType<typeof setTimeout> | undefined;
      await new Promise<void>((resolve) => {
        this.#waiters.push(resolve);
        timer = setTimeout(resolve, Math.min(left, 1000));
      });
      clearTimeout(timer);
    }
  }

  /** Counts the stdout lines that match. */
  count(pattern: RegExp): number {
    return this.lines.filter((line) => pattern.test(line)).length;
  }

  #tail(): string {
    return [...this.lines.slice(-10), this.#stderr.slice(-2000)].join("\n");
  }

  /**
   * Writes a line to the child's stdin.
   *
   * @param line The line, without its newline.
   */
  async send(line: string): Promise<void> {
    if (!this.#stdin) throw new TypeError("Process was started without stdin");
    await this.#stdin.write(encoder.encode(`${line}\n`));
  }

  /**
   * Sends a signal, if the child still runs.
   *
   * @param signal The signal.
   */
  signal(signal: Deno.Signal): void {
    if (this.#exited) return;
    try {
      Deno.kill(this.pid, signal);
    } catch { /* gone */ }
  }

  /** Stops the child (SIGTERM, then SIGKILL after 3 s) and reaps it. */
  async stop(): Promise<void> {
    if (this.#stdin) {
      try {
        await this.#stdin.close();
      } catch { /* already closed */ }
    }
    this.signal("SIGTERM");
    const killer = setTimeout(() => this.signal("SIGKILL"), 3000);
    await this.#status;
    clearTimeout(killer);
    await Promise.allSettled(this.#pumps);
  }
}

/**
 * Starts a command, pinned to a CPU and with a raised file limit if asked.
 * The shell `exec`s the command, so the pid is the command's own.
 *
 * @param command The program.
 * @param args Its arguments.
 * @param options Pinning, limits, environment, stdin.
 * @returns The running child.
 */
export async function spawn(
  command: string,
  args: string[],
  options: SpawnOptions = {},
): Promise<ChildProcess> {
  const prefix: string[] = [];
  if (options.cpu !== undefined && await canPin()) {
    prefix.push("taskset", "-c", `${options.cpu}`);
  }
  const limit = options.raiseFileLimit ? 'ulimit -n "$(ulimit -Hn)"; ' : "";
  const child = new Deno.Command("bash", {
    args: ["-c", `${limit}exec "$@"`, "bash", ...prefix, command, ...args],
    cwd: options.cwd,
    env: options.env,
    stdin: options.stdin ? "piped" : "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  return new ChildProcess(child, options.stdin ?? false);
}

/** Stops every child still running (on Ctrl-C). */
export async function stopAll(): Promise<void> {
  await Promise.allSettled([...running].map((child) => child.stop()));
}

/**
 * Reads a process's resident memory.
 *
 * @param pid The process.
 * @returns VmRSS in bytes.
 */
export async function readRss(pid: number): Promise<number> {
  const status = await Deno.readTextFile(`/proc/${pid}/status`);
  const match = /^VmRSS:\s+(\d+) kB/m.exec(status);
  if (!match) throw new Error(`No VmRSS for process ${pid}`);
  return Number(match[1]) * 1024;
}

/** Sleeps. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Bundles a TypeScript entry with `deno bundle`.
 *
 * @param entry The entry, relative to `root`.
 * @param out Where the bundle goes.
 * @param options The repository copy to bundle from, and the platform
 * (`node` by default; `browser` for workerd).
 * @returns `out`.
 */
export async function bundleEntry(
  entry: string,
  out: string,
  options: { root: string; platform?: "node" | "browser" },
): Promise<string> {
  const { code, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["bundle", "--quiet", "--platform", options.platform ?? "node", "-o", out, entry],
    cwd: options.root,
    stdout: "null",
    stderr: "piped",
  }).output();
  if (code !== 0) throw new Error(`bundle failed: ${new TextDecoder().decode(stderr)}`);
  return out;
}
