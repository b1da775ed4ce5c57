// The compression benchmark's ws server: a ws 8 echo with bufferutil and,
// per the COMPRESSION variable ("off", or the threshold in bytes), ws's
// permessage-deflate with its defaults otherwise (context kept, level 6,
// memLevel 8, concurrencyLimit 10), bound to 127.0.0.1 on a free port.
"use strict";
const { WebSocketServer } = require("ws");

const bufferutil = require("bufferutil");
if (!String(bufferutil.mask).includes("[native code]")) {
  throw new Error("bufferutil is not native: no prebuild for this platform");
}

const setting = process.env.COMPRESSION || "off";
const perMessageDeflate = setting === "off" ? false : { threshold: Number(setting) };
const wss = new WebSocketServer({ host: "127.0.0.1", port: 0, perMessageDeflate });
wss.on("listening", () => console.log(`listening ${wss.address().port}`));
wss.on("connection", (ws) => {
  ws.on("message", (data, isBinary) => ws.send(data, { binary: isBinary }));
  ws.on("error", () => {});
});
