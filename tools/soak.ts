/**
 * `deno task soak`: many concurrent connections held by one server process,
 * on edgesocket's Node path (the codec), Deno's native path (`Deno.serve`),
 * Bun's native path (`Bun.serve`) and `ws` 8, one after the other in one run.
 * Each server gets two phases, each on a fresh process:
 *
 * 1. **Broadcast**: the C epoll load generator (bench/loadgen/loadgen.c,
 *    `listen` mode; one process per ~20,000 connections, each from its own
 *    loopback source addresses 127.0.0.x so that no address runs out of
 *    ephemeral ports) opens `--connections` WebSocket connections on
 *    `/fanout`, whose handler subscribes each to one topic, and holds them.
 *    Then one publisher connection sends `--publishes` numbered,
 *    time-stamped messages to the topic, one every `--publish-interval` ms;
 *    every connection checks that it got each exactly once and in order,
 *    and the latency of every delivery is recorded. The report gives the
 *    open rate, RSS per connection (as `ps` shows it 1 s after the burst,
 *    and after a forced GC), p50/p99/max delivery latency, lost, duplicated
 *    and reordered deliveries, and the load generator's own CPU.
 * 2. **Echo with churn** (on up to 10,000 connections by default,
 *    `--echo-connections`): `ws` clients (tools/soak_client.cjs) send
 *    numbered messages, two at a time, and check each echo — none lost,
 *    reordered or duplicated — while 5% of the clients drop their TCP
 *    connection without a close frame every five seconds and reconnect.
 *
 *     deno run -A tools/soak.ts [--seconds=N] [--connections=N] [--quick]
 *       [--rate=N] [--servers=node,deno,bun,ws] [--pin] [--echo-connections=N]
 *       [--publishes=N] [--publish-interval=MS] [--no-broadcast]
 *
 * Defaults: 10,000 connections, 120 s of echoes per server, one message a
 * second per connection (`--rate` is the total; 0 sends each batch as soon as
 * the last is echoed), 20 publishes 500 ms apart. `--quick` is 1,000
 * connections and 15 s, and only prints its table; a full run also writes
 * bench/soak.md. The exit code is 1 when any server lost, reordered or
 * duplicated a message, closed a connection, or did not hold them all.
 *
 * Limits: every server and load generator is started with its open-file
 * limit raised to the hard limit (`ulimit -n "$(ulimit -Hn)"`; the C load
 * generator raises its own), and the report states the hard limit,
 * `net.ipv4.ip_local_port_range`, `net.core.somaxconn`, `fs.nr_open` and
 * `fs.file-max`. Where the hard limit is below what a server needs for
 * `--connections`, the run says so first, and then measures where the
 * server stops. `--pin` pins the server to core 0 and the load generators
 * to core 1 (with `taskset`); not by default: Deno pinned to one core stalls
 * for seconds at a time under the echo load (its threads share the core).
 */
import { bundleForNode, ROOT } from "../tests/_util/server_process.ts";
import { canPin, type ChildProcess, readRss, sleep, spawn, stopAll } from "../bench/_process.ts";
import { lastLine, nextLine, readHardFileLimit, startLoadgen } from "../bench/loadgen/loadgen.ts";

/** A server under test. */
export type SoakServer = "node" | "deno" | "bun" | "ws";

/** What to run. */
export interface SoakOptions {
  /** Concurrent connections per server (the broadcast phase). */
  connections: number;
  /** Seconds of echoes per server. */
  seconds: number;
  /** The servers, in order (default all four). */
  servers?: SoakServer[];
  /** Connections in the echo phase (default `connections`, at most 10,000; 0 skips it). */
  echoConnections?: number;
  /** Whether to run the broadcast phase (default true). */
  broadcast?: boolean;
  /** Messages published to all connections (default 20). */
  publishes?: number;
  /** Milliseconds between publishes (default 500). */
  publishInterval?: number;
  /** Messages each connection sends at a time, the next batch once all are echoed (default 2). */
  inflight?: number;
  /** Messages a second, all connections together (default 1 per connection; 0: unpaced). */
  rate?: number;
  /** Share of the clients dropped and reconnected each period (default 0.05). */
  churn?: number;
  /** The churn period in seconds (default 5). */
  churnPeriod?: number;
  /** Pin the server to core 0 and the clients to core 1 (default false). */
  pin?: boolean;
  /** Progress lines go here (default: none). */
  progress?: (message: string) => void;
}

/** The echo phase's figures. */
export interface EchoResult {
  connections: number;
  /** Open at the end, after the last echoes. */
  held: number;
  handshakesPerSecond: number;
  /** Server RSS growth per idle connection, in bytes (after a GC). */
  rssPerConnection: number;
  /** Server JS heap growth per idle connection, in bytes. */
  heapPerConnection: number;
  /** Server RSS at its highest during the messages, in bytes. */
  peakRss: number;
  /** Server CPU during the messages, in % of one core. */
  serverCpu: number;
  messagesPerSecond: number;
  p50: number;
  p99: number;
  sent: number;
  echoed: number;
  lost: number;
  reordered: number;
  duplicated: number;
  /** In flight on a connection the client dropped: neither echoed nor lost. */
  cut: number;
  unexpectedCloses: number;
  connectErrors: number;
  drops: number;
  reconnects: number;
  cleanCloses: number;
  /** The server process ended by itself. */
  serverDied: boolean;
  errors: string[];
}

/** The broadcast phase's figures. */
export interface BroadcastResult {
  /** Connections asked for. */
  connections: number;
  /** Open once the opening ended. */
  opened: number;
  /** Open at the end, after the last delivery. */
  held: number;
  /** Handshakes that failed, and the first distinct reasons (from the load generator). */
  failed: number;
  /** Connections not tried: the load generator gave up after 512 failures in a row. */
  notAttempted: number;
  failures: string[];
  /** Seconds to open them all, and the rate. */
  openSeconds: number;
  handshakesPerSecond: number;
  /** Server RSS growth per connection as `ps` shows it 1 s after the burst, no forced GC. */
  rssPerConnection: number;
  /** The same after a forced GC (against a baseline after one). */
  rssPerConnectionGc: number;
  /** JS heap growth per connection, after a forced GC. */
  heapPerConnection: number;
  /** Server RSS with every connection open (no forced GC), in bytes. */
  rssOpen: number;
  /** Descriptors the server had open with every connection open. */
  serverFds: number;
  /** Its open-file limit (soft, after raising). */
  serverFileLimit: number;
  publishes: number;
  /** Deliveries that arrived, of `publishes × held-at-sync`. */
  deliveries: number;
  expected: number;
  lost: number;
  duplicated: number;
  reordered: number;
  /**
   * Delivery latency, ms: from the publisher's write to the moment the
   * kernel queued the delivery on the subscriber's socket (SO_TIMESTAMPNS),
   * which leaves the load generator's own read loop out.
   */
  p50: number;
  p99: number;
  max: number;
  /** p99 to the moment the load generator parsed the delivery, ms. */
  p99Read: number;
  /** Whether every delivery had a kernel timestamp (else p50/p99/max are as read). */
  kernelTimestamps: boolean;
  /** Server CPU from the first publish to the last delivery, % of one core. */
  serverCpu: number;
  /** Load generator CPU while opening and while receiving, % of one core: the busiest process. */
  loadgenCpuOpen: number;
  loadgenCpuBroadcast: number;
  loadgenProcesses: number;
  /** Loopback source addresses used. */
  sources: number;
  /** Connections the server closed. */
  closedByServer: number;
  serverDied: boolean;
  /** Why the server exited, where it did: the end of its stderr. */
  serverExit?: string;
}

const FAILED_BROADCAST: BroadcastResult = {
  connections: 0,
  opened: 0,
  held: 0,
  failed: 0,
  notAttempted: 0,
  failures: [],
  openSeconds: NaN,
  handshakesPerSecond: NaN,
  rssPerConnection: NaN,
  rssPerConnectionGc: NaN,
  heapPerConnection: NaN,
  rssOpen: NaN,
  serverFds: NaN,
  serverFileLimit: NaN,
  publishes: 0,
  deliveries: 0,
  expected: 0,
  lost: 0,
  duplicated: 0,
  reordered: 0,
  p50: NaN,
  p99: NaN,
  max: NaN,
  p99Read: NaN,
  kernelTimestamps: false,
  serverCpu: NaN,
  loadgenCpuOpen: NaN,
  loadgenCpuBroadcast: NaN,
  loadgenProcesses: 0,
  sources: 0,
  closedByServer: 0,
  serverDied: true,
};

/** What one server did. */
export interface SoakResult extends EchoResult {
  server: SoakServer;
  /** The echo phase did not run (`echoConnections: 0`). */
  echoSkipped: boolean;
  broadcast?: BroadcastResult;
}

/** The names the report gives the servers. */
export const SERVER_NAMES: Record<SoakServer, string> = {
  node: "edgesocket on Node (codec)",
  deno: "edgesocket on Deno (native)",
  bun: "edgesocket on Bun (native)",
  ws: "ws 8 on Node",
};

const PER_PROCESS = 5000;
const CLIENT = `${ROOT}tools/soak_client.cjs`;
const ECHO_DEFAULT_CAP = 10_000;
// One loopback source address per this many connections: far under the
// 28,232 ephemeral ports of the default net.ipv4.ip_local_port_range, since
// the kernel's search for a free port slows as an address's ports fill (one
// address for 19,500 connections made the load generator the limit).
const PER_SOURCE = 2500;

/**
 * Whether a server passed: every connection held, nothing lost, reordered,
 * duplicated or closed by the server, and the server still running.
 *
 * @param result One server's result.
 * @returns `true` when it passed.
 */
export function isClean(result: SoakResult): boolean {
  const echo = result.echoSkipped || (result.held === result.connections && result.lost === 0 &&
    result.reordered === 0 && result.duplicated === 0 && result.unexpectedCloses === 0 &&
    !result.serverDied && result.echoed > 0);
  const b = result.broadcast;
  const broadcast = !b || (b.held === b.connections && b.lost === 0 && b.duplicated === 0 &&
    b.reordered === 0 && b.closedByServer === 0 && !b.serverDied && b.deliveries > 0);
  return echo && broadcast;
}

async function startServer(server: SoakServer, pin: boolean): Promise<ChildProcess> {
  const where = { cpu: pin ? 0 : undefined, raiseFileLimit: true, cwd: ROOT };
  let child: ChildProcess;
  if (server === "deno") {
    child = await spawn(
      Deno.execPath(),
      ["run", "-A", "--v8-flags=--expose-gc", `${ROOT}tools/soak_deno_server.ts`],
      where,
    );
  } else if (server === "bun") {
    child = await spawn(`${ROOT}node_modules/.bin/bun`, [
      "run",
      `${ROOT}tools/soak_bun_server.ts`,
    ], where);
  } else {
    child = await spawn("node", [
      "--expose-gc",
      server === "ws"
        ? `${ROOT}tools/soak_ws_server.cjs`
        : await bundleForNode("tools/soak_node_server.ts"),
    ], where);
  }
  await child.waitFor(/^listening (\d+)/, { timeout: 60_000 });
  return child;
}

// A GC in the server, a pause for the allocator to give pages back, again,
// then RSS and the runtime's own figures.
async function readServerMemory(server: ChildProcess) {
  let usage = { heapUsed: 0 };
  for (const settle of [1500, 200]) {
    const skip = server.count(/^memory /);
    server.signal("SIGUSR2");
    const match = await server.waitFor(/^memory (.*)/, { skip, timeout: 30_000 });
    usage = JSON.parse(match[1]);
    await sleep(settle);
  }
  return { rss: await readRss(server.pid), heapUsed: usage.heapUsed };
}

function lastJson(child: ChildProcess, kind: string): Record<string, number> | undefined {
  return lastLine<Record<string, number>>(child, kind);
}

function sumOf(samples: Array<Record<string, number> | undefined>, key: string): number {
  return samples.reduce((total, s) => total + (s?.[key] ?? 0), 0);
}

// The latency histogram's bucket k is [1.05^k, 1.05^(k+1)) µs.
function percentile(histogram: number[], p: number): number {
  const total = histogram.reduce((a, b) => a + (b ?? 0), 0);
  let seen = 0;
  for (let k = 0; k < histogram.length; k++) {
    seen += histogram[k] ?? 0;
    if (total > 0 && seen >= total * p) return 1.05 ** (k + 0.5) / 1000;
  }
  return NaN;
}

function highest(histogram: number[]): number {
  for (let k = histogram.length - 1; k >= 0; k--) {
    if ((histogram[k] ?? 0) > 0) return 1.05 ** (k + 1) / 1000;
  }
  return NaN;
}

/** The machine's limits that decide how many connections one process can hold. */
export interface SoakLimits {
  /** RLIMIT_NOFILE hard limit: what `ulimit -n` can raise a process to. */
  fileLimitHard: number;
  /** net.ipv4.ip_local_port_range, as [first, last]. */
  portRange: [number, number];
  somaxconn: number;
  nrOpen: number;
  fileMax: number;
}

async function readSysctl(name: string): Promise<number[]> {
  try {
    const text = await Deno.readTextFile(`/proc/sys/${name.replaceAll(".", "/")}`);
    return text.trim().split(/\s+/).map(Number);
  } catch {
    return [NaN];
  }
}

/**
 * Reads the limits that decide how many connections a server process holds.
 *
 * @returns The limits.
 */
export async function readSoakLimits(): Promise<SoakLimits> {
  const range = await readSysctl("net.ipv4.ip_local_port_range");
  return {
    fileLimitHard: await readHardFileLimit(),
    portRange: [range[0], range[1] ?? NaN],
    somaxconn: (await readSysctl("net.core.somaxconn"))[0],
    nrOpen: (await readSysctl("fs.nr_open"))[0],
    fileMax: (await readSysctl("fs.file-max"))[0],
  };
}

/**
 * What stops one server process from holding `connections` here, if
 * anything: the descriptors it needs against the hard limit.
 *
 * @param limits The machine's limits.
 * @param connections Connections asked for.
 * @returns A sentence, or undefined when nothing does.
 */
export function describeLimit(limits: SoakLimits, connections: number): string | undefined {
  // The listening socket, stdio, the runtime's own (epoll, eventfds, files).
  const needed = connections + 64;
  if (limits.fileLimitHard >= needed && limits.fileMax >= needed + 1000) return undefined;
  const fmt = (v: number) => v.toLocaleString("en-US");
  return `the open-file hard limit (RLIMIT_NOFILE) is ${fmt(limits.fileLimitHard)}: ` +
    `one server process cannot hold ${fmt(connections)} connections (it needs about ` +
    `${fmt(needed)} descriptors); raising it takes CAP_SYS_RESOURCE or a higher hard limit ` +
    `from whatever starts this shell (fs.nr_open is ${fmt(limits.nrOpen)}).`;
}

// "reason ×count" from every load generator, summed per reason, most first.
function mergeErrorKinds(kinds: string[]): string[] {
  const counts = new Map<string, number>();
  for (const kind of kinds) {
    const match = /^(.*) ×(\d+)$/.exec(kind);
    const [reason, count] = match ? [match[1], Number(match[2])] : [kind, 1];
    counts.set(reason, (counts.get(reason) ?? 0) + count);
  }
  return [...counts].sort((a, b) => b[1] - a[1]).map(([reason, count]) =>
    `${reason} ×${count.toLocaleString("en-US")}`
  );
}

async function countFds(pid: number): Promise<number> {
  let n = 0;
  try {
    for await (const _ of Deno.readDir(`/proc/${pid}/fd`)) n++;
  } catch { /* gone */ }
  return n;
}

async function readSoftFileLimit(pid: number): Promise<number> {
  try {
    const text = await Deno.readTextFile(`/proc/${pid}/limits`);
    return Number(/^Max open files\s+(\d+)/m.exec(text)?.[1] ?? NaN);
  } catch {
    return NaN;
  }
}

// The broadcast phase, on a fresh server.
async function soakBroadcast(
  server: SoakServer,
  options: SoakOptions,
  limits: SoakLimits,
): Promise<BroadcastResult> {
  const say = (message: string) => options.progress?.(`${server} broadcast: ${message}`);
  const n = options.connections;
  const publishes = options.publishes ?? 20;
  const interval = options.publishInterval ?? 500;
  const fmt = (v: number) => Math.round(v).toLocaleString("en-US");
  // Each load generator within its own descriptor limit, with room to spare.
  const perProcess = Math.max(1000, Math.min(50_000, limits.fileLimitHard - 200));
  const processes = Math.ceil(n / perProcess);
  const serverProcess = await startServer(server, options.pin ?? false);
  const port = Number((await serverProcess.waitFor(/^listening (\d+)/))[1]);
  const loadgens: ChildProcess[] = [];
  try {
    let sourceFirst = 1;
    for (let i = 0; i < processes; i++) {
      const count = Math.floor(n / processes) + (i < n % processes ? 1 : 0);
      const sources = Math.max(1, Math.ceil(count / PER_SOURCE));
      loadgens.push(
        await startLoadgen("listen", {
          port,
          count,
          path: "/fanout",
          "publish-path": "/publish",
          publisher: i === 0 ? 1 : 0,
          size: 64,
          sources,
          "source-first": sourceFirst,
          // 256 handshakes in flight in all: under Node's listen backlog (511).
          concurrency: Math.max(16, Math.floor(256 / processes)),
          // A server that stopped accepting would hold each handshake left
          // for the whole timeout: stop after 512 failures in a row.
          "open-timeout": 10_000,
          "give-up": 512,
          budget: 3600,
        }, { cpu: options.pin ? 1 : undefined, stdin: true }),
      );
      sourceFirst += sources;
    }
    const all = <T>(kind: string, timeout: number) =>
      Promise.all(loadgens.map((c) => nextLine<T>(c, kind, timeout)));
    const tell = (line: string) => Promise.all(loadgens.map((c) => c.send(line)));
    await Promise.all(loadgens.map((c) => c.waitFor(/^ready /, { timeout: 30_000 })));
    const warm = nextLine(loadgens[0], "warm", 60_000);
    await loadgens[0].send("warm 50");
    await warm;
    await sleep(1000);
    const rssBefore = await readRss(serverProcess.pid);
    const before = await readServerMemory(serverProcess);

    say(`opening ${fmt(n)} connections from ${processes} load generator process(es)`);
    const openedLines = all<Record<string, number | string[]>>("opened", 120_000 + n * 20);
    await tell("open");
    const opened = await openedLines;
    const openSeconds = Math.max(...opened.map((o) => o.seconds as number));
    const openedCount = opened.reduce((t, o) => t + (o.opened as number), 0);
    const failed = opened.reduce((t, o) => t + (o.failed as number), 0);
    const notAttempted = opened.reduce((t, o) => t + (o.notAttempted as number), 0);
    const failures = mergeErrorKinds(opened.flatMap((o) => o.errorKinds as string[]));
    const openCpu = Math.max(...opened.map((o) => (o.clientCpuSeconds as number) / openSeconds));
    await sleep(1000);
    if (!(await isRunning(serverProcess))) {
      // What stopped it, in its own words: the last lines it wrote.
      // deno-lint-ignore no-control-regex -- strips the runtime's colour codes (ESC [ … m).
      const exit = serverProcess.stderr.replace(/\x1b\[[0-9;]*m/g, "").trim().split("\n")
        .slice(-3).map((line) => line.trim()).join(" ").slice(0, 400);
      say(`the server exited while the connections opened: ${exit}`);
      return {
        ...FAILED_BROADCAST,
        connections: n,
        opened: openedCount,
        failed,
        notAttempted,
        failures,
        openSeconds,
        handshakesPerSecond: openedCount / openSeconds,
        loadgenCpuOpen: openCpu * 100,
        loadgenProcesses: processes,
        sources: sourceFirst - 1,
        serverDied: true,
        serverExit: exit || `exit status ${(await serverProcess.status).code}`,
      };
    }
    const rssOpen = await readRss(serverProcess.pid);
    const serverFds = await countFds(serverProcess.pid);
    const after = await readServerMemory(serverProcess);
    say(
      `${fmt(openedCount)} open in ${openSeconds.toFixed(1)} s ` +
        `(${fmt(openedCount / openSeconds)}/s), ${fmt((rssOpen - rssBefore) / openedCount)} B ` +
        `RSS per connection 1 s after (no GC), ${fmt((after.rss - before.rss) / openedCount)} ` +
        `B after a GC${failed ? `; ${fmt(failed)} failed: ${failures.join("; ")}` : ""}` +
        `${notAttempted ? `; ${fmt(notAttempted)} not attempted` : ""}`,
    );

    // Subscribing may finish after the 101 (the runtime's open event): a
    // publish of number 0 every 100 ms until every connection saw one.
    const synced = all("synced", 60_000 + n);
    await loadgens[0].send("sync");
    await synced.catch((error) => say(`not every connection got the sync message: ${error}`));
    const stats = async () => {
      const lines = loadgens.map((c) => nextLine<Record<string, number>>(c, "stats", 10_000));
      await tell("stats");
      return await Promise.all(lines);
    };
    const statsAtStart = await stats();
    const cpuAtStart = await readCpuTicks(serverProcess.pid);
    const startedAt = performance.now();
    say(`publishing ${publishes} messages, one every ${interval} ms`);
    const published = nextLine(loadgens[0], "published", publishes * interval + 60_000);
    await loadgens[0].send(`publish ${publishes} ${interval}`);
    await published;
    // Deliveries still on the way: wait until they stop coming (bounded).
    let last = -1;
    let lastChange = performance.now();
    let statsNow = statsAtStart;
    const expectedNow = publishes * sumOf(statsAtStart, "open");
    while (performance.now() - lastChange < 5000) {
      statsNow = await stats();
      const delivered = sumOf(statsNow, "deliveries");
      if (delivered >= expectedNow) break;
      if (delivered !== last) (last = delivered, lastChange = performance.now());
      await sleep(250);
    }
    const seconds = (performance.now() - startedAt) / 1000;
    const serverCpu = (await readCpuTicks(serverProcess.pid) - cpuAtStart) / TICKS_PER_SECOND /
      seconds * 100;
    const broadcastCpu = Math.max(
      ...statsNow.map((s, i) => (s.clientCpuSeconds - statsAtStart[i].clientCpuSeconds) / seconds),
    );
    const ending = all<Record<string, number | number[]>>("result", 30_000);
    await tell(`end ${publishes}`);
    const ends = await ending;
    // Kernel receive times (SO_TIMESTAMPNS) where every delivery had one, and
    // the times the load generator parsed each delivery.
    const merge = (key: string) => {
      const merged: number[] = [];
      for (const r of ends) {
        (r[key] as number[]).forEach((v, k) => (merged[k] = (merged[k] ?? 0) + v));
      }
      return merged;
    };
    const stamped = ends.every((r) => r.kernelStamps === r.deliveries);
    const histogram = merge(stamped ? "histogram" : "histogramRead");
    const histogramRead = merge("histogramRead");
    const total = (key: string) => ends.reduce((t, r) => t + (r[key] as number), 0);
    const serverDied = !(await isRunning(serverProcess));
    const closing = loadgens.map((c) => nextLine(c, "closed", 30_000).catch(() => undefined));
    await tell("close");
    await Promise.all(closing);
    const result: BroadcastResult = {
      connections: n,
      opened: openedCount,
      held: total("open"),
      failed,
      notAttempted,
      failures,
      openSeconds,
      handshakesPerSecond: openedCount / openSeconds,
      rssPerConnection: (rssOpen - rssBefore) / openedCount,
      rssPerConnectionGc: (after.rss - before.rss) / openedCount,
      heapPerConnection: (after.heapUsed - before.heapUsed) / openedCount,
      rssOpen,
      serverFds,
      serverFileLimit: await readSoftFileLimit(serverProcess.pid),
      publishes,
      deliveries: total("deliveries"),
      expected: total("expected"),
      lost: total("lost"),
      duplicated: total("duplicated"),
      reordered: total("reordered"),
      p50: percentile(histogram, 0.5),
      p99: percentile(histogram, 0.99),
      max: highest(histogram),
      p99Read: percentile(histogramRead, 0.99),
      kernelTimestamps: stamped,
      serverCpu,
      loadgenCpuOpen: openCpu * 100,
      loadgenCpuBroadcast: broadcastCpu * 100,
      loadgenProcesses: processes,
      sources: sourceFirst - 1,
      closedByServer: total("closedByServer"),
      serverDied,
    };
    say(
      `${fmt(result.deliveries)} of ${fmt(result.expected)} delivered, p99 ` +
        `${result.p99.toFixed(1)} ms, lost ${result.lost}, duplicated ${result.duplicated}, ` +
        `reordered ${result.reordered}`,
    );
    return result;
  } finally {
    await serverProcess.stop();
    await Promise.all(loadgens.map((c) => c.stop()));
  }
}

// The echo phase: the `ws` client processes of tools/soak_client.cjs, paced
// numbered messages, churn.
async function soakEcho(
  server: SoakServer,
  options: SoakOptions,
  n: number,
): Promise<EchoResult> {
  const progress = options.progress ?? (() => {});
  const say = (message: string) => progress(`${server}: ${message}`);
  const processes = Math.ceil(n / PER_PROCESS);
  const serverProcess = await startServer(server, options.pin ?? false);
  const port = Number((await serverProcess.waitFor(/^listening (\d+)/))[1]);
  const clients: ChildProcess[] = [];
  try {
    for (let i = 0; i < processes; i++) {
      const count = Math.floor(n / processes) + (i < n % processes ? 1 : 0);
      const flags = {
        port,
        count,
        concurrency: 100,
        inflight: options.inflight ?? 2,
        rate: (options.rate ?? n) / processes,
        churn: options.churn ?? 0.05,
        "churn-period": options.churnPeriod ?? 5,
        budget: options.seconds + 600,
      };
      const argv = [CLIENT, ...Object.entries(flags).map(([k, v]) => `--${k}=${v}`)];
      clients.push(
        await spawn("node", argv, {
          cpu: options.pin ? 1 : undefined,
          raiseFileLimit: true,
          stdin: true,
          cwd: ROOT,
        }),
      );
    }
    const all = (kind: string, timeout: number) =>
      Promise.all(clients.map((c) => c.waitFor(new RegExp(`^${kind} `), { timeout })));
    const tell = (line: string) => Promise.all(clients.map((c) => c.send(line)));
    await all("ready", 30_000);
    await clients[0].send("warm");
    await clients[0].waitFor(/^warm /, { timeout: 60_000 });
    const before = await readServerMemory(serverProcess);

    say(`opening ${n.toLocaleString("en-US")} connections`);
    await tell("open");
    await all("opened", 120_000 + n * 20);
    const openedJson = clients.map((c) => lastJson(c, "opened"));
    const openSeconds = Math.max(...openedJson.map((o) => o?.seconds ?? 0));
    const openedCount = sumOf(openedJson, "opened");
    await sleep(1000);
    const after = await readServerMemory(serverProcess);
    const handshakesPerSecond = openedCount / openSeconds;
    say(
      `${openedCount} open (${Math.round(handshakesPerSecond)} handshakes/s), ` +
        `${Math.round((after.rss - before.rss) / n)} B RSS per idle connection`,
    );

    await tell("run");
    const started = performance.now();
    const ticksAtStart = await readCpuTicks(serverProcess.pid);
    let peakRss = after.rss;
    let lastEchoed = 0;
    let lastAt = 0;
    while (performance.now() - started < options.seconds * 1000) {
      await sleep(Math.min(5000, options.seconds * 1000 - (performance.now() - started)));
      const stats = clients.map((c) => lastJson(c, "stats"));
      // The clients' own clocks: their stats may come late when they are busy.
      const now = Math.max(...stats.map((s) => s?.elapsed ?? 0));
      const echoed = sumOf(stats, "echoed");
      try {
        peakRss = Math.max(peakRss, await readRss(serverProcess.pid));
      } catch { /* the server is gone: noted below */ }
      const bad = ["lost", "reordered", "duplicated", "unexpectedCloses", "connectErrors"]
        .map((key) => sumOf(stats, key)).reduce((a, b) => a + b, 0);
      say(
        `${((performance.now() - started) / 1000).toFixed(0)}s held ${sumOf(stats, "held")}, ` +
          `${Math.round((echoed - lastEchoed) / Math.max(0.001, (now - lastAt) / 1000))} msgs/s, ` +
          `${sumOf(stats, "drops")} dropped and ${sumOf(stats, "reconnects")} reconnected, ` +
          `${bad} errors`,
      );
      lastEchoed = echoed;
      lastAt = now;
    }
    const serverCpu = (await readCpuTicks(serverProcess.pid) - ticksAtStart) / TICKS_PER_SECOND /
      ((performance.now() - started) / 1000) * 100;
    await tell("stop");
    await all("result", 60_000);
    const results = clients.map((c) => lastJson(c, "result") as Record<string, unknown>);
    const histogram: number[] = [];
    for (const r of results) {
      (r.histogram as number[]).forEach((v, k) => (histogram[k] = (histogram[k] ?? 0) + v));
    }
    const total = (key: string) => results.reduce((t, r) => t + (r[key] as number), 0);
    return {
      connections: n,
      held: total("held"),
      handshakesPerSecond,
      rssPerConnection: (after.rss - before.rss) / n,
      heapPerConnection: (after.heapUsed - before.heapUsed) / n,
      peakRss,
      serverCpu,
      messagesPerSecond: total("echoedAtStop") /
        Math.max(...results.map((r) => r.runSeconds as number)),
      p50: percentile(histogram, 0.5),
      p99: percentile(histogram, 0.99),
      sent: total("sent"),
      echoed: total("echoed"),
      lost: total("lost"),
      reordered: total("reordered"),
      duplicated: total("duplicated"),
      cut: total("cut"),
      unexpectedCloses: total("unexpectedCloses"),
      connectErrors: total("connectErrors"),
      drops: total("drops"),
      reconnects: total("reconnects"),
      cleanCloses: total("cleanCloses"),
      serverDied: !(await isRunning(serverProcess)),
      errors: results.flatMap((r) => r.errors as string[]).slice(0, 20),
    };
  } finally {
    // The server first: its ends of the sockets wait in TIME_WAIT, not the
    // clients' ephemeral ports.
    await serverProcess.stop();
    await Promise.all(clients.map((c) => c.stop()));
  }
}

const EMPTY_ECHO: EchoResult = {
  connections: 0,
  held: 0,
  handshakesPerSecond: NaN,
  rssPerConnection: NaN,
  heapPerConnection: NaN,
  peakRss: NaN,
  serverCpu: NaN,
  messagesPerSecond: NaN,
  p50: NaN,
  p99: NaN,
  sent: 0,
  echoed: 0,
  lost: 0,
  reordered: 0,
  duplicated: 0,
  cut: 0,
  unexpectedCloses: 0,
  connectErrors: 0,
  drops: 0,
  reconnects: 0,
  cleanCloses: 0,
  serverDied: false,
  errors: [],
};

async function soakOne(
  server: SoakServer,
  options: SoakOptions,
  limits: SoakLimits,
): Promise<SoakResult> {
  const broadcast = options.broadcast ?? true
    ? await soakBroadcast(server, options, limits)
    : undefined;
  const echoConnections = options.echoConnections ??
    Math.min(options.connections, ECHO_DEFAULT_CAP);
  const echo = echoConnections > 0 ? await soakEcho(server, options, echoConnections) : undefined;
  return {
    server,
    ...(echo ?? EMPTY_ECHO),
    echoSkipped: echo === undefined,
    ...(broadcast ? { broadcast } : {}),
  };
}

// /proc/<pid>/stat counts CPU in USER_HZ, 100 on Linux.
const TICKS_PER_SECOND = 100;

async function readCpuTicks(pid: number): Promise<number> {
  try {
    const stat = await Deno.readTextFile(`/proc/${pid}/stat`);
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return 0;
  }
}

async function isRunning(child: ChildProcess): Promise<boolean> {
  const exited = await Promise.race([child.status.then(() => true), sleep(0).then(() => false)]);
  return !exited;
}

/**
 * Soaks each server in turn, with the same load.
 *
 * @param options Connections, duration, servers, phases.
 * @returns One result per server.
 */
export async function runSoak(options: SoakOptions): Promise<SoakResult[]> {
  const limits = await readSoakLimits();
  const results: SoakResult[] = [];
  for (const server of options.servers ?? ["node", "deno", "bun", "ws"]) {
    results.push(await soakOne(server, options, limits));
  }
  return results;
}

function format(value: number, digits = 0): string {
  return Number.isFinite(value)
    ? value.toLocaleString("en-US", {
      minimumFractionDigits: digits,
      maximumFractionDigits: digits,
    })
    : "–";
}

type Row<T> = [string, (r: T) => number | string, number, "higher" | "lower" | ""];

function renderTable<T extends { server: SoakServer }>(
  columns: T[],
  ws: T | undefined,
  rows: Row<T>[],
): string[] {
  const ratios = ws ? columns.filter((r) => r !== ws) : [];
  const head = ["figure", ...columns.map((r) => SERVER_NAMES[r.server])];
  for (const r of ratios) head.push(`${r.server} ÷ ws`);
  const lines = [`| ${head.join(" | ")} |`, `|${head.map(() => "---").join("|")}|`];
  for (const [label, get, digits, better] of rows) {
    const cells = columns.map((r) => {
      const value = get(r);
      return typeof value === "string" ? value : format(value, digits);
    });
    for (const r of ratios) {
      const a = get(r), b = ws ? get(ws) : NaN;
      cells.push(
        better && typeof a === "number" && typeof b === "number" && Number.isFinite(a / b)
          ? `${(a / b).toFixed(2)}× (${better} is better)`
          : "",
      );
    }
    lines.push(`| ${label} | ${cells.join(" | ")} |`);
  }
  return lines;
}

/**
 * Renders the results as Markdown tables, each figure beside `ws`'s: the
 * broadcast phase, then the echo phase.
 *
 * @param results The results, `ws`'s among them for the ratios.
 * @param header Lines above the tables (command, machine, limits).
 * @returns The Markdown.
 */
export function renderSoakReport(results: SoakResult[], header: string[]): string {
  const order = (r: SoakResult) => (r.server === "ws" ? 1 : 0);
  const columns = [...results].sort((a, b) => order(a) - order(b));
  const ws = columns.find((r) => r.server === "ws");
  const lines = [...header];
  const withBroadcast = columns.filter((r) => r.broadcast);
  if (withBroadcast.length > 0) {
    type B = { server: SoakServer; b: BroadcastResult };
    const cols: B[] = withBroadcast.map((r) => ({ server: r.server, b: r.broadcast! }));
    const first = cols[0].b;
    const rows: Row<B>[] = [
      ["connections held", ({ b }) => `${format(b.held)} of ${format(b.connections)}`, 0, ""],
      [
        "not attempted (after 512 failures in a row)",
        ({ b }) => b.notAttempted,
        0,
        "",
      ],
      [
        "failed handshakes (why)",
        ({ b }) => b.failed ? `${format(b.failed)}: ${b.failures.slice(0, 2).join("; ")}` : "0",
        0,
        "",
      ],
      ["handshakes/s, opening them all", ({ b }) => b.handshakesPerSecond, 0, "higher"],
      [
        "RSS per connection, `ps` 1 s after (no GC), bytes",
        ({ b }) => b.rssPerConnection,
        0,
        "lower",
      ],
      ["RSS per connection after a forced GC, bytes", ({ b }) => b.rssPerConnectionGc, 0, "lower"],
      [
        "JS heap per connection after a forced GC, bytes",
        ({ b }) => b.heapPerConnection,
        0,
        "lower",
      ],
      ["server RSS, all open (MiB)", ({ b }) => b.rssOpen / 2 ** 20, 0, "lower"],
      [
        "server descriptors open / its limit",
        ({ b }) => `${format(b.serverFds)} / ${format(b.serverFileLimit)}`,
        0,
        "",
      ],
      [
        "deliveries (of expected)",
        ({ b }) => `${format(b.deliveries)} of ${format(b.expected)}`,
        0,
        "",
      ],
      ["p50 delivery latency (ms)", ({ b }) => b.p50, 1, "lower"],
      ["p99 delivery latency (ms)", ({ b }) => b.p99, 1, "lower"],
      ["max delivery latency (ms)", ({ b }) => b.max, 1, "lower"],
      ["p99 as the load generator read it (ms)", ({ b }) => b.p99Read, 1, "lower"],
      ["server CPU while publishing (% of a core)", ({ b }) => b.serverCpu, 0, "lower"],
      [
        "lost / duplicated / reordered",
        ({ b }) => `${b.lost} / ${b.duplicated} / ${b.reordered}`,
        0,
        "",
      ],
      ["closed by the server", ({ b }) => b.closedByServer, 0, ""],
      ["server exited", ({ b }) => b.serverDied ? `yes: ${b.serverExit ?? "?"}` : "no", 0, ""],
      [
        "load generator CPU opening / receiving (% of its core)",
        ({ b }) => `${format(b.loadgenCpuOpen)} / ${format(b.loadgenCpuBroadcast)}`,
        0,
        "",
      ],
    ];
    lines.push(
      "",
      `### Broadcast: ${format(first.connections)} connections asked for, ${first.publishes} ` +
        "publishes to all those held",
      "",
      `The C epoll load generator (bench/loadgen/loadgen.c), ${first.loadgenProcesses} ` +
        `process(es) from ${first.sources} loopback source address(es); every connection ` +
        "subscribed to one topic on `/fanout`, one publisher on `/publish`, 64-byte messages " +
        "carrying a sequence number and a send time. RSS per connection is the growth once " +
        "all are open: as `ps` shows it 1 s after the burst with no forced GC, and after a " +
        "forced GC (each against a baseline read the same way). Latency is from the " +
        "publisher's write to the kernel's receive timestamp on the subscriber's socket " +
        "(SO_TIMESTAMPNS), for every delivery; the row below it is to the moment the load " +
        "generator parsed it. The load generator's CPU is its busiest process's " +
        "(getrusage), in % of one core.",
      "",
      ...renderTable(cols, cols.find((c) => c.server === "ws"), rows),
    );
  }
  const withEcho = columns.filter((r) => !r.echoSkipped);
  if (withEcho.length > 0) {
    const rows: Row<SoakResult>[] = [
      ["connections held", (r) => `${format(r.held)} of ${format(r.connections)}`, 0, ""],
      ["handshakes/s (opening them)", (r) => r.handshakesPerSecond, 0, "higher"],
      ["RSS per idle connection after a GC (bytes)", (r) => r.rssPerConnection, 0, "lower"],
      ["JS heap per idle connection (bytes)", (r) => r.heapPerConnection, 0, "lower"],
      ["messages/s (echoed)", (r) => r.messagesPerSecond, 0, "higher"],
      ["server CPU while echoing (% of a core)", (r) => r.serverCpu, 0, "lower"],
      ["p50 latency (ms)", (r) => r.p50, 2, "lower"],
      ["p99 latency (ms)", (r) => r.p99, 2, "lower"],
      ["peak RSS under load (MiB)", (r) => r.peakRss / 2 ** 20, 0, "lower"],
      ["abrupt drops / reconnects", (r) => `${format(r.drops)} / ${format(r.reconnects)}`, 0, ""],
      [
        "lost / reordered / duplicated",
        (r) => `${r.lost} / ${r.reordered} / ${r.duplicated}`,
        0,
        "",
      ],
      ["closed by the server", (r) => r.unexpectedCloses, 0, ""],
    ];
    lines.push(
      "",
      `### Echo with churn: ${format(withEcho[0].connections)} connections`,
      "",
      "`ws` clients (tools/soak_client.cjs, 5,000 per Node process), numbered messages two at " +
        "a time, every echo checked; every 5 s 5% of the clients drop their TCP connection " +
        "(no close frame) and reconnect. Handshakes/s is the rate of opening all connections, " +
        "100 at a time per client process (the clients are the limit); RSS per idle connection " +
        "is the growth once they are open, after a GC.",
      "",
      ...renderTable(withEcho, ws && !ws.echoSkipped ? ws : undefined, rows),
    );
  }
  const failed = results.filter((r) => !isClean(r));
  lines.push(
    "",
    failed.length === 0
      ? "Every delivery and every echo came back exactly once and in order; every connection " +
        "was held."
      : `FAILED: ${
        failed.map((r) =>
          `${r.server} (${
            [
              ...(r.broadcast && r.broadcast.held < r.broadcast.connections
                ? [`held ${r.broadcast.held} of ${r.broadcast.connections}`]
                : []),
              ...(r.broadcast?.serverExit ? [`server exited: ${r.broadcast.serverExit}`] : []),
              ...r.errors.slice(0, 3),
            ].join("; ")
          })`
        ).join(", ")
      }`,
  );
  return lines.join("\n") + "\n";
}

async function main(): Promise<void> {
  const USAGE = "usage: deno run -A tools/soak.ts [--seconds=N] [--connections=N] [--quick] " +
    "[--rate=N] [--servers=node,deno,bun,ws] [--pin] [--echo-connections=N] [--publishes=N] " +
    "[--publish-interval=MS] [--no-broadcast]";
  const flags = new Map(Deno.args.map((arg) => {
    const [name, value] = arg.split("=", 2);
    return [name, value ?? ""] as const;
  }));
  const known = [
    "--seconds",
    "--connections",
    "--quick",
    "--servers",
    "--rate",
    "--pin",
    "--echo-connections",
    "--publishes",
    "--publish-interval",
    "--no-broadcast",
  ];
  for (const name of flags.keys()) {
    if (!known.includes(name)) {
      console.error(`Unknown option: ${name}\n${USAGE}`);
      Deno.exit(2);
    }
  }
  const quick = flags.has("--quick");
  const connections = Number(flags.get("--connections") ?? (quick ? 1000 : 10_000));
  const seconds = Number(flags.get("--seconds") ?? (quick ? 15 : 120));
  const servers = (flags.get("--servers") ?? "node,deno,bun,ws").split(",") as SoakServer[];
  const echoConnections = Number(
    flags.get("--echo-connections") ?? Math.min(connections, ECHO_DEFAULT_CAP),
  );
  const rate = Number(flags.get("--rate") ?? echoConnections);
  const publishes = Number(flags.get("--publishes") ?? 20);
  const publishInterval = Number(flags.get("--publish-interval") ?? 500);
  const broadcast = !flags.has("--no-broadcast");
  if (
    !(connections >= 1 && seconds >= 1 && rate >= 0 && echoConnections >= 0 &&
      publishes >= 1 && publishInterval >= 1) ||
    servers.some((s) => !(s in SERVER_NAMES))
  ) {
    console.error(USAGE);
    Deno.exit(2);
  }
  const began = performance.now();
  const progress = (message: string) => {
    const elapsed = ((performance.now() - began) / 1000).toFixed(0).padStart(4);
    console.error(`[soak ${elapsed}s] ${message}`);
  };
  const limits = await readSoakLimits();
  const fmt = (v: number) => v.toLocaleString("en-US");
  const limitLine = `Limits: open files ${fmt(limits.fileLimitHard)} (hard limit; every server ` +
    `and load generator raises its soft limit to it), net.ipv4.ip_local_port_range ` +
    `${limits.portRange.join("–")} (${fmt(limits.portRange[1] - limits.portRange[0] + 1)} ` +
    `ports per source address), net.core.somaxconn ${limits.somaxconn}, fs.nr_open ` +
    `${fmt(limits.nrOpen)}, fs.file-max ${fmt(limits.fileMax)}.`;
  progress(limitLine);
  const stop = broadcast ? describeLimit(limits, connections) : undefined;
  if (stop) progress(`warning: ${stop} The run shows where each server stops.`);
  const pin = flags.has("--pin") && await canPin();
  const results = await runSoak({
    connections,
    seconds,
    servers,
    rate,
    pin,
    progress,
    echoConnections,
    publishes,
    publishInterval,
    broadcast,
  });
  const nodeVersion = new TextDecoder().decode(
    (await new Deno.Command("node", { args: ["--version"] }).output()).stdout,
  ).trim();
  const bunVersion = servers.includes("bun")
    ? new TextDecoder().decode(
      (await new Deno.Command(`${ROOT}node_modules/.bin/bun`, { args: ["--version"] }).output())
        .stdout,
    ).trim()
    : undefined;
  const cpu = /model name\s*:\s*(.*)/.exec(await Deno.readTextFile("/proc/cpuinfo"))?.[1] ?? "?";
  const memory = Number(
    /^MemTotal:\s+(\d+)/m.exec(await Deno.readTextFile("/proc/meminfo"))?.[1] ?? 0,
  ) * 1024;
  const markdown = renderSoakReport(results, [
    "# Soak test",
    "",
    `\`deno task soak${Deno.args.length ? ` ${Deno.args.join(" ")}` : ""}\` — ` +
    `${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC. ` +
    `Node ${nodeVersion}, Deno ${Deno.version.deno}${bunVersion ? `, Bun ${bunVersion}` : ""}, ` +
    `${cpu.trim()} × ${navigator.hardwareConcurrency}, ${(memory / 2 ** 30).toFixed(0)} GiB` +
    `${pin ? ", server on core 0, clients on core 1" : ", not pinned"}.`,
    "",
    limitLine + (stop ? ` **What stops a larger run here:** ${stop}` : ""),
    ...(echoConnections > 0
      ? [
        "",
        `Echo phase: ${fmt(echoConnections)} connections × ${seconds} s per server, ` +
        (rate > 0
          ? `${fmt(rate)} messages/s offered in all, 2 at a time per connection, `
          : "2 messages in flight per connection (unpaced), ") +
        "5% of the clients dropped (no close frame) and reconnected every 5 s.",
      ]
      : []),
  ]);
  console.log(markdown);
  if (!quick) {
    await Deno.writeTextFile(`${ROOT}bench/soak.md`, markdown);
    progress("wrote bench/soak.md");
  }
  if (!results.every(isClean)) Deno.exit(1);
}

if (import.meta.main) {
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    Deno.addSignalListener(signal, async () => {
      console.error(`${signal}: stopping`);
      await stopAll();
      Deno.exit(130);
    });
  }
  await main();
}
