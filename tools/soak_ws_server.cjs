// The soak test's ws server: ws 8 with bufferutil, bound to 127.0.0.1 on a
// free port. /echo echoes every message (text as text, binary as binary);
// sockets on /fanout are the broadcast phase's subscribers, and every message
// on /publish is sent to each of them in a loop (ws has no topics). On SIGUSR2
// it collects garbage (with --expose-gc) and prints its memory.
"use strict";
const { WebSocketServer } = require("ws");

const bufferutil = require("bufferutil");
if (!String(bufferutil.mask).includes("[native code]")) {
  throw new Error("bufferutil is not native: no prebuild for this platform");
}

const subscribers = new Set();
const wss = new WebSocketServer({ host: "127.0.0.1", port: 0 });
wss.on("listening", () => console.log(`listening ${wss.address().port} bufferutil native`));
wss.on("connection", (ws, request) => {
  ws.on("error", () => {});
  if (request.url === "/fanout") {
    subscribers.add(ws);
    ws.on("close", () => subscribers.delete(ws));
  } else if (request.url === "/publish") {
    ws.on("message", (data, isBinary) => {
      for (const subscriber of subscribers) subscriber.send(data, { binary: isBinary });
    });
  } else {
    ws.on("message", (data, isBinary) => ws.send(data, { binary: isBinary }));
  }
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
  console.log(`memory ${JSON.stringify(usage)}`);
});
