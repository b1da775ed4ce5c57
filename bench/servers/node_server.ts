/**
 * The fan-out benchmark's edgesocket server on Node: bench/servers/bench_app.ts
 * through the Node adapter (the codec), bound to 127.0.0.1 on a free port.
 * With `REDIS_URL` set, topics go through the Redis backplane, as
 * `defaultPubSub.useBackplane(createRedisBackplane(…))` in an app.
 */
import process from "node:process";
import { defaultPubSub } from "../../mod.ts";
import { serve } from "../../src/adapters/node.ts";
import { createRedisBackplane } from "../../src/backplanes/redis.ts";
import { createBenchApp } from "./bench_app.ts";

const redisUrl = process.env.REDIS_URL;
if (redisUrl) defaultPubSub.useBackplane(createRedisBackplane({ url: redisUrl }));

serve(
  { fetch: createBenchApp().fetch, port: 0, hostname: "127.0.0.1" },
  (info) => console.log(`listening ${info.port}${redisUrl ? " redis" : ""}`),
);
