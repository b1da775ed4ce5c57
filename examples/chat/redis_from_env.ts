/**
 * `REDIS_URL` puts the chat's topics, presence, rooms' history and resumable
 * sessions on Redis: every server process started with the same URL shares
 * its rooms, each room's online list spans them, and a page that reconnects
 * resumes its session on whichever process it reaches, or after its process
 * restarted, missing nothing. Without it, one process. `PRESENCE_TTL` (ms,
 * default 15,000) is how long a dead process's users stay listed (their
 * leave is announced within a third more); the tests shorten it.
 */
import { defaultPresence, defaultPubSub, type SessionStore } from "../../mod.ts";
import {
  createRedisBackplane,
  createRedisPresence,
  RedisHistoryStore,
  RedisSessionStore,
} from "../../src/backplanes/redis.ts";
import { readEnv } from "../app.ts";
import { isRoomTopic } from "./topic_rooms.ts";

/** What {@linkcode useRedisFromEnv} set up. */
export interface ChatStores {
  /** A one-line description for the startup log. */
  summary: string;
  /** The chat route's sessions, on Redis; `undefined`: this process's memory. */
  sessions?: SessionStore;
}

/**
 * Switches the process's topics, presence and rooms' history onto Redis
 * when a URL is given, and makes the sessions' store there.
 *
 * @param url `redis://[:password@]host[:port]`, or undefined for none.
 * @param options `historyEntries`: events kept per room for resuming clients (default 1,000).
 * @returns The sessions' store, and a description for the startup log.
 *
 * @example
 * ```ts ignore
 * const { summary, sessions } = useRedisFromEnv(Deno.env.get("REDIS_URL"));
 * const app = createApp({ resume: { sessions } });
 * ```
 */
export function useRedisFromEnv(
  url: string | undefined,
  options: { historyEntries?: number } = {},
): ChatStores {
  if (!url) {
    return {
      summary:
        "topics, presence, history and sessions in this process (set REDIS_URL to share rooms between processes)",
    };
  }
  const backplane = createRedisBackplane({ url });
  defaultPubSub.useBackplane(backplane);
  const ttl = Number(readEnv("PRESENCE_TTL") || 15_000);
  // The backplane's command connection runs presence's, history's and the sessions' commands too.
  const client = backplane.client;
  defaultPresence.useStore(createRedisPresence({ client, ttl }));
  defaultPubSub.useHistory(
    new RedisHistoryStore({ client, maxEntries: options.historyEntries }),
    { topics: isRoomTopic },
  );
  const { hostname, port } = new URL(url);
  return {
    summary: `topics, presence, history and sessions on Redis at ${hostname}:${
      port || 6379
    } (presence ttl ${ttl} ms)`,
    sessions: new RedisSessionStore({ client }),
  };
}
