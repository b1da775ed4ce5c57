/**
 * A Redis pub/sub backplane for several Deno, Node or Bun processes, on
 * node-redis (`@redis/client`): topics with local subscribers are subscribed
 * on Redis, and every publish is relayed through it. A standalone server
 * (`redis://`, `rediss://` for TLS, an ACL user, a database index) or a Redis
 * Cluster with sharded pub/sub (`SSUBSCRIBE`/`SPUBLISH`, Redis 7); from a URL,
 * or on clients the app made. When Redis is down the processes keep serving
 * their local clients, reconnect by themselves, and log what could not be
 * relayed.
 *
 * @example
 * ```ts ignore
 * import { defaultPubSub } from "@edgesocket/edgesocket";
 * import { createRedisBackplane } from "@edgesocket/edgesocket/redis";
 * defaultPubSub.useBackplane(createRedisBackplane({ url: "rediss://app:secret@redis.internal:6380" }));
 * ```
 *
 * @module
 */

export type { Backplane } from "../core/backplane.ts";
export type {
  RedisClient,
  RedisCluster,
  RedisConnection,
  RedisEventListener,
  RedisKeyCommands,
  RedisMessageListener,
  RedisPubSubCommands,
  RedisScriptArguments,
  RedisScriptCommands,
} from "./_redis_link.ts";
export type { RedisTlsOptions } from "./_redis_connect.ts";
export * from "./redis_backplane.ts";
export * from "./redis_presence.ts";
export * from "./redis_history.ts";
export * from "./redis_sessions.ts";
