/**
 * The echo app (examples/echo.ts) on Deno: `deno task serve:echo` (PORT,
 * default 8000; HOST, default all interfaces). `deno serve examples/echo.ts`
 * serves the same app, but takes its port only from `--port`.
 */
import { createEchoApp } from "./echo.ts";

Deno.serve({
  port: Number(Deno.env.get("PORT") || 8000),
  hostname: Deno.env.get("HOST") || "0.0.0.0",
  onListen({ hostname, port }) {
    console.log(
      `edgesocket echo on Deno ${Deno.version.deno}: listening ${port} (http://${hostname}:${port}/)`,
    );
  },
}, createEchoApp().fetch);
