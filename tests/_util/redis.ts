/** Starts a real redis-server (Debian's) on a free port for a test. */
import { freePort, type ServerProcess, startProcess } from "./server_process.ts";

/** Starts redis-server with no persistence; in CI a missing binary fails the test. */
export async function startRedis(port = freePort()): Promise<ServerProcess> {
  return await startProcess("redis-server", [
    "--port",
    `${port}`,
    "--bind",
    "127.0.0.1",
    "--save",
    "",
    "--appendonly",
    "no",
  ], { port, ready: /Ready to accept connections/ });
}
