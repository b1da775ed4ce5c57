/**
 * The soak test's Deno server: tools/soak_app.ts through Deno's native
 * upgrade (`Deno.serve` + `Deno.upgradeWebSocket`), bound to 127.0.0.1 on a
 * free port. On SIGUSR2 it collects garbage (with `--v8-flags=--expose-gc`)
 * and prints its memory, as the Node servers do.
 */
import { createSoakApp } from "./soak_app.ts";

Deno.serve({
  hostname: "127.0.0.1",
  port: 0,
  onListen: ({ port }) => console.log(`listening ${port}`),
}, createSoakApp().fetch);

Deno.addSignalListener("SIGUSR2", () => {
  (globalThis as { gc?: () => void }).gc?.();
  let usage: Record<string, number | string>;
  try {
    usage = { ...Deno.memoryUsage() };
  } catch (error) {
    usage = { heapUsed: NaN, error: `${error}` };
  }
  console.log(`memory ${JSON.stringify(usage)}`);
});
