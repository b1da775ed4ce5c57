/** The benchmark's outputs: the Markdown table and the SVG chart. */
import {
  type Figure,
  median,
  type Outcome,
  type Sample,
  type Side,
  summarize,
} from "./_figures.ts";

/** What the run was. */
export interface RunInfo {
  command: string;
  date: string;
  quick: boolean;
  rounds: number;
  node: string;
  deno: string;
  ws: string;
  bufferutil: string;
  cpu: string;
  cores: number;
  pinned: boolean;
  seconds: number;
  /** Samples kept although other programs were busy, of all samples. */
  noise: { noisy: number; samples: number };
  /** Other runtimes measured, with their versions ("Bun 1.4.5, workerd …"). */
  runtimes?: string;
}

const SERVER_FIGURES = ["echo", "handshake"];
const MICRO_FIGURES = ["unmask-js", "unmask-native", "decode", "encode-32", "encode-1m"];

/** What the report shows beside the figures: the allocation test's heap kinds. */
export interface ReportExtras {
  /** Lines under the table: a test that could not run here, and why. */
  notes?: string[];
  /** Per side, the heap kinds that grew most per open connection. */
  allocations?: Partial<
    Record<Side, { opened: number; kinds: Array<[string, number, number]> }>
  >;
}

// The load generator's core and its own CPU for one side, median: "41% (own 33%)".
function loadgenLoad(samples: Sample[] | undefined): string {
  if (!samples?.length) return "";
  const core = medianDetail(samples, "coreBusy", 1);
  const own = medianDetail(samples, "clientCpu");
  if (Number.isFinite(core)) return `${Math.round(core)}% (own ${Math.round(own)}%)`;
  if (Number.isFinite(own)) return `own ${Math.round(own)}%`;
  return "";
}

/**
 * How a figure was measured, in one line: its own method where it has one,
 * else what its group does; then rounds and cores.
 *
 * @param figure The figure.
 * @param info The run.
 * @returns The line.
 */
export function describeMethod(figure: Figure, info: RunInfo): string {
  let how = figure.method;
  if (!how && MICRO_FIGURES.includes(figure.id)) {
    how = "one Node process per case, side and round, timing the operation in a loop after " +
      "its own warm-up; no load generator; no GC forced";
  } else if (!how && figure.id === "decode-frames") {
    how = "as decode, `FrameDecoder` alone; no GC forced";
  } else if (!how && (figure.id.includes("fanout") || figure.id.startsWith("deno-codec-fanout"))) {
    how = "C epoll load generator (bench/loadgen/loadgen.c), `fanout` mode: 1,000 subscribers " +
      "and one publisher, closed loop with 16 publishes in flight, then an open loop at 50 " +
      "publishes/s for the latency; no GC forced";
  } else if (!how && /echo/.test(figure.id)) {
    how = "C epoll load generator (bench/loadgen/loadgen.c), `echo` mode: 64 connections × 16 " +
      "binary messages of 1 KiB in flight; no GC forced";
  } else if (!how && /handshake/.test(figure.id)) {
    how = "C epoll load generator, `handshake` mode: 64 in flight, connect, upgrade, close; no " +
      "GC forced";
  } else if (!how && /idle/.test(figure.id)) {
    how = figure.id.includes("gc")
      ? "RSS per idle connection after a forced GC"
      : "RSS per idle connection as `ps` shows it, no GC forced";
  }
  const cores = info.pinned
    ? MICRO_FIGURES.includes(figure.id)
      ? "not pinned"
      : figure.cores ?? "server on core 0, load generator on core 1"
    : "not pinned";
  const once = (figure.samples.ours?.length ?? 0) === 1 && info.rounds > 1;
  const rounds = figure.schedule ??
    (once
      ? "measured once, in the first round"
      : `${info.rounds} rounds, sides interleaved, median`);
  const spread = figure.paired ? summarize(figure).spread : undefined;
  const pairs = spread
    ? `; ratio: the median of the ${spread.pairs} pairs' ratios, IQR ${formatRatio(spread.q1)}–` +
      `${formatRatio(spread.q3)}, range ${formatRatio(spread.min)}–${formatRatio(spread.max)}`
    : "";
  return `${how ?? "see its group's source"}; ${rounds}${pairs}; ${cores}`;
}

function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return "–";
  const digits = value >= 100 ? 0 : value >= 10 ? 1 : 2;
  return value.toLocaleString("en-US", {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  });
}

function formatRatio(ratio: number): string {
  return Number.isFinite(ratio) ? `${ratio >= 10 ? ratio.toFixed(1) : ratio.toFixed(2)}×` : "–";
}

function medianDetail(samples: Sample[] | undefined, key: string, index?: number): number {
  return median(
    (samples ?? []).map((s) => {
      const value = s.detail?.[key];
      return Array.isArray(value) ? value[index ?? 0] : (value ?? NaN);
    }).filter((v) => Number.isFinite(v)),
  );
}

/**
 * What limited a load test, judged from its median core use: the server's
 * core (0) saturated, the load generator's (1), or neither.
 *
 * @param samples One side's samples of a server figure.
 * @returns A short verdict.
 */
export function judgeBottleneck(samples: Sample[] | undefined): string {
  const server = medianDetail(samples, "coreBusy", 0);
  const client = medianDetail(samples, "coreBusy", 1);
  const other = medianDetail(samples, "otherCpu");
  const noisy = other > 25 ? `; other programs used ${Math.round(other)}% of a core` : "";
  if (server >= 93) return `server-bound${noisy}`;
  if (client >= 93) {
    return `**load generator bound** (its core ${Math.round(client)}% busy)${noisy}`;
  }
  return `neither core saturated (latency-bound)${noisy}`;
}

/**
 * Renders the results as Markdown.
 *
 * @param figures The figures with their samples.
 * @param info What the run was.
 * @param extras The allocation test's heap kinds, where measured.
 * @returns The Markdown.
 */
export function renderMarkdown(
  figures: Figure[],
  info: RunInfo,
  extras: ReportExtras = {},
): string {
  const measured = figures.filter((f) => (f.samples.ours?.length ?? 0) > 0);
  const outcomes = new Map(measured.map((f) => [f.id, summarize(f)]));
  const hasProto = measured.some((f) => outcomes.get(f.id)?.proto !== undefined);
  // Figures against a bare runtime or another configuration: the ws column
  // holds their baseline.
  const others = measured.some((f) => f.sides !== undefined);
  const lines = [
    `## edgesocket vs ws ${info.ws}${others ? " and the bare runtimes" : ""}${
      info.quick ? " (quick smoke run: not for quoting)" : ""
    }`,
    "",
    `Command: \`${info.command}\` — ${info.date}, ${Math.round(info.seconds)} s.`,
    `Node ${info.node}, ws ${info.ws}, bufferutil ${info.bufferutil} (native), Deno ${info.deno}` +
    `${info.runtimes ? `, ${info.runtimes}` : ""}; ` +
    `${info.cpu}, ${info.cores} cores; ${info.rounds} rounds, edgesocket and ${
      others ? "its baseline" : "ws"
    } interleaved in each, medians shown${
      info.pinned ? "; servers pinned to core 0, the load generator to core 1" : ""
    }.`,
    "",
    `| figure | compared with | unit | edgesocket | ${
      others ? "baseline" : "ws"
    } | ratio | target | met | load generator's core, edgesocket / ${others ? "baseline" : "ws"} |${
      hasProto ? " prototype | prototype ratio |" : ""
    }`,
    `|---|---|---|--:|--:|--:|:-:|:-:|--:|${hasProto ? "--:|--:|" : ""}`,
  ];
  for (const figure of measured) {
    const o = outcomes.get(figure.id) as Outcome;
    const target = `${figure.lowerIsBetter ? "≤" : "≥"} ${figure.target}×`;
    const met = figure.informational ? `(${o.met ? "yes" : "no"})` : o.met ? "yes" : "**NO**";
    const title = figure.informational ? `*${figure.title}* (extra)` : figure.title;
    let row = `| ${title} | ${figure.baseline} | ${figure.unit} | ${
      formatNumber(o.ours / figure.scale)
    } | ${formatNumber(o.ws / figure.scale)} | ${formatRatio(o.ratio)} | ${target} | ${met} | ${
      [loadgenLoad(figure.samples.ours), loadgenLoad(figure.samples.ws)].filter(Boolean).join(
        " / ",
      ) || "–"
    } |`;
    if (hasProto) {
      row += o.proto === undefined
        ? " | |"
        : ` ${formatNumber(o.proto / figure.scale)} | ${formatRatio(o.protoRatio as number)} |`;
    }
    lines.push(row);
  }
  lines.push(
    "",
    `Ratios are edgesocket / ${
      others ? "baseline" : "ws"
    } from the medians of this run (for memory${others ? " and latency" : ""}, lower is better)${
      measured.some((f) => f.paired)
        ? "; where a figure's sides were measured in pairs, one right after the other, the " +
          "median of the pairs' ratios, their spread in its line under How each figure was measured"
        : ""
    }. ` +
      "The load generator's core: core 1's busy share during the window (softirq included), " +
      "and in brackets the load generator's own CPU (getrusage or /proc), in % of one core; " +
      "for the idle and allocation figures, its own CPU while opening the connections.",
    ...(extras.notes ?? []).flatMap((note) => ["", note]),
    "",
    "### How each figure was measured",
    "",
    ...measured.map((figure) =>
      `- **${figure.title}** (against ${figure.baseline}): ${describeMethod(figure, info)}.`
    ),
  );
  if (info.noise.noisy > 0) {
    lines.push(
      "",
      `**Noisy run:** ${info.noise.noisy} of ${info.noise.samples} samples were taken while ` +
        "other programs kept the machine busy (retries did not find it quiet); see `otherCpu` " +
        "and `noisy` in results.json. Rerun on a quiet machine before quoting.",
    );
  }
  const servers = measured.filter((f) => SERVER_FIGURES.includes(f.id) || f.loadTest);
  if (servers.length > 0) {
    lines.push(
      "",
      "### The load tests: where the CPU went (medians)",
      "",
      "Server and client CPU are each process's utime+stime; core busy also counts softirq, " +
        "where Linux accounts loopback TCP work; other is CPU used by other programs on the " +
        "machine during the window (samples above 25% were retried, up to twice).",
      "",
      "| test | server | rate | server CPU | client CPU | core 0 busy | core 1 busy | other | limited by |",
      "|---|---|--:|--:|--:|--:|--:|--:|---|",
    );
    for (const figure of servers) {
      for (const side of ["ours", "proto", "ws"] as const) {
        const samples = figure.samples[side];
        if (!samples?.length) continue;
        const name = side === "ours"
          ? figure.sides?.ours ?? "edgesocket"
          : side === "ws"
          ? figure.sides?.ws ?? "ws"
          : "edgesocket prototype";
        const pct = (key: string, index?: number) =>
          `${Math.round(medianDetail(samples, key, index))}%`;
        lines.push(
          `| ${figure.id} | ${name} | ${
            formatNumber(median(samples.map((s) => s.value)) / figure.scale)
          } ${figure.unit} | ${pct("serverCpu")} | ${pct("clientCpu")} | ${pct("coreBusy", 0)} | ${
            pct("coreBusy", 1)
          } | ${pct("otherCpu")} | ${judgeBottleneck(samples)} |`,
        );
      }
    }
  }
  for (const suffix of ["", "-large"]) {
    const shown = measured.find((f) => f.id === `idle${suffix}`);
    const collected = measured.find((f) => f.id === `idle-gc${suffix}`);
    if (!shown) continue;
    lines.push(
      "",
      `### Idle connections: where the memory went (${
        shown.title.replace(/.*, (\S+) open.*/, "$1")
      } ` +
        "open; medians, per connection)",
      "",
      "| server | RSS as `ps` shows it 1 s after (no GC) | RSS after a forced GC | " +
        "V8 heap used | V8 heap committed | of it, the young generation | external | " +
        "connections opened |",
      "|---|--:|--:|--:|--:|--:|--:|--:|",
    );
    for (const side of ["ours", "proto", "ws"] as const) {
      const samples = shown.samples[side];
      if (!samples?.length) continue;
      const gc = collected?.samples[side];
      const kib = (list: Sample[] | undefined, key: string) =>
        `${formatNumber(medianDetail(list, key) / 1024)} KiB`;
      const name = side === "ours" ? "edgesocket" : side === "ws" ? "ws" : "edgesocket prototype";
      lines.push(
        `| ${name} | ${formatNumber(median(samples.map((s) => s.value)) / 1024)} KiB | ${
          gc?.length ? `${formatNumber(median(gc.map((s) => s.value)) / 1024)} KiB` : "–"
        } | ${kib(gc, "heapPerConnection")} | ${kib(gc, "heapTotalPerConnection")} | ${
          Number.isFinite(medianDetail(gc, "newSpacePerConnection"))
            ? kib(gc, "newSpacePerConnection")
            : "–"
        } | ${kib(gc, "externalPerConnection")} | ${
          formatNumber(medianDetail(samples, "opened"))
        } of ${formatNumber(medianDetail(samples, "connections"))} |`,
      );
    }
    lines.push(
      "",
      "RSS beyond the V8 heap is Node's and libuv's native per-socket memory and malloc's own. " +
        "The young generation (V8's new space) grows with what survives the connections' " +
        "opening, on both servers: committed once, not per connection, it is a large part of " +
        "both RSS figures at this count, and weighs less the more connections there are.",
    );
  }
  lines.push(...renderHeapObjects(measured));
  const allocations = extras.allocations ?? {};
  const sides = (["ours", "proto", "ws"] as const).filter((side) => allocations[side]);
  if (sides.length > 0) {
    lines.push(
      "",
      "### What each open connection leaves in the V8 heap (heap snapshots, per connection)",
      "",
      "The kinds of heap-snapshot nodes that grew by at least one per two connections " +
        "(objects and closures by constructor name, the rest by V8's type), objects and " +
        "shallow bytes per open connection.",
      "",
    );
    for (const side of sides) {
      const a = allocations[side] as { opened: number; kinds: Array<[string, number, number]> };
      const name = side === "ours" ? "edgesocket" : side === "ws" ? "ws" : "edgesocket prototype";
      lines.push(
        `**${name}** (${formatNumber(a.opened)} open):`,
        "",
        "| kind | objects | bytes |",
        "|---|--:|--:|",
        ...a.kinds.map(([kind, count, bytes]) =>
          `| \`${kind}\` | ${formatNumber(count)} | ${formatNumber(bytes)} |`
        ),
        "",
      );
    }
  }
  return lines.join("\n") + "\n";
}

// What each idle connection leaves in a heap that reports its objects by
// type (Bun's, through `bun:jsc`): the idle figures after a forced GC
// whose samples carry `objects:<type>` detail keys.
function renderHeapObjects(measured: Figure[]): string[] {
  const lines: string[] = [];
  for (const figure of measured) {
    const ours = figure.samples.ours ?? [];
    const theirs = figure.samples.ws ?? [];
    const types = new Set(
      [...ours, ...theirs].flatMap((s) =>
        Object.keys(s.detail ?? {}).filter((key) => key.startsWith("objects:"))
      ),
    );
    if (types.size === 0) continue;
    const rows = [...types].map((key) => {
      const count = (list: Sample[]) => {
        const m = medianDetail(list, key);
        return Number.isFinite(m) ? m : 0;
      };
      return { type: key.slice("objects:".length), ours: count(ours), theirs: count(theirs) };
    }).filter((row) => row.ours >= 0.5 || row.theirs >= 0.5)
      .sort((a, b) => b.ours - a.ours || b.theirs - a.theirs);
    const heap = (list: Sample[]) => medianDetail(list, "heapPerConnection");
    lines.push(
      "",
      `### ${
        figure.title.replace(
          /^RSS per idle connection/,
          "What each idle connection leaves in the heap",
        )
      }` +
        " (`bun:jsc` heapStats, objects by type, per connection, medians)",
      "",
      `The JavaScript heap per connection: ${formatNumber(heap(ours))} B for edgesocket, ` +
        `${
          formatNumber(heap(theirs))
        } B for ${figure.baseline}. The object types that grew by at ` +
        "least one per two connections on either side. JavaScriptCore counts a class's " +
        "instances and plain objects alike as `Object`, a closure as `Function`, and a socket by " +
        "its native wrapper (`ServerWebSocket`).",
      "",
      `| type | edgesocket | ${figure.baseline} |`,
      "|---|--:|--:|",
      ...rows.map((row) =>
        `| \`${row.type}\` | ${formatNumber(row.ours)} | ${formatNumber(row.theirs)} |`
      ),
    );
  }
  return lines;
}

// A chart label in at most two lines of about `width` characters; the
// rest of a longer one is cut with an ellipsis.
function wrapLabel(label: string, width: number): string[] {
  if (label.length <= width) return [label];
  const cut = label.lastIndexOf(" ", width);
  const first = label.slice(0, cut > 0 ? cut : width);
  let second = label.slice(first.length).trim();
  if (second.length > width) second = `${second.slice(0, width - 1)}…`;
  return [first, second];
}

function escapeXml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/**
 * Draws the ratios (ours / ws) per figure as horizontal bars on a log scale,
 * with each figure's target as a line.
 *
 * @param figures The figures with their samples.
 * @param info What the run was.
 * @returns The SVG document.
 */
export function renderChart(figures: Figure[], info: RunInfo): string {
  const rows = figures
    .filter((f) => (f.samples.ours?.length ?? 0) > 0)
    .map((f) => ({ figure: f, outcome: summarize(f) }));
  const values = rows.flatMap(({ figure, outcome }) => [
    outcome.ratio,
    figure.target,
    outcome.protoRatio ?? 1,
  ]).filter((v) => Number.isFinite(v) && v > 0);
  const lo = Math.pow(2, Math.floor(Math.log2(Math.min(0.25, ...values) / 1.2)));
  const hi = Math.pow(2, Math.ceil(Math.log2(Math.max(4, ...values) * 1.2)));
  const left = 440, right = 40, top = 56, rowHeight = 34, width = 1040;
  const plot = width - left - right;
  const height = top + rows.length * rowHeight + 50;
  const x = (v: number) => left + (Math.log2(v / lo) / Math.log2(hi / lo)) * plot;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" ` +
    `viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="${width / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">` +
    `edgesocket / ws ${escapeXml(info.ws)}: ratio per figure (log scale)</text>`,
    `<text x="${width / 2}" y="40" text-anchor="middle" fill="#555">` +
    `${escapeXml(info.date)}, ${info.rounds} rounds, medians; red line: target; ` +
    `memory (as \`ps\` shows it and after a forced GC): lower is better${
      info.quick ? "; quick smoke run" : ""
    }</text>`,
  ];
  for (let v = lo; v <= hi; v *= 2) {
    const gx = x(v).toFixed(1);
    out.push(
      `<line x1="${gx}" y1="${top - 6}" x2="${gx}" y2="${top + rows.length * rowHeight}" ` +
        `stroke="${v === 1 ? "#333" : "#ddd"}"/>`,
      `<text x="${gx}" y="${top + rows.length * rowHeight + 16}" text-anchor="middle" ` +
        `fill="#555">${v >= 1 ? v : `1/${1 / v}`}×</text>`,
    );
  }
  rows.forEach(({ figure, outcome }, i) => {
    const y = top + i * rowHeight;
    const label = `${figure.title.replaceAll("`", "")}${
      figure.id === "unmask-js" ? " (vs JS)" : ""
    }${figure.id === "unmask-native" ? " (vs native)" : ""}${
      figure.informational ? " (extra)" : ""
    }`;
    const color = outcome.met ? "#2e8b57" : "#c0392b";
    const barEnd = Number.isFinite(outcome.ratio) ? x(Math.max(lo, outcome.ratio)) : x(1);
    const one = x(1);
    out.push(
      ...wrapLabel(label, 68).map((line, k, all) =>
        `<text x="${left - 8}" y="${y + 20 + (k - (all.length - 1) / 2) * 13}" ` +
        `text-anchor="end">${escapeXml(line)}</text>`
      ),
      `<rect x="${Math.min(one, barEnd).toFixed(1)}" y="${y + 8}" width="${
        Math.abs(barEnd - one).toFixed(1)
      }" height="16" fill="${color}" opacity="${figure.informational ? 0.45 : 0.85}"/>`,
      `<line x1="${x(figure.target).toFixed(1)}" y1="${y + 3}" x2="${
        x(figure.target).toFixed(1)
      }" y2="${y + 29}" stroke="#d00" stroke-width="2.5"/>`,
      `<text x="${(Math.max(barEnd, one, x(figure.target)) + 6).toFixed(1)}" y="${
        y + 20
      }" fill="#222">${escapeXml(formatRatio(outcome.ratio))} (${
        figure.lowerIsBetter ? "≤" : "≥"
      } ${figure.target}×)</text>`,
    );
    if (outcome.protoRatio !== undefined) {
      const px = x(Math.max(lo, outcome.protoRatio)).toFixed(1);
      out.push(
        `<circle cx="${px}" cy="${y + 16}" r="5" fill="#1f5fbf"><title>prototype ${
          escapeXml(formatRatio(outcome.protoRatio))
        }</title></circle>`,
      );
    }
  });
  if (rows.some(({ outcome }) => outcome.protoRatio !== undefined)) {
    out.push(
      `<circle cx="${left}" cy="${height - 14}" r="5" fill="#1f5fbf"/>`,
      `<text x="${left + 10}" y="${height - 10}">prototype change from bench/proto/</text>`,
    );
  }
  out.push("</svg>");
  return out.join("\n") + "\n";
}
