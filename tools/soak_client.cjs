// The soak test's load generator: one Node process holding --count `ws`
// clients (with bufferutil) on ws://127.0.0.1:--port/echo. tools/soak.ts runs
// one or more and drives them over stdin, one command a line:
//
//   warm    opens 50 clients, one echo each, and closes them (lazy work in
//           the server happens before its baseline memory); prints "warm"
//   open    opens the clients, --concurrency handshakes at a time;
//           prints "opened {seconds, opened, failed}"
//   run     the clients send numbered messages, --inflight at a time, --rate
//           messages a second in all (0: each client sends its next as soon
//           as its echoes are back), and check every echo; every
//           --churn-period seconds a --churn share of the clients drop their
//           TCP connection (no close frame) and reconnect, carrying on with
//           the numbering. Prints "stats {...}" every second.
//   stop    stops sending, waits for the echoes in flight (bounded), closes
//           every client with 1000 and prints "result {...}"
//
// Each connection's echoes must come back exactly once and in order: an echo
// that skips ahead is "reordered", one that is not outstanding "duplicated",
// and what is still outstanding at the end is "lost". Messages in flight on a
// connection the client itself dropped are "cut", not lost.
"use strict";
const readline = require("node:readline");
const WebSocket = require("ws");

const flags = Object.fromEntries(
  process.argv.slice(2).map((arg) => {
    const [name, value] = arg.replace(/^--/, "").split("=");
    return [name, Number(value)];
  }),
);
const url = `ws://127.0.0.1:${flags.port}/echo`;
const count = flags.count;
const inflight = flags.inflight || 2;
const rate = flags.rate || 0;
const churn = flags.churn ?? 0.05;
const churnPeriod = (flags["churn-period"] || 5) * 1000;
const options = { perMessageDeflate: false };

// Latency histogram: bucket k holds [1.05^k, 1.05^(k+1)) microseconds.
const BUCKET_BASE = Math.log(1.05);
const histogram = new Array(400).fill(0);
function recordLatency(ms) {
  const k = Math.max(0, Math.floor(Math.log(Math.max(1, ms * 1000)) / BUCKET_BASE));
  histogram[Math.min(k, histogram.length - 1)]++;
}

const totals = {
  sent: 0,
  echoed: 0,
  lost: 0,
  reordered: 0,
  duplicated: 0,
  cut: 0,
  unexpectedCloses: 0,
  connectErrors: 0,
  drops: 0,
  reconnects: 0,
};
const errors = [];
function noteError(message) {
  if (errors.length < 20) errors.push(message);
}

let running = false;
let stopping = false;

// One logical client: its numbering runs on across reconnects.
class Client {
  constructor(id) {
    this.id = id;
    this.seq = 0;
    this.ws = null;
    this.open = false;
    // Outstanding numbers and their send times, oldest first.
    this.pending = [];
    this.times = [];
  }

  connect(onOpen) {
    const ws = new WebSocket(url, options);
    this.ws = ws;
    this.open = false;
    this.pending = [];
    this.times = [];
    ws.on("open", () => {
      if (this.ws !== ws) return;
      this.open = true;
      onOpen(true);
      this.fill();
    });
    ws.on("message", (data) => {
      if (this.ws === ws) this.receive(Number(data.toString()));
    });
    ws.on("error", (error) => {
      if (this.ws !== ws) return;
      if (!this.open) {
        totals.connectErrors++;
        noteError(`client ${this.id}: connect: ${error.message}`);
        this.ws = null;
        onOpen(false);
      }
    });
    ws.on("close", (code) => {
      if (this.ws !== ws || !this.open) return;
      this.open = false;
      this.ws = null;
      totals.unexpectedCloses++;
      noteError(`client ${this.id}: closed by the server with ${code}`);
    });
  }

  // Unpaced: the next messages as soon as there is room.
  fill() {
    if (rate === 0) this.burst();
  }

  // Sends --inflight messages if none is outstanding; returns whether it did.
  burst() {
    if (!running || stopping || !this.open || this.pending.length > 0) return false;
    while (this.pending.length < inflight) {
      const seq = ++this.seq;
      this.pending.push(seq);
      this.times.push(performance.now());
      this.ws.send(String(seq));
      totals.sent++;
    }
    return true;
  }

  receive(seq) {
    const at = this.pending.indexOf(seq);
    if (at === -1) {
      totals.duplicated++;
      noteError(`client ${this.id}: echo ${seq} not outstanding`);
      return;
    }
    if (at > 0) {
      totals.reordered++;
      noteError(`client ${this.id}: echo ${seq} before ${this.pending[0]}`);
    }
    recordLatency(performance.now() - this.times[at]);
    this.pending.splice(at, 1);
    this.times.splice(at, 1);
    totals.echoed++;
    this.fill();
  }

  // An abrupt disconnect: the TCP socket goes, no close frame.
  drop() {
    const ws = this.ws;
    if (!ws || !this.open) return;
    this.open = false;
    this.ws = null;
    totals.cut += this.pending.length;
    totals.drops++;
    ws.terminate();
    this.reconnect(3);
  }

  // A reconnect may meet a full accept queue: it tries again, a few times.
  reconnect(tries) {
    this.connect((ok) => {
      if (ok) totals.reconnects++;
      else if (tries > 1) setTimeout(() => this.reconnect(tries - 1), 200);
    });
  }

  // At the end: what never came back is lost.
  settle() {
    totals.lost += this.pending.length;
    if (this.pending.length > 0) {
      noteError(`client ${this.id}: ${this.pending.length} echoes missing from ${this.pending[0]}`);
    }
    this.pending = [];
    this.times = [];
  }
}

const clients = [];
for (let i = 0; i < count; i++) clients.push(new Client(i));

function held() {
  let n = 0;
  for (const client of clients) if (client.open) n++;
  return n;
}

function openAll(concurrency) {
  const start = performance.now();
  let next = 0;
  let done = 0;
  let failed = 0;
  const openNext = () => {
    if (next >= count) return;
    const client = clients[next++];
    client.connect((ok) => {
      if (!ok) failed++;
      if (++done === count) {
        const seconds = (performance.now() - start) / 1000;
        report("opened", { seconds, opened: held(), failed });
      }
      openNext();
    });
  };
  for (let i = 0; i < Math.min(concurrency, count); i++) openNext();
}

function report(kind, fields) {
  console.log(`${kind} ${JSON.stringify(fields)}`);
}

let statsTimer;
let churnTimer;
let sendTimer;
let runStarted = 0;
let runSeconds = 0;
let echoedAtStop = 0;
function run() {
  running = true;
  runStarted = performance.now();
  const elapsed = () => performance.now() - runStarted;
  for (const client of clients) client.fill();
  statsTimer = setInterval(
    () => report("stats", { ...totals, held: held(), elapsed: elapsed() }),
    1000,
  );
  // Paced: what is due by the clock, so a late timer catches up (at most
  // half a second's worth), to clients whose echoes are all back.
  if (rate > 0) {
    let due = 0;
    let last = 0;
    let cursor = 0;
    sendTimer = setInterval(() => {
      const now = elapsed();
      due = Math.min(due + (rate * (now - last)) / 1000, rate / 2);
      last = now;
      for (let scanned = 0; due >= inflight && scanned < count; scanned++) {
        if (clients[cursor].burst()) due -= inflight;
        cursor = (cursor + 1) % count;
      }
    }, 10);
  }
  // Drops by the clock too: a random share of the clients each period.
  const perMs = (count * churn) / churnPeriod;
  let dropped = 0;
  churnTimer = setInterval(() => {
    if (stopping) return;
    for (; dropped < Math.floor(elapsed() * perMs); dropped++) {
      // An open one: the pick may be reconnecting.
      for (let tries = 0; tries < 10; tries++) {
        const client = clients[Math.floor(Math.random() * count)];
        if (client.open) {
          client.drop();
          break;
        }
      }
    }
  }, 100);
}

function stop() {
  stopping = true;
  runSeconds = (performance.now() - runStarted) / 1000;
  echoedAtStop = totals.echoed;
  clearInterval(churnTimer);
  clearInterval(sendTimer);
  const deadline = performance.now() + (flags.drain || 10) * 1000;
  const waitForEchoes = () => {
    const outstanding = clients.some((c) => c.open && c.pending.length > 0);
    const connecting = clients.some((c) => c.ws && !c.open);
    if ((outstanding || connecting) && performance.now() < deadline) {
      setTimeout(waitForEchoes, 50);
      return;
    }
    clearInterval(statsTimer);
    const heldAtEnd = held();
    for (const client of clients) client.settle();
    closeAll(heldAtEnd);
  };
  waitForEchoes();
}

function closeAll(heldAtEnd) {
  let waiting = 0;
  let cleanCloses = 0;
  let finished = false;
  const finish = () => {
    if (finished) return;
    finished = true;
    report("result", {
      ...totals,
      held: heldAtEnd,
      cleanCloses,
      runSeconds,
      echoedAtStop,
      histogram,
      errors,
    });
    setTimeout(() => process.exit(0), 50);
  };
  for (const client of clients) {
    const ws = client.ws;
    if (!ws || !client.open) continue;
    client.open = false;
    client.ws = null;
    waiting++;
    ws.on("close", (code) => {
      if (code === 1000) cleanCloses++;
      if (--waiting === 0) finish();
    });
    ws.close(1000);
  }
  if (waiting === 0) finish();
  // Bounded: a server that never answers the close does not hold the run.
  setTimeout(finish, 10_000).unref();
}

// A watchdog: the parent's own timeouts come first; this one catches an
// orphaned process.
setTimeout(() => {
  console.error("soak client: watchdog fired");
  process.exit(2);
}, (flags.budget || 3600) * 1000).unref();

function warm() {
  const total = Math.min(50, count);
  let done = 0;
  for (let i = 0; i < total; i++) {
    const ws = new WebSocket(url, options);
    ws.on("open", () => ws.send("0"));
    ws.on("message", () => ws.close(1000));
    ws.on("error", (error) => noteError(`warm: ${error.message}`));
    ws.on("close", () => {
      if (++done === total) report("warm", { errors });
    });
  }
}

const lines = readline.createInterface({ input: process.stdin });
lines.on("line", (line) => {
  if (line === "warm") warm();
  else if (line === "open") openAll(flags.concurrency || 200);
  else if (line === "run") run();
  else if (line === "stop") stop();
});
// The parent went away: so do we.
lines.on("close", () => process.exit(0));
report("ready", { pid: process.pid });
