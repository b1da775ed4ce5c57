import { CloseCode, encodeFrame, Opcode } from "../codec/mod.ts";
import type { Backplane } from "./backplane.ts";
import type { RuntimeTopics } from "./runtime_topics.ts";
import type { Subscriber } from "./subscriber.ts";
import type { HistoryStore } from "./history_store.ts";
import { TopicHistory, type TopicHistoryOptions } from "./topic_history.ts";
import { type SendData, toBytes } from "./send_data.ts";

/** Told when a subscriber leaves a topic: unsubscribed, or its socket closed. */
export type TopicLeaveListener = (subscriber: Subscriber, topic: string) => void;

// A topic's native side: the runtime's topics and how many subscribe there.
interface NativeTopic {
  topics: RuntimeTopics;
  count: number;
}

/** Options for {@linkcode PubSub}. */
export interface PubSubOptions {
  /** A subscriber with more than this many bytes queued is slow (default 1 MiB). */
  highWaterMark?: number;
  /** `"drop"` (default): skip a slow subscriber for this message, counted; `"close"`: close it 1013. */
  slowConsumer?: "drop" | "close";
  /** Relays topics between processes (Redis, BroadcastChannel); none by default. */
  backplane?: Backplane;
}

/**
 * The longest topic name.
 *
 * @example
 * ```ts
 * import { MAX_TOPIC_LENGTH } from "@edgesocket/edgesocket";
 * console.log("room:lobby".length <= MAX_TOPIC_LENGTH); // true
 * ```
 */
export const MAX_TOPIC_LENGTH = 256;

const encoder = new TextEncoder();

/**
 * Checks a topic name: 1 to 256 characters.
 *
 * @param topic The name.
 * @throws {RangeError} When it is empty or over 256 characters.
 *
 * @example
 * ```ts
 * import { assertTopic } from "@edgesocket/edgesocket/adapter";
 * assertTopic("room:lobby");
 * ```
 */
export function assertTopic(topic: string): void {
  if (typeof topic !== "string" || topic.length === 0 || topic.length > MAX_TOPIC_LENGTH) {
    throw new RangeError(`Topic name must be 1 to ${MAX_TOPIC_LENGTH} characters`);
  }
}

/**
 * Topics in one process: subscribe, unsubscribe, publish. A publish encodes
 * its frame once, whatever the number of subscribers, where the codec frames
 * the bytes; a subscriber over the high-water mark is skipped (counted) or
 * closed with 1013, so one that stops reading never grows the server's memory
 * without bound.
 *
 * @example
 * ```ts
 * import { PubSub } from "@edgesocket/edgesocket";
 * const pubsub = new PubSub();
 * console.log(pubsub.publish("news", "nobody listens")); // 0
 * ```
 */
export class PubSub {
  #topics = new Map<string, Set<Subscriber>>();
  #native = new Map<string, NativeTopic>();
  #highWaterMark: number;
  #slowConsumer: "drop" | "close";
  #backplane: Backplane | undefined;
  #leaveListeners: TopicLeaveListener[] = [];
  #history: TopicHistory | undefined;
  /** Messages skipped because their subscriber was slow. */
  dropped = 0;

  /**
   * Creates a topic registry.
   *
   * @param options High-water mark and slow-consumer policy.
   */
  constructor(options: PubSubOptions = {}) {
    this.#highWaterMark = options.highWaterMark ?? 1024 * 1024;
    this.#slowConsumer = options.slowConsumer ?? "drop";
    this.useBackplane(options.backplane);
  }

  /**
   * Switches the backplane: topics with local subscribers are carried to and
   * from the other processes through it.
   *
   * @param backplane The backplane, or `undefined` for this process only.
   */
  useBackplane(backplane: Backplane | undefined): void {
    this.#backplane = backplane;
    if (!backplane) return;
    backplane.onMessage((topic, data) => {
      const history = this.#history;
      if (!history?.isResumable(topic)) return this.#deliver(topic, data, undefined);
      // A shared store numbered it where it was published: it comes with
      // its position. Otherwise this process numbers it in its own stream.
      if (history.store.shared) history.receive(topic, data);
      else history.publish(topic, data);
    });
    for (const topic of this.#topics.keys()) backplane.subscribe(topic);
  }

  /**
   * Makes topics resumable: each publication on one is numbered and kept by
   * `store` before it fans out, so a client of a resumable route that comes
   * back gets what it missed, once and in order. Plain subscribers of the
   * same topics get the bare messages as before.
   *
   * @param store The history, or `undefined` to number nothing again.
   * @param options `topics`: which ones (default: all).
   *
   * @example
   * ```ts
   * import { defaultPubSub, MemoryHistoryStore } from "@edgesocket/edgesocket";
   * defaultPubSub.useHistory(new MemoryHistoryStore(), { topics: (t) => t.startsWith("room:") });
   * ```
   */
  useHistory(store: HistoryStore | undefined, options: TopicHistoryOptions = {}): void {
    this.#history = store &&
      new TopicHistory(store, options, {
        deliver: (t, d, s) => this.#deliver(t, d, s),
        count: (t) => this.subscriberCount(t),
        relay: (t, message) => this.#backplane?.publish(t, message),
      });
  }

  /** The resumable topics' history, when `useHistory()` set one. */
  get history(): TopicHistory | undefined {
    return this.#history;
  }

  /**
   * Adds a subscriber to a topic.
   *
   * @param subscriber The session.
   * @param topic 1 to 256 characters.
   * @throws {RangeError} For an empty or too long topic name.
   */
  subscribe(subscriber: Subscriber, topic: string): void {
    assertTopic(topic);
    let set = this.#topics.get(topic);
    if (!set) {
      this.#topics.set(topic, set = new Set());
      this.#backplane?.subscribe(topic);
      // A shared history's delivery here starts where the stream is now.
      if (this.#history?.isResumable(topic)) this.#history.watch(topic);
    }
    if (set.has(subscriber)) return;
    set.add(subscriber);
    subscriber.topics.add(topic);
    const runtimeTopics = subscriber.runtimeTopics;
    if (runtimeTopics) {
      runtimeTopics.subscribe(subscriber.socket, topic);
      const native = this.#native.get(topic);
      if (native) native.count++;
      else this.#native.set(topic, { topics: runtimeTopics, count: 1 });
    }
  }

  /**
   * Removes a subscriber from a topic.
   *
   * @param subscriber The session.
   * @param topic The topic.
   */
  unsubscribe(subscriber: Subscriber, topic: string): void {
    const set = this.#topics.get(topic);
    subscriber.topics.delete(topic);
    if (!set?.delete(subscriber)) return;
    for (const listener of this.#leaveListeners) listener(subscriber, topic);
    const runtimeTopics = subscriber.runtimeTopics;
    if (runtimeTopics) {
      runtimeTopics.unsubscribe(subscriber.socket, topic);
      const native = this.#native.get(topic) as NativeTopic;
      if (--native.count === 0) this.#native.delete(topic);
    }
    if (set.size === 0) {
      this.#topics.delete(topic);
      this.#backplane?.unsubscribe(topic);
    }
  }

  /**
   * Calls `listener` whenever a subscriber leaves a topic, by
   * `unsubscribe()` or because its socket closed (presence uses it).
   *
   * @param listener Called with the subscriber and the topic.
   * @returns A function that removes the listener.
   */
  onLeave(listener: TopicLeaveListener): () => void {
    this.#leaveListeners.push(listener);
    return () => {
      this.#leaveListeners = this.#leaveListeners.filter((l) => l !== listener);
    };
  }

  /**
   * Removes a subscriber from every topic (on close).
   *
   * @param subscriber The session.
   */
  unsubscribeAll(subscriber: Subscriber): void {
    for (const topic of [...subscriber.topics]) this.unsubscribe(subscriber, topic);
  }

  /**
   * The number of subscribers of a topic.
   *
   * @param topic The topic.
   * @returns The count (0 for an unknown topic).
   */
  subscriberCount(topic: string): number {
    return this.#topics.get(topic)?.size ?? 0;
  }

  /**
   * Sends a message to every subscriber of a topic, except `sender`.
   *
   * @param topic The topic (1 to 256 characters).
   * @param data Text or binary.
   * @param sender A subscriber to leave out.
   * @returns How many subscribers it was sent to.
   * @throws {RangeError} For an empty or too long topic name.
   */
  publish(topic: string, data: SendData, sender?: Subscriber): number {
    assertTopic(topic);
    const history = this.#history;
    if (history?.isResumable(topic)) {
      // Numbered first (a Blob throws before anything is sent), then relayed;
      // a shared store's publication is relayed once numbered, with its position.
      const count = history.publish(topic, data, sender);
      if (!history.store.shared) {
        this.#backplane?.publish(
          topic,
          typeof data === "string" ? data : toBytes(data as ArrayBuffer),
        );
      }
      return count;
    }
    if (this.#backplane && !(data instanceof Blob)) {
      this.#backplane.publish(topic, typeof data === "string" ? data : toBytes(data));
    }
    return this.#deliver(topic, data, sender);
  }

  #deliver(topic: string, data: SendData, sender: Subscriber | undefined): number {
    const set = this.#topics.get(topic);
    if (!set || set.size === 0) return 0;
    let sent = 0;
    const native = data instanceof Blob ? undefined : this.#native.get(topic);
    if (native && !(data instanceof Blob)) {
      // One native call for all of them; the runtime's backpressure limit
      // applies to them, not the high-water mark (see createBunWebSocket).
      const except = sender?.runtimeTopics ? sender.socket : undefined;
      native.topics.publish(topic, typeof data === "string" ? data : toBytes(data), except);
      sent += native.count - (except !== undefined && set.has(sender!) ? 1 : 0);
      if (native.count === set.size) return sent;
    }
    let frame: Uint8Array[] | undefined;
    for (const subscriber of set) {
      if (subscriber === sender || (native && subscriber.runtimeTopics)) continue;
      if (subscriber.bufferedAmount > this.#highWaterMark) {
        if (this.#slowConsumer === "close") {
          subscriber.closeWith(CloseCode.TryAgainLater, "Slow consumer");
        } else this.dropped++;
        continue;
      }
      if (subscriber.canSendEncoded && !(data instanceof Blob)) {
        frame ??= encodeOnce(data);
        subscriber.sendEncoded!(frame);
      } else subscriber.send(data);
      sent++;
    }
    return sent;
  }
}

function encodeOnce(data: Exclude<SendData, Blob>): Uint8Array[] {
  return typeof data === "string"
    ? encodeFrame(Opcode.Text, encoder.encode(data))
    : encodeFrame(Opcode.Binary, toBytes(data));
}

/**
 * The process-wide topics that `ws.subscribe()` and `publish()` use.
 *
 * @example Across processes, through Redis
 * ```ts ignore
 * import { defaultPubSub } from "@edgesocket/edgesocket";
 * import { createRedisBackplane } from "@edgesocket/edgesocket/redis";
 * defaultPubSub.useBackplane(createRedisBackplane({ url: "redis://127.0.0.1:6379" }));
 * ```
 */
export const defaultPubSub: PubSub = new PubSub();

/**
 * Publishes to every subscriber of a topic, from anywhere in the app (an
 * HTTP route, a timer).
 *
 * @param topic The topic.
 * @param data Text or binary.
 * @returns How many subscribers it was sent to.
 * @throws {RangeError} For an empty or too long topic name.
 *
 * @example
 * ```ts
 * import { publish } from "@edgesocket/edgesocket";
 * console.log(publish("news", "hello")); // 0: no subscriber yet
 * ```
 */
export function publish(topic: string, data: SendData): number {
  return defaultPubSub.publish(topic, data);
}

/**
 * The number of subscribers of a topic in this process.
 *
 * @param topic The topic.
 * @returns The count.
 *
 * @example
 * ```ts
 * import { subscriberCount } from "@edgesocket/edgesocket";
 * console.log(subscriberCount("news")); // 0
 * ```
 */
export function subscriberCount(topic: string): number {
  return defaultPubSub.subscriberCount(topic);
}
