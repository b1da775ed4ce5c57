// A probe any Node benchmark server can be started with (`node --expose-gc
// --require bench/servers/probe.cjs server.js`): it reads commands on stdin,
// one a line, and answers on stdout, so that the benchmark can ask what the
// server allocated and kept without changing the server.
//
//   alloc-start     two forced GCs, then counts from here: the V8 heap in use
//                   and every GC's reclaimed bytes (v8.GCProfiler)
//   alloc-stop      prints "alloc {allocated, gcs, heapUsed}": bytes
//                   allocated since alloc-start (the heap's growth plus what
//                   each GC in between reclaimed), then "retained {heapUsed}"
//                   after two forced GCs
//   snapshot PATH   writes a heap snapshot (v8.writeHeapSnapshot) after two
//                   forced GCs; prints "snapshot PATH"
"use strict";
const v8 = require("node:v8");
const readline = require("node:readline");

function collect() {
  if (global.gc) {
    global.gc();
    global.gc();
  }
}

let profiler;
let heapAtStart = 0;
const lines = readline.createInterface({ input: process.stdin });
lines.on("line", (line) => {
  const [command, arg] = line.trim().split(/\s+/, 2);
  if (command === "alloc-start") {
    collect();
    heapAtStart = v8.getHeapStatistics().used_heap_size;
    profiler = new v8.GCProfiler();
    profiler.start();
    console.log("alloc-started");
  } else if (command === "alloc-stop" && profiler) {
    const heapNow = v8.getHeapStatistics().used_heap_size;
    const { statistics } = profiler.stop();
    profiler = undefined;
    let reclaimed = 0;
    for (const gc of statistics) {
      reclaimed += gc.beforeGC.heapStatistics.usedHeapSize - gc.afterGC.heapStatistics.usedHeapSize;
    }
    const allocated = heapNow - heapAtStart + reclaimed;
    console.log(
      `alloc ${JSON.stringify({ allocated, gcs: statistics.length, heapUsed: heapNow })}`,
    );
    collect();
    const retained = v8.getHeapStatistics().used_heap_size;
    console.log(
      `retained ${JSON.stringify({ heapUsed: retained, growth: retained - heapAtStart })}`,
    );
  } else if (command === "snapshot" && arg) {
    collect();
    v8.writeHeapSnapshot(arg);
    console.log(`snapshot ${arg}`);
  }
});
// The benchmark went away: the server's own lifetime is its business.
lines.on("close", () => {});
