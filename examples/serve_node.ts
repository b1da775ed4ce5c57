/**
 * The demo app on Node 20, the sockets driven by the codec:
 * `deno task serve:node` (PORT, default 8000; HOST; SECRET; REDIS_URL;
 * HISTORY_ENTRIES). On SIGINT or
 * SIGTERM every client gets 1001 (Going Away) before the process exits.
 */
import process from "node:process";
import { serve } from "../src/adapters/node.ts";
import { createApp, createRandomSecret } from "./app.ts";
import { ConnectionRegistry } from "./chat/connections.ts";
import { createGracefulShutdown } from "./chat/graceful_shutdown.ts";
import { useRedisFromEnv } from "./chat/redis_from_env.ts";

// HISTORY_ENTRIES: events kept per room for resuming pages (default 1,000).
const historyEntries = Number(process.env.HISTORY_ENTRIES) || undefined;
const stores = useRedisFromEnv(process.env.REDIS_URL, { historyEntries });

const connections = new ConnectionRegistry();
const app = createApp({
  secret: process.env.SECRET || createRandomSecret(),
  connections,
  replay: { maxEntries: historyEntries },
  resume: { sessions: stores.sessions },
});

const server = serve({
  fetch: app.fetch,
  port: Number(process.env.PORT || 8000),
  hostname: process.env.HOST,
}, (info) => {
  console.log(
    `edgesocket chat on Node ${process.version}: listening ${info.port} (http://localhost:${info.port}/), ${stores.summary}`,
  );
});

const onSignal = createGracefulShutdown(connections, {
  stopServer: () => {
    const stopped = new Promise((resolve) => server.close(resolve));
    server.closeIdleConnections();
    return stopped;
  },
  exit: () => process.exit(0),
});

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => void onSignal(signal));
}
