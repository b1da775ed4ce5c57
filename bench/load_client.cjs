// The benchmark's JavaScript load generator, for what the C one
// (bench/loadgen/loadgen.c: echo, handshakes, idle connections) does not do:
// fan-out, with raw-TCP subscribers and ws's client as the publisher; and an
// idle mode on ws's client. Modes, with flags --name=value:
//
//   idle           --port --count --concurrency
//                  stdin: "warm" opens and closes 100, "go" opens --count, "close" exits
//   fanout         --port --publish-port --server-pid --subscribers --size --window --rate
//                  --warmup --duration (see runFanout)
//
// --server-pid-2, --server-pid-3 … add more processes to the server's CPU
// (a backplane and its nodes).
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

// Every --server-pid and --server-pid-N: the server's processes.
const serverPids = Object.keys(flags)
  .filter((name) => /^server-pid(-\d+)?$/.test(name) && flags[name])
  .map((name) => flags[name]);

function snapshot(count) {
  return {
    at: performance.now(),
    count,
    server: serverPids.reduce((sum, pid) => sum + readTicks(pid), 0),
    client: readTicks(process.pid),
    cores: readCores(),
  };
}

function measureCpu(fields, from, to) {
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
  return {
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
  };
}

function measureWindow(count, done) {
  setTimeout(() => {
    const from = snapshot(count());
    setTimeout(() => done(from, snapshot(count())), flags.duration * 1000);
  }, flags.warmup * 1000);
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

// Fan-out: --subscribers sockets on /fanout and one publisher on /publish
// (--publish-port, default --port: a backplane's other node). Subscribers
// are raw TCP with a minimal client (one canned handshake, then a parser of
// the server's unmasked frames that reads 16 bytes of each payload), so the
// load generator spends as little as it can per delivery; the publisher is
// ws's client. Each message is --size bytes of binary: its sequence number
// (uint32 LE at 0) and its send time (float64 LE at 8, performance.now() of
// this process, which also receives it).
//
// 1. Sync: a publish every 50 ms until one reaches every subscriber: all
//    are subscribed from then on (subscribing may be asynchronous).
// 2. Closed loop: --window publishes in flight; the next leaves when the
//    oldest has reached every subscriber. Measured over --duration after
//    --warmup: deliveries/s (the result's rate and CPU figures).
// 3. Open loop: --rate publishes/s on a fixed schedule, whatever arrives.
//    Measured over --duration after --warmup: the latency from send to
//    receipt of each delivery (p50, p99, max), the time for a publish to
//    reach its last subscriber (p50, p99), and deliveries/s (in `extra`).
function runFanout() {
  const count = flags.subscribers;
  const size = flags.size;
  const window = flags.window || 16;
  const rate = flags.rate || 50;
  const publishUrl = `ws://127.0.0.1:${flags["publish-port"] || flags.port}/publish`;
  const RING = 1 << 16;
  const received = new Uint32Array(RING);
  let phase = "connect";
  let nextSeq = 0;
  let completedSeq = -1;
  // The first closed-loop publish: sync publishes still in flight do not
  // open more of the window.
  let closedFrom = Infinity;
  let delivered = 0;
  let wrong = 0;
  let recording = false;
  const latencies = [];
  const reachAll = [];
  let publisher;
  let lastProgress = performance.now();

  const publish = () => {
    const seq = nextSeq++;
    received[seq % RING] = 0;
    const message = Buffer.alloc(size, 0xab);
    message.writeUInt32LE(seq, 0);
    message.writeDoubleLE(performance.now(), 8);
    publisher.send(message);
  };

  const onComplete = (seq, sentAt, now) => {
    completedSeq = seq;
    lastProgress = now;
    if (phase === "sync") {
      phase = "closed";
      startClosed();
    } else if (phase === "closed") {
      if (seq >= closedFrom) publish();
    } else if (phase === "open" && recording) reachAll.push(now - sentAt);
  };

  const onDelivery = (chunk, at, length) => {
    delivered++;
    if (length !== size) {
      wrong++;
      return;
    }
    const seq = chunk.readUInt32LE(at);
    if (phase === "open") {
      const sentAt = chunk.readDoubleLE(at + 8);
      const now = performance.now();
      if (recording) latencies.push(now - sentAt);
      if (++received[seq % RING] === count) onComplete(seq, sentAt, now);
    } else if (++received[seq % RING] === count) {
      onComplete(seq, 0, performance.now());
    }
  };

  // Answers a ping (opcode 9) with a pong, masked with a zero key.
  const pong = (socket, chunk, at, length) => {
    const frame = Buffer.alloc(6 + length);
    frame[0] = 0x8a;
    frame[1] = 0x80 | length;
    chunk.copy(frame, 6, at, at + length);
    socket.write(frame);
  };

  const request = Buffer.from(
    `GET /fanout HTTP/1.1\r\nHost: 127.0.0.1:${flags.port}\r\nUpgrade: websocket\r\n` +
      `Connection: Upgrade\r\nSec-WebSocket-Key: ${crypto.randomBytes(16).toString("base64")}\r\n` +
      "Sec-WebSocket-Version: 13\r\n\r\n",
  );
  const subscribe = (onOpen) => {
    const socket = net.connect(flags.port, "127.0.0.1");
    socket.setNoDelay(true);
    let head = "";
    let open = false;
    let pending = null;
    socket.on("connect", () => socket.write(request));
    socket.on("data", (data) => {
      let chunk = data;
      if (!open) {
        head += chunk.toString("latin1");
        const end = head.indexOf("\r\n\r\n");
        if (end === -1) return;
        if (!head.startsWith("HTTP/1.1 101")) fail(new Error(`no 101: ${head.split("\r\n")[0]}`));
        open = true;
        chunk = chunk.subarray(chunk.length - (head.length - end - 4));
        onOpen();
        if (chunk.length === 0) return;
      }
      if (pending) {
        chunk = Buffer.concat([pending, chunk]);
        pending = null;
      }
      const end = chunk.length;
      let at = 0;
      while (end - at >= 2) {
        let length = chunk[at + 1] & 0x7f;
        let header = 2;
        if (length === 126) {
          if (end - at < 4) break;
          length = chunk.readUInt16BE(at + 2);
          header = 4;
        } else if (length === 127) {
          if (end - at < 10) break;
          length = Number(chunk.readBigUInt64BE(at + 2));
          header = 10;
        }
        if (end - at < header + length) break;
        const opcode = chunk[at] & 0x0f;
        if (opcode === 2) onDelivery(chunk, at + header, length);
        else if (opcode === 9) pong(socket, chunk, at + header, length);
        else if (opcode === 8) fail(new Error("the server closed a subscriber"));
        else wrong++;
        at += header + length;
      }
      if (at < end) pending = chunk.subarray(at);
    });
    socket.on("error", fail);
  };

  const startClosed = () => {
    closedFrom = nextSeq;
    for (let k = 0; k < window; k++) publish();
    measureWindow(() => delivered, (from, to) => {
      const closed = measureCpu({ subscribers: count, size, window }, from, to);
      phase = "drain";
      const drained = () => {
        if (completedSeq === nextSeq - 1 || performance.now() - lastProgress > 2000) {
          startOpen(closed);
        } else setTimeout(drained, 10);
      };
      drained();
    });
    const stall = setInterval(() => {
      if (phase !== "closed") return clearInterval(stall);
      if (performance.now() - lastProgress > 10_000) {
        fail(
          new Error(
            `closed loop stalled: publish ${completedSeq + 1} reached ` +
              `${received[(completedSeq + 1) % RING]} of ${count} subscribers`,
          ),
        );
      }
    }, 1000);
  };

  const startOpen = (closed) => {
    phase = "open";
    const interval = 1000 / rate;
    const start = performance.now();
    let sent = 0;
    let stopped = false;
    // A fixed schedule: a late timer sends at once, never fewer messages.
    const tick = () => {
      if (stopped) return;
      while (start + sent * interval <= performance.now()) (publish(), sent++);
      setTimeout(tick, Math.max(0, start + sent * interval - performance.now()));
    };
    tick();
    setTimeout(() => (recording = true), flags.warmup * 1000);
    measureWindow(() => delivered, (from, to) => {
      recording = false;
      stopped = true;
      const open = measureCpu({}, from, to);
      if (wrong > 0) fail(new Error(`${wrong} deliveries were not ${size}-byte binary messages`));
      const sorted = Float64Array.from(latencies).sort();
      const reach = Float64Array.from(reachAll).sort();
      const at = (values, q) =>
        values.length ? values[Math.min(values.length - 1, Math.floor(q * values.length))] : NaN;
      console.log(`result ${
        JSON.stringify({
          ...closed,
          otherCpu: Math.max(closed.otherCpu, open.otherCpu),
          extra: {
            closedOtherCpu: closed.otherCpu,
            openRate: open.rate,
            openExpected: rate * count,
            p50: at(sorted, 0.5),
            p99: at(sorted, 0.99),
            max: sorted.length ? sorted[sorted.length - 1] : NaN,
            reachAllP50: at(reach, 0.5),
            reachAllP99: at(reach, 0.99),
            latencySamples: sorted.length,
            openServerCpu: open.serverCpu,
            openClientCpu: open.clientCpu,
            openOtherCpu: open.otherCpu,
          },
        })
      }`);
      setTimeout(() => process.exit(0), 100);
    });
  };

  // Subscribers first, 100 handshakes at a time; then the publisher.
  let started = 0;
  let opened = 0;
  const openNext = () => {
    if (started >= count) return;
    started++;
    subscribe(() => {
      if (++opened === count) openPublisher();
      else openNext();
    });
  };
  for (let i = 0; i < Math.min(100, count); i++) openNext();

  function openPublisher() {
    publisher = new WebSocket(publishUrl, options);
    publisher.on("error", fail);
    publisher.on("close", () => {
      if (phase !== "open") fail(new Error("the publisher was closed"));
    });
    publisher.on("open", () => {
      phase = "sync";
      const sync = setInterval(() => {
        if (phase !== "sync") clearInterval(sync);
        else publish();
      }, 50);
    });
  }
}

if (mode === "idle") runIdle();
else if (mode === "fanout") runFanout();
else fail(new Error(`unknown mode: ${mode}`));
