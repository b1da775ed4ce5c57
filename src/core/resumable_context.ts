import { RESUME_PROTOCOL } from "../protocol/resume_protocol.ts";
import type { SendData } from "./send_data.ts";
import { WebSocketContext } from "./web_socket_context.ts";

/** What a {@linkcode ResumableContext} asks of its session. */
export interface ResumableTopicsOwner {
  /** Subscribes the session. */
  subscribe(topic: string): void;
  /** Unsubscribes the session. */
  unsubscribe(topic: string): void;
  /** Publishes from the session. */
  publish(topic: string, data: SendData): number;
  /** The session's topics. */
  readonly topicNames: ReadonlySet<string>;
}

/**
 * The `ws` handlers get on a resumable route: one object for the whole
 * session, across the sockets it resumes on, so an app that keeps it (in a
 * map of users, say) keeps sending through it. Its topics are the
 * session's, kept while it is disconnected; `send()` goes to the socket of
 * the moment, and is dropped while there is none (it is not resumed:
 * publish on a resumable topic for what must arrive).
 */
export class ResumableContext<D = unknown, R = unknown> extends WebSocketContext<D, R> {
  readonly #owner: ResumableTopicsOwner;

  /**
   * Creates the instance.
   *
   * @param init The upgrade's URL, the data and the session's id.
   * @param owner The session.
   */
  constructor(init: { url: URL | string; data: D; id: string }, owner: ResumableTopicsOwner) {
    super({ protocol: RESUME_PROTOCOL, ...init });
    this.#owner = owner;
  }

  /**
   * Subscribes the session to a topic: resumable topics with their position.
   *
   * @param topic 1 to 256 characters.
   * @throws {RangeError} For an empty or too long topic name.
   */
  override subscribe(topic: string): void {
    this.#owner.subscribe(topic);
  }

  /**
   * Unsubscribes the session from a topic.
   *
   * @param topic The topic.
   */
  override unsubscribe(topic: string): void {
    this.#owner.unsubscribe(topic);
  }

  /** The session's topics. */
  override get topics(): ReadonlySet<string> {
    return this.#owner.topicNames;
  }

  /**
   * Publishes to every subscriber of a topic but this session (which, on a
   * resumable topic, gets only the position).
   *
   * @param topic The topic.
   * @param data Text or binary.
   * @returns How many subscribers it was sent to.
   */
  override publish(topic: string, data: SendData): number {
    return this.#owner.publish(topic, data);
  }
}
