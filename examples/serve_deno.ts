/**
 * The demo app on Deno: `deno run -A examples/serve_deno.ts` (PORT, default
 * 8000; HOST; SECRET). On SIGINT or SIGTERM every client gets 1001 (Going
 * Away) before the process exits.
 */
import { CloseCode } from "../mod.ts";
import { createApp, createRandomSecret } from "./app.ts";
import { ConnectionRegistry } from "./chat/connections.ts";

const connections = new ConnectionRegistry();
const app = createApp({
  secret: Deno.env.get("SECRET") || createRandomSecret(),
  connections,
});

const server = Deno.serve({
  port: Number(Deno.env.get("PORT") ?? 8000),
  hostname: Deno.env.get("HOST") ?? "0.0.0.0",
  onListen({ hostname, port }) {
    console.log(
      `edgesocket chat on Deno ${Deno.version.deno}: listening ${port} (http://${hostname}:${port}/)`,
    );
  },
}, app.fetch);

let stopping = false;

async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  console.log(`${signal}: closing ${connections.size} sockets with 1001`);
  // Our 1001 first, and to sockets opened meanwhile too; then stop the server.
  await connections.closeAll(CloseCode.GoingAway, "Server shutting down");
  const stopped = server.shutdown();
  await Promise.race([stopped, new Promise((resolve) => setTimeout(resolve, 1000))]);
  Deno.exit(0);
}

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  Deno.addSignalListener(signal, () => void shutdown(signal));
}
