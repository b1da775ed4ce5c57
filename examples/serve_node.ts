/**
 * The demo app on Node 20, the sockets driven by the codec:
 * `deno task serve:node` (PORT, default 8000; HOST; SECRET). On SIGINT or
 * SIGTERM every client gets 1001 (Going Away) before the process exits.
 */
import process from "node:process";
import { CloseCode } from "../mod.ts";
import { serve } from "../src/adapters/node.ts";
import { createApp, createRandomSecret } from "./app.ts";
import { ConnectionRegistry } from "./chat/connections.ts";

const connections = new ConnectionRegistry();
const app = createApp({
  secret: process.env.SECRET || createRandomSecret(),
  connections,
});

const server = serve({
  fetch: app.fetch,
  port: Number(process.env.PORT ?? 8000),
  hostname: process.env.HOST,
}, (info) => {
  console.log(
    `edgesocket chat on Node ${process.version}: listening ${info.port} (http://localhost:${info.port}/)`,
  );
});

let stopping = false;

async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  console.log(`${signal}: closing ${connections.size} sockets with 1001`);
  // Our 1001 first, and to sockets opened meanwhile too; then stop the server.
  await connections.closeAll(CloseCode.GoingAway, "Server shutting down");
  const stopped = new Promise((resolve) => server.close(resolve));
  server.closeIdleConnections();
  await Promise.race([stopped, new Promise((resolve) => setTimeout(resolve, 1000))]);
  process.exit(0);
}

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => void shutdown(signal));
}
