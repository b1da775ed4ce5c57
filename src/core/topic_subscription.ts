import type { StreamPosition } from "../protocol/resume_protocol.ts";
import type { Publication } from "./publication.ts";
import type { Subscriber } from "./subscriber.ts";
import type { SendData } from "./send_data.ts";
import type { TopicHistory } from "./topic_history.ts";

/** What a {@linkcode TopicSubscription} reports to: the resumable session. */
export interface SubscriptionOwner {
  /** The session's id: its own publications are marked with it. */
  readonly id: string;
  /** A numbered publication for one of its resumable topics. */
  publication(subscription: TopicSubscription, publication: Publication): void;
  /** A message on a topic without history. */
  topicMessage(topic: string, data: SendData): void;
  /** The handlers' `ws` of the session. */
  readonly context?: unknown;
}

/**
 * One resumable session's membership of one topic, as `PubSub` sees it: a
 * `Subscriber` of its own per topic, so that a publication reaches the
 * session with its topic (and, on a resumable topic, its position), and the
 * session can outlive its sockets while staying subscribed.
 *
 * It reports no queue to `PubSub`: a resumable subscriber is never skipped
 * (that would be a silent gap); the session closes a slow socket instead,
 * and the client catches up from history when it comes back.
 */
export class TopicSubscription implements Subscriber {
  /** The topic. */
  readonly topic: string;
  /** The session. */
  readonly owner: SubscriptionOwner;
  /** The history, when the topic is resumable. */
  readonly history: TopicHistory | undefined;
  /** `PubSub` keeps the subscriber's topics here. */
  readonly topics: Set<string> = new Set();
  /** Where the stream stands for this session: the last position accounted for. */
  position: StreamPosition = { epoch: "", offset: 0 };
  /** Where it was subscribed (or resumed) from, for a resume whose client never heard of it. */
  from: StreamPosition | undefined;
  /** Live publications held while history is replayed; `null` when live. */
  held: Publication[] | null = null;

  /**
   * Creates the instance.
   *
   * @param owner The session.
   * @param topic The topic.
   * @param history The history, for a resumable topic.
   */
  constructor(owner: SubscriptionOwner, topic: string, history: TopicHistory | undefined) {
    this.owner = owner;
    this.topic = topic;
    this.history = history;
  }

  /** The session's id, which `TopicHistory` keeps with what it publishes. */
  get resumeOrigin(): string {
    return this.owner.id;
  }

  /**
   * The session's `ws`: what `PubSub.onLeave()` listeners (presence) know
   * the member by, as for a plain socket's session.
   */
  get context(): unknown {
    return this.owner.context;
  }

  /** Never over a high-water mark: see the class's note. */
  get bufferedAmount(): number {
    return 0;
  }

  /**
   * A publication: numbered when `TopicHistory` is delivering one of this
   * topic, plain otherwise.
   *
   * @param data The payload.
   */
  send(data: SendData): void {
    const current = this.history?.current;
    if (current && current.topic === this.topic) this.owner.publication(this, current);
    else this.owner.topicMessage(this.topic, data);
  }

  /** Not used: {@linkcode bufferedAmount} is never over the mark. */
  closeWith(): void {}
}
