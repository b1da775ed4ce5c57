/** One sample of one figure: a micro-benchmark process, or a server under load. */
import type { Sample, Side } from "./_figures.ts";
import { canPin, type ChildProcess, readRss, sleep, spawn } from "./_process.ts";
import { countHeapObjects, type HeapCount } from "./_heap_snapshot.ts";
import { nextLine, runLoadgen, startLoadgen } from "./loadgen/loadgen.ts";

/** How long and how hard to measure. */
export interface MeasureConfig {
  /** The repository's top folder, ending in "/". */
  root: string;
  /** Seconds each micro-benchmark measures (after its own warm-up). */
  microSeconds: number;
  /** Seconds of load before a load test's window opens. */
  warmup: number;
  /** Seconds in a load test's window. */
  loadSeconds: number;
  /** Connections in the idle test. */
  idleConnections: number;
  /** Retry a load sample when other programs used more CPU than this (% of a core). */
  quietCpu: number;
  /** Most attempts per sample. */
  attempts: number;
  /** No retries after this time (`performance.now()`), to bound the run. */
  retryUntil: number;
  /** Seconds to wait before a retry, for a burst of other work to pass. */
  retryPause: number;
}

interface MicroResult {
  rate: number;
  seconds: number;
  cpuSeconds: number;
}

interface Server {
  side: Side;
  process: ChildProcess;
  port: number;
}

/** The idle test's two memory measures of one server. */
export interface IdleSamples {
  /** RSS per connection as `ps` shows it 1 s after the burst, no forced GC. */
  shown: Sample;
  /** RSS per connection after two forced GCs (undefined where the server cannot). */
  collected?: Sample;
}

/** What each upgrade costs the JavaScript heap (Node servers). */
export interface AllocationSample {
  /** Connections opened. */
  opened: number;
  /** Bytes allocated per upgrade: the heap's growth plus what GCs reclaimed meanwhile. */
  allocatedPerUpgrade: number;
  /** GCs during the window. */
  gcs: number;
  /** Heap still used per open connection after two forced GCs. */
  heapKeptPerConnection: number;
  /** Heap-snapshot nodes per open connection (objects, strings, closures, arrays …). */
  objectsPerConnection: number;
  /** Their shallow size per open connection, in bytes. */
  bytesPerConnection: number;
  /** The kinds that grew most: [kind, objects per connection, bytes per connection]. */
  kinds: Array<[string, number, number]>;
}

// The kinds of heap objects that grew most between two snapshots.
function diffKinds(
  before: HeapCount,
  after: HeapCount,
  n: number,
): Array<[string, number, number]> {
  const rows: Array<[string, number, number]> = [];
  for (const [kind, [count, size]] of after.kinds) {
    const [c0, s0] = before.kinds.get(kind) ?? [0, 0];
    if (count - c0 >= n / 2) rows.push([kind, (count - c0) / n, (size - s0) / n]);
  }
  return rows.sort((a, b) => b[1] - a[1]).slice(0, 24);
}

/** A server process for {@linkcode Measurer.loadServers}: any runtime. */
export interface ServerSpec {
  /** The program. */
  command: string;
  /** Its arguments. */
  args: string[];
  /** Extra environment variables. */
  env?: Record<string, string>;
  /**
   * The port it listens on, polled until it accepts, for a program that
   * prints no `listening <port>` line (workerd, redis-server).
   */
  port?: number;
}

/** A server started by {@linkcode Measurer.loadServers}. */
export interface StartedServer {
  /** Its process id. */
  pid: number;
  /** The port it listens on. */
  port: number;
}

// Polls a port until it accepts a connection, or the process exits.
async function waitForPort(child: ChildProcess, port: number, timeout = 30_000): Promise<void> {
  let exited = false;
  child.status.then(() => (exited = true));
  const deadline = Date.now() + timeout;
  while (!exited && Date.now() < deadline) {
    try {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port });
      conn.close();
      return;
    } catch {
      await sleep(50);
    }
  }
  throw new Error(`process ${child.pid} did not listen on ${port}:\n${child.stderr.slice(-2000)}`);
}

// /proc/stat counts in USER_HZ, 100 on Linux.
const TICKS_PER_SECOND = 100;

async function readBusyTicks(): Promise<number> {
  const stat = await Deno.readTextFile("/proc/stat");
  const t = stat.split("\n")[0].trim().split(/\s+/).slice(1, 9).map(Number);
  return t.reduce((a, b) => a + b, 0) - t[3] - t[4];
}

/** Runs the benchmark's processes and turns their output into samples. */
export class Measurer {
  #config: MeasureConfig;
  #progress: (message: string) => void;
  #noisy = 0;
  #samples = 0;
  #benchDir: string;

  /**
   * Creates the instance.
   *
   * @param config Durations, sizes and the retry policy.
   * @param progress Where to report retries.
   */
  constructor(config: MeasureConfig, progress: (message: string) => void) {
    this.#config = config;
    this.#progress = progress;
    this.#benchDir = `${config.root}bench/`;
  }

  /** How many samples were kept although other programs were busy, of how many. */
  get noise(): { noisy: number; samples: number } {
    return { noisy: this.#noisy, samples: this.#samples };
  }

  // Runs a sample up to `attempts` times while other programs load the
  // machine, and keeps the quietest.
  async #quietest(
    label: string,
    measure: () => Promise<Sample>,
    threshold = this.#config.quietCpu,
  ): Promise<Sample> {
    let best: Sample | undefined;
    const otherOf = (sample: Sample) => sample.detail?.otherCpu as number ?? 0;
    for (let attempt = 1; attempt <= this.#config.attempts; attempt++) {
      const sample = await measure();
      sample.attempts = attempt;
      const other = otherOf(sample);
      if (!best || other < otherOf(best)) best = sample;
      if (other <= threshold || attempt === this.#config.attempts) break;
      if (performance.now() > this.#config.retryUntil) break;
      this.#progress(`  ${label}: other programs used ${Math.round(other)}% CPU; measuring again`);
      await sleep(this.#config.retryPause * 1000);
    }
    this.#samples++;
    if (otherOf(best as Sample) > threshold) {
      this.#noisy++;
      (best as Sample).detail = { ...best?.detail, noisy: 1 };
    }
    return best as Sample;
  }

  /**
   * Runs one micro-benchmark in its own Node process.
   *
   * @param micro The bundled bench/micro.ts.
   * @param name The case.
   * @param side Ours, the prototype's (ours from the patched bundle), ws
   * with bufferutil, or ws pure JS.
   * @returns The rate, in units per second.
   */
  async micro(
    micro: string,
    name: string,
    side: "ours" | "proto" | "ws" | "ws-js",
  ): Promise<Sample> {
    const as = side === "ws-js" ? "ws" : side === "proto" ? "ours" : side;
    // A micro-benchmark uses one core: other programs matter past the other one.
    return await this.#quietest(`${name} ${side}`, async () => {
      const busyBefore = await readBusyTicks();
      const wallBefore = performance.now();
      const { code, stdout, stderr } = await new Deno.Command("node", {
        args: [micro, name, as, `${this.#config.microSeconds}`, this.#config.root],
        env: side === "ws-js" ? { WS_NO_BUFFER_UTIL: "1" } : {},
        stdout: "piped",
        stderr: "piped",
      }).output();
      if (code !== 0) {
        throw new Error(`micro ${name} ${side} failed:\n${new TextDecoder().decode(stderr)}`);
      }
      const wall = (performance.now() - wallBefore) / 1000;
      const busy = (await readBusyTicks() - busyBefore) / TICKS_PER_SECOND;
      const result = JSON.parse(new TextDecoder().decode(stdout)) as MicroResult;
      const otherCpu = Math.max(0, (busy - result.cpuSeconds) / wall * 100);
      return { value: result.rate, detail: { otherCpu } };
    }, 60);
  }

  /**
   * Runs a load test against a fresh server.
   *
   * @param side Whose server.
   * @param bundle Our server's bundle (ignored for ws).
   * @param mode The load generator's mode.
   * @param flags The mode's flags.
   * @returns The rate, with CPU figures in `detail`.
   */
  async load(
    side: Side,
    bundle: string,
    mode: string,
    flags: Record<string, number | string>,
  ): Promise<Sample> {
    return await this.#quietest(
      `${mode} ${side}${flags.path ? ` ${flags.path}` : ""}`,
      () => this.#withServer(side, bundle, (server) => this.#runLoad(server, mode, flags)),
    );
  }

  /**
   * Runs a load test against fresh servers of any runtime, started in order
   * and pinned to core 0 (stopped in reverse order). The load generator
   * counts the CPU of all of them as the server's.
   *
   * @param label What is measured, for retry messages.
   * @param specs The servers: a runtime's server, or a backplane and its nodes.
   * @param mode The load generator's mode.
   * @param flags The mode's flags, given the started servers' ports.
   * @returns The rate, with CPU figures and the mode's extra figures in `detail`.
   */
  async loadServers(
    label: string,
    specs: ServerSpec[],
    mode: string,
    flags: (servers: StartedServer[]) => Record<string, number>,
  ): Promise<Sample> {
    return await this.#quietest(label, async () => {
      const started: ChildProcess[] = [];
      try {
        const servers = await this.#startSpecs(specs, started);
        const pids: Record<string, number> = {};
        servers.forEach((server, i) => {
          pids[i === 0 ? "server-pid" : `server-pid-${i + 1}`] = server.pid;
        });
        return await this.#runClient(mode, {
          port: servers[0].port,
          ...pids,
          warmup: this.#config.warmup,
          duration: this.#config.loadSeconds,
          ...flags(servers),
        });
      } finally {
        for (const child of started.reverse()) await child.stop();
      }
    });
  }

  // Starts servers in order, pinned to core 0, each pushed to `started` as
  // soon as it runs (for the caller to stop), and waits until they listen.
  async #startSpecs(specs: ServerSpec[], started: ChildProcess[]): Promise<StartedServer[]> {
    const servers: StartedServer[] = [];
    for (const spec of specs) {
      const child = await spawn(spec.command, spec.args, {
        cpu: 0,
        raiseFileLimit: true,
        cwd: this.#config.root,
        env: spec.env,
      });
      started.push(child);
      const port = spec.port ?? Number((await child.waitFor(/^listening (\d+)/))[1]);
      if (spec.port !== undefined) await waitForPort(child, spec.port);
      servers.push({ pid: child.pid, port });
    }
    return servers;
  }

  /**
   * Load tests of several servers in short windows, interleaved: the
   * servers (each pinned to core 0) start together and stay up, idle but
   * for the one under load, and each pass measures one window on each of
   * them, in an order that turns round every pass (A B C, C B A, A B C …).
   * A drift in the machine's speed, which one long window per server takes
   * for a difference between them, then reaches every server alike, and
   * window i of one server pairs with window i of another. A server's first
   * window comes after the run's full warm-up, the others after
   * `options.warmup`. Each window is retried as any load sample is while
   * other programs were busy.
   *
   * @param labels What each server is, for retry messages.
   * @param specs The servers.
   * @param mode The load generator's mode.
   * @param flags The mode's flags.
   * @param options Passes, and each window's warm-up and length in seconds.
   * @returns Per server, its samples in the order taken.
   */
  async interleave(
    labels: string[],
    specs: ServerSpec[],
    mode: string,
    flags: Record<string, number>,
    options: { passes: number; warmup: number; seconds: number },
  ): Promise<Sample[][]> {
    const started: ChildProcess[] = [];
    const samples: Sample[][] = specs.map(() => []);
    try {
      const servers = await this.#startSpecs(specs, started);
      for (let pass = 0; pass < options.passes; pass++) {
        const order = servers.map((_, i) => i);
        if (pass % 2) order.reverse();
        for (const i of order) {
          samples[i].push(
            await this.#quietest(labels[i], () =>
              this.#runClient(mode, {
                port: servers[i].port,
                "server-pid": servers[i].pid,
                warmup: pass === 0 ? this.#config.warmup : options.warmup,
                duration: options.seconds,
                ...flags,
              })),
          );
        }
      }
    } finally {
      for (const child of started.reverse()) await child.stop();
    }
    return samples;
  }

  /**
   * Runs a program that measures one sample itself, pinned to core 0, and
   * takes the `result {"value": …, "detail": {…}}` line it prints last
   * (bench/resume_sample.ts). It is retried as a load sample is while other
   * programs were busy, by the `otherCpu` it reports for its own window.
   *
   * @param label What is measured, for retry messages.
   * @param spec The program.
   * @returns Its sample.
   */
  async script(label: string, spec: ServerSpec): Promise<Sample> {
    return await this.#quietest(label, async () => {
      const pin = await canPin() ? ["taskset", "-c", "0"] : [];
      const [command, ...args] = [...pin, spec.command, ...spec.args];
      const { code, stdout, stderr } = await new Deno.Command(command, {
        args,
        cwd: this.#config.root,
        env: spec.env,
        stdout: "piped",
        stderr: "piped",
      }).output();
      const text = new TextDecoder().decode(stdout);
      const line = text.split("\n").findLast((l) => l.startsWith("result "));
      if (code !== 0 || !line) {
        throw new Error(
          `${label} failed:\n${text}${new TextDecoder().decode(stderr).slice(-2000)}`,
        );
      }
      return JSON.parse(line.slice("result ".length)) as Sample;
    });
  }

  /**
   * Opens idle connections against a fresh server (the C load generator,
   * `connect` mode, on core 1) and measures its memory per connection two
   * ways: RSS as `ps` shows it 1 s after the last one opened, with no forced
   * GC (against the RSS before the burst, read the same way), and RSS after
   * two forced GCs (against a baseline collected the same way).
   *
   * @param side Whose server.
   * @param bundle Our server's bundle (ignored for ws).
   * @param count Connections to open.
   * @returns The two samples, bytes per connection: as shown, and collected.
   */
  async idle(side: Side, bundle: string, count: number): Promise<IdleSamples> {
    const server = await this.#startServer(side, bundle);
    return await this.#idleOn(server.process, server.port, count, true);
  }

  /**
   * {@linkcode Measurer.idle} against a server of any runtime, pinned to
   * core 0. Without `gc` (a server that prints no `memory` line on SIGUSR2)
   * only the `ps` measure is taken.
   *
   * @param spec The server.
   * @param count Connections to open.
   * @param gc Whether the server collects garbage on SIGUSR2.
   * @returns The samples (`collected` is undefined without `gc`).
   */
  async idleServer(spec: ServerSpec, count: number, gc: boolean): Promise<IdleSamples> {
    const child = await spawn(spec.command, spec.args, {
      cpu: 0,
      raiseFileLimit: true,
      cwd: this.#config.root,
      env: spec.env,
    });
    let port = spec.port;
    try {
      port ??= Number((await child.waitFor(/^listening (\d+)/))[1]);
      if (spec.port !== undefined) await waitForPort(child, spec.port);
    } catch (error) {
      await child.stop();
      throw error;
    }
    return await this.#idleOn(child, port, count, gc);
  }

  async #idleOn(
    server: ChildProcess,
    port: number,
    count: number,
    gc: boolean,
  ): Promise<IdleSamples> {
    const client = await startLoadgen("connect", {
      port,
      count,
      path: "/echo",
      concurrency: 256,
      budget: 600,
    }, { cpu: 1, stdin: true });
    try {
      await client.waitFor(/^ready /);
      const warm = nextLine(client, "warm");
      await client.send("warm 100");
      await warm;
      await sleep(1000);
      const shownBefore = await readRss(server.pid);
      const before = gc ? await this.#collect(server) : undefined;
      const opened = nextLine<Record<string, number | string[]>>(
        client,
        "opened",
        120_000 + count * 20,
      );
      await client.send("open");
      const open = await opened;
      await sleep(1000);
      const shown = await readRss(server.pid);
      const after = gc ? await this.#collect(server) : undefined;
      const n = open.opened as number;
      const seconds = open.seconds as number;
      const common = {
        connections: count,
        opened: n,
        failed: open.failed as number,
        openSeconds: seconds,
        // The load generator's own CPU while opening, % of one core.
        clientCpu: (open.clientCpuSeconds as number) / seconds * 100,
      };
      const per = (a: number, b: number) => (a - b) / n;
      return {
        shown: {
          value: per(shown, shownBefore),
          detail: { ...common, rssBefore: shownBefore, rssAfter: shown },
        },
        collected: before && after
          ? {
            value: per(after.rss, before.rss),
            detail: {
              ...common,
              rssBefore: before.rss,
              rssAfter: after.rss,
              heapPerConnection: per(after.usage.heapUsed, before.usage.heapUsed),
              heapTotalPerConnection: per(after.usage.heapTotal, before.usage.heapTotal),
              externalPerConnection: per(after.usage.external ?? 0, before.usage.external ?? 0),
              newSpacePerConnection: per(after.usage.newSpace ?? 0, before.usage.newSpace ?? 0),
              ...objectsGrown(after.usage.objects, before.usage.objects, n),
            },
          }
          : undefined,
      };
    } finally {
      // The server first: its end of the sockets waits in TIME_WAIT, not
      // the client's ephemeral ports.
      await server.stop();
      await client.stop();
    }
  }

  /**
   * What each upgrade costs a Node server's JavaScript heap: the server runs
   * with bench/servers/probe.cjs preloaded; `count` connections are opened
   * (after a warm-up of 100) between two heap snapshots and inside a
   * `v8.GCProfiler` window.
   *
   * @param side Whose server.
   * @param bundle Our server's bundle (ignored for ws).
   * @param count Connections to open.
   * @returns Bytes allocated per upgrade, bytes kept and heap-snapshot
   * objects left per open connection, and the object kinds that grew most.
   */
  async allocation(side: Side, bundle: string, count: number): Promise<AllocationSample> {
    const server = await this.#startServer(side, bundle, true);
    const client = await startLoadgen("connect", {
      port: server.port,
      count,
      path: "/echo",
      concurrency: 64,
      budget: 600,
    }, { cpu: 1, stdin: true });
    const dir = await Deno.makeTempDir({ prefix: "edgesocket-heap-" });
    try {
      await client.waitFor(/^ready /);
      const warm = nextLine(client, "warm");
      await client.send("warm 100");
      await warm;
      await sleep(500);
      const snapshot = async (name: string) => {
        const path = `${dir}/${name}.heapsnapshot`;
        const done = server.process.waitFor(new RegExp(`^snapshot ${path}$`), { timeout: 120_000 });
        await server.process.send(`snapshot ${path}`);
        await done;
        const counted = await countHeapObjects(path);
        await Deno.remove(path);
        return counted;
      };
      const before = await snapshot("before");
      const started = server.process.waitFor(/^alloc-started/, { timeout: 30_000 });
      await server.process.send("alloc-start");
      await started;
      const opened = nextLine<Record<string, number>>(client, "opened", 120_000);
      await client.send("open");
      const open = await opened;
      await sleep(1000);
      const alloc = nextLine<Record<string, number>>(server.process, "alloc", 30_000);
      const retained = nextLine<Record<string, number>>(server.process, "retained", 30_000);
      await server.process.send("alloc-stop");
      const allocated = await alloc;
      const kept = await retained;
      const after = await snapshot("after");
      const n = open.opened;
      return {
        opened: n,
        allocatedPerUpgrade: allocated.allocated / n,
        gcs: allocated.gcs,
        heapKeptPerConnection: kept.growth / n,
        objectsPerConnection: (after.total - before.total) / n,
        bytesPerConnection: (after.totalSize - before.totalSize) / n,
        kinds: diffKinds(before, after, n),
      };
    } finally {
      await server.process.stop();
      await client.stop();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  }

  async #startServer(side: Side, bundle: string, probe = false): Promise<Server> {
    const script = side === "ws" ? `${this.#benchDir}servers/ws_server.cjs` : bundle;
    const preload = probe ? ["--require", `${this.#benchDir}servers/probe.cjs`] : [];
    const child = await spawn("node", ["--expose-gc", ...preload, script], {
      cpu: 0,
      raiseFileLimit: true,
      cwd: this.#benchDir,
      stdin: probe,
    });
    const match = await child.waitFor(/^listening (\d+)/);
    return { side, process: child, port: Number(match[1]) };
  }

  async #withServer<T>(
    side: Side,
    bundle: string,
    body: (server: Server) => Promise<T>,
  ): Promise<T> {
    const server = await this.#startServer(side, bundle);
    try {
      return await body(server);
    } finally {
      await server.process.stop();
    }
  }

  async #runLoad(
    server: Server,
    mode: string,
    flags: Record<string, number | string>,
  ): Promise<Sample> {
    return await this.#runClient(mode, {
      port: server.port,
      "server-pid": server.process.pid,
      warmup: this.#config.warmup,
      duration: this.#config.loadSeconds,
      ...flags,
    });
  }

  // Every load test's client: the C epoll load generator, pinned to core 1,
  // its own CPU and its core's load in each sample. `handshake-raw` is
  // `handshake`; fan-out's `extra` (its open loop's latency and CPU) is
  // spread into the detail, as bench/fan_out.ts's latencySample() reads it.
  async #runClient(mode: string, flags: Record<string, number | string>): Promise<Sample> {
    const loadgenMode = mode === "handshake-raw" ? "handshake" : mode;
    if (loadgenMode !== "echo" && loadgenMode !== "handshake" && loadgenMode !== "fanout") {
      throw new TypeError(`Unknown load mode: ${mode}`);
    }
    const result = await runLoadgen(loadgenMode, flags, { cpu: 1 });
    if (mode === "echo" && (result.wrong as number) > 0) {
      throw new Error(`${result.wrong} echoes differed from the message sent`);
    }
    return {
      value: result.rate,
      detail: {
        serverCpu: result.serverCpu,
        clientCpu: result.clientCpu,
        coreBusy: result.coreBusy,
        otherCpu: result.otherCpu,
        softirqCpu: result.softirqCpu,
        ...(result.errors ? { errors: result.errors } : {}),
        ...(result.extra ?? {}),
      },
    };
  }

  // Forces a GC in the server, lets the runtime give back the pages it
  // freed, forces another, and reads the server's memory.
  async #collect(server: ChildProcess) {
    let match: RegExpExecArray | undefined;
    for (const settle of [1500, 200]) {
      const skip = server.count(/^memory /);
      server.signal("SIGUSR2");
      match = await server.waitFor(/^memory (.*)/, { skip });
      await sleep(settle);
    }
    return {
      rss: await readRss(server.pid),
      usage: JSON.parse((match as RegExpExecArray)[1]),
    };
  }
}

// The heap's objects by type that grew by at least one per two connections
// (where the server reports them: Bun's `bun:jsc` heapStats), per
// connection, as `objects:<type>` detail keys.
function objectsGrown(
  after: Record<string, number> | undefined,
  before: Record<string, number> | undefined,
  opened: number,
): Record<string, number> {
  const grown: Record<string, number> = {};
  if (!after || !before || opened === 0) return grown;
  for (const [type, count] of Object.entries(after)) {
    const perConnection = (count - (before[type] ?? 0)) / opened;
    if (perConnection >= 0.5) grown[`objects:${type}`] = perConnection;
  }
  return grown;
}
