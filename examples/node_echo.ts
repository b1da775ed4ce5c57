/**
 * The echo app (examples/echo.ts) on Node 20, through the codec:
 * `deno task serve:echo:node` (PORT, default 8000; HOST).
 */
import { serve } from "../src/adapters/node.ts";
import { createEchoApp } from "./echo.ts";

const port = Number(process.env.PORT || 8000);
serve(
  { fetch: createEchoApp().fetch, port, hostname: process.env.HOST },
  (info) => {
    console.log(
      `edgesocket echo on Node ${process.version}: listening ${info.port} (http://localhost:${info.port}/)`,
    );
  },
);
