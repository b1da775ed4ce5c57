// The benchmark's JavaScript load client, for the one thing the C load
// generator (bench/loadgen/loadgen.c: echo, handshakes, fan-out, idle
// connections) is not used for: bench/deno_codec.ts's idle test on ws's
// client. Modes, with flags --name=value:
//
//   idle           --port --count --concurrency
//                  stdin: "warm" opens and closes 100, "go" opens --count, "close" exits
//
// Results are JSON lines on stdout prefixed with "result ".
"use strict";
const readline = require("node:readline");
const WebSocket = require("ws");

const bufferutil = require("bufferutil");
if (!String(bufferutil.mask).includes("[native code]")) {
  throw new Error("bufferutil is not native: no prebuild for this platform");
}

const [mode, ...rest] = process.argv.slice(2);
const flags = Object.fromEntries(rest.map((arg) => {
  const [name, value] = arg.replace(/^--/, "").split("=");
  return [name, Number(value)];
}));
const url = `ws://127.0.0.1:${flags.port}/echo`;
const options = { perMessageDeflate: false };

// A watchdog: no mode outlives its budget.
const budget = ((flags.warmup || 0) + (flags.duration || 0) + 120) * 1000;
setTimeout(() => fail(new Error("watchdog fired")), budget).unref();

function fail(error) {
  console.error(`load client: ${(error && error.stack) || error}`);
  process.exit(2);
}

function runIdle() {
  const sockets = [];
  const lines = readline.createInterface({ input: process.stdin });
  const open = (count, concurrency, done) => {
    const start = performance.now();
    let started = 0;
    let opened = 0;
    const openNext = () => {
      if (started >= count) return;
      started++;
      const ws = new WebSocket(url, options);
      sockets.push(ws);
      ws.on("error", fail);
      ws.on("open", () => {
        if (++opened === count) done((performance.now() - start) / 1000);
        openNext();
      });
    };
    for (let i = 0; i < concurrency; i++) openNext();
  };
  lines.on("line", (line) => {
    if (line === "warm") {
      // Lazy work in the server (routes compiled, code optimized) happens
      // here, before the baseline.
      open(100, 100, () => {
        let closed = 0;
        for (const ws of sockets.splice(0)) {
          ws.on("close", () => {
            if (++closed === 100) console.log("warm");
          });
          ws.close(1000);
        }
      });
    } else if (line === "go") {
      open(flags.count, flags.concurrency, (seconds) => {
        console.log(`result ${JSON.stringify({ mode, opened: sockets.length, seconds })}`);
      });
    } else if (line === "close") {
      process.exit(0);
    }
  });
  lines.on("close", () => process.exit(0));
  console.log("ready");
}

if (mode === "idle") runIdle();
else fail(new Error(`unknown mode: ${mode}`));
