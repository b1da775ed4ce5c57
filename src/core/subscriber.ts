import type { RuntimeTopics } from "./runtime_topics.ts";
import type { SendData } from "./send_data.ts";

/** What a topic needs of a subscriber: the session of one socket. */
export interface Subscriber {
  /** Sends a message through the runtime. */
  send(data: SendData): void;
  /** Whether `sendEncoded` works: the codec frames this subscriber's bytes. */
  readonly canSendEncoded?: boolean;
  /** Writes a frame encoded once for every subscriber, where `canSendEncoded`. */
  sendEncoded?(chunks: Uint8Array[]): void;
  /** Bytes queued and not yet sent (0 where the runtime cannot tell). */
  readonly bufferedAmount: number;
  /** Closes with a library code (1013 for a slow consumer). */
  closeWith(code: number, reason: string): void;
  /** The topics this subscriber is in. */
  readonly topics: Set<string>;
  /** The runtime's own topics (Bun's), where publishes go natively. */
  readonly runtimeTopics?: RuntimeTopics;
  /** The runtime's socket, for {@linkcode RuntimeTopics}. */
  readonly socket?: unknown;
  /** The handlers' `ws` of this subscriber, where it is a socket's session. */
  readonly context?: unknown;
}
