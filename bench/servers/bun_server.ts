/**
 * The layer-cost and fan-out benchmarks on Bun: `bun run
 * bench/servers/bun_server.ts ours|raw`. `ours` serves
 * bench/servers/bench_app.ts through edgesocket's Bun adapter; `raw` is a
 * bare `Bun.serve` with the same routes in Bun's own API: `/echo` echoes,
 * `/fanout` subscribes to the topic natively, `/publish` publishes with
 * Bun's `ws.publish()`. Both bind 127.0.0.1 on a free port and print
 * `listening <port>`. `raw-arraybuffer` is `raw` with `ws.binaryType =
 * "arraybuffer"`: binary messages reach its handler as the ArrayBuffers that
 * edgesocket's handlers get (WHATWG's and Hono's default), where Bun's own
 * default hands over a Buffer. `hono` serves `/echo` through Hono's own Bun
 * helper (`upgradeWebSocket` and `websocket` from `hono/bun`): what a Hono
 * app costs on Bun without edgesocket. `hono-contract` is the least a layer
 * under Hono's contract can keep, on `/echo`: Hono's routing,
 * `server.upgrade()`, and for each upgrade the handlers object that
 * `createEvents(c)` would return, kept as the socket's `data` and called
 * directly (no context, no session). Those two serve only the echo route,
 * the one their rows measure.
 */
import process from "node:process";
import { Hono } from "hono";
import { upgradeWebSocket as honoUpgradeWebSocket, websocket as honoWebSocket } from "hono/bun";
import { websocket } from "../../src/adapters/bun.ts";
import { createBenchApp, TOPIC } from "./bench_app.ts";

interface BareSocket {
  data: string;
  binaryType: string;
  send(data: string | ArrayBuffer | Uint8Array): number;
  subscribe(topic: string): void;
  publish(topic: string, data: string | ArrayBuffer | Uint8Array): number;
}

interface BareServer {
  upgrade(request: Request, options: { data: string }): boolean;
}

declare const Bun: {
  serve(options: {
    hostname: string;
    port: number;
    fetch: (request: Request, server: never) => Response | Promise<Response> | undefined;
    websocket: unknown;
  }): { port: number };
};

const side = process.argv[2];
if (!["ours", "raw", "raw-arraybuffer", "hono", "hono-contract"].includes(side)) {
  console.error(
    "usage: bun run bench/servers/bun_server.ts ours|raw|raw-arraybuffer|hono|hono-contract",
  );
  process.exit(2);
}

// Bun's defaults otherwise (16 MiB, 120 s, pings): the same for the work
// measured here, which never comes near them.
const bare = {
  open(ws: BareSocket) {
    if (side === "raw-arraybuffer") ws.binaryType = "arraybuffer";
    if (ws.data === "/fanout") ws.subscribe(TOPIC);
  },
  message(ws: BareSocket, message: string | Uint8Array) {
    if (ws.data === "/publish") ws.publish(TOPIC, message);
    else ws.send(message);
  },
};

function fetchBare(request: Request, server: BareServer): Response | undefined {
  const path = new URL(request.url).pathname;
  if (server.upgrade(request, { data: path })) return undefined;
  return new Response("Expected a WebSocket upgrade\n", { status: 426 });
}

// The echo route through Hono's own Bun helper: the only route the `hono`
// side is measured on (echo windows, idle connections).
function createHonoApp(): Hono {
  const app = new Hono();
  app.get(
    "/echo",
    honoUpgradeWebSocket(() => ({
      onMessage(event, ws) {
        ws.send(event.data as string | ArrayBuffer);
      },
    })),
  );
  return app;
}

// What `createEvents(c)` returns for each upgrade: a handlers object with
// its own closure, as an app's object literal makes.
interface ContractEvents {
  onMessage(message: string | Uint8Array, ws: BareSocket): void;
}

// Hono's contract and nothing more, on the echo route: routing, the
// upgrade, the handlers kept per socket, called with Bun's own socket.
function createContractApp(): Hono {
  const app = new Hono();
  app.get("/echo", (c) => {
    const server = c.env as unknown as { upgrade(r: Request, o: { data: unknown }): boolean };
    const events: ContractEvents = { onMessage: (message, ws) => ws.send(message) };
    if (server.upgrade(c.req.raw, { data: events })) return new Response(null);
    return c.text("Expected a WebSocket upgrade", 426);
  });
  return app;
}

const contract = {
  message(ws: BareSocket, message: string | Uint8Array) {
    (ws.data as unknown as ContractEvents).onMessage(message, ws);
  },
};

type Fetch = (request: Request, server: never) => Response | Promise<Response> | undefined;
const [fetch, handlers]: [Fetch, unknown] = side === "ours"
  ? [createBenchApp().fetch, websocket]
  : side === "hono"
  ? [createHonoApp().fetch, honoWebSocket]
  : side === "hono-contract"
  ? [createContractApp().fetch, contract]
  : [fetchBare as Fetch, bare];
const server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch, websocket: handlers });
console.log(`listening ${server.port}`);

// JavaScriptCore's own heap statistics (`bun:jsc`): the objects alive by
// type, for what each idle connection leaves in the heap. Loaded at start,
// not in the idle test's window.
const jsc = await import("bun:" + "jsc") as {
  heapStats(): { objectTypeCounts: Record<string, number> };
};

// The idle test's forced GC: collect, then print the memory, as the Node
// servers do on SIGUSR2, with the heap's objects by type.
process.on("SIGUSR2", () => {
  (globalThis as unknown as { Bun: { gc(force: boolean): void } }).Bun.gc(true);
  const objects = jsc.heapStats().objectTypeCounts;
  console.log(`memory ${JSON.stringify({ ...process.memoryUsage(), objects })}`);
});
