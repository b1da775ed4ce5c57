/**
 * The demo app on Deno: `deno run -A examples/serve_deno.ts` (PORT, default
 * 8000; HOST; SECRET). On SIGINT or SIGTERM every client gets 1001 (Going
 * Away) before the process exits.
 */
import { createApp, createRandomSecret } from "./app.ts";
import { ConnectionRegistry } from "./chat/connections.ts";
import { createGracefulShutdown } from "./chat/graceful_shutdown.ts";
import { useRedisFromEnv } from "./chat/redis_from_env.ts";

const topics = useRedisFromEnv(Deno.env.get("REDIS_URL"));

const connections = new ConnectionRegistry();
const app = createApp({
  secret: Deno.env.get("SECRET") || createRandomSecret(),
  connections,
});

const server = Deno.serve({
  port: Number(Deno.env.get("PORT") || 8000),
  hostname: Deno.env.get("HOST") ?? "0.0.0.0",
  onListen({ hostname, port }) {
    console.log(
      `edgesocket chat on Deno ${Deno.version.deno}: listening ${port} (http://${hostname}:${port}/), ${topics}`,
    );
  },
}, app.fetch);

const onSignal = createGracefulShutdown(connections, {
  stopServer: () => server.shutdown(),
  exit: () => Deno.exit(0),
});

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  Deno.addSignalListener(signal, () => void onSignal(signal));
}
