/**
 * The soak test's Bun server: tools/soak_app.ts through the Bun adapter
 * (`Bun.serve` + `server.upgrade()`), bound to 127.0.0.1 on a free port:
 * `bun run tools/soak_bun_server.ts`. On SIGUSR2 it collects garbage
 * (`Bun.gc(true)`) and prints its memory, as the Node servers do.
 */
import process from "node:process";
import { websocket } from "../src/adapters/bun.ts";
import { createSoakApp } from "./soak_app.ts";

declare const Bun: {
  serve(options: {
    hostname: string;
    port: number;
    fetch: (request: Request, server: never) => Response | Promise<Response>;
    websocket: unknown;
  }): { port: number };
  gc(force: boolean): void;
};

const server = Bun.serve({
  hostname: "127.0.0.1",
  port: 0,
  fetch: createSoakApp().fetch,
  websocket,
});
console.log(`listening ${server.port}`);

process.on("SIGUSR2", () => {
  Bun.gc(true);
  let usage: Record<string, number | string>;
  try {
    usage = { ...process.memoryUsage() };
  } catch (error) {
    usage = { heapUsed: NaN, error: `${error}` };
  }
  console.log(`memory ${JSON.stringify(usage)}`);
});
