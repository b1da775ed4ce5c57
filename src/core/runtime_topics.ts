/**
 * A runtime's own topics (Bun's `ws.subscribe()` and `server.publish()`):
 * sockets join them natively, and a publish is one native call that frames
 * and writes to every subscriber, with no JavaScript per subscriber.
 *
 * @example What the Bun adapter supplies
 * ```ts ignore
 * const topics: RuntimeTopics = {
 *   subscribe: (ws, topic) => ws.subscribe(topic),
 *   unsubscribe: (ws, topic) => ws.unsubscribe(topic),
 *   publish: (topic, data, except) => except ? except.publish(topic, data) : server.publish(topic, data),
 * };
 * ```
 */
export interface RuntimeTopics {
  /**
   * Subscribes a socket natively.
   *
   * @param socket The runtime's socket (`SocketDriver.raw`).
   * @param topic The topic.
   */
  subscribe(socket: unknown, topic: string): void;
  /**
   * Unsubscribes a socket natively.
   *
   * @param socket The runtime's socket.
   * @param topic The topic.
   */
  unsubscribe(socket: unknown, topic: string): void;
  /**
   * Publishes to every native subscriber of a topic, except one socket.
   *
   * @param topic The topic.
   * @param data Text or binary.
   * @param except A socket to leave out (the sender).
   */
  publish(topic: string, data: string | Uint8Array, except?: unknown): void;
}
