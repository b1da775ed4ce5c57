// The benchmark's load generator: one Node process, the same for every server.
// It drives the `ws` client (with bufferutil), except in handshake-raw mode.
// Modes, with flags --name=value:
//
//   echo           --port --server-pid --clients --inflight --size --warmup --duration
//   handshake      --port --server-pid --concurrency --warmup --duration
//   handshake-raw  the same, with a minimal raw-TCP client instead of ws's
//   idle           --port --count --concurrency
//                  stdin: "warm" opens and closes 100, "go" opens --count, "close" exits
//
// Results are JSON lines on stdout prefixed with "result ". CPU figures are
// utime+stime deltas from /proc/<pid>/stat over the measured window.
"use strict";
const crypto = require("node:crypto");
const fs = require("node:fs");
const net = require("node:net");
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
const clockTicks = flags["clock-ticks"] || 100;
const options = { perMessageDeflate: false };

// A watchdog: no mode outlives its budget.
const budget = ((flags.warmup || 0) + (flags.duration || 0) + 120) * 1000;
setTimeout(() => fail(new Error("watchdog fired")), budget).unref();

function fail(error) {
  console.error(`load client: ${(error && error.stack) || error}`);
  process.exit(2);
}

function readTicks(pid) {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return Number(fields[11]) + Number(fields[12]); // utime + stime
}

// Per core: [busy, total, softirq] ticks. Busy (all but idle and iowait)
// includes softirq, where loopback TCP work is accounted to no process.
function readCores() {
  const cores = [];
  for (const line of fs.readFileSync("/proc/stat", "utf8").split("\n")) {
    const match = /^cpu(\d+) (.*)/.exec(line);
    if (!match) continue;
    const t = match[2].trim().split(/\s+/).map(Number);
    const total = t.slice(0, 8).reduce((a, b) => a + b, 0);
    cores[Number(match[1])] = [total - t[3] - t[4], total, t[6]];
  }
  return cores;
}

function snapshot(count) {
  return {
    at: performance.now(),
    count,
    server: flags["server-pid"] ? readTicks(flags["server-pid"]) : 0,
    client: readTicks(process.pid),
    cores: readCores(),
  };
}

function report(fields, from, to) {
  const seconds = (to.at - from.at) / 1000;
  const cpu = (ticks) => (ticks / clockTicks / seconds) * 100;
  const serverCpu = cpu(to.server - from.server);
  const clientCpu = cpu(to.client - from.client);
  let busy = 0;
  let softirq = 0;
  const coreBusy = to.cores.map((core, i) => {
    busy += core[0] - from.cores[i][0];
    softirq += core[2] - from.cores[i][2];
    return ((core[0] - from.cores[i][0]) / Math.max(1, core[1] - from.cores[i][1])) * 100;
  });
  console.log(`result ${
    JSON.stringify({
      mode,
      ...fields,
      count: to.count - from.count,
      seconds,
      rate: (to.count - from.count) / seconds,
      serverCpu,
      clientCpu,
      coreBusy,
      softirqCpu: cpu(softirq),
      // CPU used by neither process nor the kernel's network work: other
      // programs on the machine, in % of one core. High means a noisy sample.
      otherCpu: Math.max(0, cpu(busy - softirq) - serverCpu - clientCpu),
    })
  }`);
}

function measureWindow(count, done) {
  setTimeout(() => {
    const from = snapshot(count());
    setTimeout(() => done(from, snapshot(count())), flags.duration * 1000);
  }, flags.warmup * 1000);
}

function runEcho() {
  const payload = Buffer.alloc(flags.size, 0xab);
  let received = 0;
  let wrong = 0;
  let opened = 0;
  const sockets = [];
  for (let i = 0; i < flags.clients; i++) {
    const ws = new WebSocket(url, options);
    sockets.push(ws);
    ws.on("error", fail);
    let corked = false;
    const uncork = () => {
      corked = false;
      ws._socket.uncork();
    };
    ws.on("message", (data, isBinary) => {
      received++;
      if (!isBinary || data.length !== flags.size) wrong++;
      // The answers to one read leave in one write: fewer syscalls per
      // message on the client's core, whatever the server.
      if (!corked) {
        corked = true;
        ws._socket.cork();
        process.nextTick(uncork);
      }
      ws.send(payload);
    });
    ws.on("open", () => {
      for (let k = 0; k < flags.inflight; k++) ws.send(payload);
      if (++opened < flags.clients) return;
      measureWindow(() => received, (from, to) => {
        if (wrong > 0) fail(new Error(`${wrong} echoes differed from the message sent`));
        report({ clients: flags.clients, inflight: flags.inflight }, from, to);
        for (const socket of sockets) socket.terminate();
        setTimeout(() => process.exit(0), 100);
      });
    });
  }
}

// ws's client: upgrade, then a clean close; the next starts once it closed.
function connectWs(onOpen, onDone, onError) {
  const ws = new WebSocket(url, options);
  let done = false;
  ws.on("open", () => {
    onOpen();
    ws.close(1000);
  });
  ws.on("close", () => {
    if (!done) (done = true, onDone());
  });
  ws.on("error", onError);
}

// A minimal client: a canned request, "101" awaited, a masked close frame
// (code 1000), then the server's end. It costs the load generator far less
// CPU per handshake than ws's client.
const rawRequest = Buffer.from(
  `GET /echo HTTP/1.1\r\nHost: 127.0.0.1:${flags.port}\r\nUpgrade: websocket\r\n` +
    `Connection: Upgrade\r\nSec-WebSocket-Key: ${crypto.randomBytes(16).toString("base64")}\r\n` +
    "Sec-WebSocket-Version: 13\r\n\r\n",
);
const rawClose = Buffer.from([0x88, 0x82, 0x11, 0x22, 0x33, 0x44, 0x03 ^ 0x11, 0xe8 ^ 0x22]);
function connectRaw(onOpen, onDone, onError) {
  const socket = net.connect(flags.port, "127.0.0.1");
  let head = "";
  let opened = false;
  let done = false;
  socket.setNoDelay(true);
  socket.on("connect", () => socket.write(rawRequest));
  socket.on("data", (chunk) => {
    if (opened) return;
    head += chunk.toString("latin1");
    if (!head.includes("\r\n\r\n")) return;
    if (!head.startsWith("HTTP/1.1 101")) {
      onError(new Error(`no 101: ${head.split("\r\n")[0]}`));
      socket.destroy();
      return;
    }
    opened = true;
    onOpen();
    socket.write(rawClose);
  });
  socket.on("end", () => socket.end());
  socket.on("close", () => {
    if (!done) (done = true, onDone());
  });
  socket.on("error", onError);
}

function runHandshake(connect) {
  let upgrades = 0;
  let errors = 0;
  let stopping = false;
  const onOpen = () => upgrades++;
  const onError = () => {
    if (++errors > 1000) fail(new Error("over 1,000 failed handshakes"));
  };
  const loop = () => {
    if (!stopping) connect(onOpen, loop, onError);
  };
  for (let i = 0; i < flags.concurrency; i++) loop();
  measureWindow(() => upgrades, (from, to) => {
    report({ concurrency: flags.concurrency, errors }, from, to);
    stopping = true;
    setTimeout(() => process.exit(0), 100);
  });
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

if (mode === "echo") runEcho();
else if (mode === "handshake") runHandshake(connectWs);
else if (mode === "handshake-raw") runHandshake(connectRaw);
else if (mode === "idle") runIdle();
else fail(new Error(`unknown mode: ${mode}`));
