/**
 * permessage-deflate: edgesocket against `ws` 8, both compressing with
 * their defaults (context kept, zlib level 6, memLevel 8), in one run.
 *
 *     deno run -A bench/compression.ts [--quick] [--rounds=N]
 *
 * The server runs in the real Node 20 pinned to core 0 (edgesocket's Node
 * adapter, bundled by Deno; ws with bufferutil); one Node load generator on
 * core 1 (bench/compression_client.cjs: a raw client whose compressed,
 * masked frames are built once, so that it costs a fraction of either
 * server) echoes JSON chat messages: single ones (~170 bytes, threshold 0
 * on the servers so that they are compressed at all) and history pages of
 * 20 (~3.4 KiB, the default 1 KiB threshold). The client offers
 * `client_no_context_takeover`; the servers keep their own context. Each
 * round measures every side of a case back to back; the table shows
 * medians of echoes per second and of the bytes on the wire per echo,
 * server to client.
 *
 * bench/run.ts can call {@linkcode runCompressionBench} instead.
 *
 * @module
 */
import { ROOT } from "../tests/_util/server_process.ts";
import { bundleEntry, type ChildProcess, spawn, stopAll } from "./_process.ts";

/** How long and how hard to measure. */
export interface CompressionBenchOptions {
  /** A short smoke run: one round, short windows. */
  quick?: boolean;
  /** Rounds per case and side (default 3, 1 when quick). */
  rounds?: number;
  /** Where progress goes (default stderr). */
  progress?: (message: string) => void;
}

/** One side's medians in one case. */
export interface CompressionFigure {
  /** The case: `"chat"` or `"history"`. */
  case: string;
  /** `"edgesocket"` or `"ws"`. */
  server: "edgesocket" | "ws";
  /** Whether permessage-deflate was negotiated. */
  compressed: boolean;
  /** Echoes per second (median over rounds). */
  rate: number;
  /** Average uncompressed message size, bytes. */
  messageBytes: number;
  /** Bytes on the wire per echo, server to client (median). */
  downPerEcho: number;
  /** Bytes on the wire per echo, client to server (median). */
  upPerEcho: number;
  /**
   * Bytes on the wire, server to client, for the first connection's first
   * 128 answers: the same messages in the same order for every server.
   */
  cycleBytes: number;
  /** The server's CPU, % of one core (median). */
  serverCpu: number;
}

/** What {@linkcode runCompressionBench} measured. */
export interface CompressionBenchResult {
  /** Every case × server × compression, medians. */
  figures: CompressionFigure[];
  /** Per case: compressed edgesocket ÷ compressed ws, in echoes per second and in bytes down. */
  ratios: Array<{ case: string; rate: number; bytes: number }>;
  /** The results as a Markdown table. */
  markdown: string;
}

const CASES = [
  { name: "chat", batch: 1, threshold: 0, label: "chat message (~170 B JSON), threshold 0" },
  { name: "history", batch: 20, threshold: 1024, label: "history page (20 messages, ~3.4 KiB)" },
];
const SERVERS = ["edgesocket", "ws"] as const;

interface ClientResult {
  rate: number;
  messageBytes: number;
  downPerEcho: number;
  upPerEcho: number;
  cycleBytes: number;
  serverCpu: number;
}

async function bundleServer(): Promise<string> {
  const out = await Deno.makeTempFile({ prefix: "edgesocket-compression-", suffix: ".mjs" });
  return await bundleEntry("bench/servers/edgesocket_compression_server.ts", out, { root: ROOT });
}

async function measure(
  script: string,
  threshold: number,
  batch: number,
  windows: { warmup: number; duration: number },
): Promise<ClientResult> {
  const children: ChildProcess[] = [];
  try {
    const server = await spawn("node", [script], {
      cpu: 0,
      raiseFileLimit: true,
      cwd: `${ROOT}bench/`,
      env: { COMPRESSION: threshold < 0 ? "off" : `${threshold}` },
    });
    children.push(server);
    const port = Number((await server.waitFor(/^listening (\d+)/))[1]);
    const client = await spawn("node", [
      `${ROOT}bench/compression_client.cjs`,
      `--port=${port}`,
      `--server-pid=${server.pid}`,
      "--clients=32",
      "--inflight=8",
      `--warmup=${windows.warmup}`,
      `--duration=${windows.duration}`,
      `--compress=${threshold < 0 ? 0 : 1}`,
      `--batch=${batch}`,
    ], { cpu: 1, cwd: `${ROOT}bench/` });
    children.push(client);
    const match = await client.waitFor(/^result (.*)$/, {
      timeout: (windows.warmup + windows.duration + 60) * 1000,
    });
    return JSON.parse(match[1]) as ClientResult;
  } finally {
    for (const child of children.reverse()) await child.stop();
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/**
 * Runs the compression benchmark: every case, server and setting, round by
 * round, and returns the medians.
 *
 * @param options Quick or full, rounds, where progress goes.
 * @returns The figures, the compressed ratios and a Markdown table.
 *
 * @example From another runner
 * ```ts ignore
 * import { runCompressionBench } from "./compression.ts";
 * const { markdown } = await runCompressionBench({ quick: true });
 * console.log(markdown);
 * ```
 */
export async function runCompressionBench(
  options: CompressionBenchOptions = {},
): Promise<CompressionBenchResult> {
  const progress = options.progress ?? ((message: string) => console.error(message));
  const rounds = options.rounds ?? (options.quick ? 1 : 3);
  const windows = options.quick ? { warmup: 1, duration: 2 } : { warmup: 2, duration: 4 };
  const ours = await bundleServer();
  const scripts = { edgesocket: ours, ws: `${ROOT}bench/servers/ws_compression_server.cjs` };
  const samples = new Map<string, ClientResult[]>();
  try {
    for (let round = 1; round <= rounds; round++) {
      for (const benchCase of CASES) {
        for (const compressed of [true, false]) {
          for (const server of SERVERS) {
            const key = `${benchCase.name} ${server} ${compressed}`;
            const result = await measure(
              scripts[server],
              compressed ? benchCase.threshold : -1,
              benchCase.batch,
              windows,
            );
            progress(
              `[compression] round ${round}/${rounds} ${key}: ${
                Math.round(result.rate)
              } echoes/s, ` +
                `${result.downPerEcho.toFixed(1)} B down/echo, server ${
                  Math.round(result.serverCpu)
                }% CPU`,
            );
            samples.set(key, [...(samples.get(key) ?? []), result]);
          }
        }
      }
    }
  } finally {
    await Deno.remove(ours).catch(() => {});
  }
  const figures: CompressionFigure[] = [];
  for (const benchCase of CASES) {
    for (const compressed of [true, false]) {
      for (const server of SERVERS) {
        const list = samples.get(`${benchCase.name} ${server} ${compressed}`) ?? [];
        figures.push({
          case: benchCase.name,
          server,
          compressed,
          rate: median(list.map((s) => s.rate)),
          messageBytes: median(list.map((s) => s.messageBytes)),
          downPerEcho: median(list.map((s) => s.downPerEcho)),
          upPerEcho: median(list.map((s) => s.upPerEcho)),
          cycleBytes: median(list.map((s) => s.cycleBytes)),
          serverCpu: median(list.map((s) => s.serverCpu)),
        });
      }
    }
  }
  const find = (name: string, server: string) =>
    figures.find((f) => f.case === name && f.server === server && f.compressed)!;
  const ratios = CASES.map(({ name }) => ({
    case: name,
    rate: find(name, "edgesocket").rate / find(name, "ws").rate,
    bytes: find(name, "edgesocket").cycleBytes / find(name, "ws").cycleBytes,
  }));
  return { figures, ratios, markdown: renderMarkdown(figures, ratios, rounds) };
}

function renderMarkdown(
  figures: CompressionFigure[],
  ratios: CompressionBenchResult["ratios"],
  rounds: number,
): string {
  const number = (n: number, digits = 0) =>
    n.toLocaleString("en-US", { maximumFractionDigits: digits });
  const lines = [
    `permessage-deflate echo, 32 clients × 8 in flight, median of ${rounds} round(s)`,
    "",
    "| case | server | compressed | echoes/s | bytes/echo ↓ | bytes/echo ↑ | 128 answers ↓ | message bytes | server CPU |",
    "|---|---|---|--:|--:|--:|--:|--:|--:|",
  ];
  for (const f of figures) {
    const label = CASES.find((c) => c.name === f.case)!.label;
    lines.push(
      `| ${label} | ${f.server} | ${f.compressed ? "yes" : "no"} | ${number(f.rate)} | ${
        number(f.downPerEcho, 1)
      } | ${number(f.upPerEcho, 1)} | ${number(f.cycleBytes)} | ${number(f.messageBytes)} | ${
        number(f.serverCpu)
      }% |`,
    );
  }
  lines.push("");
  for (const r of ratios) {
    lines.push(
      `- ${r.case}, compressed: edgesocket ÷ ws = ${r.rate.toFixed(2)}× echoes/s, ` +
        `${r.bytes.toFixed(4)}× bytes on the wire (server to client, the same 128 answers)`,
    );
  }
  return lines.join("\n");
}

if (import.meta.main) {
  const args = new Map(Deno.args.map((arg) => {
    const [name, value] = arg.split("=", 2);
    return [name, value ?? ""] as const;
  }));
  for (const name of args.keys()) {
    if (!["--quick", "--rounds"].includes(name)) {
      console.error(
        `Unknown option: ${name}\nusage: deno run -A bench/compression.ts [--quick] [--rounds=N]`,
      );
      Deno.exit(2);
    }
  }
  const rounds = args.has("--rounds") ? Number(args.get("--rounds")) : undefined;
  if (rounds !== undefined && !(Number.isInteger(rounds) && rounds >= 1)) {
    console.error("--rounds must be a whole number, at least 1");
    Deno.exit(2);
  }
  Deno.addSignalListener("SIGINT", async () => {
    await stopAll();
    Deno.exit(130);
  });
  const result = await runCompressionBench({ quick: args.has("--quick"), rounds });
  console.log(result.markdown);
}
