/**
 * A Redis pub/sub backplane for several Deno or Node processes: topics with
 * local subscribers are subscribed on Redis, and every publish is relayed
 * through it. Runs on `node:net` (Node, and Deno's Node APIs). When Redis is
 * down the processes keep serving their local clients, reconnect by
 * themselves, and log what could not be relayed.
 *
 * @example
 * ```ts ignore
 * import { defaultPubSub } from "@edgesocket/edgesocket";
 * import { createRedisBackplane } from "@edgesocket/edgesocket/redis";
 * defaultPubSub.useBackplane(createRedisBackplane({ url: "redis://127.0.0.1:6379" }));
 * ```
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { connect, type Socket } from "node:net";
import type { Backplane } from "../core/backplane.ts";
import { beginWriteBatch, endWriteBatch } from "../core/write_batch.ts";

export type { Backplane } from "../core/backplane.ts";

/** Options for {@linkcode createRedisBackplane}. */
export interface RedisBackplaneOptions {
  /** `redis://[:password@]host[:port]`. */
  url: string;
  /** Prefix of the Redis channel names (default `"edgesocket:"`). */
  prefix?: string;
  /** Where status lines go (default `console.error`). */
  log?: (line: string) => void;
  /** Longest wait between reconnection attempts, in ms (default 5,000). */
  maxRetryDelay?: number;
}

/** A Redis backplane, with its state for health checks. */
export interface RedisBackplane extends Backplane {
  /** Whether both connections are up. */
  readonly connected: boolean;
  /** Messages that could not be relayed while Redis was down. */
  readonly unrelayed: number;
}

type Reply = string | number | null | Buffer | Error | Reply[];

/** An incremental RESP2 reader: whole replies out, however the bytes arrive. */
class ReplyReader {
  #buffer: Buffer = Buffer.alloc(0);

  push(chunk: Buffer, onReply: (reply: Reply) => void): void {
    this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk]);
    while (this.#buffer.length > 0) {
      const parsed = this.#parse(0);
      if (!parsed) return;
      this.#buffer = this.#buffer.subarray(parsed[1]);
      onReply(parsed[0]);
    }
  }

  #parse(at: number): [Reply, number] | undefined {
    const buf = this.#buffer;
    const lineEnd = buf.indexOf("\r\n", at);
    if (lineEnd === -1) return undefined;
    const line = buf.toString("latin1", at + 1, lineEnd);
    const next = lineEnd + 2;
    switch (buf[at]) {
      case 0x2b: // +
        return [line, next];
      case 0x2d: // -
        return [new Error(line), next];
      case 0x3a: // :
        return [Number(line), next];
      case 0x24: { // $
        const length = Number(line);
        if (length < 0) return [null, next];
        if (buf.length < next + length + 2) return undefined;
        return [buf.subarray(next, next + length), next + length + 2];
      }
      case 0x2a: { // *
        const count = Number(line);
        if (count < 0) return [null, next];
        const items: Reply[] = [];
        let pos = next;
        for (let i = 0; i < count; i++) {
          const item = this.#parse(pos);
          if (!item) return undefined;
          items.push(item[0]);
          pos = item[1];
        }
        return [items, pos];
      }
      default:
        throw new Error(`Unexpected Redis reply byte ${buf[at]}`);
    }
  }
}

function encodeCommand(args: Array<string | Uint8Array>): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
  for (const arg of args) {
    const bytes = typeof arg === "string"
      ? Buffer.from(arg)
      : Buffer.from(arg.buffer, arg.byteOffset, arg.byteLength);
    parts.push(Buffer.from(`$${bytes.length}\r\n`), bytes, Buffer.from("\r\n"));
  }
  return Buffer.concat(parts);
}

/** One Redis connection that reconnects with backoff. */
class RedisLink {
  #socket: Socket | undefined;
  #up = false;
  #closed = false;
  #delay = 100;
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    readonly name: string,
    readonly options: {
      host: string;
      port: number;
      password?: string;
      maxRetryDelay: number;
      log: (line: string) => void;
      onUp: () => void;
      onDown: (wasUp: boolean) => void;
      onReply: (reply: Reply) => void;
    },
  ) {
    this.#connect();
  }

  get up(): boolean {
    return this.#up;
  }

  send(args: Array<string | Uint8Array>): boolean {
    if (!this.#up || !this.#socket) return false;
    this.#socket.write(encodeCommand(args));
    return true;
  }

  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#socket?.destroy();
  }

  #connect(): void {
    const { host, port } = this.options;
    const reader = new ReplyReader();
    const socket = connect({ host, port });
    this.#socket = socket;
    socket.setNoDelay(true);
    socket.on("connect", () => {
      this.#up = true;
      this.#delay = 100;
      if (this.options.password) socket.write(encodeCommand(["AUTH", this.options.password]));
      this.options.onUp();
    });
    socket.on("data", (chunk: Buffer) => {
      // The messages of one read reach their subscribers in one batch: one
      // writev per socket where the transport can hold writes.
      beginWriteBatch();
      try {
        reader.push(chunk, this.options.onReply);
      } catch (error) {
        this.options.log(`redis backplane (${this.name}): ${(error as Error).message}`);
        socket.destroy();
      } finally {
        endWriteBatch();
      }
    });
    socket.on("error", () => {}); // "close" follows and reports it
    socket.on("close", () => {
      const wasUp = this.#up;
      this.#up = false;
      if (this.#closed) return;
      this.options.onDown(wasUp);
      this.#timer = setTimeout(() => this.#connect(), this.#delay);
      this.#delay = Math.min(this.#delay * 2, this.options.maxRetryDelay);
    });
  }
}

/**
 * Creates a Redis pub/sub backplane. Each process gets a random origin id, so
 * a message is delivered once to each subscriber, never twice (its own
 * process delivers locally and ignores Redis's copy); order from one
 * publisher is kept (one connection publishes, in order).
 *
 * @param options The Redis URL, a channel prefix and a logger.
 * @returns The backplane: pass it to `PubSub.useBackplane()`.
 *
 * @example
 * ```ts ignore
 * const backplane = createRedisBackplane({ url: Deno.env.get("REDIS_URL")! });
 * defaultPubSub.useBackplane(backplane);
 * ```
 */
export function createRedisBackplane(options: RedisBackplaneOptions): RedisBackplane {
  const url = new URL(options.url);
  const prefix = options.prefix ?? "edgesocket:";
  const log = options.log ?? ((line: string) => console.error(line));
  const origin = Buffer.from(crypto.getRandomValues(new Uint8Array(8)));
  const topics = new Set<string>();
  let deliver: (topic: string, data: string | Uint8Array) => void = () => {};
  let unrelayed = 0;
  let unrelayedInOutage = 0;
  let outage = false;
  const where = `${url.hostname}:${url.port || 6379}`;
  const common = {
    host: url.hostname,
    port: Number(url.port || 6379),
    password: url.password ? decodeURIComponent(url.password) : undefined,
    maxRetryDelay: options.maxRetryDelay ?? 5000,
    log,
  };
  const noteDown = (wasUp: boolean) => {
    if (!outage) {
      outage = true;
      log(
        `redis backplane: ${
          wasUp ? "lost" : "cannot reach"
        } ${where}; serving local clients only, retrying`,
      );
    }
  };
  const noteUp = () => {
    if (outage && pub.up && sub.up) {
      outage = false;
      log(
        `redis backplane: reconnected to ${where}; ${unrelayedInOutage} message(s) could not be relayed meanwhile`,
      );
      unrelayedInOutage = 0;
    }
  };
  const pub = new RedisLink("publish", {
    ...common,
    onUp: noteUp,
    onDown: noteDown,
    onReply: (reply) => {
      if (reply instanceof Error) log(`redis backplane: ${reply.message}`);
    },
  });
  const sub = new RedisLink("subscribe", {
    ...common,
    onUp: () => {
      if (topics.size > 0) sub.send(["SUBSCRIBE", ...[...topics].map((t) => prefix + t)]);
      noteUp();
    },
    onDown: noteDown,
    onReply: (reply) => {
      if (!Array.isArray(reply) || reply.length !== 3) return;
      const [kind, channel, payload] = reply;
      if (!(kind instanceof Buffer) || kind.toString() !== "message") return;
      if (!(payload instanceof Buffer) || payload.length < 9 || !(channel instanceof Buffer)) {
        return;
      }
      if (payload.subarray(0, 8).equals(origin)) return; // our own: delivered locally already
      const topic = channel.toString().slice(prefix.length);
      const body = payload.subarray(9);
      deliver(topic, payload[8] === 0x74 ? body.toString("utf8") : new Uint8Array(body));
    },
  });
  return {
    get connected() {
      return pub.up && sub.up;
    },
    get unrelayed() {
      return unrelayed;
    },
    publish(topic, data) {
      const body = typeof data === "string" ? Buffer.from(data) : data;
      const payload = Buffer.concat([
        origin,
        Buffer.from(typeof data === "string" ? "t" : "b"),
        body,
      ]);
      if (!pub.send(["PUBLISH", prefix + topic, payload])) {
        unrelayed++;
        unrelayedInOutage++;
      }
    },
    subscribe(topic) {
      topics.add(topic);
      sub.send(["SUBSCRIBE", prefix + topic]);
    },
    unsubscribe(topic) {
      topics.delete(topic);
      sub.send(["UNSUBSCRIBE", prefix + topic]);
    },
    onMessage(fn) {
      deliver = fn;
    },
    close() {
      pub.close();
      sub.close();
    },
  };
}
