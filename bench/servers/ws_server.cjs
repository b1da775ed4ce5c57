// The benchmark's ws server: a plain ws 8 echo (text as text, binary as
// binary) with bufferutil, bound to 127.0.0.1 on a free port. On SIGUSR2 it
// collects garbage (with --expose-gc) and prints its memory.
"use strict";
const { WebSocketServer } = require("ws");

// Fail rather than measure ws without its native masking.
const bufferutil = require("bufferutil");
if (!String(bufferutil.mask).includes("[native code]")) {
  throw new Error("bufferutil is not native: no prebuild for this platform");
}
// ws/lib/buffer-util.js is not in ws's exports: resolve it by path.
const bufferUtilPath = require.resolve("ws").replace(/index\.js$/, "lib/buffer-util.js");
if (!String(require(bufferUtilPath).unmask).includes("bufferUtil.unmask")) {
  throw new Error("ws did not pick up bufferutil (is WS_NO_BUFFER_UTIL set?)");
}

const wss = new WebSocketServer({ host: "127.0.0.1", port: 0 });
wss.on("listening", () => console.log(`listening ${wss.address().port} bufferutil native`));
// ws_server_arraybuffer.cjs sets this: ArrayBuffer messages, as edgesocket's.
const binaryType = process.env.EDGESOCKET_BENCH_WS_BINARY_TYPE;
wss.on("connection", (ws) => {
  if (binaryType) ws.binaryType = binaryType;
  ws.on("message", (data, isBinary) => ws.send(data, { binary: isBinary }));
  ws.on("error", () => {});
});

// At the descriptor limit process.memoryUsage() cannot open /proc/self
// (EMFILE): the heap's figures then come from V8, which needs no descriptor.
process.on("SIGUSR2", () => {
  if (global.gc) global.gc();
  let usage;
  try {
    usage = process.memoryUsage();
  } catch (error) {
    const heap = require("node:v8").getHeapStatistics();
    usage = { heapUsed: heap.used_heap_size, heapTotal: heap.total_heap_size, error: `${error}` };
  }
  // The young generation's committed size, as edgesocket_server.ts reports it.
  const newSpace = require("node:v8").getHeapSpaceStatistics().find((s) =>
    s.space_name === "new_space"
  );
  usage = { ...usage, newSpace: newSpace ? newSpace.space_size : 0 };
  console.log(`memory ${JSON.stringify(usage)}`);
});
