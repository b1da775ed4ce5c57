/**
 * `REDIS_URL` puts the chat's topics on Redis: every server process started
 * with the same URL shares its rooms. Without it, one process.
 */
import { defaultPubSub } from "../../mod.ts";
import { createRedisBackplane } from "../../src/backplanes/redis.ts";

/**
 * Switches the process's topics onto Redis when a URL is given.
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
  if (!url) return "topics in this process (set REDIS_URL to share rooms between processes)";
  defaultPubSub.useBackplane(createRedisBackplane({ url }));
  const { hostname, port } = new URL(url);
  return `topics on Redis at ${hostname}:${port || 6379}`;
}
