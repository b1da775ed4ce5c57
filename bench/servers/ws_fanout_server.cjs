// The fan-out benchmark's ws server: ws 8 with bufferutil, bound to
// 127.0.0.1 on a free port. Sockets on /fanout are the subscribers; every
// message on /publish is sent to each of them in a loop, as ws's README
// broadcasts (ws has no topics: each send frames the message again).
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
  } else ws.close(1008, "Unknown path");
});
