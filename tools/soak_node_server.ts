/**
 * The soak test's Node server: tools/soak_app.ts through the Node adapter
 * (the codec), bound to 127.0.0.1 on a free port, with no connection cap of
 * its own (the default 65,536 would stop a 100,000-connection soak before
 * the machine does). On SIGUSR2 it collects garbage (with `--expose-gc`) and
 * prints its memory.
 */
import process from "node:process";
import { getHeapStatistics } from "node:v8";
import { serve } from "../src/adapters/node.ts";
import { createSoakApp } from "./soak_app.ts";

serve(
  { fetch: createSoakApp().fetch, port: 0, hostname: "127.0.0.1", maxConnections: 10_000_000 },
  (info) => console.log(`listening ${info.port}`),
);

// At the descriptor limit `process.memoryUsage()` cannot open /proc/self
// (EMFILE): the heap's figures then come from V8, which needs no descriptor.
process.on("SIGUSR2", () => {
  (globalThis as { gc?: () => void }).gc?.();
  let usage: Record<string, number | string>;
  try {
    usage = { ...process.memoryUsage() };
  } catch (error) {
    const heap = getHeapStatistics();
    usage = { heapUsed: heap.used_heap_size, heapTotal: heap.total_heap_size, error: `${error}` };
  }
  console.log(`memory ${JSON.stringify(usage)}`);
});
