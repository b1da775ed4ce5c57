/**
 * The layer-cost benchmark on Deno: `deno run -A bench/servers/deno_server.ts
 * ours|raw`. `ours` serves bench/servers/bench_app.ts through edgesocket
 * (`Deno.upgradeWebSocket` under the Hono layer); `raw` is a bare
 * `Deno.serve` whose every upgrade echoes each message with no Hono and no
 * edgesocket. Both bind 127.0.0.1 on a free port and print `listening <port>`.
 */
import { createBenchApp } from "./bench_app.ts";

const side = Deno.args[0];
if (side !== "ours" && side !== "raw") {
  console.error("usage: deno run -A bench/servers/deno_server.ts ours|raw");
  Deno.exit(2);
}

// The same work as the `/echo` route: binary back as binary, text as text.
function echoBare(request: Request): Response {
  if (request.headers.get("upgrade")?.toLowerCase() !== "websocket") {
    return new Response("Expected a WebSocket upgrade\n", { status: 426 });
  }
  const { socket, response } = Deno.upgradeWebSocket(request);
  socket.binaryType = "arraybuffer";
  socket.onmessage = (event) => socket.send(event.data);
  return response;
}

const fetch = side === "ours" ? createBenchApp().fetch : echoBare;
Deno.serve({
  hostname: "127.0.0.1",
  port: 0,
  onListen: ({ port }) => console.log(`listening ${port}`),
}, (request) => fetch(request));

// The idle test's forced GC (with `--v8-flags=--expose-gc`): collect, then
// print the memory, as the Node servers do on SIGUSR2.
Deno.addSignalListener("SIGUSR2", () => {
  (globalThis as { gc?: () => void }).gc?.();
  console.log(`memory ${JSON.stringify(Deno.memoryUsage())}`);
});
