/**
 * Resumable topics (issue 13): what numbering and keeping publications
 * costs a fan-out, and how long a client that missed 1,000 messages takes
 * to catch up. Through the real codec at both ends over in-memory pipes
 * (`@edgesocket/edgesocket/testing`'s `connect()`), so the figures are the
 * library's work, not a network's:
 *
 * - 1,000 subscribers of one topic, 500 publications of 64 bytes published
 *   at once, until every subscriber has all of them: deliveries per second
 *   on a resumable route and topic (in-memory history) against a plain
 *   route and topic, the fastest of three bursts; target ≥ 0.85×;
 * - the same with the history on Redis Streams (a local redis-server, each
 *   publication an `XADD` in a Lua script, pipelined) against the
 *   in-memory history; target ≥ 0.5×;
 * - catch-up: a resumable client leaves, 1,000 publications go out, it
 *   comes back with its position: the time from its `hello` to the last
 *   replayed publication, with the Redis store against the in-memory one
 *   (shown, not a target).
 *
 * Every sample runs in a Deno process of its own (bench/resume_sample.ts),
 * pinned to core 0, the two sides of a figure in pairs one right after the
 * other, and the ratio is the median of the pairs' ratios. Measured in the
 * runner's own process, as before, a sample inherited what the one before
 * it left there (a warm JIT, and up to 900 MB of its garbage still in the
 * heap), so a figure moved with the order of its samples (per-round ratios
 * from 0.73× to 1.10× in the same run); V8's GC threads used whichever core
 * was free; and no sample was checked for what other programs took meanwhile.
 *
 *     deno run -A bench/resume.ts [--quick] [--rounds=N]
 *
 * bench/run.ts runs it as the `resume` group.
 *
 * @module
 */
import { ROOT } from "../tests/_util/server_process.ts";
import { startRedis } from "../tests/_util/redis.ts";
import type { Figure, Side } from "./_figures.ts";
import { type GroupContext, recordSample, runStandalone } from "./_group.ts";
import type { ResumeSampleSpec } from "./resume_sample.ts";

const SHAPE = {
  subscribers: 1000,
  publications: 500,
  bursts: 3,
  missed: 1000,
  payloadBytes: 64,
};

// Pairs per round: the fan-out (the target) and the catch-up (cheap) get two.
const PAIRS = { "resume-fanout": 2, "resume-fanout-redis": 1, "resume-catchup": 2 };

type Pairs = typeof PAIRS;

function pairsOf(id: keyof Pairs, quick: boolean): number {
  return quick ? 1 : PAIRS[id];
}

function scheduleOf(id: keyof Pairs, rounds: number, quick: boolean): string {
  const pairs = pairsOf(id, quick);
  return `${rounds} rounds × ${pairs} pair${pairs > 1 ? "s" : ""} (${rounds * pairs} samples ` +
    "per side), each pair the two sides one after the other, in an order turned every pair";
}

/**
 * Creates the group's figures, empty.
 *
 * @param rounds The rounds, for the figures' schedules.
 * @param quick Whether it is a quick run (one pair per round).
 * @returns Fan-out resumable/plain, Redis/memory, and catch-up.
 */
export function createResumeFigures(rounds = 5, quick = false): Figure[] {
  const { subscribers, publications, bursts, missed } = SHAPE;
  const process = "a fresh Deno process per sample (bench/resume_sample.ts), pinned to core 0 " +
    "with its GC threads";
  const how = `${process}; the codec at both ends over in-memory pipes; ${subscribers} ` +
    `subscribers (each counts its deliveries and keeps none), ${publications} publications ` +
    `of 64 B published at once, until all are delivered; the fastest of ${bursts} such bursts ` +
    `on the same connections; no GC forced`;
  const cores = "each sample's process on core 0; no load generator";
  return [
    {
      id: "resume-fanout",
      title: "fan-out to 1,000 subscribers, resumable topic (in-memory history)",
      baseline: "a plain topic on a plain route",
      unit: "deliveries/s",
      scale: 1,
      target: 0.85,
      sides: { ours: "resumable", ws: "plain" },
      method: how,
      paired: true,
      schedule: scheduleOf("resume-fanout", rounds, quick),
      cores,
      samples: {},
    },
    {
      id: "resume-fanout-redis",
      title: "fan-out to 1,000 subscribers, history on Redis Streams",
      baseline: "the in-memory history",
      unit: "deliveries/s",
      scale: 1,
      target: 0.5,
      sides: { ours: "Redis Streams", ws: "in memory" },
      method: `${how}; a local redis-server (not pinned), one XADD (Lua script) per ` +
        "publication, pipelined",
      paired: true,
      schedule: scheduleOf("resume-fanout-redis", rounds, quick),
      cores,
      samples: {},
    },
    {
      id: "resume-catchup",
      title: `catch-up of a client that missed ${missed.toLocaleString("en-US")} publications`,
      baseline: "the in-memory history",
      unit: "ms",
      scale: 1,
      target: 1,
      lowerIsBetter: true,
      informational: true,
      sides: { ours: "Redis Streams", ws: "in memory" },
      method: `${process}, as above: from the hello with the client's position to the last ` +
        "replayed publication received (256 per read)",
      paired: true,
      schedule: scheduleOf("resume-catchup", rounds, quick),
      cores,
      samples: {},
    },
  ];
}

/**
 * Runs the group: its rounds, each a few pairs of samples per figure, the
 * two sides of a pair one after the other in an order turned every pair.
 *
 * @param context The runner's context.
 * @returns The figures.
 */
export async function runResume(context: GroupContext): Promise<Figure[]> {
  const { config, measure, quick } = context;
  const figures = createResumeFigures(config.rounds, quick);
  const redis = await startRedis();
  // What each side of each figure measures: the kind, the route, a topic prefix.
  const plan: Record<
    keyof Pairs,
    Record<"ours" | "ws", [ResumeSampleSpec["kind"], string, string]>
  > = {
    "resume-fanout": { ws: ["fanout", "plain", "plain:"], ours: ["fanout", "memory", "room:m"] },
    "resume-fanout-redis": {
      ws: ["fanout", "memory", "room:n"],
      ours: ["fanout", "redis", "room:r"],
    },
    "resume-catchup": {
      ws: ["catchup", "memory", "room:cm"],
      ours: ["catchup", "redis", "room:cr"],
    },
  };
  let pairsDone = 0;
  try {
    for (let round = 1; round <= config.rounds; round++) {
      context.progress(
        `resume: round ${round}/${config.rounds}, each sample in a process of its own`,
      );
      for (const figure of figures) {
        const id = figure.id as keyof Pairs;
        for (let pair = 1; pair <= pairsOf(id, quick); pair++) {
          const sides: Side[] = pairsDone++ % 2 ? ["ours", "ws"] : ["ws", "ours"];
          for (const side of sides) {
            const [kind, route, prefix] = plan[id][side as "ours" | "ws"];
            const spec: ResumeSampleSpec = {
              ...SHAPE,
              kind,
              route: route as ResumeSampleSpec["route"],
              // A topic of its own: the Redis streams outlive the process.
              topic: `${prefix}${round}-${pair}`,
              redisPort: redis.port,
            };
            const sample = await measure.script(`${id} ${side}`, {
              command: Deno.execPath(),
              args: ["run", "-A", "--quiet", `${ROOT}bench/resume_sample.ts`, JSON.stringify(spec)],
            });
            recordSample(context, figure, side, sample);
          }
        }
      }
    }
  } finally {
    await redis.stop();
  }
  return figures;
}

if (import.meta.main) await runStandalone("resume", runResume);
