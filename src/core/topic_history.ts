import type { HistoryStore, StreamPosition } from "./history_store.ts";
import { Publication } from "./publication.ts";
import type { Subscriber } from "./pub_sub.ts";
import { type SendData, toBytes } from "./send_data.ts";

/** Options for `PubSub.useHistory()`. */
export interface TopicHistoryOptions {
  /** Which topics are resumable (default: all of them). */
  topics?: (topic: string) => boolean;
}

type Deliver = (topic: string, data: SendData, sender: Subscriber | undefined) => number;

/**
 * The resumable topics of a `PubSub`: every publication on one, from
 * anywhere (`publish()` in an HTTP route, `ws.publish()`, another process
 * through the backplane), is numbered by the history store before it fans
 * out; resumable subscribers get it with its position, plain subscribers of
 * the same topic get the bare message as before.
 *
 * Set it with `pubsub.useHistory(store, { topics })`.
 */
export class TopicHistory {
  /** The store. */
  readonly store: HistoryStore;
  /**
   * @internal The publication being delivered, read by each
   * `TopicSubscription` during the one synchronous fan-out.
   */
  current: Publication | undefined;
  readonly #isResumable: (topic: string) => boolean;
  readonly #deliver: Deliver;
  readonly #count: (topic: string) => number;
  // Per topic, the delivery of the last publication whose append has not
  // answered yet: deliveries keep the order of publish() calls.
  #tails = new Map<string, Promise<void>>();

  /**
   * Creates the instance (`PubSub.useHistory()` does).
   *
   * @param store The store.
   * @param options Which topics.
   * @param deliver Delivers to this process's subscribers of a topic.
   * @param count Counts them.
   */
  constructor(
    store: HistoryStore,
    options: TopicHistoryOptions,
    deliver: Deliver,
    count: (topic: string) => number,
  ) {
    this.store = store;
    this.#isResumable = options.topics ?? (() => true);
    this.#deliver = deliver;
    this.#count = count;
  }

  /**
   * Whether a topic is resumable.
   *
   * @param topic The topic.
   * @returns `true` when its publications are numbered.
   */
  isResumable(topic: string): boolean {
    return this.#isResumable(topic);
  }

  /**
   * Numbers a publication and delivers it: at once with a store that
   * answers at once, else when the store answers, in publish() order.
   *
   * @param topic The topic.
   * @param data The payload (a `Blob` cannot be numbered synchronously).
   * @param sender A subscriber to leave out.
   * @returns How many local subscribers it was (or will be) sent to.
   * @throws {TypeError} For a `Blob`.
   */
  publish(topic: string, data: SendData | string | Uint8Array, sender?: Subscriber): number {
    if (data instanceof Blob) {
      throw new TypeError("Cannot publish a Blob on a resumable topic: publish its bytes");
    }
    // The history keeps the bytes: a caller may reuse its buffer.
    const kept = typeof data === "string" ? data : toBytes(data).slice();
    const origin = (sender as { resumeOrigin?: string } | undefined)?.resumeOrigin;
    // A resumable sender gets a position-only frame instead of nothing.
    const plainSender = origin === undefined ? sender : undefined;
    const appended = this.store.append(topic, kept, origin);
    const tail = this.#tails.get(topic);
    if (!(appended instanceof Promise) && !tail) {
      return this.#emit(topic, appended, kept, origin, plainSender);
    }
    const count = this.#count(topic) - (plainSender ? 1 : 0);
    const next: Promise<void> = Promise.all([tail, appended]).then(
      ([, position]) => void this.#emit(topic, position, kept, origin, plainSender),
      (error) => {
        // Not numbered: every subscriber still gets it, resumable ones as
        // an unnumbered message (not replayed), and the error says so.
        console.error(`History append failed on topic ${topic}:`, error);
        this.#deliverPlain(topic, kept, plainSender);
      },
    ).finally(() => {
      if (this.#tails.get(topic) === next) this.#tails.delete(topic);
    });
    this.#tails.set(topic, next);
    return count;
  }

  #emit(
    topic: string,
    position: StreamPosition,
    data: string | Uint8Array,
    origin: string | undefined,
    sender: Subscriber | undefined,
  ): number {
    const previous = this.current;
    this.current = new Publication(topic, position, data, origin);
    try {
      return this.#deliver(topic, data, sender);
    } finally {
      this.current = previous;
    }
  }

  #deliverPlain(topic: string, data: string | Uint8Array, sender: Subscriber | undefined): void {
    const previous = this.current;
    this.current = undefined;
    try {
      this.#deliver(topic, data, sender);
    } finally {
      this.current = previous;
    }
  }
}
