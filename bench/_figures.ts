/** The benchmark's figures: what each measures, its target, and its samples. */

/** One measurement of one side in one round. */
export interface Sample {
  /** The figure's value, in base units (bytes/s, frames/s, bytes …). */
  value: number;
  /** How many attempts it took to get a quiet sample. */
  attempts?: number;
  /** Diagnostics: CPU %, core busy %, other load %, heap per connection … */
  detail?: Record<string, number | number[]>;
}

/** The sides a figure compares. */
export type Side = "ours" | "ws" | "proto";

/** One row of the results table. */
export interface Figure {
  /** A stable key, for results.json. */
  id: string;
  /** What is measured. */
  title: string;
  /** What ws side it is compared with. */
  baseline: string;
  /** The unit shown. */
  unit: string;
  /** Base units per shown unit. */
  scale: number;
  /** The ratio ours/ws to reach (at least, or at most when `lowerIsBetter`). */
  target: number;
  /** Whether smaller values win (memory). */
  lowerIsBetter?: boolean;
  /** Shown, but not one of the targets. */
  informational?: boolean;
  /**
   * What the two sides are, where they are not edgesocket and ws: the `ws`
   * side then holds the baseline that `baseline` describes (the bare
   * runtime, the in-memory topics …).
   */
  sides?: { ours: string; ws: string };
  /** A load test whose CPU figures the report shows (as for echo). */
  loadTest?: boolean;
  /**
   * How it is measured: the load generator, connections, messages in
   * flight, whether a GC is forced, the window. The report adds rounds and
   * cores.
   */
  method?: string;
  /**
   * Whether the two sides' samples are pairs, taken one after the other
   * (sample i of ours beside sample i of the baseline): the ratio is then
   * the median of the pairs' ratios, which a drift of the machine's speed
   * between pairs leaves alone, and the report shows their spread.
   */
  paired?: boolean;
  /**
   * How the samples were taken, where it is not one per side and round
   * ("3 rounds × 5 pairs of 1 s windows …"); the report says it in place
   * of the rounds.
   */
  schedule?: string;
  /** Where the processes ran, where it is not a server on core 0 and the load generator on core 1. */
  cores?: string;
  /** Samples per side, one per round (or per pair, when `paired`). */
  samples: Partial<Record<Side, Sample[]>>;
}

/** The spread of a paired figure's per-pair ratios. */
export interface Spread {
  /** Pairs. */
  pairs: number;
  /** The lowest and highest ratio. */
  min: number;
  max: number;
  /** The first and third quartiles. */
  q1: number;
  q3: number;
}

/** A figure's outcome. */
export interface Outcome {
  /** Median of our samples (base units). */
  ours: number;
  /** Median of ws's samples. */
  ws: number;
  /** Median of the prototype's samples, if measured. */
  proto?: number;
  /** ours / ws. */
  ratio: number;
  /** proto / ws. */
  protoRatio?: number;
  /** Whether the target is met. */
  met: boolean;
  /** A paired figure's per-pair ratios: how far they spread. */
  spread?: Spread;
}

/**
 * The median of a list of numbers.
 *
 * @param values The numbers.
 * @returns Their median, or NaN for none.
 */
export function median(values: number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/**
 * A quantile of a list of numbers, linear between the two nearest.
 *
 * @param values The numbers.
 * @param q The quantile, 0 to 1 (0.5: the median).
 * @returns The quantile, or NaN for none.
 *
 * @example
 * ```ts
 * quantile([1, 2, 3, 4, 5], 0.25); // 2
 * ```
 */
export function quantile(values: number[], q: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const at = (sorted.length - 1) * q;
  const low = Math.floor(at);
  return sorted[low] + (sorted[Math.min(low + 1, sorted.length - 1)] - sorted[low]) * (at - low);
}

/**
 * A paired figure's per-pair ratios, ours / baseline, in the order taken.
 *
 * @param figure The figure.
 * @returns One ratio per pair both sides have.
 *
 * @example
 * ```ts
 * const samples = { ours: [{ value: 90 }, { value: 60 }], ws: [{ value: 100 }, { value: 50 }] };
 * pairRatios({ ...figure, paired: true, samples }); // [0.9, 1.2]
 * ```
 */
export function pairRatios(figure: Figure): number[] {
  const ours = figure.samples.ours ?? [];
  const ws = figure.samples.ws ?? [];
  const n = Math.min(ours.length, ws.length);
  return Array.from({ length: n }, (_, i) => ours[i].value / ws[i].value);
}

/**
 * Summarizes a figure: medians per side, the ratio (of the medians, or the
 * median of the pairs' ratios for a paired figure, with their spread), and
 * whether it meets its target.
 *
 * @param figure The figure with its samples.
 * @returns The outcome.
 */
export function summarize(figure: Figure): Outcome {
  const of = (side: Side) => median((figure.samples[side] ?? []).map((s) => s.value));
  const ours = of("ours");
  const ws = of("ws");
  const ratios = figure.paired ? pairRatios(figure) : [];
  const ratio = ratios.length > 0 ? median(ratios) : ours / ws;
  const met = figure.lowerIsBetter ? ratio <= figure.target : ratio >= figure.target;
  const outcome: Outcome = { ours, ws, ratio, met };
  if (ratios.length > 0) {
    outcome.spread = {
      pairs: ratios.length,
      min: Math.min(...ratios),
      max: Math.max(...ratios),
      q1: quantile(ratios, 0.25),
      q3: quantile(ratios, 0.75),
    };
  }
  if (figure.samples.proto?.length) {
    outcome.proto = of("proto");
    outcome.protoRatio = outcome.proto / ws;
  }
  return outcome;
}

/** What a run measures, for the figures' titles and methods. */
export interface FigureOptions {
  /** Connections in the idle test. */
  idleConnections: number;
  /** A second, larger idle test (100,000), if asked for. */
  idleLarge?: number;
  /** Connections in the allocation test. */
  allocationConnections: number;
  /** Seconds of warm-up and of the measured window of a load test. */
  warmup: number;
  loadSeconds: number;
}

const C_CLIENT = "C epoll load generator (bench/loadgen/loadgen.c)";

function idleFigures(count: number, suffix: string): Figure[] {
  const open = count.toLocaleString("en-US");
  const how = `${C_CLIENT}, \`connect\` mode: ${open} connections opened 256 at a time ` +
    "after a warm-up of 100, then held idle";
  return [
    {
      id: `idle${suffix}`,
      title: `server RSS per idle connection, ${open} open, as \`ps\` shows it 1 s after`,
      baseline: "ws server",
      unit: "KiB",
      scale: 1024,
      target: 0.8,
      lowerIsBetter: true,
      method: `${how}; RSS (VmRSS) 1 s after the last opened, against RSS before the burst; ` +
        "no GC forced",
      samples: {},
    },
    {
      id: `idle-gc${suffix}`,
      title: `server RSS per idle connection, ${open} open, after a forced GC`,
      baseline: "ws server",
      unit: "KiB",
      scale: 1024,
      target: 0.8,
      lowerIsBetter: true,
      method: `${how}; two forced GCs (--expose-gc, 1.5 s apart) before each RSS read, ` +
        "before and after the burst",
      samples: {},
    },
  ];
}

/**
 * Creates the figures the benchmark measures, empty.
 *
 * @param options What this run includes.
 * @returns The figures, in table order.
 */
export function createFigures(options: FigureOptions): Figure[] {
  const window = `${options.warmup} s warm-up, ${options.loadSeconds} s window`;
  const alloc = options.allocationConnections.toLocaleString("en-US");
  return [
    {
      id: "unmask-js",
      title: "unmask, 64 KiB buffer",
      baseline: "ws pure JS (`_unmask`, WS_NO_BUFFER_UTIL=1)",
      unit: "GB/s",
      scale: 1e9,
      target: 10,
      samples: {},
    },
    {
      id: "unmask-native",
      title: "unmask, 64 KiB buffer",
      baseline: "ws with bufferutil (native)",
      unit: "GB/s",
      scale: 1e9,
      target: 0.6,
      samples: {},
    },
    {
      id: "decode",
      title: "decode 32-byte masked frames, 64 KiB chunks",
      baseline: "ws `Receiver`, pure-JS unmask",
      unit: "M frames/s",
      scale: 1e6,
      target: 1.5,
      samples: {},
    },
    {
      id: "encode-32",
      title: "encode, 32 B payload",
      baseline: "ws `Sender.frame`",
      unit: "M frames/s",
      scale: 1e6,
      target: 1,
      samples: {},
    },
    {
      id: "encode-1m",
      title: "encode, 1 MiB payload",
      baseline: "ws `Sender.frame`",
      unit: "M frames/s",
      scale: 1e6,
      target: 1,
      samples: {},
    },
    {
      id: "echo",
      title: "echo on Node, 64 clients × 16 in flight × 1 KiB",
      baseline: "ws server with bufferutil",
      unit: "k msgs/s",
      scale: 1e3,
      target: 3,
      method: `${C_CLIENT}, \`echo\` mode: 64 connections × 16 binary messages of 1 KiB in ` +
        `flight, one sent per echo; ${window}; no GC forced`,
      samples: {},
    },
    {
      id: "echo-arraybuffer",
      title: "echo on Node, 64 clients × 16 in flight × 1 KiB, against ws handing its " +
        "handler ArrayBuffers as edgesocket's handlers get them",
      baseline: 'ws server with bufferutil, `binaryType = "arraybuffer"`',
      unit: "k msgs/s",
      scale: 1e3,
      target: 3,
      informational: true,
      method: `${C_CLIENT}, \`echo\` mode, as echo; the ws server copies each message into an ` +
        `ArrayBuffer of its own (bench/servers/ws_server_arraybuffer.cjs); ${window}; no GC forced`,
      samples: {},
    },
    {
      id: "echo-views",
      title: "echo on Node, 64 clients × 16 in flight × 1 KiB, edgesocket's handler taking " +
        "Uint8Array views (the route's `binaryType: \"uint8array\"`) as ws's takes Buffers",
      baseline: "ws server with bufferutil (its default Buffers, the echo row's samples)",
      unit: "k msgs/s",
      scale: 1e3,
      target: 3,
      informational: true,
      method: `${C_CLIENT}, \`echo\` mode on /echo-views, as echo: the echo app's route with ` +
        '`binaryType: "uint8array"` (bench/servers/edgesocket_server.ts), each message a view ' +
        `of the bytes as read, as ws's Buffers are; ${window}; no GC forced`,
      samples: {},
    },
    ...idleFigures(options.idleConnections, ""),
    ...(options.idleLarge ? idleFigures(options.idleLarge, "-large") : []),
    {
      id: "handshake",
      title: "handshakes, 64 in flight",
      baseline: "ws server",
      unit: "upgrades/s",
      scale: 1,
      target: 1.2,
      method: `${C_CLIENT}, \`handshake\` mode: 64 at a time, each connect, upgrade (the ` +
        "Sec-WebSocket-Accept checked), close frame, server's end; from 4 loopback source " +
        `addresses; ${window}; no GC forced`,
      samples: {},
    },
    {
      id: "upgrade-alloc",
      title: `V8 heap allocated per upgrade, ${alloc} upgrades`,
      baseline: "ws server",
      unit: "KiB",
      scale: 1024,
      target: 1,
      lowerIsBetter: true,
      informational: true,
      method: `${C_CLIENT}, \`connect\` mode, ${alloc} connections opened 64 at a time and ` +
        "held; the server runs with bench/servers/probe.cjs: the V8 heap's growth over the " +
        "opening plus what every GC in it reclaimed (v8.GCProfiler), per upgrade",
      samples: {},
    },
    {
      id: "upgrade-objects",
      title: `heap objects left per open connection, ${alloc} open`,
      baseline: "ws server",
      unit: "objects",
      scale: 1,
      target: 1,
      lowerIsBetter: true,
      informational: true,
      method: "the same run: nodes of two heap snapshots (v8.writeHeapSnapshot after two forced " +
        "GCs), before the opening and 1 s after it, per open connection",
      samples: {},
    },
    {
      id: "decode-frames",
      title: "decode as above, `FrameDecoder` alone",
      baseline: "ws `Receiver`, pure-JS unmask",
      unit: "M frames/s",
      scale: 1e6,
      target: 1.5,
      informational: true,
      samples: {},
    },
  ];
}
