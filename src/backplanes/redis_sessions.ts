/**
 * Resumable sessions on Redis, shared by every process on the same Redis:
 * a client resumes its session (its `ws.data`, subscriptions and dedupe
 * window) on another process, or after its process restarted.
 *
 * @module
 */
import { createClient } from "@redis/client";
import type { ResumeSessionRecord, SessionStore } from "../core/session_store.ts";
import type { RedisClient, RedisCluster } from "./_redis_link.ts";

export type { ResumeSessionRecord, SessionStore };

/** Options for {@linkcode RedisSessionStore}: a `client` (e.g. the backplane's), or a `url`. */
export interface RedisSessionStoreOptions {
  /**
   * A node-redis client to run on: the backplane's command connection
   * (`backplane.client`), or one the app made and connected. It is left open
   * on `close()`.
   */
  client?: RedisClient | RedisCluster;
  /** `redis://…` or `rediss://…` of a standalone server: the store makes, connects and closes its own client. */
  url?: string;
  /** Prefix of the keys (default `"edgesocket:session:"`). */
  prefix?: string;
  /**
   * Largest record, in bytes of its JSON (default 16,384): `ws.data` and the
   * topics' names count. A larger one is not kept, and `set()` rejects with
   * a `RangeError` saying so.
   */
  maxRecordBytes?: number;
  /**
   * How long a waiting record is kept past its `expires`, in ms (default
   * 60,000), so that the process holding the session still finds it when
   * its wait runs out (and runs `onClose`); the route refuses it from
   * `expires` on.
   */
  expiryGrace?: number;
  /**
   * How long a record with a socket connected is kept, in ms (default
   * 86,400,000: a day), so that a process killed with its sessions connected
   * leaves nothing behind for ever. Every write (each acknowledgement, each
   * reconnect) renews it; a connected copy whose record expired so is
   * dropped at its next write, and its client resumes fresh (`recovered:
   * false`).
   */
  connectedTtl?: number;
}

/**
 * Resumable sessions in Redis: each record as JSON under the SHA-256 of its
 * token (a key that gives no one the session), written with an expiry
 * (`SET … PX`) when its socket goes, and bounded in size. Redis's own
 * memory is bounded by its `maxmemory`: with an `allkeys-*` eviction policy
 * an evicted record is a session that resumes fresh (`recovered: false`),
 * never someone else's.
 *
 * `ws.data` must be JSON: it is restored from the record on another process.
 *
 * Sessions write through {@linkcode setIfHolder} and end through
 * {@linkcode deleteIfHolder}: a process whose copy of a session another
 * process took over (its socket was half-open) cannot put its stale
 * dedupe window over the new holder's, nor delete the record.
 *
 * @example With the Redis backplane
 * ```ts ignore
 * import { upgradeWebSocket } from "@edgesocket/edgesocket";
 * import { createRedisBackplane, RedisSessionStore } from "@edgesocket/edgesocket/redis";
 *
 * const backplane = createRedisBackplane({ url: Deno.env.get("REDIS_URL")! });
 * const sessions = new RedisSessionStore({ client: backplane.client });
 * app.get("/ws", upgradeWebSocket(() => events, { resume: { sessions } }));
 * ```
 */
export class RedisSessionStore implements SessionStore {
  /** Other processes resume the same sessions. */
  readonly shared = true;
  readonly #client: RedisClient | RedisCluster;
  readonly #owned: boolean;
  readonly #prefix: string;
  readonly #maxRecordBytes: number;
  readonly #grace: number;
  readonly #connectedTtl: number;

  /**
   * Creates the store.
   *
   * @param options The client (or a URL) and the bounds.
   * @throws {TypeError} When neither or both of `client` and `url` are given.
   * @throws {RangeError} For a bound that is not a positive number.
   */
  constructor(options: RedisSessionStoreOptions) {
    if ((options.url === undefined) === (options.client === undefined)) {
      throw new TypeError("Redis sessions need either url or client");
    }
    this.#prefix = options.prefix ?? "edgesocket:session:";
    this.#maxRecordBytes = positive(options.maxRecordBytes ?? 16_384, "maxRecordBytes");
    this.#grace = positive(options.expiryGrace ?? 60_000, "expiryGrace");
    this.#connectedTtl = positive(options.connectedTtl ?? 86_400_000, "connectedTtl");
    this.#owned = options.client === undefined;
    if (options.client) {
      this.#client = options.client;
    } else {
      const client = createClient({ url: options.url });
      client.on("error", () => {});
      client.connect().catch(() => {});
      this.#client = client as unknown as RedisClient;
    }
  }

  /**
   * Finds a session.
   *
   * @param key The SHA-256 of its token, hex.
   * @returns The record, or `undefined` (none, or not a record).
   */
  async get(key: string): Promise<ResumeSessionRecord | undefined> {
    const text = await this.#client.get(this.#prefix + key);
    if (typeof text !== "string") return undefined;
    try {
      const record = JSON.parse(text);
      return record && typeof record === "object" && typeof record.id === "string"
        ? record
        : undefined;
    } catch {
      return undefined;
    }
  }

  /**
   * Keeps a session: while it waits for its client, until a little past
   * its `expires`.
   *
   * @param key The SHA-256 of its token, hex.
   * @param record The record.
   * @throws {RangeError} For a record over `maxRecordBytes` (not kept), or `data` that JSON
   *   cannot hold.
   */
  async set(key: string, record: ResumeSessionRecord): Promise<void> {
    const { text, ttl } = this.#encode(record);
    await this.#client.set(this.#prefix + key, text, { expiration: { type: "PX", value: ttl } });
  }

  /**
   * Keeps a session only while the stored record is this copy's (its
   * holder is `record.holder` or `previous`; no record matches only a new
   * session's `previous` of `undefined`), checked and written by one Lua
   * script on the key's node.
   *
   * @param key The SHA-256 of its token, hex.
   * @param record The record.
   * @param previous The holder the copy took the session over from.
   * @returns Whether it was written.
   * @throws {RangeError} As {@linkcode set}.
   */
  async setIfHolder(
    key: string,
    record: ResumeSessionRecord,
    previous: string | undefined,
  ): Promise<boolean> {
    const { text, ttl } = this.#encode(record);
    // EVAL, not EVALSHA with a fallback: a NOSCRIPT retry would go out
    // after writes sent later, and one copy's writes must land in order.
    const written = await this.#client.eval(SET_IF_HOLDER, {
      keys: [this.#prefix + key],
      arguments: [text, String(ttl), record.holder ?? "", previous ?? ""],
    });
    return written === 1;
  }

  /**
   * Forgets a session only if the stored record names `holder` or
   * `previous`, in one Lua script.
   *
   * @param key The SHA-256 of its token, hex.
   * @param holder The copy that ended it.
   * @param previous The holder that copy took over from.
   */
  async deleteIfHolder(key: string, holder: string, previous: string | undefined): Promise<void> {
    await this.#client.eval(DELETE_IF_HOLDER, {
      keys: [this.#prefix + key],
      arguments: [holder, previous ?? ""],
    });
  }

  // The record's JSON, its holder first (the scripts read it from the
  // start of the text, whatever ws.data holds), and its TTL.
  #encode(record: ResumeSessionRecord): { text: string; ttl: number } {
    let text: string;
    try {
      text = JSON.stringify(
        record.holder === undefined ? record : { holder: record.holder, ...record },
      );
    } catch (error) {
      throw new RangeError(`Session record is not JSON (ws.data must be): ${error}`);
    }
    const size = new TextEncoder().encode(text).length;
    if (size > this.#maxRecordBytes) {
      throw new RangeError(
        `Session record of ${size} bytes is over the Redis session store's maxRecordBytes (${this.#maxRecordBytes}): keep ws.data small`,
      );
    }
    const ttl = record.expires === undefined
      ? this.#connectedTtl
      : Math.max(1, Math.ceil(record.expires - Date.now() + this.#grace));
    return { text, ttl };
  }

  /**
   * Forgets a session.
   *
   * @param key The SHA-256 of its token, hex.
   */
  async delete(key: string): Promise<void> {
    await this.#client.del(this.#prefix + key);
  }

  /** Closes the client the store made from `url`; an app's client stays open. */
  async close(): Promise<void> {
    if (!this.#owned || !this.#client.isOpen) return;
    await this.#client.close().catch(() => this.#client.destroy());
  }
}

// The stored record's holder: the first field of the JSON this store
// writes (a record written without one, or not by this store, has none).
const READ_HOLDER = `
local function holder_of(text)
  return string.match(text, '^{"holder":"([^"\\\\]*)"')
end
`;

// KEYS[1] the record; ARGV[1] its JSON, ARGV[2] its TTL (ms), ARGV[3] its
// holder, ARGV[4] the holder taken over from ("": a new session).
const SET_IF_HOLDER = READ_HOLDER + `
local stored = redis.call('GET', KEYS[1])
if stored then
  local holder = holder_of(stored)
  if holder ~= ARGV[3] and not (ARGV[4] == '' and holder == nil) and holder ~= ARGV[4] then
    return 0
  end
elseif ARGV[4] ~= '' then
  return 0
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
`;

// KEYS[1] the record; ARGV[1] the holder that ends it, ARGV[2] the one it
// took over from ("": none).
const DELETE_IF_HOLDER = READ_HOLDER + `
local stored = redis.call('GET', KEYS[1])
if not stored then return 0 end
local holder = holder_of(stored)
if holder == ARGV[1] or (ARGV[2] ~= '' and holder == ARGV[2]) then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
`;

function positive(value: number, name: string): number {
  if (!(value > 0) || !Number.isFinite(value)) {
    throw new RangeError(`Redis sessions ${name} must be a positive number, got ${value}`);
  }
  return value;
}
