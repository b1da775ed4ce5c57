/**
 * edgesocket's `serve()` sharing its Node server's `upgrade` event with a
 * second WebSocket library, `ws` in `noServer` mode, which takes `/other`,
 * `/` when the client offers `vite-hmr` (as Vite's hot reload does, on a
 * path where the app serves its page), and `/slow` after an asynchronous
 * `verifyClient`. OTHER_FIRST=1 registers its listener before edgesocket's.
 * Prints its port.
 */
import type { IncomingMessage } from "node:http";
import process from "node:process";
import type { Duplex } from "node:stream";
import { type WebSocket, WebSocketServer } from "ws";
import { serve } from "../../src/adapters/node.ts";
import { createEchoApp } from "../../examples/echo.ts";

const app = createEchoApp();
app.get("/slow", (c) => c.html("<!doctype html><p>the app's page at /slow"));

const server = serve(
  { fetch: app.fetch, port: 0, hostname: "127.0.0.1" },
  (info) => console.log(`listening ${info.port}`),
);

const greet = (name: string) => (ws: WebSocket) => {
  ws.on("message", (data: Buffer) => ws.send(`${name}: ${data}`));
};
const quick = new WebSocketServer({ noServer: true });
const slow = new WebSocketServer({
  noServer: true,
  verifyClient: (_info: unknown, callback: (ok: boolean) => void) =>
    setTimeout(() => callback(true), 50),
});

function onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
  const { pathname } = new URL(req.url ?? "/", "http://localhost");
  const hmr = req.headers["sec-websocket-protocol"] === "vite-hmr";
  if (pathname === "/other" || (pathname === "/" && hmr)) {
    quick.handleUpgrade(req, socket, head, greet(hmr ? "hmr" : "other"));
  } else if (pathname === "/slow") {
    slow.handleUpgrade(req, socket, head, greet("slow"));
  }
}

if (process.env.OTHER_FIRST === "1") server.prependListener("upgrade", onUpgrade);
else server.on("upgrade", onUpgrade);
