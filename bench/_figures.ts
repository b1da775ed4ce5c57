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
  /** Samples per side, one per round. */
  samples: Partial<Record<Side, Sample[]>>;
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
 * Summarizes a figure: medians per side, the ratio, and whether it meets its
 * target.
 *
 * @param figure The figure with its samples.
 * @returns The outcome.
 */
export function summarize(figure: Figure): Outcome {
  const of = (side: Side) => median((figure.samples[side] ?? []).map((s) => s.value));
  const ours = of("ours");
  const ws = of("ws");
  const ratio = ours / ws;
  const met = figure.lowerIsBetter ? ratio <= figure.target : ratio >= figure.target;
  const outcome: Outcome = { ours, ws, ratio, met };
  if (figure.samples.proto?.length) {
    outcome.proto = of("proto");
    outcome.protoRatio = outcome.proto / ws;
  }
  return outcome;
}

/**
 * Creates the figures the benchmark measures, empty.
 *
 * @param options What this run includes.
 * @returns The figures, in table order.
 */
export function createFigures(options: { idleConnections: number }): Figure[] {
  const idle = options.idleConnections.toLocaleString("en-US");
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
      target: 1.3,
      samples: {},
    },
    {
      id: "idle",
      title: `server RSS per idle connection, ${idle} open`,
      baseline: "ws server",
      unit: "KiB",
      scale: 1024,
      target: 1,
      lowerIsBetter: true,
      samples: {},
    },
    {
      id: "handshake",
      title: "handshakes, 64 in flight (ws client)",
      baseline: "ws server",
      unit: "upgrades/s",
      scale: 1,
      target: 1,
      samples: {},
    },
    {
      id: "handshake-raw",
      title: "handshakes, 64 in flight (raw TCP client)",
      baseline: "ws server",
      unit: "upgrades/s",
      scale: 1,
      target: 1,
      informational: true,
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
