/**
 * A distributed engine that carries topic messages between processes (Redis
 * pub/sub, BroadcastChannel). Topics deliver locally themselves; the
 * backplane only relays to the other processes and back.
 */
export interface Backplane {
  /** Relays a message published here to the other processes. */
  publish(topic: string, data: string | Uint8Array): void;
  /** Starts receiving a topic (its first local subscriber arrived). */
  subscribe(topic: string): void;
  /** Stops receiving a topic (its last local subscriber left). */
  unsubscribe(topic: string): void;
  /** Where the backplane delivers messages published by other processes. */
  onMessage(deliver: (topic: string, data: string | Uint8Array) => void): void;
  /** Closes its connections. */
  close(): Promise<void> | void;
}
