/**
 * The Redis pub/sub backplane itself: topics with local subscribers are
 * subscribed on Redis (`SUBSCRIBE`, or `SSUBSCRIBE` on a Cluster), and every
 * publish is relayed through it.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import type { Backplane } from "../core/backplane.ts";
import { beginWriteBatch, endWriteBatch } from "../core/write_batch.ts";
import { openRedisLink, type RedisTlsOptions } from "./_redis_connect.ts";
import type { ChannelListener, LinkEvents, RedisClient, RedisCluster } from "./_redis_link.ts";

/** Options for {@linkcode createRedisBackplane}: a `url`, or a `client` the app made. */
export interface RedisBackplaneOptions {
  /**
   * `redis://[[user]:password@]host[:port][/db]`, or `rediss://…` for TLS.
   * With `cluster`, or given as a list, the seed nodes of a Redis Cluster
   * (whose user, password and TLS then apply to every node).
   */
  url?: string | string[];
  /** The URL is a Redis Cluster's (default: when `url` is a list). */
  cluster?: boolean;
  /** TLS settings for `rediss://` (a private CA, a client certificate). */
  tls?: RedisTlsOptions;
  /**
   * A node-redis client the app made (`createClient()` or `createCluster()`,
   * node-redis 5 or later) instead of `url`. The backplane connects it if it
   * is not open, and leaves it open on `close()`.
   */
  client?: RedisClient | RedisCluster;
  /**
   * With a standalone `client`, the connection to subscribe on (default:
   * `client.duplicate()`, closed with the backplane). A cluster subscribes
   * through its own client.
   */
  subscriber?: RedisClient;
  /**
   * Sharded pub/sub (`SSUBSCRIBE`/`SPUBLISH`, Redis 7): each topic lives on
   * the shard that owns its slot. Default: on for a cluster, off otherwise.
   */
  sharded?: boolean;
  /** Prefix of the Redis channel names (default `"edgesocket:"`). */
  prefix?: string;
  /** Where status lines go (default `console.error`). */
  log?: (line: string) => void;
  /** Longest wait between reconnection attempts, in ms, with `url` (default 5,000). */
  maxRetryDelay?: number;
  /**
   * Bytes of publishes Redis has not answered yet; past it a publish is not
   * relayed (counted in `unrelayed`), so a Redis that stops answering with
   * its connection still open cannot grow the process's memory (default
   * 64 MiB).
   */
  maxPendingBytes?: number;
}

/** A Redis backplane, with its state for health checks and its client. */
export interface RedisBackplane extends Backplane {
  /** Whether every connection is up. */
  readonly connected: boolean;
  /** Messages that could not be relayed: Redis was down, refused or did not answer in time. */
  readonly unrelayed: number;
  /**
   * The connection that runs commands (never the subscribing one): for keys
   * with a TTL, Streams, anything the app shares through the same Redis.
   * With `url`, it does not queue commands while Redis is down: they fail at
   * once.
   */
  readonly client: RedisClient | RedisCluster;
}

const TEXT = 0x74; // "t"
const BINARY = 0x62; // "b"

/**
 * Creates a Redis pub/sub backplane. Each process gets a random origin id, so
 * a message is delivered once to each subscriber, never twice (its own
 * process delivers locally and ignores Redis's copy); order from one
 * publisher is kept (one connection publishes to a topic, in order).
 *
 * @param options A URL (or a client the app made), a channel prefix and a logger.
 * @returns The backplane: pass it to `PubSub.useBackplane()`.
 * @throws {TypeError} When neither or both of `url` and `client` are given, the URL is not
 *   `redis://` or `rediss://`, TLS options come with `redis://`, or a cluster URL names a
 *   database other than 0.
 *
 * @example From a URL
 * ```ts ignore
 * const backplane = createRedisBackplane({ url: Deno.env.get("REDIS_URL")! });
 * defaultPubSub.useBackplane(backplane);
 * ```
 *
 * @example A Redis Cluster, sharded pub/sub
 * ```ts ignore
 * const backplane = createRedisBackplane({
 *   url: ["rediss://app:secret@node-1:6379", "rediss://app:secret@node-2:6379"],
 *   tls: { ca: await Deno.readTextFile("ca.pem") },
 * });
 * ```
 *
 * @example On clients the app made
 * ```ts ignore
 * import { createClient } from "redis";
 * const client = createClient({ url: "redis://127.0.0.1:6379" });
 * await client.connect();
 * const backplane = createRedisBackplane({ client, subscriber: client.duplicate() });
 * ```
 */
export function createRedisBackplane(options: RedisBackplaneOptions): RedisBackplane {
  if ((options.url === undefined) === (options.client === undefined)) {
    throw new TypeError("Redis backplane needs either url or client");
  }
  const prefix = options.prefix ?? "edgesocket:";
  const log = options.log ?? ((line: string) => console.error(line));
  const maxPendingBytes = options.maxPendingBytes ?? 64 * 1024 * 1024;
  const origin = Buffer.from(crypto.getRandomValues(new Uint8Array(8)));
  const listeners = new Map<string, ChannelListener>();
  let deliver: (topic: string, data: string | Uint8Array) => void = () => {};
  let unrelayed = 0;
  let unrelayedInOutage = 0;
  let pendingBytes = 0;
  let outage: string | undefined;
  let everUp = false;
  let closed = false;
  let batching = false;

  const countUnrelayed = () => {
    unrelayed++;
    unrelayedInOutage++;
  };
  const events: LinkEvents = {
    onDown(where, reason) {
      if (outage !== undefined || closed) return;
      outage = where;
      const why = reason?.message ? ` (${reason.message})` : "";
      log(
        `redis backplane: ${
          everUp ? "lost" : "cannot reach"
        } ${where}${why}; serving local clients only, retrying`,
      );
    },
    onUp() {
      if (!link?.up || closed) return;
      everUp = true;
      // Ask again for what is not subscribed yet (a SUBSCRIBE that failed
      // with its connection); node-redis sends nothing for the others.
      for (const [topic, listener] of listeners) subscribeChannel(topic, listener);
      if (outage === undefined) return;
      log(
        `redis backplane: reconnected to ${outage}; ${unrelayedInOutage} message(s) could not be relayed meanwhile`,
      );
      outage = undefined;
      unrelayedInOutage = 0;
    },
  };
  const { link, stop } = openRedisLink(
    options,
    events,
    (line) => log(`redis backplane: ${line}`),
  );

  const endBatch = () => {
    batching = false;
    endWriteBatch();
  };
  const receive = (topic: string, message: Buffer | string) => {
    const payload = typeof message === "string" ? Buffer.from(message) : message;
    if (payload.length < 9 || origin.compare(payload, 0, 8) === 0) return; // ours: delivered locally
    if (!batching) {
      // The messages node-redis parses from one read reach their subscribers
      // in one batch: one writev per socket where the transport can hold
      // writes. The parser hands them over synchronously, so the batch ends
      // in the microtask after the read.
      batching = true;
      beginWriteBatch();
      queueMicrotask(endBatch);
    }
    const body = payload.subarray(9);
    deliver(topic, payload[8] === TEXT ? body.toString("utf8") : new Uint8Array(body));
  };
  // A SUBSCRIBE that failed is asked again on the next "ready", or after a
  // while: a cluster's shard may refuse it while connections stay up.
  let resubscribeTimer: ReturnType<typeof setTimeout> | undefined;
  const resubscribeLater = () => {
    if (closed || resubscribeTimer !== undefined) return;
    resubscribeTimer = setTimeout(() => {
      resubscribeTimer = undefined;
      if (link.up) { for (const [topic, listener] of listeners) subscribeChannel(topic, listener); }
    }, Math.min(1000, options.maxRetryDelay ?? 5000));
  };
  const subscribeChannel = (topic: string, listener: ChannelListener) => {
    link.subscribe(prefix + topic, listener).catch(resubscribeLater);
  };

  return {
    get connected() {
      return link.up;
    },
    get unrelayed() {
      return unrelayed;
    },
    client: link.client,
    publish(topic, data) {
      const text = typeof data === "string";
      const size = text ? Buffer.byteLength(data) : data.byteLength;
      if (!link.canPublish || pendingBytes + size > maxPendingBytes) {
        countUnrelayed();
        return;
      }
      const payload = Buffer.allocUnsafe(9 + size);
      origin.copy(payload, 0);
      payload[8] = text ? TEXT : BINARY;
      if (text) payload.write(data, 9);
      else payload.set(data, 9);
      pendingBytes += size;
      link.publish(prefix + topic, payload).then(
        () => (pendingBytes -= size),
        () => {
          pendingBytes -= size;
          countUnrelayed();
        },
      );
    },
    subscribe(topic) {
      if (listeners.has(topic)) return;
      const listener: ChannelListener = (message) => receive(topic, message);
      listeners.set(topic, listener);
      subscribeChannel(topic, listener);
    },
    unsubscribe(topic) {
      const listener = listeners.get(topic);
      if (!listener) return;
      listeners.delete(topic);
      if (link.canPublish) link.unsubscribe(prefix + topic, listener).catch(() => {});
    },
    onMessage(fn) {
      deliver = fn;
    },
    async close() {
      closed = true;
      stop();
      clearTimeout(resubscribeTimer);
      if (options.client && link.canPublish) {
        // The app's clients stay open: leave them without our channels.
        await Promise.allSettled(
          [...listeners].map(([topic, listener]) => link.unsubscribe(prefix + topic, listener)),
        );
      }
      listeners.clear();
      await link.close();
    },
  };
}
