/**
 * The benchmark's edgesocket server: the echo app on Node through the Node
 * adapter, as `examples/node_echo.ts` serves it, bound to 127.0.0.1 on a free
 * port. On SIGUSR2 it collects garbage (with `--expose-gc`) and prints its
 * memory, for the idle-connection figure.
 */
import process from "node:process";
import { serve } from "../../src/adapters/node.ts";
import { createEchoApp } from "../../examples/echo.ts";

serve(
  { fetch: createEchoApp().fetch, port: 0, hostname: "127.0.0.1" },
  (info) => console.log(`listening ${info.port}`),
);

process.on("SIGUSR2", () => {
  (globalThis as { gc?: () => void }).gc?.();
  console.log(`memory ${JSON.stringify(process.memoryUsage())}`);
});
