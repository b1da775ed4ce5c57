/**
 * The compression benchmark's edgesocket server: an echo route through the
 * Node adapter, with `compression` from the COMPRESSION variable ("off", or
 * the threshold in bytes), bound to 127.0.0.1 on a free port.
 */
import process from "node:process";
import { Hono } from "hono";
import { upgradeWebSocket } from "../../mod.ts";
import { serve } from "../../src/adapters/node.ts";

const setting = process.env.COMPRESSION ?? "off";
const app = new Hono();
app.get(
  "/echo",
  upgradeWebSocket(() => ({
    onMessage(event, ws) {
      ws.send(event.data as string | ArrayBuffer);
    },
  }), { compression: setting === "off" ? false : { threshold: Number(setting) } }),
);

serve(
  { fetch: app.fetch, port: 0, hostname: "127.0.0.1" },
  (info) => console.log(`listening ${info.port}`),
);
