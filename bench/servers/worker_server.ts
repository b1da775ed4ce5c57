/**
 * The layer-cost benchmark on workerd, as one Worker module for both sides:
 * the `SIDE` text binding says which. `ours` serves
 * bench/servers/bench_app.ts through edgesocket's Workers adapter; `raw` is
 * a bare `WebSocketPair` Worker that echoes each message, with no Hono and
 * no edgesocket. bench/layer_cost.ts bundles it and runs it under workerd
 * directly (see there why not `wrangler dev`).
 */
import { createBenchApp } from "./bench_app.ts";

declare const WebSocketPair: {
  new (): { 0: WebSocket; 1: WebSocket & { accept(): void } };
};

/** The Worker's bindings. */
interface BenchEnv {
  SIDE?: string;
}

// The same work as the `/echo` route: binary back as binary, text as text.
function echoBare(request: Request): Response {
  if (request.headers.get("upgrade")?.toLowerCase() !== "websocket") {
    return new Response("Expected a WebSocket upgrade\n", { status: 426 });
  }
  const pair = new WebSocketPair();
  const socket = pair[1];
  socket.accept();
  socket.binaryType = "arraybuffer";
  socket.addEventListener("message", (event) => socket.send(event.data));
  return new Response(null, { status: 101, webSocket: pair[0] } as ResponseInit);
}

const app = createBenchApp();

export default {
  fetch(request: Request, env: BenchEnv): Response | Promise<Response> {
    return env.SIDE === "raw" ? echoBare(request) : app.fetch(request, env);
  },
};
