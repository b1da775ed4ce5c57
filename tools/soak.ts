/**
 * `deno task soak`: thousands of concurrent connections against edgesocket
 * on Node (the codec path), edgesocket on Deno (the native upgrade) and `ws`
 * 8, one after the other in one run. Every client sends numbered messages,
 * two at a time, and checks each echo — none lost, reordered or duplicated —
 * while 5% of the clients drop their TCP connection without a close frame
 * every five seconds and reconnect, carrying on with the numbering. The
 * report gives, per server and beside `ws`: connections held, handshakes per
 * second (opening them all), RSS per idle connection, messages per second,
 * server CPU and p99 echo latency at that load.
 *
 *     deno run -A tools/soak.ts [--seconds=N] [--connections=N] [--quick]
 *                               [--rate=N] [--servers=node,deno,ws] [--pin]
 *
 * Defaults: 10,000 connections, 120 s of messages per server, one message a
 * second per connection (`--rate` is the total; 0 sends each batch as soon as
 * the last is echoed, which saturates the load generators). `--quick` is
 * 1,000 connections for 15 s and only prints its table; a full run also
 * writes bench/soak.md. The exit code is 1 when any server lost, reordered or
 * duplicated a message, closed a connection, or did not hold them all.
 *
 * The load generators are Node processes with the `ws` client
 * (tools/soak_client.cjs), 5,000 connections each. `--pin` pins the server
 * to core 0 and the generators to core 1 (with `taskset`); not by default:
 * Deno pinned to one core stalls for seconds at a time under this load (its
 * threads share the core), which would measure the pinning, not the server.
 */
import { bundleForNode, ROOT } from "../tests/_util/server_process.ts";
import { canPin, type ChildProcess, readRss, sleep, spawn, stopAll } from "../bench/_process.ts";

/** A server under test. */
export type SoakServer = "node" | "deno" | "ws";

/** What to run. */
export interface SoakOptions {
  /** Concurrent connections per server. */
  connections: number;
  /** Seconds of messages per server. */
  seconds: number;
  /** The servers, in order (default all three). */
  servers?: SoakServer[];
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

/** What one server did. */
export interface SoakResult {
  server: SoakServer;
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

/** The names the report gives the servers. */
export const SERVER_NAMES: Record<SoakServer, string> = {
  node: "edgesocket on Node (codec)",
  deno: "edgesocket on Deno (native)",
  ws: "ws 8 on Node",
};

const PER_PROCESS = 5000;
const CLIENT = `${ROOT}tools/soak_client.cjs`;

/**
 * Whether a server passed: every connection held, nothing lost, reordered,
 * duplicated or closed by the server, and the server still running.
 *
 * @param result One server's result.
 * @returns `true` when it passed.
 */
export function isClean(result: SoakResult): boolean {
  return result.held === result.connections && result.lost === 0 &&
    result.reordered === 0 && result.duplicated === 0 && result.unexpectedCloses === 0 &&
    !result.serverDied && result.echoed > 0;
}

async function startServer(server: SoakServer, pin: boolean): Promise<ChildProcess> {
  const where = { cpu: pin ? 0 : undefined, raiseFileLimit: true, cwd: ROOT };
  const child = server === "deno"
    ? await spawn(
      Deno.execPath(),
      ["run", "-A", "--v8-flags=--expose-gc", `${ROOT}tools/soak_deno_server.ts`],
      where,
    )
    : await spawn("node", [
      "--expose-gc",
      server === "ws"
        ? `${ROOT}bench/servers/ws_server.cjs`
        : await bundleForNode("bench/servers/edgesocket_server.ts"),
    ], where);
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
  for (let i = child.lines.length - 1; i >= 0; i--) {
    if (child.lines[i].startsWith(`${kind} `)) {
      return JSON.parse(child.lines[i].slice(kind.length + 1));
    }
  }
  return undefined;
}

function sumOf(samples: Array<Record<string, number> | undefined>, key: string): number {
  return samples.reduce((total, s) => total + (s?.[key] ?? 0), 0);
}

// The latency histogram's bucket k is [1.05^k, 1.05^(k+1)) µs.
function percentile(histogram: number[], p: number): number {
  const total = histogram.reduce((a, b) => a + b, 0);
  let seen = 0;
  for (let k = 0; k < histogram.length; k++) {
    seen += histogram[k];
    if (total > 0 && seen >= total * p) return 1.05 ** (k + 0.5) / 1000;
  }
  return NaN;
}

async function soakOne(server: SoakServer, options: SoakOptions): Promise<SoakResult> {
  const progress = options.progress ?? (() => {});
  const say = (message: string) => progress(`${server}: ${message}`);
  const n = options.connections;
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
      server,
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
 * @param options Connections, duration, servers.
 * @returns One result per server.
 */
export async function runSoak(options: SoakOptions): Promise<SoakResult[]> {
  const results: SoakResult[] = [];
  for (const server of options.servers ?? ["node", "deno", "ws"]) {
    results.push(await soakOne(server, options));
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

/**
 * Renders the results as a Markdown table, each figure beside `ws`'s.
 *
 * @param results The results, `ws`'s among them for the ratios.
 * @param header Lines above the table (command, machine).
 * @returns The Markdown.
 */
export function renderSoakReport(results: SoakResult[], header: string[]): string {
  const ws = results.find((r) => r.server === "ws");
  const ours = results.filter((r) => r.server !== "ws");
  const columns = [...ours, ...(ws ? [ws] : [])];
  const ratios = ws ? ours : [];
  const rows: Array<[string, (r: SoakResult) => number, number, "higher" | "lower" | ""]> = [
    ["connections held", (r) => r.held, 0, ""],
    ["handshakes/s (opening them)", (r) => r.handshakesPerSecond, 0, "higher"],
    ["RSS per idle connection (bytes)", (r) => r.rssPerConnection, 0, "lower"],
    ["JS heap per idle connection (bytes)", (r) => r.heapPerConnection, 0, "lower"],
    ["messages/s (echoed)", (r) => r.messagesPerSecond, 0, "higher"],
    ["server CPU while echoing (% of a core)", (r) => r.serverCpu, 0, "lower"],
    ["p50 latency (ms)", (r) => r.p50, 2, "lower"],
    ["p99 latency (ms)", (r) => r.p99, 2, "lower"],
    ["peak RSS under load (MiB)", (r) => r.peakRss / 2 ** 20, 0, "lower"],
    ["abrupt drops / reconnects", (r) => r.drops, 0, ""],
    ["lost / reordered / duplicated", (r) => r.lost + r.reordered + r.duplicated, 0, ""],
    ["closed by the server", (r) => r.unexpectedCloses, 0, ""],
  ];
  const head = ["figure", ...columns.map((r) => SERVER_NAMES[r.server])];
  for (const r of ratios) head.push(`${r.server} ÷ ws`);
  const lines = [...header, "", `| ${head.join(" | ")} |`, `|${head.map(() => "---").join("|")}|`];
  for (const [label, get, digits, better] of rows) {
    const cells = columns.map((r) => {
      if (label.startsWith("abrupt")) return `${format(r.drops)} / ${format(r.reconnects)}`;
      if (label.startsWith("lost")) return `${r.lost} / ${r.reordered} / ${r.duplicated}`;
      if (label === "connections held") return `${format(r.held)} of ${format(r.connections)}`;
      return format(get(r), digits);
    });
    for (const r of ratios) {
      cells.push(better && ws ? `${(get(r) / get(ws)).toFixed(2)}× (${better} is better)` : "");
    }
    lines.push(`| ${label} | ${cells.join(" | ")} |`);
  }
  const failed = results.filter((r) => !isClean(r));
  lines.push(
    "",
    failed.length === 0
      ? "Every echo came back exactly once and in order; every connection was held."
      : `FAILED: ${failed.map((r) => `${r.server} (${r.errors.slice(0, 3).join("; ")})`)}`,
  );
  return lines.join("\n") + "\n";
}

async function main(): Promise<void> {
  const USAGE = "usage: deno run -A tools/soak.ts [--seconds=N] [--connections=N] [--quick] " +
    "[--rate=N] [--servers=node,deno,ws] [--pin]";
  const flags = new Map(Deno.args.map((arg) => {
    const [name, value] = arg.split("=", 2);
    return [name, value ?? ""] as const;
  }));
  for (const name of flags.keys()) {
    if (
      !["--seconds", "--connections", "--quick", "--servers", "--rate", "--pin"].includes(name)
    ) {
      console.error(`Unknown option: ${name}\n${USAGE}`);
      Deno.exit(2);
    }
  }
  const quick = flags.has("--quick");
  const connections = Number(flags.get("--connections") ?? (quick ? 1000 : 10_000));
  const seconds = Number(flags.get("--seconds") ?? (quick ? 15 : 120));
  const servers = (flags.get("--servers") ?? "node,deno,ws").split(",") as SoakServer[];
  const rate = Number(flags.get("--rate") ?? connections);
  if (
    !(connections >= 1 && seconds >= 1 && rate >= 0) ||
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
  const pin = flags.has("--pin") && await canPin();
  const results = await runSoak({ connections, seconds, servers, rate, pin, progress });
  const nodeVersion = new TextDecoder().decode(
    (await new Deno.Command("node", { args: ["--version"] }).output()).stdout,
  ).trim();
  const cpu = /model name\s*:\s*(.*)/.exec(await Deno.readTextFile("/proc/cpuinfo"))?.[1] ?? "?";
  const markdown = renderSoakReport(results, [
    "# Soak test",
    "",
    `\`deno run -A tools/soak.ts${Deno.args.length ? ` ${Deno.args.join(" ")}` : ""}\` — ` +
    `${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC, ` +
    `${connections.toLocaleString("en-US")} connections × ${seconds} s per server, ` +
    (rate > 0
      ? `${rate.toLocaleString("en-US")} messages/s offered in all, 2 at a time per connection, `
      : "2 messages in flight per connection (unpaced), ") +
    `5% of the clients dropped (no close frame) ` +
    `and reconnected every 5 s. Node ${nodeVersion}, Deno ${Deno.version.deno}, ` +
    `${cpu.trim()} × ${navigator.hardwareConcurrency}` +
    `${pin ? ", server on core 0, clients on core 1" : ", not pinned"}.`,
    "Handshakes/s is the rate of opening all connections, 100 at a time per client process; " +
    "RSS per idle connection is the growth once they are open, after a GC.",
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
