/**
 * The soak test's Deno server: the echo app through Deno's native upgrade,
 * as `deno serve examples/echo.ts` serves it, bound to 127.0.0.1 on a free
 * port. On SIGUSR2 it collects garbage (with `--v8-flags=--expose-gc`) and
 * prints its memory, as the Node servers of bench/servers/ do.
 */
import { createEchoApp } from "../examples/echo.ts";

Deno.serve({
  hostname: "127.0.0.1",
  port: 0,
  onListen: ({ port }) => console.log(`listening ${port}`),
}, createEchoApp().fetch);

Deno.addSignalListener("SIGUSR2", () => {
  (globalThis as { gc?: () => void }).gc?.();
  console.log(`memory ${JSON.stringify(Deno.memoryUsage())}`);
});
