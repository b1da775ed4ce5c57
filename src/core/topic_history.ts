import type { HistoryPage, HistoryStore, StreamPosition } from "./history_store.ts";
import { Publication } from "./publication.ts";
import type { Subscriber } from "./subscriber.ts";
import { decodeRelayedPublication, encodeRelayedPublication } from "./relayed_publication.ts";
import { type SendData, toBytes } from "./send_data.ts";

/** Options for `PubSub.useHistory()`. */
export interface TopicHistoryOptions {
  /** Which topics are resumable (default: all of them). */
  topics?: (topic: string) => boolean;
}

type Deliver = (topic: string, data: SendData, sender: Subscriber | undefined) => number;

/** What a `TopicHistory` needs of its `PubSub`. */
export interface TopicHistoryHooks {
  /** Delivers to this process's subscribers of a topic. */
  deliver: Deliver;
  /** Counts them. */
  count: (topic: string) => number;
  /** Relays a shared store's numbered publication to the other processes (the backplane). */
  relay: (topic: string, message: Uint8Array) => void;
}

// A publication of a shared store's topic waiting for its turn.
interface Waiting {
  data: string | Uint8Array;
  origin: string | undefined;
  sender?: Subscriber;
}

// Per topic of a shared store: the last offset delivered in this process,
// and what arrived ahead of its turn.
interface Sequence {
  epoch: string;
  last: number;
  waiting: Map<number, Waiting>;
  filling: boolean;
  // Epochs this topic had before: a late publication of one is dropped.
  retired: string[];
  // While the stream's position is asked for (the topic's first subscriber
  // here): what arrives meanwhile, handled once it is known.
  pending?: Array<[StreamPosition, Waiting]>;
}

// Entries read per step when a shared store's gap is filled, and the most
// publications waiting per topic before the gap is given up on.
const FILL_PAGE = 256;
const MAX_WAITING = 10_000;

/**
 * The resumable topics of a `PubSub`: every publication on one, from
 * anywhere (`publish()` in an HTTP route, `ws.publish()`, another process
 * through the backplane), is numbered by the history store before it fans
 * out; resumable subscribers get it with its position, plain subscribers of
 * the same topic get the bare message as before.
 *
 * With a shared store (Redis Streams) a publication is numbered once, in
 * the process that published it, and relayed with its position; every
 * process delivers a topic's publications in offset order, reading from
 * the store any that reach it late (two processes publishing at once), so
 * a subscriber never sees one skipped.
 *
 * Set it with `pubsub.useHistory(store, { topics })`.
 *
 * @example Made by `useHistory()`, not by hand
 * ```ts
 * import { MemoryHistoryStore, PubSub } from "@edgesocket/edgesocket";
 * const pubsub = new PubSub();
 * pubsub.useHistory(new MemoryHistoryStore(), { topics: (topic) => topic.startsWith("room:") });
 * console.log(pubsub.history !== undefined); // true
 * ```
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
  readonly #relay: (topic: string, message: Uint8Array) => void;
  // Per topic, the delivery of the last publication whose append has not
  // answered yet: deliveries keep the order of publish() calls.
  #tails = new Map<string, Promise<void>>();
  #sequences = new Map<string, Sequence>();

  /**
   * Creates the instance (`PubSub.useHistory()` does).
   *
   * @param store The store.
   * @param options Which topics.
   * @param hooks How it delivers, counts and relays.
   */
  constructor(store: HistoryStore, options: TopicHistoryOptions, hooks: TopicHistoryHooks) {
    this.store = store;
    this.#isResumable = options.topics ?? (() => true);
    this.#deliver = hooks.deliver;
    this.#count = hooks.count;
    this.#relay = hooks.relay;
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
    if (this.store.shared) return this.#publishShared(topic, kept, origin, plainSender);
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

  /**
   * A publication another process relayed through the backplane, for a
   * shared store: delivered with the position it got there, in turn.
   *
   * @param topic The topic.
   * @param message The backplane's message.
   */
  receive(topic: string, message: string | Uint8Array): void {
    const relayed = decodeRelayedPublication(message);
    // Not numbered (its store failed, or the process does not share it).
    if (!relayed?.position) return this.#deliverPlain(topic, relayed?.data ?? message, undefined);
    this.#arrive(topic, relayed.position, { data: relayed.data, origin: relayed.origin });
  }

  /**
   * A topic got its first subscriber in this process. With a shared store,
   * the stream's position now is where this process's delivery of it
   * begins: a subscriber reads what came before from the store itself
   * (after this), and what arrives later is delivered in order from there.
   *
   * @param topic The topic.
   */
  watch(topic: string): void {
    if (!this.store.shared || this.#sequences.has(topic)) return;
    const sequence: Sequence = {
      epoch: "",
      last: 0,
      waiting: new Map(),
      filling: false,
      retired: [],
      pending: [],
    };
    this.#sequences.set(topic, sequence);
    const begin = (position: StreamPosition | undefined) => {
      if (this.#sequences.get(topic) !== sequence) return;
      const pending = sequence.pending ?? [];
      delete sequence.pending;
      // Without the store's answer: from the first that arrived, as if seen first.
      const start = position ?? (pending[0] && {
        epoch: pending[0][0].epoch,
        offset: Math.min(...pending.map(([p]) => p.offset)) - 1,
      });
      if (!start) return void this.#sequences.delete(topic);
      sequence.epoch = start.epoch;
      sequence.last = start.offset;
      // Another epoch than the store's now: from before it started again.
      for (const [at, item] of pending) if (at.epoch === start.epoch) this.#arrive(topic, at, item);
      this.#drain(topic, sequence);
    };
    try {
      const position = this.store.position(topic);
      if (position instanceof Promise) {
        position.then(begin, (error) => {
          console.error(`History position failed on topic ${topic}:`, error);
          begin(undefined);
        });
      } else begin(position);
    } catch (error) {
      console.error(`History position failed on topic ${topic}:`, error);
      begin(undefined);
    }
  }

  #publishShared(
    topic: string,
    data: string | Uint8Array,
    origin: string | undefined,
    sender: Subscriber | undefined,
  ): number {
    const count = this.#count(topic) - (sender ? 1 : 0);
    const numbered = (position: StreamPosition) => {
      this.#relay(topic, encodeRelayedPublication({ position, origin, data }));
      this.#arrive(topic, position, { data, origin, sender });
    };
    const appended = this.store.append(topic, data, origin);
    if (!(appended instanceof Promise)) {
      numbered(appended);
      return count;
    }
    appended.then(numbered, (error) => {
      console.error(`History append failed on topic ${topic}:`, error);
      this.#relay(topic, encodeRelayedPublication({ position: undefined, origin, data }));
      this.#deliverPlain(topic, data, sender);
    });
    return count;
  }

  // A shared store's publication reached this process: delivered when every
  // offset before it was, so that local subscribers get the stream in order.
  #arrive(topic: string, position: StreamPosition, item: Waiting): void {
    let sequence = this.#sequences.get(topic);
    if (sequence?.pending) {
      if (sequence.pending.length < MAX_WAITING) sequence.pending.push([position, item]);
      return;
    }
    if (sequence?.epoch !== position.epoch) {
      if (sequence?.retired.includes(position.epoch)) return;
      const retired = sequence ? [sequence.epoch, ...sequence.retired].slice(0, 4) : [];
      // First seen here, with no subscriber (watch() starts a subscribed
      // topic): the process picks the stream up here. A new epoch: from its
      // start, which the store fills in.
      sequence = {
        epoch: position.epoch,
        last: sequence ? 0 : position.offset - 1,
        waiting: new Map(),
        filling: false,
        retired,
      };
      this.#sequences.set(topic, sequence);
    }
    if (position.offset <= sequence.last) return; // delivered already, read from the store
    // A local publication keeps its sender (left out of the delivery).
    if (item.sender || !sequence.waiting.has(position.offset)) {
      sequence.waiting.set(position.offset, item);
    }
    this.#drain(topic, sequence);
  }

  #drain(topic: string, sequence: Sequence): void {
    const { waiting } = sequence;
    for (let item = waiting.get(sequence.last + 1); item; item = waiting.get(sequence.last + 1)) {
      waiting.delete(++sequence.last);
      const position = { epoch: sequence.epoch, offset: sequence.last };
      this.#emit(topic, position, item.data, item.origin, item.sender);
    }
    if (sequence.filling) return;
    if (waiting.size === 0) {
      // Nobody here to keep the order for: the next publication starts afresh.
      if (this.#count(topic) === 0) this.#sequences.delete(topic);
      return;
    }
    if (waiting.size > MAX_WAITING) return this.#skip(topic, sequence);
    // A gap: the offsets before the one that arrived are in the store (it
    // numbers them in order), on their way here through the backplane.
    sequence.filling = true;
    const from = sequence.last;
    const fill = (page: HistoryPage | "gone") => {
      sequence.filling = false;
      if (this.#sequences.get(topic) !== sequence) return;
      if (page !== "gone") {
        for (const { offset, data, origin } of page.entries) {
          if (offset > sequence.last && !waiting.has(offset)) waiting.set(offset, { data, origin });
        }
      }
      // The gap is closed, or delivery moved on while the read was out (what
      // it waited for came through the backplane meanwhile): drain, which
      // reads again from where delivery now stands if a gap is left. Only a
      // read from here that lacks the next offset gives the gap up.
      if (waiting.has(sequence.last + 1) || sequence.last !== from) {
        return this.#drain(topic, sequence);
      }
      this.#skip(topic, sequence);
    };
    try {
      const page = this.store.read(
        topic,
        { epoch: sequence.epoch, offset: sequence.last },
        FILL_PAGE,
      );
      if (page instanceof Promise) {
        page.then(fill, (error) => {
          console.error(`History read failed on topic ${topic}:`, error);
          fill("gone");
        });
      } else fill(page);
    } catch (error) {
      console.error(`History read failed on topic ${topic}:`, error);
      fill("gone");
    }
  }

  // The store cannot fill the gap (trimmed, lost, failing): delivery goes on
  // from what is here. A resuming client sees the gap in the offsets and
  // resumes, and is told what history could not recover: never a silent one.
  #skip(topic: string, sequence: Sequence): void {
    if (sequence.waiting.size === 0) return;
    sequence.last = Math.min(...sequence.waiting.keys()) - 1;
    this.#drain(topic, sequence);
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
