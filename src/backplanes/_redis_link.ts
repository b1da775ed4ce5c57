/**
 * What the Redis backplane needs of node-redis, the same for a standalone
 * server (a publishing and a subscribing connection) and a Redis Cluster
 * (one cluster client; node-redis opens a subscribing connection per shard).
 *
 * @module
 */
import type { Buffer } from "node:buffer";

/**
 * Receives a channel's messages: bytes, as the backplane subscribes in
 * node-redis's buffer mode (typed as node-redis types a listener of either
 * mode).
 */
export type RedisMessageListener = (
  message: Buffer | string,
  channel: Buffer | string,
) => unknown;

/** What the backplane publishes and subscribes with; node-redis's clients have it. */
export interface RedisPubSubCommands {
  /** `PUBLISH`. */
  publish(channel: string, message: Buffer): Promise<unknown>;
  /** `SPUBLISH` (Redis 7). */
  sPublish(channel: string, message: Buffer): Promise<unknown>;
  /** `SUBSCRIBE`, with buffers. */
  subscribe(channel: string, listener: RedisMessageListener, bufferMode: true): Promise<unknown>;
  /** `UNSUBSCRIBE` of one listener. */
  unsubscribe(channel: string, listener: RedisMessageListener, bufferMode: true): Promise<unknown>;
  /** `SSUBSCRIBE` (Redis 7), with buffers. */
  sSubscribe(channel: string, listener: RedisMessageListener, bufferMode: true): Promise<unknown>;
  /** `SUNSUBSCRIBE` of one listener. */
  sUnsubscribe(channel: string, listener: RedisMessageListener, bufferMode: true): Promise<unknown>;
}

/** The keys and arguments of a Lua script's run. */
export interface RedisScriptArguments {
  /** `KEYS`: in a cluster, all in one slot (the first one routes the command). */
  keys: string[];
  /** `ARGV` (bytes too: the history store's binary payloads). */
  arguments: Array<string | Buffer>;
}

/** What presence runs its Lua scripts with; node-redis's clients have it. */
export interface RedisScriptCommands {
  /** `EVALSHA`: a script Redis has cached. */
  evalSha(sha1: string, options: RedisScriptArguments): Promise<unknown>;
  /** `EVAL`: a script, cached by Redis for `EVALSHA`. */
  eval(script: string, options: RedisScriptArguments): Promise<unknown>;
}

/** What the Redis session store runs; node-redis's clients have it. */
export interface RedisKeyCommands {
  /** `GET`. */
  get(key: string): Promise<unknown>;
  /** `SET`, with an expiry in ms. */
  set(
    key: string,
    value: string,
    options?: { expiration?: { type: "PX"; value: number } },
  ): Promise<unknown>;
  /** `DEL`. */
  del(key: string): Promise<unknown>;
}

/** A listener of `node:events`, whose arguments depend on the event. */
// deno-lint-ignore no-explicit-any
export type RedisEventListener = (...args: any[]) => void;

/** What the backplane and presence need of every node-redis client: pub/sub, scripts, state, events. */
export interface RedisConnection
  extends RedisPubSubCommands, RedisScriptCommands, RedisKeyCommands {
  /** Whether `connect()` was called and `close()`/`destroy()` not yet. */
  readonly isOpen: boolean;
  /** Whether the connection is up and ready for commands. */
  readonly isReady: boolean;
  /** Opens the connection. */
  connect(): Promise<unknown>;
  /** Closes once the replies still due have arrived. */
  close(): Promise<unknown>;
  /** Closes at once. */
  destroy(): void;
  /** The same client with other per-command options (`timeout: 0`: no timer). */
  withCommandOptions(options: { timeout: number }): RedisPubSubCommands;
  /** The same client with other reply types (`{ [RESP_TYPES.BLOB_STRING]: Buffer }`: bytes). */
  withTypeMapping(mapping: Record<number, unknown>): RedisScriptCommands;
  /** Listens to an event (`ready`, `error`, `node-ready`, …). */
  on(event: string, listener: RedisEventListener): unknown;
  /** Stops listening. */
  off(event: string, listener: RedisEventListener): unknown;
}

/**
 * The part of a node-redis client (`createClient()` from `redis` or
 * `@redis/client`, node-redis 5 or later) the backplane uses; node-redis's
 * clients satisfy it, whatever their modules, scripts or RESP version.
 */
export interface RedisClient extends RedisConnection {
  /** A second connection with the same options (and `overrides`). */
  duplicate(overrides?: { disableOfflineQueue?: boolean }): RedisClient;
}

/** The part of a node-redis Redis Cluster client (`createCluster()`) the backplane uses. */
export interface RedisCluster extends RedisConnection {
  /** The cluster's masters, as last discovered. */
  readonly masters: readonly unknown[];
  /** Each of the 16,384 slots' shard, as last discovered. */
  readonly slots: ReadonlyArray<{ master?: unknown } | undefined>;
}

/** Receives one channel's messages as bytes. */
export type ChannelListener = RedisMessageListener;

/** What the link tells the backplane. */
export interface LinkEvents {
  /** A connection to `where` failed or was lost, for `reason` where node-redis says. */
  onDown(where: string, reason?: Error): void;
  /** A connection came up: every subscription should be asked for again. */
  onUp(): void;
}

/** The backplane's view of its Redis connections. */
export interface RedisLink {
  /** The connection that runs commands (never in subscriber mode). */
  readonly client: RedisClient | RedisCluster;
  /** Whether every connection is up. */
  readonly up: boolean;
  /** Whether a publish can be sent now (with a cluster, some shard may still be down). */
  readonly canPublish: boolean;
  /** What keeps the connected link from serving every topic, if anything. */
  findProblem(): string | undefined;
  publish(channel: string, payload: Buffer): Promise<unknown>;
  subscribe(channel: string, listener: ChannelListener): Promise<unknown>;
  unsubscribe(channel: string, listener: ChannelListener): Promise<unknown>;
  /** Stops listening to the clients; closes the ones the backplane made. */
  close(): Promise<void>;
}

// Listens to an emitter until the returned function is called.
function listen(
  emitter: RedisConnection,
  handlers: Record<string, RedisEventListener>,
): () => void {
  for (const [event, handler] of Object.entries(handlers)) emitter.on(event, handler);
  return () => {
    for (const [event, handler] of Object.entries(handlers)) emitter.off(event, handler);
  };
}

/**
 * Whether a node-redis client is a cluster's.
 *
 * @param client The client.
 * @returns `true` for `createCluster()`'s.
 */
export function isCluster(client: RedisClient | RedisCluster): client is RedisCluster {
  return "masters" in client;
}

async function closeClient(client: RedisClient | RedisCluster): Promise<void> {
  // close() waits for the replies still due; a client that is reconnecting
  // would wait for Redis to come back.
  if (!client.isOpen) return;
  if (client.isReady) await client.close().catch(() => client.destroy());
  else client.destroy();
}

/**
 * A standalone server: one connection publishes, a second one subscribes
 * (RESP2 forbids other commands on a subscribed connection).
 *
 * @param options The two clients, which of them the backplane owns, and
 *   whether topics use sharded pub/sub.
 * @returns The link.
 */
export function createServerLink(options: {
  publisher: RedisClient;
  subscriber: RedisClient;
  owned: Set<RedisClient>;
  sharded: boolean;
  where: string;
  events: LinkEvents;
}): RedisLink {
  const { publisher, subscriber, owned, sharded, where, events } = options;
  // Publishes carry no per-command timer (an AbortSignal each, a third of a
  // publish's cost in node-redis 6): the backplane bounds what is unanswered.
  const fast = publisher.withCommandOptions({ timeout: 0 });
  const stops = [publisher, subscriber].map((client) =>
    listen(client, {
      error: (error: Error) => events.onDown(where, error),
      reconnecting: () => events.onDown(where),
      ready: () => events.onUp(),
    })
  );
  return {
    client: publisher,
    get up() {
      return publisher.isReady && subscriber.isReady;
    },
    get canPublish() {
      return publisher.isReady;
    },
    findProblem: () => undefined,
    publish: (channel, payload) =>
      sharded ? fast.sPublish(channel, payload) : fast.publish(channel, payload),
    subscribe: (channel, listener) =>
      sharded
        ? subscriber.sSubscribe(channel, listener, true)
        : subscriber.subscribe(channel, listener, true),
    unsubscribe: (channel, listener) =>
      sharded
        ? subscriber.sUnsubscribe(channel, listener, true)
        : subscriber.unsubscribe(channel, listener, true),
    async close() {
      for (const stop of stops) stop();
      await Promise.allSettled(
        [...new Set([publisher, subscriber])].map((client) =>
          owned.has(client) ? closeClient(client) : Promise.resolve()
        ),
      );
    },
  };
}

const SLOTS = 16384;

/**
 * A Redis Cluster: publishes go to the shard that owns the channel's slot
 * (`SPUBLISH`), and node-redis subscribes on that shard (`SSUBSCRIBE`),
 * following slots when they move.
 *
 * @param options The cluster client, whether the backplane owns it, and
 *   whether topics use sharded pub/sub.
 * @returns The link.
 */
export function createClusterLink(options: {
  cluster: RedisCluster;
  owned: boolean;
  sharded: boolean;
  events: LinkEvents;
}): RedisLink {
  const { cluster, owned, sharded, events } = options;
  const fast = cluster.withCommandOptions({ timeout: 0 });
  // node-redis freezes one info object per node connection (the command one,
  // the subscribing one), so the set counts connections, not addresses.
  const down = new Set<object>();
  const lost = (info: { host?: string; port?: number }, reason?: Error) => {
    down.add(info);
    events.onDown(`${info.host}:${info.port}`, reason);
  };
  const stop = listen(cluster, {
    "error": () => {},
    "node-error": (error: Error, info: { host?: string; port?: number }) => lost(info, error),
    "node-reconnecting": (info: { host?: string; port?: number }) => lost(info),
    "node-ready": (info: object) => {
      down.delete(info);
      events.onUp();
    },
    "node-disconnect": (info: object) => {
      // Ended for good (closed, or dropped after a topology change).
      down.delete(info);
      events.onUp();
    },
  });
  return {
    client: cluster,
    get up() {
      return cluster.isReady && down.size === 0;
    },
    get canPublish() {
      return cluster.isReady;
    },
    findProblem() {
      // Connected while the cluster was still being formed, node-redis keeps
      // the slots it saw then: it learns of the others only from a MOVED, and
      // a command for a slot it has no master for is never sent.
      let missing = 0;
      for (let slot = 0; slot < SLOTS; slot++) if (!cluster.slots[slot]?.master) missing++;
      return missing === 0 ? undefined : `${missing} of ${SLOTS} slots have no master`;
    },
    publish: (channel, payload) =>
      sharded ? fast.sPublish(channel, payload) : fast.publish(channel, payload),
    // Before the slots are known node-redis throws; the backplane asks again
    // when the cluster is up.
    subscribe: (channel, listener) =>
      !cluster.isReady
        ? Promise.resolve()
        : sharded
        ? cluster.sSubscribe(channel, listener, true)
        : cluster.subscribe(channel, listener, true),
    unsubscribe: (channel, listener) =>
      sharded
        ? cluster.sUnsubscribe(channel, listener, true)
        : cluster.unsubscribe(channel, listener, true),
    async close() {
      stop();
      if (owned) await closeClient(cluster);
    },
  };
}
