/**
 * Deno, native against the codec, the same app: `deno run -A
 * bench/servers/deno_codec_server.ts native|codec`. Both serve
 * bench/servers/bench_app.ts (`/echo`, `/fanout`, `/publish`): `native` with
 * `Deno.serve` (`Deno.upgradeWebSocket`), `codec` with `serveWithCodec()`
 * (the codec over Deno's `node:http`). Both bind 127.0.0.1 on a free port
 * and print `listening <port>`; on SIGUSR2 each collects garbage (with
 * `--v8-flags=--expose-gc`) and prints `memory <Deno.memoryUsage()>`, for
 * the idle-connection figure.
 */
import { serveWithCodec } from "../../src/entries/deno.ts";
import { createBenchApp } from "./bench_app.ts";

const side = Deno.args[0];
if (side !== "native" && side !== "codec") {
  console.error("usage: deno run -A bench/servers/deno_codec_server.ts native|codec");
  Deno.exit(2);
}

const options = {
  hostname: "127.0.0.1",
  port: 0,
  onListen: ({ port }: { port: number }) => console.log(`listening ${port}`),
};
const app = createBenchApp();
if (side === "native") Deno.serve(options, app.fetch);
else serveWithCodec(options, app.fetch);

Deno.addSignalListener("SIGUSR2", () => {
  (globalThis as { gc?: () => void }).gc?.();
  console.log(`memory ${JSON.stringify(Deno.memoryUsage())}`);
});
