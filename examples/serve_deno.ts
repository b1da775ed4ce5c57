/**
 * The demo app on Deno: `deno run -A examples/serve_deno.ts` (PORT, default
 * 8000; HOST; SECRET; REDIS_URL; HISTORY_ENTRIES), with `Deno.serve` and `Deno.upgradeWebSocket`; with
 * `--codec` (`deno task serve:codec`), with `serveWithCodec()`: the same app,
 * options and shutdown, the sockets driven by the codec over Deno's
 * `node:http`. On SIGINT or SIGTERM every client gets 1001 (Going Away)
 * before the process exits.
 */
import { serveWithCodec } from "../src/entries/deno.ts";
import { createApp, createRandomSecret } from "./app.ts";
import { ConnectionRegistry } from "./chat/connections.ts";
import { createGracefulShutdown } from "./chat/graceful_shutdown.ts";
import { useRedisFromEnv } from "./chat/redis_from_env.ts";

// HISTORY_ENTRIES: events kept per room for resuming pages (default 1,000).
const historyEntries = Number(Deno.env.get("HISTORY_ENTRIES")) || undefined;
const stores = useRedisFromEnv(Deno.env.get("REDIS_URL"), { historyEntries });

const connections = new ConnectionRegistry();
const app = createApp({
  secret: Deno.env.get("SECRET") || createRandomSecret(),
  connections,
  replay: { maxEntries: historyEntries },
  resume: { sessions: stores.sessions },
});

const codec = Deno.args.includes("--codec");
const how = codec ? "the codec over node:http" : "Deno.upgradeWebSocket";
const options = {
  port: Number(Deno.env.get("PORT") || 8000),
  hostname: Deno.env.get("HOST") ?? "0.0.0.0",
  onListen({ hostname, port }: { hostname: string; port: number }) {
    console.log(
      `edgesocket chat on Deno ${Deno.version.deno} (${how}): listening ${port} (http://${hostname}:${port}/), ${stores.summary}`,
    );
  },
};
// Both servers take the same options and handler, and both have shutdown().
const server = codec ? serveWithCodec(options, app.fetch) : Deno.serve(options, app.fetch);

const onSignal = createGracefulShutdown(connections, {
  stopServer: () => server.shutdown(),
  exit: () => Deno.exit(0),
});

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  Deno.addSignalListener(signal, () => void onSignal(signal));
}
