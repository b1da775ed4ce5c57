/**
 * The Redis connections of the backplane and of presence, made the same way:
 * from a URL (`redis://`, `rediss://`, an ACL user, a database index, a
 * cluster's seed nodes) or on node-redis clients the app made, connected with
 * the cluster's first discovery retried.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { createClient, createCluster } from "@redis/client";
import {
  createClusterLink,
  createServerLink,
  isCluster,
  type LinkEvents,
  type RedisClient,
  type RedisCluster,
  type RedisLink,
} from "./_redis_link.ts";

/** TLS settings for a `rediss://` URL (those of `node:tls`). */
export interface RedisTlsOptions {
  /** Certificate authorities to trust instead of the system's (PEM), e.g. a managed Redis's CA. */
  ca?: string | Uint8Array | Array<string | Uint8Array>;
  /** A client certificate (PEM), where the server asks for one. */
  cert?: string | Uint8Array;
  /** The client certificate's private key (PEM). */
  key?: string | Uint8Array;
  /** The name the server's certificate must carry (default: the URL's host). */
  servername?: string;
}

/** Where the connections go: the options the backplane and presence share. */
export interface RedisConnectOptions {
  url?: string | string[];
  cluster?: boolean;
  tls?: RedisTlsOptions;
  client?: RedisClient | RedisCluster;
  subscriber?: RedisClient;
  sharded?: boolean;
  maxRetryDelay?: number;
}

/** A link being connected. */
export interface OpenedLink {
  link: RedisLink;
  /** `host:port`, or "Redis Cluster", for log lines. */
  where: string;
  /** Stops retrying the first connection (the link's `close()` closes the rest). */
  stop(): void;
}

function toBuffer(bytes: string | Uint8Array): string | Buffer {
  return typeof bytes === "string" ? bytes : Buffer.from(bytes);
}

function tlsSocketOptions(tls: RedisTlsOptions | undefined): Record<string, unknown> {
  if (!tls) return {};
  const { ca, cert, key, servername } = tls;
  return {
    ...(ca === undefined ? {} : { ca: Array.isArray(ca) ? ca.map(toBuffer) : toBuffer(ca) }),
    ...(cert === undefined ? {} : { cert: toBuffer(cert) }),
    ...(key === undefined ? {} : { key: toBuffer(key) }),
    ...(servername === undefined ? {} : { servername }),
  };
}

function describeUrl(url: URL): string {
  return `${url.hostname}:${url.port || 6379}`;
}

function describeClient(client: RedisClient | RedisCluster): string {
  if (isCluster(client)) return "Redis Cluster";
  // node-redis keeps its options; only for the log lines.
  const { options } = client as {
    options?: { url?: string; socket?: { host?: string; port?: number } };
  };
  if (options?.url) return describeUrl(new URL(options.url));
  return `${options?.socket?.host ?? "localhost"}:${options?.socket?.port ?? 6379}`;
}

// The clients a URL asks for.
function createFromUrl(
  options: RedisConnectOptions,
  events: LinkEvents,
): { link: RedisLink; connect: () => Promise<unknown>; where: string } {
  const urls = Array.isArray(options.url) ? options.url : [options.url as string];
  const parsed = urls.map((url) => new URL(url));
  const secure = parsed[0].protocol === "rediss:";
  if (parsed.some((url) => url.protocol !== "redis:" && url.protocol !== "rediss:")) {
    throw new TypeError(`Redis URL must start with redis:// or rediss://: ${urls.join(", ")}`);
  }
  if (options.tls && !secure) throw new TypeError("Redis TLS options need a rediss:// URL");
  const maxRetryDelay = options.maxRetryDelay ?? 5000;
  const socket = {
    ...(secure ? { tls: true as const, ...tlsSocketOptions(options.tls) } : {}),
    reconnectStrategy: (retries: number) => Math.min(100 * 2 ** retries, maxRetryDelay),
  };
  const where = describeUrl(parsed[0]);
  if (options.cluster ?? Array.isArray(options.url)) {
    const db = parsed.find((url) => url.pathname.length > 1 && url.pathname !== "/0");
    if (db) throw new TypeError(`Redis Cluster has only database 0: ${db.href}`);
    const first = parsed[0];
    const cluster = createCluster({
      rootNodes: urls.map((url) => ({ url })),
      // Discovered nodes take none of the seed URLs' settings.
      defaults: {
        ...(first.username ? { username: decodeURIComponent(first.username) } : {}),
        ...(first.password ? { password: decodeURIComponent(first.password) } : {}),
        disableOfflineQueue: true,
        socket,
      },
    });
    const link = createClusterLink({
      cluster,
      owned: true,
      sharded: options.sharded ?? true,
      events,
    });
    return { link, connect: () => cluster.connect(), where };
  }
  const publisher = createClient({
    url: urls[0],
    disableOfflineQueue: true,
    socket,
  });
  // Subscriptions wait for the connection instead of failing.
  const subscriber = publisher.duplicate({ disableOfflineQueue: false });
  const link = createServerLink({
    publisher,
    subscriber,
    owned: new Set([publisher, subscriber]),
    sharded: options.sharded ?? false,
    where,
    events,
  });
  return {
    link,
    connect: () => Promise.all([publisher.connect(), subscriber.connect()]),
    where,
  };
}

// The link over clients the app made.
function createFromClient(
  options: RedisConnectOptions,
  events: LinkEvents,
): { link: RedisLink; connect: () => Promise<unknown>; where: string } {
  const client = options.client as RedisClient | RedisCluster;
  const where = describeClient(client);
  const open = (c: RedisClient | RedisCluster) => c.isOpen ? Promise.resolve() : c.connect();
  if (isCluster(client)) {
    if (options.subscriber) {
      throw new TypeError("A Redis Cluster subscribes through its own client");
    }
    const link = createClusterLink({
      cluster: client,
      owned: false,
      sharded: options.sharded ?? true,
      events,
    });
    return { link, connect: () => open(client), where };
  }
  const subscriber = options.subscriber ?? client.duplicate();
  const link = createServerLink({
    publisher: client,
    subscriber,
    owned: new Set(options.subscriber ? [] : [subscriber]),
    sharded: options.sharded ?? false,
    where,
    events,
  });
  return { link, connect: () => Promise.all([open(client), open(subscriber)]), where };
}

/**
 * Makes the link the options ask for and starts connecting it. node-redis
 * reconnects a lost connection by itself; a cluster's first connection,
 * which discovers the slots, is retried here.
 *
 * @param options A URL or clients, TLS, sharding, the retry delay.
 * @param events Told of connections lost and made.
 * @param log Where a failed first connection of a standalone server is said.
 * @returns The link, where it goes, and a way to stop retrying.
 */
export function openRedisLink(
  options: RedisConnectOptions,
  events: LinkEvents,
  log: (line: string) => void,
): OpenedLink {
  const { link, connect, where } = options.client
    ? createFromClient(options, events)
    : createFromUrl(options, events);
  let stopped = false;
  let retryDelay = 100;
  let retryTimer: ReturnType<typeof setTimeout> | undefined;
  const retry = (error: Error) => {
    if (stopped) return;
    events.onDown(where, error);
    const client = link.client;
    if (!isCluster(client)) {
      log(error.message);
      return;
    }
    // Only a cluster made here is discovered again from scratch.
    if (!options.client && client.isOpen) client.destroy();
    retryTimer = setTimeout(start, retryDelay);
    retryDelay = Math.min(retryDelay * 2, options.maxRetryDelay ?? 5000);
  };
  const start = () => {
    connect().then(() => {
      const problem = link.findProblem();
      if (problem === undefined) events.onUp();
      else retry(new Error(problem));
    }, retry);
  };
  start();
  return {
    link,
    where,
    stop() {
      stopped = true;
      clearTimeout(retryTimer);
    },
  };
}
