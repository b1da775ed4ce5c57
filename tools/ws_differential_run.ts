/**
 * Runs {@linkcode compareWithWs} for each role, with and without
 * permessage-deflate, and prints one JSON line per run: its settings, how
 * many streams differed, and the first five; then a line for
 * {@linkcode compareCompressedWithWs}, with a tenth as many connections. Bundled for Node 20 and run
 * from the repository's root (see tools/ws_differential.ts):
 *
 *     node ws_differential.mjs [count] [seed]
 *
 * @module
 */
import process from "node:process";
import { compareWithWs } from "./ws_differential.ts";
import { compareCompressedWithWs } from "./ws_sender_compare.ts";

const count = Number(process.argv[2] ?? 10_000);
const seed = Number(process.argv[3] ?? Date.now() % 100_000);
for (const role of ["server", "client"] as const) {
  for (const compression of [false, true]) {
    const differences = await compareWithWs(seed, count, { role, compression });
    console.log(JSON.stringify({
      role,
      compression,
      count,
      seed,
      differ: differences.length,
      first: differences.slice(0, 5),
    }));
  }
}
const connections = Math.max(1, Math.round(count / 10));
const mismatches = await compareCompressedWithWs(seed, connections);
console.log(JSON.stringify({
  role: "both ways",
  compression: true,
  count: connections,
  seed,
  differ: mismatches.length,
  first: mismatches.slice(0, 5),
}));
