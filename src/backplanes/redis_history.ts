/**
 * Resumable topics' history on Redis Streams, shared by every process on the
 * same Redis: a client resumes on another process, or after its process
 * restarted, from the same stream.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { createHash } from "node:crypto";
import { createClient, RESP_TYPES } from "@redis/client";
import type {
  HistoryEntry,
  HistoryPage,
  HistoryStore,
  StreamPosition,
} from "../core/history_store.ts";
import { createRandomId } from "../core/random_id.ts";
import type { RedisClient, RedisCluster, RedisScriptCommands } from "./_redis_link.ts";

export type { HistoryEntry, HistoryPage, HistoryStore, StreamPosition };

/** Options for {@linkcode RedisHistoryStore}: a `client` (e.g. the backplane's), or a `url`. */
export interface RedisHistoryStoreOptions {
  /**
   * A node-redis client to run on: the backplane's command connection
   * (`backplane.client`), or one the app made and connected. It is left open
   * on `close()`.
   */
  client?: RedisClient | RedisCluster;
  /** `redis://…` or `rediss://…` of a standalone server: the store makes, connects and closes its own client. */
  url?: string;
  /** Prefix of the keys (default `"edgesocket:history:"`); no `{` or `}`. */
  prefix?: string;
  /**
   * Entries kept per topic (default 1,000): `XADD … MAXLEN ~`, so Redis
   * trims in whole nodes of the stream and may keep up to about a hundred more.
   */
  maxEntries?: number;
  /** Keep entries this long, in ms of Redis's clock (default 120,000). */
  maxAge?: number;
  /** Largest payload kept, in bytes (default 65,536): a larger publication throws `RangeError`. */
  maxEntryBytes?: number;
  /**
   * A topic's keys expire this long after it was last used (published to,
   * read, subscribed), in ms (default 86,400,000: a day). Its epoch goes with
   * them: a client that comes back later is told `recovered: false`.
   */
  idleTtl?: number;
}

// One script for the three operations, so that a stream's incarnation is
// checked, and a new one made, in the same atomic step as what uses it.
//
// KEYS[1] the stream (entry ids `<offset>-0`), KEYS[2] its hash: `e` the
// epoch, `n` the last offset. Both exist or the stream is lost: Redis was
// flushed, restarted without persistence, evicted a key, or the keys
// expired. ARGV: 1 the operation (`a` append, `r` read, `p` position), 2 a
// fresh epoch (`a`, `p`) or the reader's (`r`), 3 maxEntries, 4 maxAge, 5
// idleTtl, then for `a`: 6 the payload, 7 `t` or `b`, 8 the origin (or
// ""); for `r`: 6 the offset read after, 7 the most entries.
const SCRIPT = `
local stream, meta = KEYS[1], KEYS[2]
local op = ARGV[1]
local epoch = redis.call('HGET', meta, 'e')
if not epoch or redis.call('EXISTS', stream) == 0 then
  if op == 'r' then return {'gone'} end
  -- A new incarnation, under an epoch never used before. The stream is made
  -- empty (an entry added and deleted): it exists, and offsets start at 1.
  epoch = ARGV[2]
  redis.call('DEL', stream, meta)
  redis.call('XADD', stream, '0-1', 'x', '')
  redis.call('XDEL', stream, '0-1')
  redis.call('HSET', meta, 'e', epoch, 'n', 0)
elseif op == 'r' and epoch ~= ARGV[2] then
  return {'gone'}
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local last
if op == 'a' then
  last = redis.call('HINCRBY', meta, 'n', 1)
  redis.call('XADD', stream, 'MAXLEN', '~', ARGV[3], string.format('%d-0', last),
    'd', ARGV[6], 'k', ARGV[7], 'o', ARGV[8], 't', now)
else
  last = tonumber(redis.call('HGET', meta, 'n'))
end
-- The age bound: offsets are dense from the first entry kept to the last,
-- and their times rise with them, so a binary search finds the first entry
-- young enough in a few lookups, and everything before it goes.
local first = last + 1
local head = redis.call('XRANGE', stream, '-', '+', 'COUNT', 1)[1]
if head then
  first = tonumber(string.match(head[1], '^%d+'))
  local cutoff = now - tonumber(ARGV[4])
  if tonumber(head[2][8]) < cutoff then
    local lo, hi = first + 1, last + 1
    while lo < hi do
      local mid = math.floor((lo + hi) / 2)
      local id = string.format('%d-0', mid)
      local entry = redis.call('XRANGE', stream, id, id)[1]
      if entry and tonumber(entry[2][8]) >= cutoff then hi = mid else lo = mid + 1 end
    end
    redis.call('XTRIM', stream, 'MINID', string.format('%d-0', lo))
    first = lo
  end
end
redis.call('PEXPIRE', stream, ARGV[5])
redis.call('PEXPIRE', meta, ARGV[5])
if op == 'r' then
  local after = tonumber(ARGV[6])
  -- Past the end (another incarnation's position), or older than what is kept.
  if after > last or after < first - 1 then return {'gone'} end
  return {epoch, last, redis.call('XRANGE', stream, string.format('%d-0', after + 1), '+',
    'COUNT', ARGV[7])}
end
return {epoch, last}
`;
const SHA = createHash("sha1").update(SCRIPT).digest("hex");

// The payloads come back as bytes, whatever the client's own reply types.
const AS_BYTES = { [RESP_TYPES.BLOB_STRING]: Buffer };

function positive(value: number, name: string): number {
  if (!(value > 0) || !Number.isFinite(value)) {
    throw new RangeError(`Redis history ${name} must be a positive number, got ${value}`);
  }
  return value;
}

/**
 * Resumable topics' history on Redis Streams: one stream per topic, with
 * offsets 1, 2, 3 … and no gap (the stream's entry ids are `<offset>-0`,
 * numbered in the same Lua script that adds the entry), bounded by count
 * (`MAXLEN ~`) and age (Redis's clock), and an epoch kept beside it. A
 * stream Redis lost — flushed, evicted, expired, a restart without
 * persistence — is noticed by the script that next touches it, which starts
 * a new one under a new epoch, never an old one; `read()` answers `"gone"`
 * for what was trimmed rather than skipping it. A topic's keys share one
 * `{hash tag}`, so it works on a Redis Cluster.
 *
 * The store is `shared`: `PubSub` relays each publication with the position
 * it got here, and other processes deliver it with that position instead of
 * numbering it again. Give it the backplane's command connection, so that
 * one Redis carries both.
 *
 * @example With the Redis backplane
 * ```ts ignore
 * import { defaultPubSub } from "@edgesocket/edgesocket";
 * import { createRedisBackplane, RedisHistoryStore } from "@edgesocket/edgesocket/redis";
 *
 * const backplane = createRedisBackplane({ url: Deno.env.get("REDIS_URL")! });
 * defaultPubSub.useBackplane(backplane);
 * defaultPubSub.useHistory(new RedisHistoryStore({ client: backplane.client }), {
 *   topics: (topic) => topic.startsWith("room:"),
 * });
 * ```
 */
export class RedisHistoryStore implements HistoryStore {
  /** Other processes append to the same streams. */
  readonly shared = true;
  readonly #client: RedisClient | RedisCluster;
  readonly #bytes: RedisScriptCommands;
  readonly #owned: boolean;
  readonly #prefix: string;
  readonly #bounds: [string, string, string];
  readonly #maxEntryBytes: number;
  // Fresh epochs: a random part per store and a counter, so none repeats.
  readonly #epochBase = createRandomId(9);
  #epochs = 0;

  /**
   * Creates the store.
   *
   * @param options The client (or a URL) and the bounds.
   * @throws {TypeError} When neither or both of `client` and `url` are given, or the
   *   prefix holds `{` or `}`.
   * @throws {RangeError} For a bound that is not a positive number.
   */
  constructor(options: RedisHistoryStoreOptions) {
    if ((options.url === undefined) === (options.client === undefined)) {
      throw new TypeError("Redis history needs either url or client");
    }
    this.#prefix = options.prefix ?? "edgesocket:history:";
    if (/[{}]/.test(this.#prefix)) {
      throw new TypeError("Redis history prefix must not hold { or }: they set the hash slot");
    }
    this.#bounds = [
      String(Math.ceil(positive(options.maxEntries ?? 1000, "maxEntries"))),
      String(Math.ceil(positive(options.maxAge ?? 120_000, "maxAge"))),
      String(Math.ceil(positive(options.idleTtl ?? 86_400_000, "idleTtl"))),
    ];
    this.#maxEntryBytes = positive(options.maxEntryBytes ?? 65_536, "maxEntryBytes");
    this.#owned = options.client === undefined;
    if (options.client) {
      this.#client = options.client;
    } else {
      const client = createClient({ url: options.url });
      // Reported by the commands that fail meanwhile; node-redis reconnects.
      client.on("error", () => {});
      client.connect().catch(() => {});
      this.#client = client as unknown as RedisClient;
    }
    this.#bytes = this.#client.withTypeMapping(AS_BYTES);
  }

  /** The node-redis client the store runs on. */
  get client(): RedisClient | RedisCluster {
    return this.#client;
  }

  #keys(topic: string): string[] {
    // `{` and `}` in a topic would move the hash tag: escaped, one-to-one.
    const tag = topic.replace(/[%{}]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
    const base = `${this.#prefix}{${tag}}`;
    return [`${base}:s`, `${base}:m`];
  }

  #run(topic: string, args: Array<string | Buffer>): Promise<unknown> {
    const call = { keys: this.#keys(topic), arguments: args };
    const client = this.#bytes;
    // Sent before the first await: appends reach Redis in call order.
    return client.evalSha(SHA, call).catch((error: Error) => {
      if (!String(error?.message).startsWith("NOSCRIPT")) throw error;
      return client.eval(SCRIPT, call);
    });
  }

  #freshEpoch(): string {
    return `${this.#epochBase}.${(++this.#epochs).toString(36)}`;
  }

  /**
   * Numbers a publication and keeps it (`XADD`).
   *
   * @param topic The topic.
   * @param data The payload.
   * @param origin The publishing session's id.
   * @returns Its position, once Redis has it.
   * @throws {RangeError} At once, for a payload over `maxEntryBytes`.
   */
  append(topic: string, data: string | Uint8Array, origin?: string): Promise<StreamPosition> {
    const text = typeof data === "string";
    const size = text ? Buffer.byteLength(data) : data.byteLength;
    if (size > this.#maxEntryBytes) {
      throw new RangeError(
        `Publication of ${size} bytes is over the Redis history's maxEntryBytes (${this.#maxEntryBytes})`,
      );
    }
    const payload = text ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    return this.#run(topic, [
      "a",
      this.#freshEpoch(),
      ...this.#bounds,
      payload,
      text ? "t" : "b",
      origin ?? "",
    ]).then(toPosition);
  }

  /**
   * Reads what was published after a position (`XRANGE`).
   *
   * @param topic The topic.
   * @param after The reader's last position.
   * @param limit The most entries to return.
   * @returns The entries, or `"gone"`: another epoch, past the end, or trimmed.
   */
  async read(topic: string, after: StreamPosition, limit: number): Promise<HistoryPage | "gone"> {
    const reply = await this.#run(topic, [
      "r",
      after.epoch,
      ...this.#bounds,
      String(after.offset),
      String(Math.max(1, Math.floor(limit))),
    ]) as unknown[];
    if (reply.length < 3) return "gone";
    const entries: HistoryEntry[] = [];
    for (const [id, fields] of reply[2] as Array<[Buffer, Buffer[]]>) {
      const offset = parseInt(id.toString("latin1"), 10);
      const body = fields[1];
      const data = fields[3].toString("latin1") === "t"
        ? body.toString("utf8")
        : new Uint8Array(body);
      const origin = fields[5].length > 0 ? fields[5].toString("utf8") : undefined;
      entries.push(origin === undefined ? { offset, data } : { offset, data, origin });
    }
    return { entries, position: toPosition(reply) };
  }

  /**
   * The stream's position now; a topic Redis has no stream for gets one,
   * under a new epoch.
   *
   * @param topic The topic.
   * @returns The epoch and the last offset.
   */
  async position(topic: string): Promise<StreamPosition> {
    return toPosition(await this.#run(topic, ["p", this.#freshEpoch(), ...this.#bounds]));
  }

  /** Closes the client the store made from `url`; an app's client stays open. */
  async close(): Promise<void> {
    if (!this.#owned || !this.#client.isOpen) return;
    await this.#client.close().catch(() => this.#client.destroy());
  }
}

function toPosition(reply: unknown): StreamPosition {
  const [epoch, offset] = reply as [Buffer, number];
  return { epoch: epoch.toString("utf8"), offset: Number(offset) };
}
