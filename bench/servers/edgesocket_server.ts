/**
 * The benchmark's edgesocket server: the echo app on Node through the Node
 * adapter, as `examples/node_echo.ts` serves it, bound to 127.0.0.1 on a free
 * port, with `/echo-views`, the same echo handed views. On SIGUSR2 it
 * collects garbage (with `--expose-gc`) and prints its memory, for the
 * idle-connection figure.
 */
import process from "node:process";
import { getHeapSpaceStatistics, getHeapStatistics } from "node:v8";
import { serve } from "../../src/adapters/node.ts";
import { upgradeWebSocket } from "../../mod.ts";
import { createEchoApp, MAX_MESSAGE_SIZE } from "../../examples/echo.ts";

const app = createEchoApp();
// The echo with views (the bench's echo-views figure): what a handler that
// asks for the bytes as read costs, as ws's default Buffers do.
app.get(
  "/echo-views",
  upgradeWebSocket(() => ({
    onMessage(event, ws) {
      ws.send(event.data as string | Uint8Array);
    },
  }), { binaryType: "uint8array", maxMessageSize: MAX_MESSAGE_SIZE }),
);

serve(
  { fetch: app.fetch, port: 0, hostname: "127.0.0.1" },
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
  // The young generation's committed size: V8 grows it with what survives,
  // the same for any server, and it is part of every RSS figure.
  usage.newSpace = getHeapSpaceStatistics().find((s) => s.space_name === "new_space")?.space_size ??
    0;
  console.log(`memory ${JSON.stringify(usage)}`);
});
