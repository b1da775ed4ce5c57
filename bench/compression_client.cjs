// The compression benchmark's load generator: one Node process with a raw
// WebSocket client over TCP, echoing JSON chat messages.
//
//   node compression_client.cjs --port --server-pid --clients --inflight
//        --warmup --duration --compress (0 or 1) --batch
//
// --batch 1 sends one chat message (~170 bytes of JSON) per WebSocket
// message; --batch 20 a history page of 20 (~3.4 KiB). The messages are
// 1,024 distinct ones cycled, so that a compressor cannot just repeat the
// last.
//
// The client must cost far less than the server, or it is the client that
// is measured (the `ws` client, compressing and inflating through zlib's
// thread pool, tops out below either server). So every frame it sends is
// built once: compressed without context takeover (it offers
// client_no_context_takeover), masked with a fixed key. It reads the
// answers' headers and payload lengths; the first connection also inflates
// every answer (context kept, as the server compresses) and compares it
// with what was sent. Prints one "result {json}" line: echoes per second,
// the bytes on the wire per echo each way (TCP payload, HTTP handshake
// excluded, frames included) and both processes' CPU.
"use strict";
const crypto = require("node:crypto");
const fs = require("node:fs");
const net = require("node:net");
const zlib = require("node:zlib");

const flags = Object.fromEntries(
  process.argv.slice(2).map((arg) => {
    const [name, value] = arg.replace(/^--/, "").split("=");
    return [name, Number(value)];
  }),
);
const compress = flags.compress === 1;
setTimeout(() => fail(new Error("watchdog fired")), (flags.warmup + flags.duration + 60) * 1000)
  .unref();

function fail(error) {
  console.error(`compression client: ${(error && error.stack) || error}`);
  process.exit(2);
}

// A small deterministic generator (mulberry32): every server sees the same text.
let seed = 42;
function random() {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const WORDS = ("the a to and of in is it you that was for on are with as I his they be at one " +
  "have this from or had by hot word but what some we can out other were all there when up use " +
  "your how said an each she which do their time if will way about many then them write would " +
  "like so these her long make thing see him two has look more day could go come did number " +
  "sound no most people my over know water than call first who may down side been now find " +
  "deploy edge socket room lobby latency message server client hello thanks 🙂 ✓").split(" ");
const NAMES = ["ada", "grace", "linus", "margaret", "ken", "barbara", "dennis", "frances", "alan"];
function chatMessage(i) {
  const words = [];
  const n = 5 + Math.floor(random() * 25);
  for (let k = 0; k < n; k++) words.push(WORDS[Math.floor(random() * WORDS.length)]);
  return {
    type: "message",
    room: "lobby",
    id: `m${100000 + i}`,
    from: NAMES[Math.floor(random() * NAMES.length)],
    text: words.join(" "),
    at: 1767225600000 + i * 1337,
  };
}
const MESSAGES = [];
for (let i = 0; i < 1024; i++) {
  const batch = [];
  for (let k = 0; k < flags.batch; k++) batch.push(chatMessage(i * flags.batch + k));
  MESSAGES.push(
    Buffer.from(
      JSON.stringify(flags.batch === 1 ? batch[0] : { type: "history", messages: batch }),
    ),
  );
}
const averageSize = MESSAGES.reduce((n, m) => n + m.length, 0) / MESSAGES.length;

const MASK = Buffer.from([0x5a, 0x13, 0xc7, 0x2e]);
function maskedFrame(payload, rsv1) {
  const n = payload.length;
  const head = n < 126 ? 2 : n < 65536 ? 4 : 10;
  const frame = Buffer.alloc(head + 4 + n);
  frame[0] = 0x81 | (rsv1 ? 0x40 : 0);
  if (n < 126) frame[1] = 0x80 | n;
  else if (n < 65536) (frame[1] = 0x80 | 126, frame.writeUInt16BE(n, 2));
  else (frame[1] = 0x80 | 127, frame.writeBigUInt64BE(BigInt(n), 2));
  MASK.copy(frame, head);
  for (let i = 0; i < n; i++) frame[head + 4 + i] = payload[i] ^ MASK[i & 3];
  return frame;
}
const FRAMES = MESSAGES.map((message) => {
  if (!compress) return maskedFrame(message, false);
  const deflated = zlib.deflateRawSync(message, { finishFlush: zlib.constants.Z_SYNC_FLUSH });
  return maskedFrame(deflated.subarray(0, deflated.length - 4), true);
});

// Inflates with context kept, synchronously, through the stream's handle
// (as the edgesocket Node adapter does): only the checking connection.
function createInflater() {
  const stream = zlib.createInflateRaw({ windowBits: 15 });
  const handle = stream._handle;
  let error;
  handle.onerror = (message) => (error = message);
  const out = Buffer.alloc(1 << 20);
  const tail = Buffer.from([0, 0, 0xff, 0xff]);
  return (payload) => {
    const input = Buffer.concat([payload, tail]);
    handle.writeSync(zlib.constants.Z_SYNC_FLUSH, input, 0, input.length, out, 0, out.length);
    if (error) fail(new Error(`inflate: ${error}`));
    if (stream._writeState[1] !== 0) fail(new Error("answer over 1 MiB"));
    return out.subarray(0, out.length - stream._writeState[0]);
  };
}

function readTicks(pid) {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return Number(fields[11]) + Number(fields[12]);
}

let received = 0;
let checked = 0;
// The first connection's first 128 answers, in bytes on the wire: the same
// messages in the same order for every server, so this compares the
// compressors exactly, whatever the window.
const CYCLE = 128;
let cycleBytes = 0;
let cycleFrames = 0;
let opened = 0;
const sockets = [];
// Wire bytes after the handshake, per socket.
const handshakeBytes = new Map();
function snapshot() {
  let down = 0;
  let up = 0;
  for (const socket of sockets) {
    const [read, written] = handshakeBytes.get(socket) ?? [socket.bytesRead, socket.bytesWritten];
    down += socket.bytesRead - read;
    up += socket.bytesWritten - written;
  }
  return {
    at: performance.now(),
    received,
    down,
    up,
    server: readTicks(flags["server-pid"]),
    client: readTicks(process.pid),
  };
}

function open(index) {
  const socket = net.connect(flags.port, "127.0.0.1");
  socket.setNoDelay(true);
  sockets.push(socket);
  const inflate = compress && index === 0 ? createInflater() : undefined;
  let next = index * 37;
  const pending = [];
  const send = () => {
    const at = next++ & 1023;
    pending.push(at);
    socket.write(FRAMES[at]);
  };
  let head = "";
  let buffer = null;
  socket.on("error", fail);
  socket.on("connect", () => {
    const extensions = compress
      ? "Sec-WebSocket-Extensions: permessage-deflate; client_no_context_takeover; " +
        "client_max_window_bits\r\n"
      : "";
    socket.write(
      `GET /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: ${crypto.randomBytes(16).toString("base64")}\r\n` +
        `Sec-WebSocket-Version: 13\r\n${extensions}\r\n`,
    );
  });
  const onFrame = (b0, payload, frameBytes) => {
    const at = pending.shift();
    if (index === 0 && cycleFrames < CYCLE) (cycleFrames++, cycleBytes += frameBytes);
    if ((b0 & 0x0f) !== 1 || ((b0 & 0x40) !== 0) !== compress) {
      fail(new Error(`unexpected frame 0x${b0.toString(16)}`));
    }
    if (inflate) {
      if (!inflate(payload).equals(MESSAGES[at])) fail(new Error("echo differs from the message"));
      checked++;
    } else if (!compress && payload.length !== MESSAGES[at].length) {
      fail(new Error("echo differs in length"));
    }
    received++;
    send();
  };
  const onData = (chunk) => {
    const data = buffer ? Buffer.concat([buffer, chunk]) : chunk;
    buffer = null;
    let pos = 0;
    while (data.length - pos >= 2) {
      let length = data[pos + 1] & 0x7f;
      let start = pos + 2;
      if (length === 126) {
        if (data.length - pos < 4) break;
        length = data.readUInt16BE(pos + 2);
        start = pos + 4;
      } else if (length === 127) {
        if (data.length - pos < 10) break;
        length = Number(data.readBigUInt64BE(pos + 2));
        start = pos + 10;
      }
      if (data.length - start < length) break;
      onFrame(data[pos], data.subarray(start, start + length), start - pos + length);
      pos = start + length;
    }
    if (pos < data.length) buffer = data.subarray(pos);
  };
  socket.on("data", (chunk) => {
    if (head !== null) {
      head += chunk.toString("latin1");
      const end = head.indexOf("\r\n\r\n");
      if (end === -1) return;
      const lines = head.slice(0, end).toLowerCase();
      if (!lines.startsWith("http/1.1 101")) fail(new Error(`no 101: ${lines.split("\r\n")[0]}`));
      if (lines.includes("permessage-deflate") !== compress) {
        fail(new Error(`permessage-deflate ${compress ? "not " : ""}agreed:\n${lines}`));
      }
      const rest = chunk.subarray(chunk.length - (head.length - end - 4));
      head = null;
      handshakeBytes.set(socket, [socket.bytesRead - rest.length, socket.bytesWritten]);
      socket.cork();
      for (let k = 0; k < flags.inflight; k++) send();
      socket.uncork();
      if (rest.length > 0) onData(rest);
      if (++opened === flags.clients) startWindow();
      return;
    }
    socket.cork();
    onData(chunk);
    socket.uncork();
  });
}

function startWindow() {
  setTimeout(() => {
    const from = snapshot();
    setTimeout(() => {
      const to = snapshot();
      const seconds = (to.at - from.at) / 1000;
      const echoes = to.received - from.received;
      const cpu = (ticks) => (ticks / 100 / seconds) * 100;
      if (compress && checked === 0) fail(new Error("no answer was checked"));
      if (cycleFrames < CYCLE) fail(new Error(`the first connection saw under ${CYCLE} answers`));
      console.log(`result ${
        JSON.stringify({
          rate: echoes / seconds,
          messageBytes: averageSize,
          downPerEcho: (to.down - from.down) / echoes,
          upPerEcho: (to.up - from.up) / echoes,
          cycleBytes,
          serverCpu: cpu(to.server - from.server),
          clientCpu: cpu(to.client - from.client),
          checked,
        })
      }`);
      for (const socket of sockets) socket.destroy();
      setTimeout(() => process.exit(0), 100);
    }, flags.duration * 1000);
  }, flags.warmup * 1000);
}

for (let c = 0; c < flags.clients; c++) open(c);
