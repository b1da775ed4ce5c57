/**
 * The demo app on Bun: `bun run examples/serve_bun.ts` (PORT, default 8000;
 * HOST; SECRET). On SIGINT or SIGTERM every client gets 1001 (Going Away)
 * before the process exits.
 */
import process from "node:process";
import { websocket } from "../src/adapters/bun.ts";
import { createApp, createRandomSecret } from "./app.ts";
import { ConnectionRegistry } from "./chat/connections.ts";
import { createGracefulShutdown } from "./chat/graceful_shutdown.ts";

declare const Bun: {
  version: string;
  serve(options: {
    port: number;
    hostname?: string;
    fetch: (request: Request, server: never) => Response | Promise<Response>;
    websocket: typeof websocket;
  }): { port: number; hostname: string; stop(closeActiveConnections?: boolean): Promise<void> };
};

const connections = new ConnectionRegistry();
const app = createApp({
  secret: process.env.SECRET || createRandomSecret(),
  connections,
});

const server = Bun.serve({
  port: Number(process.env.PORT || 8000),
  hostname: process.env.HOST,
  fetch: app.fetch,
  websocket,
});
console.log(
  `edgesocket chat on Bun ${Bun.version}: listening ${server.port} (http://${server.hostname}:${server.port}/)`,
);

const onSignal = createGracefulShutdown(connections, {
  stopServer: () => server.stop(),
  exit: () => process.exit(0),
});

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => void onSignal(signal));
}
