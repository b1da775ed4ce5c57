import type { Buffer } from "node:buffer";
import type {
  PresenceEvent,
  PresenceList,
  PresenceMember,
  PresenceStore,
} from "../core/presence_store.ts";
import { openRedisLink } from "./_redis_connect.ts";
import type { ChannelListener, LinkEvents, RedisLink } from "./_redis_link.ts";
import { JOIN, LEAVE, LIST, OURS, type PresenceScript, TICK } from "./_redis_presence_scripts.ts";
import type { RedisBackplaneOptions } from "./redis_backplane.ts";

export type {
  PresenceEvent,
  PresenceList,
  PresenceMember,
  PresenceMeta,
  PresenceStore,
} from "../core/presence_store.ts";

/** Options for {@linkcode createRedisPresence}: a `url`, or a `client` the app made. */
export interface RedisPresenceOptions extends
  Pick<
    RedisBackplaneOptions,
    "url" | "cluster" | "tls" | "client" | "subscriber" | "sharded" | "maxRetryDelay"
  > {
  /** Prefix of the keys and channels, before `presence:` (default `"edgesocket:"`). */
  prefix?: string;
  /** Where status lines go (default `console.error`). */
  log?: (line: string) => void;
  /**
   * How long a process's members outlive its last heartbeat, in ms (default
   * 15,000). Each process beats every `ttl / 3`, and sweeps as often, so the
   * members of a process that died leave every list within `ttl` and their
   * leave is announced within `ttl + ttl / 3` (20 s by default).
   */
  ttl?: number;
  /** The most members `list()` returns, oldest first; past it the list is `partial: "capped"` (default 1,000). */
  maxListed?: number;
  /**
   * The most expired members one process removes from one topic per
   * heartbeat (default 1,000). A dead process with more members takes more
   * heartbeats to sweep; each of them still gets its leave.
   */
  maxSweep?: number;
}

/** Presence on Redis, with its state for health checks. */
export interface RedisPresenceStore extends PresenceStore {
  /** Whether every connection is up. */
  readonly connected: boolean;
  /** How long a process's members outlive its last heartbeat, in ms. */
  readonly ttl: number;
  /** Adds a member: written to Redis, or kept here until Redis is back. */
  join(topic: string, member: PresenceMember): Promise<void>;
  /** Removes a member of this process's (others' are ignored). */
  leave(topic: string, id: string): Promise<void>;
  /** The members of a topic across every process; this process's own while Redis is down. */
  list(topic: string): Promise<PresenceList>;
  /** This process's members leave (announced), then the connections close. */
  close(): Promise<void>;
}

type Listener = (event: PresenceEvent) => void;

function parseMeta(text: unknown): PresenceMember["meta"] {
  try {
    return JSON.parse(String(text));
  } catch {
    return null;
  }
}

// The promise's value, or undefined once `ms` have passed (it goes on).
function settleWithin<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<undefined>((
    resolve,
  ) => (timer = setTimeout(() => resolve(undefined), ms)));
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

// `{` and `}` would move the hash tag; `%` keeps the escape one-to-one.
function escapeTag(topic: string): string {
  return topic.replace(/[%{}]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

class RedisPresence implements RedisPresenceStore {
  readonly ttl: number;
  readonly #link: RedisLink;
  readonly #stop: () => void;
  readonly #prefix: string;
  readonly #sharded: string;
  readonly #maxListed: number;
  readonly #maxSweep: number;
  readonly #log: (line: string) => void;
  readonly #ownsClient: boolean;
  readonly #process = crypto.randomUUID();
  // This process's members: the truth that Redis is brought back to.
  readonly #local = new Map<string, Map<string, string>>();
  readonly #watchers = new Map<string, Set<Listener>>();
  readonly #channels = new Map<string, ChannelListener>();
  // Topics whose members Redis may not hold as this process does.
  readonly #dirty = new Set<string>();
  readonly #timer: ReturnType<typeof setInterval>;
  #ticking = false;
  #outage: string | undefined;
  #everUp = false;
  #failing = false;
  #closed = false;
  // After an outage every process beats before any sweeps.
  #sweepFrom = 0;

  constructor(options: RedisPresenceOptions) {
    if ((options.url === undefined) === (options.client === undefined)) {
      throw new TypeError("Redis presence needs either url or client");
    }
    this.ttl = options.ttl ?? 15_000;
    if (!Number.isFinite(this.ttl) || this.ttl < 300) {
      throw new RangeError("Redis presence ttl must be at least 300 ms");
    }
    this.#prefix = options.prefix ?? "edgesocket:";
    if (/[{}]/.test(this.#prefix)) {
      throw new TypeError("Redis presence prefix must not hold { or }: they set the hash slot");
    }
    this.#maxListed = options.maxListed ?? 1000;
    this.#maxSweep = options.maxSweep ?? 1000;
    this.#log = options.log ?? ((line: string) => console.error(line));
    this.#ownsClient = options.client === undefined;
    const events: LinkEvents = {
      onDown: (where, reason) => this.#down(where, reason),
      onUp: () => this.#up(),
    };
    const opened = openRedisLink(options, events, (line) => this.#log(`redis presence: ${line}`));
    this.#link = opened.link;
    this.#stop = opened.stop;
    this.#sharded = (options.sharded ?? "masters" in opened.link.client) ? "1" : "0";
    this.#timer = setInterval(() => void this.#tick(), this.ttl / 3);
  }

  get connected(): boolean {
    return this.#link.up;
  }

  async join(topic: string, member: PresenceMember): Promise<void> {
    if (member.id === "") throw new TypeError("Presence member id must not be empty");
    let local = this.#local.get(topic);
    if (!local) this.#local.set(topic, local = new Map());
    if (local.has(member.id)) return;
    const meta = JSON.stringify(member.meta ?? null);
    local.set(member.id, meta);
    // A Redis that stops answering must not hold the socket's open: the
    // join is written when it answers, or restored by the heartbeat.
    await settleWithin(this.#add(topic, member.id, meta), this.ttl / 3);
  }

  async leave(topic: string, id: string): Promise<void> {
    const local = this.#local.get(topic);
    if (!local?.delete(id)) return;
    if (local.size === 0 && !this.#dirty.has(topic)) this.#local.delete(topic);
    await settleWithin(this.#remove(topic, id), this.ttl / 3);
  }

  async list(topic: string): Promise<PresenceList> {
    if (this.#link.canPublish) {
      try {
        const listed = this.#run(LIST, topic, [String(this.#maxListed)]);
        const reply = await settleWithin(listed, this.ttl / 3) as unknown[] | undefined;
        if (!reply) throw new Error("no answer in time");
        const members: PresenceList = [];
        for (let i = 1; i < reply.length; i += 2) {
          members.push({ id: String(reply[i]), meta: parseMeta(reply[i + 1]) });
        }
        if (Number(reply[0]) > this.#maxListed) members.partial = "capped";
        return members;
      } catch (error) {
        this.#report(error, `cannot list ${topic}`);
      }
    }
    // What this process knows: its own members.
    const members: PresenceList = [];
    for (const [id, meta] of this.#local.get(topic) ?? []) {
      members.push({ id, meta: parseMeta(meta) });
    }
    members.partial = "unreachable";
    return members;
  }

  watch(topic: string, listener: Listener): () => void {
    let set = this.#watchers.get(topic);
    if (!set) {
      this.#watchers.set(topic, set = new Set());
      const channel: ChannelListener = (message) => this.#receive(topic, message);
      this.#channels.set(topic, channel);
      this.#subscribe(topic, channel);
    }
    set.add(listener);
    return () => {
      if (!set.delete(listener) || set.size > 0 || this.#watchers.get(topic) !== set) return;
      this.#watchers.delete(topic);
      const channel = this.#channels.get(topic)!;
      this.#channels.delete(topic);
      if (this.#link.canPublish) {
        this.#link.unsubscribe(this.#channelOf(topic), channel).catch(() => {});
      }
    };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    this.#stop();
    // A clean stop says goodbye rather than leaving its members to expire.
    if (this.#link.canPublish) {
      const leaving: Promise<unknown>[] = [];
      for (const [topic, local] of this.#local) {
        for (const id of local.keys()) leaving.push(this.#run(LEAVE, topic, [id]));
      }
      await Promise.allSettled(leaving);
      if (!this.#ownsClient) {
        // The app's clients stay open: leave them without our channels.
        await Promise.allSettled(
          [...this.#channels].map(([topic, channel]) =>
            this.#link.unsubscribe(this.#channelOf(topic), channel)
          ),
        );
      }
    }
    this.#local.clear();
    this.#watchers.clear();
    this.#channels.clear();
    await this.#link.close();
  }

  #channelOf(topic: string): string {
    return `${this.#prefix}presence:{${escapeTag(topic)}}`;
  }

  #run(script: PresenceScript, topic: string, extra: string[]): Promise<unknown> {
    const base = this.#channelOf(topic);
    const args = {
      keys: [`${base}:p`, `${base}:m`, `${base}:i`, `${base}:h`],
      arguments: [
        this.#process,
        base,
        this.#sharded,
        String(this.ttl),
        String(this.ttl * 2),
        ...extra,
      ],
    };
    const client = this.#link.client;
    // The call is made before the first await: scripts reach Redis in the
    // order they are run, which the heartbeat's count relies on.
    return client.evalSha(script.sha, args).catch((error: Error) => {
      if (!String(error?.message).startsWith("NOSCRIPT")) throw error;
      return client.eval(script.text, args);
    });
  }

  async #add(topic: string, id: string, meta: string): Promise<void> {
    if (!this.#link.canPublish) {
      this.#dirty.add(topic);
      return;
    }
    try {
      const added = await this.#run(JOIN, topic, [id, meta]);
      this.#failing = false;
      if (Number(added) === 1) {
        this.#emit({ type: "join", topic, member: { id, meta: parseMeta(meta) }, local: true });
      }
    } catch (error) {
      this.#dirty.add(topic);
      this.#report(error, `join to ${topic} not recorded yet`);
    }
  }

  async #remove(topic: string, id: string): Promise<void> {
    if (!this.#link.canPublish) {
      this.#dirty.add(topic);
      return;
    }
    try {
      const [removed, meta] = await this.#run(LEAVE, topic, [id]) as [number, string?];
      this.#failing = false;
      if (Number(removed) === 1) {
        this.#emit({ type: "leave", topic, member: { id, meta: parseMeta(meta) }, local: true });
      }
    } catch (error) {
      this.#dirty.add(topic);
      this.#report(error, `leave of ${topic} not recorded yet`);
    }
  }

  // Brings Redis back to this process's members of a topic: after an
  // outage, a failed command, or a heartbeat that counted otherwise (this
  // process was swept as dead while it lived).
  async #sync(topic: string): Promise<void> {
    this.#dirty.delete(topic);
    const local = this.#local.get(topic) ?? new Map<string, string>();
    let held: Set<string>;
    try {
      held = new Set(
        (await this.#run(OURS, topic, [local.size > 0 ? "1" : "0"]) as unknown[]).map(String),
      );
    } catch (error) {
      this.#dirty.add(topic);
      this.#report(error, `cannot restore ${topic}`);
      return;
    }
    // Read after the reply: joins and leaves since then are already queued
    // behind it, and repeating them is a no-op.
    const now = this.#local.get(topic) ?? new Map<string, string>();
    const jobs: Promise<void>[] = [];
    for (const id of held) if (!now.has(id)) jobs.push(this.#remove(topic, id));
    for (const [id, meta] of now) if (!held.has(id)) jobs.push(this.#add(topic, id, meta));
    await Promise.all(jobs);
    if (now.size === 0 && !this.#dirty.has(topic) && this.#local.get(topic) === now) {
      this.#local.delete(topic);
    }
  }

  async #tick(): Promise<void> {
    if (this.#ticking || this.#closed || !this.#link.canPublish) return;
    this.#ticking = true;
    try {
      const topics = new Set([...this.#local.keys(), ...this.#watchers.keys(), ...this.#dirty]);
      const budget = String(Date.now() >= this.#sweepFrom ? this.#maxSweep : 0);
      await Promise.all(
        [...topics].map((topic) =>
          this.#dirty.has(topic) ? this.#sync(topic) : this.#beat(topic, budget)
        ),
      );
    } finally {
      this.#ticking = false;
    }
  }

  async #beat(topic: string, budget: string): Promise<void> {
    const expected = this.#local.get(topic)?.size ?? 0;
    let reply: unknown[];
    try {
      reply = await this.#run(TICK, topic, [expected > 0 ? "1" : "0", budget]) as unknown[];
      this.#failing = false;
    } catch (error) {
      this.#report(error, `heartbeat of ${topic} failed`);
      return;
    }
    if (expected > 0 && Number(reply[0]) !== expected) this.#dirty.add(topic);
    for (let i = 1; i < reply.length; i += 2) {
      const member = { id: String(reply[i]), meta: parseMeta(reply[i + 1]) };
      this.#emit({ type: "leave", topic, member, local: true });
    }
  }

  #subscribe(topic: string, channel: ChannelListener): void {
    this.#link.subscribe(this.#channelOf(topic), channel).catch(() => {
      // Asked again when the connection is back.
    });
  }

  #receive(topic: string, message: Buffer | string): void {
    let event: unknown;
    try {
      event = JSON.parse(String(message));
    } catch {
      return;
    }
    if (!Array.isArray(event) || event.length !== 4) return;
    const [type, origin, id, meta] = event;
    // This process's own changes were told when their scripts answered.
    if (origin === this.#process || (type !== "join" && type !== "leave")) return;
    const member = { id: String(id), meta: parseMeta(meta) };
    this.#emit({ type: type as "join" | "leave", topic, member, local: false });
  }

  #emit(event: PresenceEvent): void {
    for (const listener of this.#watchers.get(event.topic) ?? []) {
      try {
        listener(event);
      } catch (error) {
        // One app listener's bug must not keep the others from hearing it.
        console.error(error);
      }
    }
  }

  #down(where: string, reason?: Error): void {
    if (this.#outage !== undefined || this.#closed) return;
    this.#outage = where;
    const why = reason?.message ? ` (${reason.message})` : "";
    this.#log(
      `redis presence: ${
        this.#everUp ? "lost" : "cannot reach"
      } ${where}${why}; listing this process's members only, retrying`,
    );
  }

  #up(): void {
    if (!this.#link.up || this.#closed) return;
    // node-redis subscribes again by itself; these are the ones that failed.
    for (const [topic, channel] of this.#channels) this.#subscribe(topic, channel);
    if (this.#everUp && this.#outage === undefined) return;
    if (this.#outage !== undefined) {
      this.#log(`redis presence: reconnected to ${this.#outage}; restoring this process's members`);
      // The others' heartbeats may be a beat behind: no sweep until they
      // have all had the chance to renew.
      if (this.#everUp) this.#sweepFrom = Date.now() + this.ttl;
    }
    this.#everUp = true;
    this.#outage = undefined;
    this.#failing = false;
    for (const topic of this.#local.keys()) this.#dirty.add(topic);
    void this.#tick();
  }

  #report(error: unknown, what: string): void {
    if (this.#failing || this.#closed) return;
    this.#failing = true;
    const message = error instanceof Error ? error.message : String(error);
    this.#log(`redis presence: ${what} (${message}); retrying on the next heartbeat`);
  }
}

/**
 * Creates presence on Redis: who is in a topic across every process, with
 * join and leave events. Members live in Redis under keys of the topic (one
 * hash slot per topic, so a Redis Cluster is fine); each process renews its
 * own expiry every `ttl / 3`, and any process that finds another's expired
 * removes its members and announces their leave (`local: true` there only).
 * While Redis is down, joins and leaves are kept in this process and
 * written when it is back; `list()` then returns this process's members,
 * marked `partial: "unreachable"`.
 *
 * @param options A URL (or a client the app made), the TTL, the caps.
 * @returns The store: pass it to `Presence`'s `store` option or `useStore()`.
 * @throws {TypeError} When neither or both of `url` and `client` are given, or as
 *   `createRedisBackplane()` throws for the URL and TLS options.
 * @throws {RangeError} For a `ttl` under 300 ms.
 *
 * @example
 * ```ts ignore
 * import { defaultPresence } from "@edgesocket/edgesocket";
 * import { createRedisPresence } from "@edgesocket/edgesocket/redis";
 * defaultPresence.useStore(createRedisPresence({ url: Deno.env.get("REDIS_URL")! }));
 * ```
 *
 * @example On the backplane's command connection
 * ```ts ignore
 * const backplane = createRedisBackplane({ url });
 * defaultPubSub.useBackplane(backplane);
 * defaultPresence.useStore(createRedisPresence({ client: backplane.client }));
 * ```
 */
export function createRedisPresence(options: RedisPresenceOptions): RedisPresenceStore {
  return new RedisPresence(options);
}
