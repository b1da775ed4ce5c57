/**
 * `REDIS_URL` puts the chat's topics and presence on Redis: every server
 * process started with the same URL shares its rooms, and each room's online
 * list spans them. Without it, one process. `PRESENCE_TTL` (ms, default
 * 15,000) is how long a dead process's users stay listed (their leave is
 * announced within a third more); the tests shorten it.
 */
import { defaultPresence, defaultPubSub } from "../../mod.ts";
import { createRedisBackplane, createRedisPresence } from "../../src/backplanes/redis.ts";
import { readEnv } from "../app.ts";

/**
 * Switches the process's topics and presence onto Redis when a URL is given.
 *
 * @param url `redis://[:password@]host[:port]`, or undefined for none.
 * @returns A one-line description for the startup log.
 *
 * @example
 * ```ts ignore
 * console.log(useRedisFromEnv(Deno.env.get("REDIS_URL")));
 * ```
 */
export function useRedisFromEnv(url: string | undefined): string {
  if (!url) {
    return "topics and presence in this process (set REDIS_URL to share rooms between processes)";
  }
  const backplane = createRedisBackplane({ url });
  defaultPubSub.useBackplane(backplane);
  const ttl = Number(readEnv("PRESENCE_TTL") || 15_000);
  // The backplane's command connection runs presence's scripts too.
  defaultPresence.useStore(createRedisPresence({ client: backplane.client, ttl }));
  const { hostname, port } = new URL(url);
  return `topics and presence on Redis at ${hostname}:${port || 6379} (presence ttl ${ttl} ms)`;
}
